//! The call-webhook handler's own cost per delivery, store excluded (issue #9): what
//! `handle` does with a signed `tn.tlc.call-completed` request besides the store and
//! ServiceTitan calls — body extraction, the HMAC-SHA256 check over the raw bytes, the CloudEvents
//! envelope and call parse, the inbound check and the mapping to an Inbound Call opportunity —
//! plus, apart, the decoding of the API Gateway event the Lambda runtime does before `handle`.
//!
//! `cargo bench -p call-webhook --bench webhook` (add `-- --measurement-time 3` for a quick run).

use std::hint::black_box;

use call_webhook::{event, signature, WebhookSettings};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use opportunity::MappingConfig;

const KEY: &[u8] = b"bench-signing-key";

fn sample_body() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/call-webhook.valid.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let event: serde_json::Value = serde_json::from_str(&text).expect("sample event is JSON");
    event["body"]
        .as_str()
        .expect("the sample has a text body")
        .as_bytes()
        .to_vec()
}

/// Everything the handler does for one delivery except the store and ServiceTitan calls.
fn own_cost(
    settings: &WebhookSettings,
    mapping: &MappingConfig,
    request: &call_webhook::ApiGatewayV2httpRequest,
) -> Option<opportunity::Opportunity> {
    let body = event::raw_body(request, settings.max_body_bytes).ok()?;
    let header = request
        .headers
        .get(&settings.signature_header)?
        .to_str()
        .ok()?;
    signature::verify(KEY, &body, header, settings.digest_encoding).ok()?;
    let envelope = event::parse_envelope(&body).ok()?;
    event::event_tenant(&envelope).ok()?;
    let call = event::parse_call_completed(envelope).ok()?;
    if !opportunity::call::is_inbound(&call.data.call) {
        return None;
    }
    opportunity::map_inbound_call(&call.data.call, mapping).ok()
}

fn webhook(c: &mut Criterion) {
    let settings = WebhookSettings::default();
    let mapping = MappingConfig::default();
    let body = sample_body();
    let signed = signature::sign_hex(KEY, &body);
    let request = call_webhook::http_api_request(
        "acme-hvac",
        &[
            ("content-type", "application/json"),
            (settings.signature_header.as_str(), &signed),
        ],
        &body,
    );
    assert!(
        own_cost(&settings, &mapping, &request).is_some(),
        "the sample delivery must verify, parse and map"
    );
    let event_json = serde_json::to_string(&request).expect("the request serializes");

    let mut g = c.benchmark_group("call_webhook");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_parse_map", |b| {
        b.iter(|| black_box(own_cost(&settings, &mapping, black_box(&request))))
    });
    g.bench_function("signature_only", |b| {
        b.iter(|| {
            black_box(signature::verify(
                KEY,
                black_box(&body),
                &signed,
                settings.digest_encoding,
            ))
        })
    });
    g.bench_function("apigw_event_decode", |b| {
        b.iter(|| {
            black_box(
                serde_json::from_str::<call_webhook::ApiGatewayV2httpRequest>(black_box(
                    &event_json,
                ))
                .ok(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, webhook);
criterion_main!(benches);
