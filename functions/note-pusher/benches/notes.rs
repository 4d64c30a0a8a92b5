//! The note-pusher's own cost per message, store and ServiceTitan calls excluded (issue #9):
//! decoding the SQS batch, parsing each platform event (`PushEvent::parse`), applying the push
//! settings (`plan`) and building the note text with its exactly-once marker (`note_text`,
//! `has_marker`) — what `sync::push::Pusher::push` does between its store and HTTP calls.
//!
//! `cargo bench -p note-pusher --bench notes` (add `-- --measurement-time 3` for a quick run).

use std::hint::black_box;

use aws_lambda_events::event::sqs::SqsEvent;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use opportunity::note::{has_marker, note_text};
use opportunity::push::{plan, PushEvent};
use opportunity::settings::{CampaignEventsPush, ClassPush, Destination};
use opportunity::PushSettings;

/// Every class pushed, content included where allowed (the most work per event).
fn settings() -> PushSettings {
    let on = ClassPush {
        destination: Destination::Job,
        include_content: true,
    };
    PushSettings {
        outgoing_campaign: on,
        incoming: on,
        outgoing_manual: on,
        campaign_events: CampaignEventsPush {
            destination: Destination::Location,
            ..CampaignEventsPush::default()
        },
    }
}

/// A message event with content (an inbound SMS), the longest note the pusher writes.
const MESSAGE: &str = r#"{"eventId":"evt-bench-1","workspaceId":"ws-acme","contactId":"3f9c1a52-7b1e-4c1e-9a3e-2d8f6b0c4e11","kind":"message","class":"incoming","channel":"sms","occurredAt":"2024-05-01T15:10:00Z","content":"Hi, the furnace is making a loud banging noise again since this morning. Can someone come by tomorrow after 3pm? Thanks, Mary","user":{"id":"u-1","name":"Dana Office"}}"#;

/// Parse, plan and build the note of one message body; `None` when it is not pushed.
fn own_cost(settings: &PushSettings, body: &str) -> Option<String> {
    let event = PushEvent::parse(body).ok()?;
    let plan = plan(settings, &event).ok()?;
    let text = note_text(&event, plan.include_content);
    // A redelivery looks for its marker among the record's notes.
    has_marker(&text, &event.event_id).then_some(text)
}

fn notes(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/note-pusher.batch.json");
    let batch = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let settings = settings();
    let decoded: SqsEvent = serde_json::from_str(&batch).expect("the sample batch decodes");
    let bodies: Vec<String> = decoded
        .records
        .iter()
        .filter_map(|r| r.body.clone())
        .collect();
    assert!(
        own_cost(&settings, MESSAGE).is_some(),
        "the message event must make a note"
    );

    let mut g = c.benchmark_group("note_pusher");
    g.throughput(Throughput::Elements(1));
    g.bench_function("message_parse_plan_note", |b| {
        b.iter(|| black_box(own_cost(&settings, black_box(MESSAGE))))
    });
    g.throughput(Throughput::Elements(decoded.records.len() as u64));
    g.bench_function(
        format!(
            "sample_batch_{}_messages_with_sqs_decode",
            decoded.records.len()
        ),
        |b| {
            b.iter(|| {
                let event: SqsEvent = serde_json::from_str(black_box(&batch)).expect("decodes");
                for r in &event.records {
                    if let Some(body) = &r.body {
                        black_box(own_cost(&settings, body));
                    }
                }
            })
        },
    );
    g.throughput(Throughput::Elements(bodies.len() as u64));
    g.bench_function("sample_batch_bodies_only", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(own_cost(&settings, black_box(body)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, notes);
criterion_main!(benches);
