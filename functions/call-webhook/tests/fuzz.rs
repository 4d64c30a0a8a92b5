//! Fuzzing the webhook's parsing and verification path with proptest: no panic on any input
//! (random bytes, random headers, random JSON mutations of a real event), and nothing unsigned
//! ever gets past the signature check or stores anything.

use std::sync::OnceLock;

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use proptest::prelude::*;
use serde_json::{json, Value};

use call_webhook::config::DigestEncoding;
use call_webhook::signature::{sign_base64, sign_hex, verify};
use call_webhook::{event, http_api_request, WebhookError};

const KEY: &[u8] = b"stsync-test-signing-key-0123456789abcdef";

fn sample() -> &'static Value {
    static SAMPLE: OnceLock<Value> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let path = format!(
            "{}/../../events/call-webhook.valid.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let request: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        serde_json::from_str(request["body"].as_str().unwrap()).unwrap()
    })
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
        Just(json!("2025-03-03T16:01:02Z")),
        Just(json!("Inbound")),
        Just(json!("tn.tlc.call-completed")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer of `value` (objects' keys and arrays' indexes), the root excluded.
fn pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{prefix}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

/// The sample with one field removed (`None`) or replaced.
fn mutate(index: usize, replacement: Option<Value>) -> Value {
    let mut value = sample().clone();
    let mut all = Vec::new();
    pointers(&value, String::new(), &mut all);
    let pointer = &all[index % all.len()];
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let parent = value.pointer_mut(parent).unwrap();
    let key = last.replace("~1", "/").replace("~0", "~");
    match (parent, replacement) {
        (Value::Object(map), None) => {
            map.remove(&key);
        }
        (Value::Object(map), Some(new)) => {
            map.insert(key, new);
        }
        (Value::Array(items), None) => {
            items.remove(key.parse::<usize>().unwrap());
        }
        (Value::Array(items), Some(new)) => items[key.parse::<usize>().unwrap()] = new,
        _ => unreachable!("pointers only name object or array members"),
    }
    value
}

/// The pure pipeline after the signature: envelope → tenant → payload. Returns the failure, if any.
fn parse_all(body: &[u8]) -> Result<(), WebhookError> {
    let envelope = event::parse_envelope(body)?;
    event::event_tenant(&envelope)?;
    if envelope.kind == servicetitan::webhook::CALL_COMPLETED {
        let e = event::parse_call_completed(envelope)?;
        let _ = opportunity::call::is_inbound(&e.data.call);
        let _ = opportunity::map_inbound_call(&e.data.call, &opportunity::MappingConfig::default());
    }
    Ok(())
}

fn request(
    body: Option<String>,
    base64: bool,
    headers: Vec<(String, String)>,
) -> ApiGatewayV2httpRequest {
    let mut r = http_api_request("ws-fuzz", &[], b"");
    r.body = body;
    r.is_base64_encoded = base64;
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            lambda_http::http::HeaderName::try_from(k),
            lambda_http::http::HeaderValue::try_from(v),
        ) {
            r.headers.insert(k, v);
        }
    }
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn body_decoding_never_panics(body in proptest::option::of(".{0,300}"), base64 in any::<bool>(), limit in 0usize..400) {
        let r = request(body, base64, vec![]);
        match event::raw_body(&r, limit) {
            Ok(bytes) => prop_assert!(bytes.len() <= limit),
            Err(e) => prop_assert!(matches!(e.status(), 400 | 413), "{e}"),
        }
    }

    #[test]
    fn random_signatures_never_verify(body in prop::collection::vec(any::<u8>(), 0..256), header in ".{0,100}", key in prop::collection::vec(any::<u8>(), 0..80)) {
        for encoding in [DigestEncoding::Hex, DigestEncoding::Base64, DigestEncoding::Either] {
            prop_assert!(verify(&key, &body, &header, encoding).is_err());
        }
        // and the real ones always do, in the encodings they are written in
        prop_assert!(verify(&key, &body, &sign_hex(&key, &body), DigestEncoding::Either).is_ok());
        prop_assert!(verify(&key, &body, &sign_base64(&key, &body), DigestEncoding::Base64).is_ok());
    }

    #[test]
    fn one_flipped_body_bit_breaks_the_signature(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut body = serde_json::to_vec(sample()).unwrap();
        let sig = sign_hex(KEY, &body);
        let i = index.index(body.len());
        body[i] ^= 1 << bit;
        prop_assert!(verify(KEY, &body, &sig, DigestEncoding::Either).is_err());
    }

    #[test]
    fn random_bytes_never_panic_the_parser(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = parse_all(&body) {
            prop_assert_eq!(e.status(), 400);
        }
    }

    #[test]
    fn random_json_never_panics_the_parser(value in arb_json()) {
        if let Err(e) = parse_all(&serde_json::to_vec(&value).unwrap()) {
            prop_assert!(matches!(e.status(), 400), "{e}");
        }
    }

    #[test]
    fn mutated_events_never_panic_and_name_a_field(index in any::<usize>(), replacement in proptest::option::of(arb_json())) {
        let value = mutate(index, replacement);
        match parse_all(&serde_json::to_vec(&value).unwrap()) {
            Ok(()) => {}
            Err(WebhookError::Malformed { field, .. }) => prop_assert!(!field.is_empty()),
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }
}

/// The whole handler on a store, with random headers and bodies that are not signed with the
/// workspace's key: always 401 (or 404/413 before the signature), never a write.
mod handler {
    use super::*;
    use call_webhook::{handle, App, ServiceTitanAccess, WebhookSettings};
    use secrecy::SecretString;
    use secrets::StaticSecrets;
    use store::embedded::EmbeddedDynamo;
    use store::Store;

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RT.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
        })
    }

    fn app() -> &'static (EmbeddedDynamo, App<StaticSecrets>) {
        static APP: OnceLock<(EmbeddedDynamo, App<StaticSecrets>)> = OnceLock::new();
        APP.get_or_init(|| {
            runtime().block_on(async {
                let engine = EmbeddedDynamo::start_memory().await.unwrap();
                let store = Store::new(engine.client().await, "fuzz-table");
                store.ensure_table().await.unwrap();
                let integration: opportunity::Integration = serde_json::from_value(json!({
                    "workspaceId": "ws-fuzz", "environment": "integration", "tenantId": 123456789,
                    "clientId": "cid", "secretId": "fuzz", "models": ["inbound_call"],
                    "status": "active", "activatedAt": "2025-01-01T00:00:00Z"
                }))
                .unwrap();
                store.put_integration(&integration).await.unwrap();
                let mut secrets = StaticSecrets::default();
                secrets.insert(
                    "fuzz",
                    json!({"clientSecret": "cs", "webhookSigningKey": String::from_utf8(KEY.to_vec()).unwrap()}).to_string(),
                );
                let app = App::new(
                    store,
                    secrets,
                    ServiceTitanAccess {
                        app_key: SecretString::from("ak"),
                        endpoint_override: Some(("http://127.0.0.1:9".into(), "http://127.0.0.1:9/connect/token".into())),
                        requests_per_second: 10,
                    },
                    WebhookSettings { max_body_bytes: 4096, ..WebhookSettings::default() },
                );
                (engine, app)
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn unsigned_or_forged_requests_are_refused_and_store_nothing(
            body in proptest::option::of(prop_oneof![".{0,200}", arb_json().prop_map(|v| v.to_string())]),
            base64 in any::<bool>(),
            headers in prop::collection::vec(
                (prop_oneof![Just("x-servicetitan-signature".to_owned()), "[a-z-]{1,20}"], ".{0,80}"),
                0..4,
            ),
        ) {
            let (_, app) = app();
            let writes = app.store.stats().item_writes;
            let r = request(body, base64, headers);
            let response = runtime().block_on(handle(app, r, chrono::Utc::now()));
            prop_assert!(matches!(response.status_code, 400 | 401 | 413), "{}", response.status_code);
            prop_assert_eq!(app.store.stats().item_writes, writes);
        }

        #[test]
        fn signed_mutations_never_panic_the_handler(index in any::<usize>(), replacement in proptest::option::of(arb_json())) {
            let (_, app) = app();
            let body = serde_json::to_vec(&mutate(index, replacement)).unwrap();
            let sig = sign_hex(KEY, &body);
            let r = http_api_request("ws-fuzz", &[("x-servicetitan-signature", &sig)], &body);
            let response = runtime().block_on(handle(app, r, chrono::Utc::now()));
            // 503: the mutated call still names a customer, and ServiceTitan is unreachable here.
            prop_assert!(matches!(response.status_code, 200 | 400 | 403 | 409 | 503), "{}", response.status_code);
        }
    }
}
