//! The note-pusher handler end to end: platform events (the `events/note-pusher.*.json` samples,
//! and events sent to and received from a real SQS queue on the moto server) → routing through
//! the store → notes posted to the ServiceTitan sandbox over HTTP, exactly once.
//!
//! The dynoxide tests always run; the SQS tests need the moto server (`AWS_ENDPOINT_URL`) and
//! print a skip note without it, unless `STSYNC_REQUIRE_MOTO` is set.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use e2e::{store_on, Engine, World};
use lambda_runtime::{Context, LambdaEvent};
use note_pusher::{handle, App};
use opportunity::note::{has_marker, note_text};
use opportunity::push::PushEvent;
use opportunity::settings::{CampaignEventsPush, ClassPush, Destination};
use opportunity::{Model, PushSettings};
use secrets::StaticSecrets;
use serde_json::{json, Value};
use servicetitan::notes::{NoteCreateRequest, NoteTarget};
use store::embedded::EmbeddedDynamo;
use store::{NoteClaimOutcome, NoteState, Store, StoredOpportunity};
use sync::push::{PushOptions, Pusher};
use sync::runner::client_for;
use sync::SyncOptions;

const WS: &str = "ws-notes";

/// A store with synced job opportunities, a sandbox, and the handler's app.
struct Env {
    store: Store,
    _engine: Option<EmbeddedDynamo>,
    world: World,
    app: App<StaticSecrets>,
    /// A job opportunity with a customer and a location.
    job: StoredOpportunity,
}

fn settings(class: ClassPush, campaign_events: CampaignEventsPush) -> PushSettings {
    PushSettings {
        outgoing_campaign: class,
        incoming: class,
        outgoing_manual: class,
        campaign_events,
    }
}

fn demo_settings() -> PushSettings {
    PushSettings {
        outgoing_campaign: ClassPush {
            destination: Destination::Job,
            include_content: true,
        },
        incoming: ClassPush {
            destination: Destination::Customer,
            include_content: false,
        },
        outgoing_manual: ClassPush::default(),
        campaign_events: CampaignEventsPush {
            destination: Destination::Location,
            ..CampaignEventsPush::default()
        },
    }
}

async fn env(engine: Engine, push: PushSettings, seed: u64) -> Option<Env> {
    let (store, engine) = store_on(engine).await?;
    let now = Utc::now();
    let world = World::start(40, 12, seed, now).await;
    let mut integration = world.integration(WS, now);
    integration.push = push;
    store.put_integration(&integration).await.unwrap();
    let client = client_for(&integration, &world.secrets, &world.platform)
        .await
        .unwrap();
    let report = sync::sync_jobs(&client, &store, &integration, now, &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.opportunities_written > 0);
    let opportunities = store
        .list_opportunities(WS, Some(Model::Job))
        .await
        .unwrap();
    let job = opportunities
        .into_iter()
        .find(|o| {
            o.opportunity.details.contains_key("customerId")
                && o.opportunity.details.contains_key("locationId")
        })
        .expect("a job with customer and location");
    let app = App {
        pusher: Pusher::new(
            store.clone(),
            world.secrets.clone(),
            world.platform.clone(),
            PushOptions::default(),
        ),
        deadline_margin: Duration::from_secs(1),
    };
    Some(Env {
        store,
        _engine: engine,
        world,
        app,
        job,
    })
}

fn context() -> Context {
    let mut ctx = Context::default();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    ctx.deadline = now_ms + 60_000;
    ctx.request_id = "test-request".into();
    ctx
}

fn sqs_event(messages: &[(String, String)]) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            json!({"messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                   "eventSource": "aws:sqs", "awsRegion": "us-east-1"})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

async fn run(app: &App<StaticSecrets>, event: SqsEvent) -> HashSet<String> {
    let response: SqsBatchResponse = handle(app, LambdaEvent::new(event, context()))
        .await
        .unwrap();
    response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

fn num(o: &StoredOpportunity, key: &str) -> i64 {
    o.opportunity.details[key].as_i64().unwrap()
}

/// The contact's newest opportunity by External Updated At (what routing must pick).
async fn newest_of(store: &Store, contact: &str) -> StoredOpportunity {
    store
        .list_opportunities(WS, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.contact_id == contact)
        .max_by_key(|o| o.opportunity.standard.external_updated_at)
        .unwrap()
}

/// The notes carrying `event_id`'s marker, with their records.
fn notes_of(world: &World, event_id: &str) -> Vec<(NoteTarget, String)> {
    world
        .sandbox
        .notes()
        .into_iter()
        .filter(|n| has_marker(&n.text, event_id))
        .map(|n| (n.target, n.text))
        .collect()
}

fn sample(name: &str, e: &Env) -> SqsEvent {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path)
        .expect(&path)
        .replace("ws-acme", WS)
        .replace("3f9c1a52-7b1e-4c1e-9a3e-2d8f6b0c4e11", &e.job.contact_id)
        .replace("61234567", &e.job.opportunity.external_id);
    serde_json::from_str(&text).expect("SQS event JSON")
}

fn event(id: &str, contact: &str, fields: Value) -> String {
    let mut e = json!({
        "eventId": id, "workspaceId": WS, "contactId": contact,
        "kind": "message", "class": "outgoing_campaign", "channel": "sms",
        "occurredAt": "2024-05-01T14:03:00Z", "content": "Secret-ish message content",
        "campaign": {"id": "cmp-9", "name": "Spring Tune-Up"}
    });
    for (k, v) in fields.as_object().unwrap() {
        if v.is_null() {
            e.as_object_mut().unwrap().remove(k);
        } else {
            e[k] = v.clone();
        }
    }
    e.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_events_through_the_handler() {
    let e = env(Engine::Dynoxide, demo_settings(), 21).await.unwrap();
    let job_id: i64 = e.job.opportunity.external_id.parse().unwrap();

    // A campaign text about a named job → a job note with the content.
    let failures = run(&e.app, sample("note-pusher.campaign-sms.json", &e)).await;
    assert!(failures.is_empty(), "{failures:?}");
    let notes = notes_of(&e.world, "evt-01HZX3K8S1");
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].0, NoteTarget::Job(job_id));
    assert!(notes[0].1.contains("Reply YES"), "{}", notes[0].1);
    assert!(notes[0].1.contains("2024-05-01 14:03 UTC"));

    // Incoming call → customer, campaign completed → location (of the contact's newest
    // opportunity), an invalid event → recorded and acknowledged.
    let newest = newest_of(&e.store, &e.job.contact_id).await;
    let failures = run(&e.app, sample("note-pusher.batch.json", &e)).await;
    assert!(failures.is_empty(), "{failures:?}");
    let call = notes_of(&e.world, "evt-01HZX3K8S2");
    assert_eq!(call.len(), 1);
    assert_eq!(call[0].0, NoteTarget::Customer(num(&newest, "customerId")));
    let done = notes_of(&e.world, "evt-01HZX3K8S3");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, NoteTarget::Location(num(&newest, "locationId")));
    let invalid = e
        .store
        .get_note_record(WS, "evt-01HZX3K8S4")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(invalid.state, NoteState::Skipped);
    assert_eq!(invalid.reason.as_deref(), Some("invalid_event"));
    assert!(invalid.detail.unwrap().contains("channel"));
    assert!(notes_of(&e.world, "evt-01HZX3K8S4").is_empty());

    // A contact with no ServiceTitan record: reported, acknowledged, not retried.
    let failures = run(&e.app, sample("note-pusher.no-record.json", &e)).await;
    assert!(failures.is_empty(), "{failures:?}");
    let r = e
        .store
        .get_note_record(WS, "evt-01HZX3K8S5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.state, NoteState::Skipped);
    assert_eq!(r.reason.as_deref(), Some("no_servicetitan_record"));

    // Not even JSON: acknowledged (nothing to record it under).
    let failures = run(&e.app, sample("note-pusher.malformed.json", &e)).await;
    assert!(failures.is_empty(), "{failures:?}");

    // Redelivering everything posts nothing more.
    let before = e.world.sandbox.notes().len();
    for name in [
        "note-pusher.campaign-sms.json",
        "note-pusher.batch.json",
        "note-pusher.no-record.json",
    ] {
        assert!(run(&e.app, sample(name, &e)).await.is_empty());
    }
    assert_eq!(e.world.sandbox.notes().len(), before);
    assert_eq!(before, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_destination_and_content_setting() {
    let e = env(Engine::Dynoxide, PushSettings::default(), 22)
        .await
        .unwrap();
    let job = &e.job;
    let job_id: i64 = job.opportunity.external_id.parse().unwrap();
    let expected = |d: Destination| match d {
        Destination::None => None,
        Destination::Job => Some(NoteTarget::Job(job_id)),
        Destination::Customer => Some(NoteTarget::Customer(num(job, "customerId"))),
        Destination::Location => Some(NoteTarget::Location(num(job, "locationId"))),
    };
    let named = json!({"model": "job", "externalId": job.opportunity.external_id});
    let mut n = 0;
    let destinations = [
        Destination::None,
        Destination::Job,
        Destination::Customer,
        Destination::Location,
    ];
    for destination in destinations {
        for include_content in [false, true] {
            let mut integration = e.store.get_integration(WS).await.unwrap().unwrap();
            integration.push = settings(
                ClassPush {
                    destination,
                    include_content,
                },
                CampaignEventsPush {
                    destination,
                    ..CampaignEventsPush::default()
                },
            );
            e.store.put_integration(&integration).await.unwrap();
            let kinds = [
                json!({"class": "outgoing_campaign"}),
                json!({"class": "incoming", "campaign": null, "channel": "email"}),
                json!({"class": "outgoing_manual", "campaign": null, "kind": "call", "channel": "call", "content": null}),
                json!({"class": "outgoing_manual", "campaign": null, "user": {"id": 7, "name": "Jane"}}),
                json!({"kind": "campaign_event", "campaignEvent": "launched"}),
                json!({"kind": "campaign_event", "campaignEvent": "removed"}),
            ];
            for mut fields in kinds {
                n += 1;
                let id = format!("evt-matrix-{n}");
                fields["opportunity"] = named.clone();
                let body = event(&id, &job.contact_id, fields.clone());
                let failures = run(&e.app, sqs_event(&[(format!("m{n}"), body.clone())])).await;
                assert!(failures.is_empty(), "{fields}: {failures:?}");
                let notes = notes_of(&e.world, &id);
                let record = e.store.get_note_record(WS, &id).await.unwrap().unwrap();
                match expected(destination) {
                    None => {
                        assert!(notes.is_empty(), "{fields}");
                        assert_eq!(record.state, NoteState::Skipped);
                        assert_eq!(record.reason.as_deref(), Some("not_pushed"));
                    }
                    Some(target) => {
                        assert_eq!(notes.len(), 1, "{destination:?} {fields}");
                        assert_eq!(notes[0].0, target, "{fields}");
                        assert_eq!(record.state, NoteState::Done);
                        let ev = PushEvent::parse(&body).unwrap();
                        let campaign_event = ev.campaign_event.is_some();
                        let has_content = ev.content.is_some() && !campaign_event;
                        assert_eq!(
                            notes[0].1.contains("Secret-ish message content"),
                            include_content && has_content,
                            "{destination:?} content={include_content} {fields}"
                        );
                        assert_eq!(notes[0].1, note_text(&ev, include_content));
                    }
                }
            }
        }
    }

    // A campaign event switched off is not pushed.
    let mut integration = e.store.get_integration(WS).await.unwrap().unwrap();
    integration.push.campaign_events = CampaignEventsPush {
        destination: Destination::Job,
        completed: false,
        ..CampaignEventsPush::default()
    };
    e.store.put_integration(&integration).await.unwrap();
    let body = event(
        "evt-off",
        &job.contact_id,
        json!({"kind": "campaign_event", "campaignEvent": "completed", "opportunity": named}),
    );
    assert!(run(&e.app, sqs_event(&[("off".into(), body)]))
        .await
        .is_empty());
    assert!(notes_of(&e.world, "evt-off").is_empty());
    let r = e
        .store
        .get_note_record(WS, "evt-off")
        .await
        .unwrap()
        .unwrap();
    assert!(r.detail.unwrap().contains("push.campaignEvents.completed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_falls_back_to_the_contacts_latest_fitting_opportunity() {
    let push = settings(
        ClassPush {
            destination: Destination::Job,
            include_content: false,
        },
        CampaignEventsPush {
            destination: Destination::Customer,
            ..CampaignEventsPush::default()
        },
    );
    let e = env(Engine::Dynoxide, push, 23).await.unwrap();
    let contact = e.job.contact_id.clone();
    // A membership of the same contact, newer than every job: it has no job.
    let mut membership = e.job.opportunity.clone();
    membership.model = Model::Membership;
    membership.external_id = "880011".into();
    membership.standard.external_updated_at = Utc::now();
    let other_customer = e
        .world
        .data
        .customers
        .iter()
        .map(|c| c.id)
        .find(|id| *id != num(&e.job, "customerId"))
        .unwrap();
    membership.external_contact_id = Some(other_customer.to_string());
    membership
        .details
        .insert("customerId".into(), json!(other_customer));
    e.store
        .upsert_opportunities(WS, &[(membership, contact.clone())], Utc::now())
        .await
        .unwrap();
    let newest_job = e
        .store
        .list_opportunities(WS, Some(Model::Job))
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.contact_id == contact)
        .max_by_key(|o| o.opportunity.standard.external_updated_at)
        .unwrap();

    // Job destination naming the membership → the contact's newest job.
    let body = event(
        "evt-fallback-job",
        &contact,
        json!({"opportunity": {"model": "membership", "externalId": "880011"}}),
    );
    assert!(run(&e.app, sqs_event(&[("a".into(), body)]))
        .await
        .is_empty());
    let notes = notes_of(&e.world, "evt-fallback-job");
    assert_eq!(
        notes[0].0,
        NoteTarget::Job(newest_job.opportunity.external_id.parse().unwrap())
    );
    // Customer destination, nothing named → the newest opportunity (the membership).
    let body = event(
        "evt-fallback-cust",
        &contact,
        json!({"kind": "campaign_event", "campaignEvent": "launched"}),
    );
    assert!(run(&e.app, sqs_event(&[("b".into(), body)]))
        .await
        .is_empty());
    assert_eq!(
        notes_of(&e.world, "evt-fallback-cust")[0].0,
        NoteTarget::Customer(other_customer)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_between_post_and_done_posts_no_second_note() {
    let push = demo_settings();
    let e = env(Engine::Dynoxide, push, 24).await.unwrap();
    let job_id: i64 = e.job.opportunity.external_id.parse().unwrap();
    let target = NoteTarget::Job(job_id);
    let named = json!({"model": "job", "externalId": e.job.opportunity.external_id});
    let long_ago = Utc::now() - chrono::Duration::minutes(30);
    let lease = chrono::Duration::minutes(5);
    let integration = e.store.get_integration(WS).await.unwrap().unwrap();
    let client = client_for(&integration, &e.world.secrets, &e.world.platform)
        .await
        .unwrap();

    // 1. Claimed and posted, then the invocation died before "done"; the lease has expired.
    let crashed = event(
        "evt-crash-after-post",
        &e.job.contact_id,
        json!({"opportunity": named}),
    );
    let claim = e
        .store
        .claim_note(WS, "evt-crash-after-post", target, long_ago, lease)
        .await
        .unwrap();
    assert!(matches!(claim, NoteClaimOutcome::Claimed(_)));
    let text = note_text(&PushEvent::parse(&crashed).unwrap(), true);
    // Other notes on the job first, so the marker is not on the first page.
    for i in 0..60 {
        client
            .post_note(target, &NoteCreateRequest::text(format!("office note {i}")))
            .await
            .unwrap();
    }
    client
        .post_note(target, &NoteCreateRequest::text(text))
        .await
        .unwrap();

    // 2. Claimed, then the invocation died before the POST.
    let before_post = event(
        "evt-crash-before-post",
        &e.job.contact_id,
        json!({"opportunity": named}),
    );
    e.store
        .claim_note(WS, "evt-crash-before-post", target, long_ago, lease)
        .await
        .unwrap();

    // 3. Claimed a moment ago by an invocation that is still running.
    let live = event(
        "evt-live-claim",
        &e.job.contact_id,
        json!({"opportunity": named}),
    );
    e.store
        .claim_note(WS, "evt-live-claim", target, Utc::now(), lease)
        .await
        .unwrap();

    let batch = sqs_event(&[
        ("m1".into(), crashed.clone()),
        ("m2".into(), before_post.clone()),
        ("m3".into(), live.clone()),
    ]);
    let failures = run(&e.app, batch).await;
    assert_eq!(
        failures,
        HashSet::from(["m3".to_owned()]),
        "only the live claim waits"
    );
    assert_eq!(
        notes_of(&e.world, "evt-crash-after-post").len(),
        1,
        "no second note"
    );
    assert_eq!(notes_of(&e.world, "evt-crash-before-post").len(), 1);
    assert!(notes_of(&e.world, "evt-live-claim").is_empty());
    for id in ["evt-crash-after-post", "evt-crash-before-post"] {
        let r = e.store.get_note_record(WS, id).await.unwrap().unwrap();
        assert_eq!(r.state, NoteState::Done, "{id}");
        assert_eq!(r.attempts, 2, "{id}: the crashed claim and the takeover");
    }

    // Redelivery of the two finished events posts nothing.
    let again = sqs_event(&[("m1".into(), crashed), ("m2".into(), before_post)]);
    assert!(run(&e.app, again).await.is_empty());
    assert_eq!(notes_of(&e.world, "evt-crash-after-post").len(), 1);
    assert_eq!(notes_of(&e.world, "evt-crash-before-post").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_posts_are_retried_and_unknown_records_are_reported() {
    let e = env(Engine::Dynoxide, demo_settings(), 25).await.unwrap();
    let named = json!({"model": "job", "externalId": e.job.opportunity.external_id});
    let admin = reqwest::Client::new();
    let fault = |status: u16, times: u32| {
        json!({"status": status, "times": times, "retryAfterSecs": 0,
               "endpoint": "POST /jpm/v2/tenant/{tenant}/jobs/{id}/notes"})
    };
    admin
        .post(format!("{}/__admin/faults", e.world.sandbox.base_url()))
        .json(&fault(429, 2))
        .send()
        .await
        .unwrap();
    let body = event("evt-429", &e.job.contact_id, json!({"opportunity": named}));
    assert!(run(&e.app, sqs_event(&[("a".into(), body)]))
        .await
        .is_empty());
    assert_eq!(notes_of(&e.world, "evt-429").len(), 1);
    assert_eq!(
        e.world
            .sandbox
            .request_counts()
            .get("POST /jpm/v2/tenant/{tenant}/jobs/{id}/notes")
            .copied(),
        Some(3),
        "a 429 is retried in the client: ServiceTitan did not act on it"
    );

    // The job is gone from ServiceTitan: 404 is a permanent, recorded outcome.
    let job_id: i64 = e.job.opportunity.external_id.parse().unwrap();
    e.world
        .sandbox
        .with_data(|d| d.jobs.retain(|j| j.id != job_id));
    let body = event("evt-404", &e.job.contact_id, json!({"opportunity": named}));
    assert!(run(&e.app, sqs_event(&[("b".into(), body)]))
        .await
        .is_empty());
    let r = e
        .store
        .get_note_record(WS, "evt-404")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.state, NoteState::Skipped);
    assert_eq!(r.reason.as_deref(), Some("record_not_found"));
}

// ---- SQS on the moto server -------------------------------------------------------------

async fn sqs_client() -> Option<aws_sdk_sqs::Client> {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        assert!(
            std::env::var("STSYNC_REQUIRE_MOTO").is_err(),
            "STSYNC_REQUIRE_MOTO is set but AWS_ENDPOINT_URL is not"
        );
        eprintln!("skipped: moto (AWS_ENDPOINT_URL unset)");
        return None;
    }
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Some(aws_sdk_sqs::Client::new(&conf))
}

/// A queue with `VisibilityTimeout 1` and, when given, a redrive policy to `dlq_arn`.
async fn queue(sqs: &aws_sdk_sqs::Client, name: &str, dlq: Option<(&str, u32)>) -> String {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut req = sqs
        .create_queue()
        .queue_name(format!("{name}-{}", uuid::Uuid::new_v4().simple()))
        .attributes(A::VisibilityTimeout, "1");
    if let Some((arn, max)) = dlq {
        req = req.attributes(
            A::RedrivePolicy,
            json!({"deadLetterTargetArn": arn, "maxReceiveCount": max.to_string()}).to_string(),
        );
    }
    req.send().await.unwrap().queue_url.unwrap()
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&A::QueueArn)
        .unwrap()
}

async fn send(sqs: &aws_sdk_sqs::Client, url: &str, body: &str) {
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

/// Receive up to `want` messages (long polls until they are visible again or ~20 s pass).
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    want: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut got = Vec::new();
    for _ in 0..10 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        got.extend(out.messages.unwrap_or_default());
        if got.len() >= want {
            break;
        }
    }
    got
}

/// What Lambda's event source mapping hands the function for these messages.
fn lambda_event(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                "body": m.body(), "md5OfBody": m.md5_of_body(),
                "attributes": m.attributes().map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect::<std::collections::HashMap<_, _>>()),
                "eventSource": "aws:sqs", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// The event source mapping's side: delete the acknowledged messages.
async fn delete_acknowledged(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    messages: &[aws_sdk_sqs::types::Message],
    failures: &HashSet<String>,
) {
    for m in messages {
        if !failures.contains(m.message_id().unwrap()) {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_batch_redelivered_three_times_with_one_failing_message() {
    let Some(sqs) = sqs_client().await else {
        return;
    };
    let e = env(Engine::Moto, demo_settings(), 26).await.unwrap();
    let url = queue(&sqs, "notes", None).await;
    let named = json!({"model": "job", "externalId": e.job.opportunity.external_id});
    let contact = e.job.contact_id.clone();
    let bodies = [
        event("evt-q-1", &contact, json!({"opportunity": named})),
        // Incoming → customer: its POSTs fail twice with 503.
        event(
            "evt-q-2",
            &contact,
            json!({"class": "incoming", "campaign": null}),
        ),
        event(
            "evt-q-3",
            &contact,
            json!({"kind": "campaign_event", "campaignEvent": "launched"}),
        ),
    ];
    for b in &bodies {
        send(&sqs, &url, b).await;
    }
    reqwest::Client::new()
        .post(format!("{}/__admin/faults", e.world.sandbox.base_url()))
        .json(&json!({"status": 503, "times": 2,
                      "endpoint": "POST /crm/v2/tenant/{tenant}/customers/{id}/notes"}))
        .send()
        .await
        .unwrap();

    // Rounds 1 and 2: the whole batch comes back (the mapping deleted nothing, as after a
    // timed-out invocation); round 3 deletes what was acknowledged.
    let mut failing = None;
    for round in 1..=3 {
        let messages = receive(&sqs, &url, 3).await;
        assert_eq!(messages.len(), 3, "round {round}");
        let failures = run(&e.app, lambda_event(&messages)).await;
        let failed_bodies: Vec<&str> = messages
            .iter()
            .filter(|m| failures.contains(m.message_id().unwrap()))
            .map(|m| m.body().unwrap())
            .collect();
        if round < 3 {
            assert_eq!(failed_bodies, vec![bodies[1].as_str()], "round {round}");
            failing = failures.iter().next().cloned();
        } else {
            assert!(failures.is_empty(), "round 3: {failures:?}");
            delete_acknowledged(&sqs, &url, &messages, &failures).await;
        }
    }
    assert!(failing.is_some());
    let newest = newest_of(&e.store, &contact).await;
    let job_id: i64 = e.job.opportunity.external_id.parse().unwrap();
    let expect = [
        ("evt-q-1", NoteTarget::Job(job_id)),
        ("evt-q-2", NoteTarget::Customer(num(&newest, "customerId"))),
        ("evt-q-3", NoteTarget::Location(num(&newest, "locationId"))),
    ];
    for (id, target) in expect {
        let notes = notes_of(&e.world, id);
        assert_eq!(notes.len(), 1, "{id}: exactly one note");
        assert_eq!(notes[0].0, target, "{id}");
        let r = e.store.get_note_record(WS, id).await.unwrap().unwrap();
        assert_eq!(r.state, NoteState::Done);
    }
    let r = e
        .store
        .get_note_record(WS, "evt-q-2")
        .await
        .unwrap()
        .unwrap();
    assert!(
        r.uncertain,
        "a 503 may have landed: the retry looked for the marker first"
    );
    assert!(receive(&sqs, &url, 1).await.is_empty(), "queue drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_transient_failures_reach_the_dlq_after_max_receives() {
    let Some(sqs) = sqs_client().await else {
        return;
    };
    let e = env(Engine::Moto, demo_settings(), 27).await.unwrap();
    let dlq = queue(&sqs, "notes-dlq", None).await;
    let dlq_arn = queue_arn(&sqs, &dlq).await;
    let url = queue(&sqs, "notes", Some((&dlq_arn, 2))).await;
    let named = json!({"model": "job", "externalId": e.job.opportunity.external_id});
    let body = event("evt-dlq", &e.job.contact_id, json!({"opportunity": named}));
    send(&sqs, &url, &body).await;
    reqwest::Client::new()
        .post(format!("{}/__admin/faults", e.world.sandbox.base_url()))
        .json(&json!({"status": 502, "times": 100,
                      "endpoint": "POST /jpm/v2/tenant/{tenant}/jobs/{id}/notes"}))
        .send()
        .await
        .unwrap();

    for receive_count in 1..=2 {
        let messages = receive(&sqs, &url, 1).await;
        assert_eq!(messages.len(), 1, "receive {receive_count}");
        let failures = run(&e.app, lambda_event(&messages)).await;
        assert_eq!(failures.len(), 1, "a 502 is transient");
        delete_acknowledged(&sqs, &url, &messages, &failures).await;
    }
    // The third receive finds nothing: SQS moved the message to the DLQ.
    assert!(receive(&sqs, &url, 1).await.is_empty());
    let dead = receive(&sqs, &dlq, 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body(), Some(body.as_str()));
    assert!(notes_of(&e.world, "evt-dlq").is_empty());
    let r = e
        .store
        .get_note_record(WS, "evt-dlq")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.state, NoteState::Pending, "released, ready for a redrive");
    assert!(r.uncertain);
}
