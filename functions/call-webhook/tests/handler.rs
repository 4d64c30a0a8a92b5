//! The call-webhook handler fed with `events/call-webhook.*.json` and with variations of them,
//! against the ServiceTitan sandbox (over HTTP) and dynoxide. Every refused request is checked to
//! store nothing and to call ServiceTitan never.

use chrono::{DateTime, Utc};
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::http::Method;
use opportunity::{Integration, Model};
use secrecy::SecretString;
use secrets::StaticSecrets;
use serde_json::{json, Value};
use st_sandbox::{Dataset, RunningSandbox, Sandbox, SandboxConfig};
use store::embedded::EmbeddedDynamo;
use store::{ClaimOutcome, MatchedBy, Store};

use call_webhook::signature::sign_hex;
use call_webhook::{handle, http_api_request, App, ServiceTitanAccess, WebhookSettings};

/// The documented test key the events are signed with (events/README.md).
const KEY: &str = "stsync-test-signing-key-0123456789abcdef";
const WS: &str = "acme-hvac";
const SECRET_ID: &str = "acme-hvac/servicetitan";
const TENANT: i64 = 123_456_789;

fn now() -> DateTime<Utc> {
    "2025-03-03T16:05:21Z".parse().unwrap()
}

fn event_file(name: &str) -> ApiGatewayV2httpRequest {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect(&path);
    serde_json::from_str(&text).expect("an API Gateway HTTP API v2 event")
}

/// The body bytes of the valid sample event, as JSON to vary.
fn sample_event() -> Value {
    let request = event_file("call-webhook.valid.json");
    serde_json::from_str(request.body.as_deref().unwrap()).unwrap()
}

/// A signed request for `body` (bytes exactly as given).
fn signed(body: &[u8]) -> ApiGatewayV2httpRequest {
    let sig = sign_hex(KEY.as_bytes(), body);
    http_api_request(
        WS,
        &[
            ("content-type", "application/json"),
            ("x-servicetitan-signature", &sig),
        ],
        body,
    )
}

fn signed_json(event: &Value) -> ApiGatewayV2httpRequest {
    signed(&serde_json::to_vec(event).unwrap())
}

/// Customer 3301457 of the sample call, with an e-mail and a mobile number.
fn fixture() -> Dataset {
    Dataset::from_fixture_json(
        &json!({
            "customers": [{
                "id": 3301457, "active": true, "name": "Avery Testwell", "type": "Residential",
                "address": {"street": "1200 Sample Creek Rd", "city": "Springfield", "state": "IL", "zip": "62704"},
                "customFields": [], "createdOn": "2023-06-12T14:22:09Z", "modifiedOn": "2025-01-04T10:00:00Z"
            }],
            "contacts": [
                {"id": 880101, "customerId": 3301457, "type": "Email", "value": "Avery.Testwell@Example.com",
                 "createdOn": "2023-06-12T14:22:09Z", "modifiedOn": "2023-06-12T14:22:09Z"},
                {"id": 880102, "customerId": 3301457, "type": "MobilePhone", "value": "(217) 555-0142",
                 "createdOn": "2023-06-12T14:22:09Z", "modifiedOn": "2023-06-12T14:22:09Z"}
            ]
        })
        .to_string(),
    )
    .expect("fixture")
}

struct Harness {
    app: App<StaticSecrets>,
    sandbox: RunningSandbox,
    _engine: EmbeddedDynamo,
}

impl Harness {
    async fn start(models: &[&str], signing_key: Option<&str>) -> Harness {
        let engine = EmbeddedDynamo::start_memory().await.unwrap();
        let store = Store::new(engine.client().await, "call-webhook-tests");
        store.ensure_table().await.unwrap();
        let config = SandboxConfig {
            rate_limit_per_sec: None,
            ..SandboxConfig::default()
        };
        assert_eq!(config.tenant_id, TENANT);
        let sandbox = Sandbox::start(config.clone(), fixture(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let integration: Integration = serde_json::from_value(json!({
            "workspaceId": WS, "environment": "integration", "tenantId": TENANT,
            "clientId": config.client_id, "secretId": SECRET_ID, "models": models,
            "status": "active", "activatedAt": "2025-01-01T00:00:00Z"
        }))
        .unwrap();
        store.put_integration(&integration).await.unwrap();
        let mut secret = json!({ "clientSecret": config.client_secret });
        if let Some(key) = signing_key {
            secret["webhookSigningKey"] = json!(key);
        }
        let mut secrets = StaticSecrets::default();
        secrets.insert(SECRET_ID, secret.to_string());
        let app = App::new(
            store,
            secrets,
            ServiceTitanAccess {
                app_key: SecretString::from(config.app_key.clone()),
                endpoint_override: Some((sandbox.base_url(), sandbox.token_url())),
                requests_per_second: 100,
            },
            WebhookSettings::default(),
        );
        Harness {
            app,
            sandbox,
            _engine: engine,
        }
    }

    async fn send(&self, request: ApiGatewayV2httpRequest) -> (u16, Value) {
        answer(handle(&self.app, request, now()).await)
    }

    fn writes(&self) -> u64 {
        self.app.store.stats().item_writes
    }

    async fn calls(&self) -> Vec<store::StoredOpportunity> {
        self.app
            .store
            .list_opportunities(WS, Some(Model::InboundCall))
            .await
            .unwrap()
    }

    /// Send and check that the request is refused with `status`/`code` and changed nothing.
    async fn refused(&self, request: ApiGatewayV2httpRequest, status: u16, code: &str) -> Value {
        let (writes, api) = (self.writes(), self.sandbox.total_requests());
        let (got, body) = self.send(request).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(self.writes(), writes, "a refused request stores nothing");
        assert_eq!(
            self.sandbox.total_requests(),
            api,
            "and asks ServiceTitan nothing"
        );
        body
    }
}

fn answer(response: ApiGatewayV2httpResponse) -> (u16, Value) {
    assert_eq!(
        response
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body = response.body.expect("a body");
    (
        u16::try_from(response.status_code).unwrap(),
        serde_json::from_slice(&body).expect("a JSON body"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_files_through_the_handler() {
    let h = Harness::start(&["job", "inbound_call"], Some(KEY)).await;

    let body = h
        .refused(
            event_file("call-webhook.bad-signature.json"),
            401,
            "bad_signature",
        )
        .await;
    assert!(
        !body.to_string().contains("049dd85e"),
        "never echo signatures"
    );
    let body = h
        .refused(event_file("call-webhook.malformed.json"), 400, "malformed")
        .await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("data.call.leadCall.id"),
        "{body}"
    );

    let writes = h.writes();
    let (status, body) = h.send(event_file("call-webhook.outbound.json")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ignored")),
        "{body}"
    );
    assert!(body["reason"].as_str().unwrap().contains("Outbound"));
    assert_eq!(h.writes(), writes, "an outbound call stores nothing");
    assert!(h.calls().await.is_empty());

    let (status, body) = h.send(event_file("call-webhook.valid.json")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("created")),
        "{body}"
    );
    assert_eq!(
        body["opportunity"],
        json!({"model": "inbound_call", "externalId": "90112233"})
    );
    assert_eq!(body["customerFetched"], json!(true));
    assert_eq!(body["contactCreated"], json!(true));
    let counts = h.sandbox.request_counts();
    assert_eq!(
        counts.get("GET /crm/v2/tenant/{tenant}/customers"),
        Some(&1),
        "{counts:?}"
    );
    assert_eq!(
        counts.get("GET /crm/v2/tenant/{tenant}/customers/contacts"),
        Some(&1),
        "{counts:?}"
    );

    let calls = h.calls().await;
    assert_eq!(calls.len(), 1);
    let stored = &calls[0];
    let o = &stored.opportunity;
    assert_eq!(o.external_id, "90112233");
    assert_eq!(o.external_contact_id.as_deref(), Some("3301457"));
    assert_eq!(o.standard.phone.as_deref(), Some("+12175550142"));
    assert_eq!(o.details["campaign:name"], json!("Yard Signs"));
    assert_eq!(o.details["durationSeconds"], json!(257));
    let contact = h
        .app
        .store
        .get_contact(WS, &stored.contact_id)
        .await
        .unwrap()
        .expect("contact");
    assert_eq!(
        contact.email.as_deref(),
        Some("avery.testwell@example.com"),
        "the customer's e-mail came from ServiceTitan"
    );
    assert_eq!(contact.customer_ids, vec![3301457]);

    // ServiceTitan's retry of the same delivery, base64-encoded by API Gateway.
    let duplicate = event_file("call-webhook.duplicate.json");
    assert!(duplicate.is_base64_encoded);
    let (writes, api) = (h.writes(), h.sandbox.total_requests());
    let (status, body) = h.send(duplicate).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("duplicate")),
        "{body}"
    );
    assert_eq!(body["duplicateOf"], json!("event"));
    assert_eq!(h.writes(), writes, "a duplicate writes nothing");
    assert_eq!(h.sandbox.total_requests(), api);
    assert_eq!(h.calls().await.len(), 1);
}

#[tokio::test]
async fn routing_and_configuration_answers() {
    let h = Harness::start(&["job", "inbound_call"], Some(KEY)).await;
    let body = serde_json::to_vec(&sample_event()).unwrap();

    let mut get = signed(&body);
    get.request_context.http.method = Method::GET;
    h.refused(get, 405, "method_not_allowed").await;

    for workspace in ["nobody", "", "a#b"] {
        let mut r = signed(&body);
        r.path_parameters
            .insert("workspaceId".into(), workspace.into());
        h.refused(r, 404, "unknown_workspace").await;
    }

    let mut unsigned = signed(&body);
    unsigned.headers.remove("x-servicetitan-signature");
    h.refused(unsigned, 401, "missing_signature").await;
    let mut garbage = signed(&body);
    garbage
        .headers
        .insert("x-servicetitan-signature", "sha1=abc".parse().unwrap());
    h.refused(garbage, 401, "malformed_signature").await;

    // Verification is over the raw bytes: equal JSON, other bytes, same signature → 401.
    let original = event_file("call-webhook.valid.json");
    let mut reserialized = original.clone();
    let value: Value = serde_json::from_str(original.body.as_deref().unwrap()).unwrap();
    reserialized.body = Some(serde_json::to_string_pretty(&value).unwrap());
    h.refused(reserialized, 401, "bad_signature").await;

    let mut big = signed(&vec![b' '; 300 * 1024]);
    big.path_parameters.insert("workspaceId".into(), WS.into());
    h.refused(big, 413, "payload_too_large").await;

    let mut bad_b64 = signed(&body);
    bad_b64.is_base64_encoded = true;
    bad_b64.body = Some("!!not base64!!".into());
    h.refused(bad_b64, 400, "malformed").await;
}

#[tokio::test]
async fn model_off_or_no_key_is_refused_after_nothing_is_stored() {
    let h = Harness::start(&["job"], Some(KEY)).await;
    h.refused(
        event_file("call-webhook.valid.json"),
        404,
        "model_not_enabled",
    )
    .await;
    // A forged request does not learn whether the model is on: the signature comes first.
    h.refused(
        event_file("call-webhook.bad-signature.json"),
        401,
        "bad_signature",
    )
    .await;

    let h = Harness::start(&["job", "inbound_call"], None).await;
    h.refused(event_file("call-webhook.valid.json"), 401, "no_signing_key")
        .await;
}

#[tokio::test]
async fn tenant_and_type_rules() {
    let h = Harness::start(&["inbound_call"], Some(KEY)).await;
    let writes = h.writes();
    let mut other_tenant = sample_event();
    other_tenant["data"]["tenantId"] = json!(42);
    let body = h
        .refused(signed_json(&other_tenant), 403, "tenant_mismatch")
        .await;
    assert!(body["message"].as_str().unwrap().contains("42"));

    let mut job_event = sample_event();
    job_event["type"] = json!("tn.jpm.job-completed");
    job_event["data"] = json!({"job": {"id": 1}, "tenantId": TENANT, "tenantName": "x"});
    let (status, body) = h.send(signed_json(&job_event)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ignored")),
        "{body}"
    );
    job_event["data"]["tenantId"] = json!(7);
    h.refused(signed_json(&job_event), 403, "tenant_mismatch")
        .await;

    let mut old_version = sample_event();
    old_version["specversion"] = json!("0.3");
    h.refused(signed_json(&old_version), 400, "malformed").await;
    assert_eq!(
        h.writes(),
        writes,
        "ignored and refused events store nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_call_under_a_new_event_id_is_a_duplicate() {
    let h = Harness::start(&["inbound_call"], Some(KEY)).await;
    let (status, _) = h.send(event_file("call-webhook.valid.json")).await;
    assert_eq!(status, 200);
    let api = h.sandbox.total_requests();
    let mut replay = sample_event();
    replay["id"] = json!("replayed-from-the-portal");
    let (status, body) = h.send(signed_json(&replay)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("duplicate")),
        "{body}"
    );
    assert_eq!(body["duplicateOf"], json!("call"));
    assert_eq!(
        h.sandbox.total_requests(),
        api,
        "no ServiceTitan call for a known call"
    );

    // A newer version of the same call replaces the opportunity.
    let mut newer = sample_event();
    newer["id"] = json!("newer-version");
    newer["data"]["call"]["leadCall"]["modifiedOn"] = json!("2025-03-03T17:00:00Z");
    newer["data"]["call"]["leadCall"]["callType"] = json!("Unbooked");
    let (status, body) = h.send(signed_json(&newer)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("created")),
        "{body}"
    );
    assert_eq!(
        body["customerFetched"],
        json!(false),
        "the customer is linked now"
    );
    let calls = h.calls().await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].opportunity.details["callType"], json!("Unbooked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_caller_matches_by_phone() {
    let h = Harness::start(&["inbound_call"], Some(KEY)).await;
    let (status, first) = h.send(event_file("call-webhook.valid.json")).await;
    assert_eq!(status, 200);
    let mut anonymous = sample_event();
    anonymous["id"] = json!("evt-anonymous");
    let call = &mut anonymous["data"]["call"];
    call["id"] = json!(90113001);
    call["leadCall"]["id"] = json!(90113001);
    call["leadCall"]["customer"] = Value::Null;
    call["leadCall"]["from"] = json!("217.555.0142");
    let api = h.sandbox.total_requests();
    let (status, body) = h.send(signed_json(&anonymous)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("created")),
        "{body}"
    );
    assert_eq!(body["contactMatchedBy"], json!(MatchedBy::Phone));
    assert_eq!(body["contactId"], first["contactId"]);
    assert_eq!(h.sandbox.total_requests(), api, "no customer to fetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_in_progress_elsewhere_gets_409_and_a_failure_releases_the_claim() {
    let h = Harness::start(&["inbound_call"], Some(KEY)).await;
    let event = sample_event();
    let id = event["id"].as_str().unwrap();
    let ClaimOutcome::Claimed(other) = h
        .app
        .store
        .claim_webhook_event(
            WS,
            "https://webhooks.servicetitan.io",
            id,
            "tn.tlc.call-completed",
            now(),
            chrono::Duration::seconds(60),
        )
        .await
        .unwrap()
    else {
        panic!("claimed")
    };
    let (status, body) = h.send(event_file("call-webhook.valid.json")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("in_progress")),
        "{body}"
    );
    h.app.store.release_webhook_event(&other).await.unwrap();

    // ServiceTitan answers 503 to the customer lookups: 503 to the sender, claim released.
    let admin = format!("{}/__admin/faults", h.sandbox.base_url());
    let http = reqwest::Client::new();
    http.post(&admin)
        .json(&json!({"status": 503, "times": 20, "endpoint": "GET /crm/v2/tenant/{tenant}/customers"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let (status, body) = h.send(event_file("call-webhook.valid.json")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert!(h.calls().await.is_empty());
    http.delete(&admin).send().await.unwrap();
    let (status, body) = h.send(event_file("call-webhook.duplicate.json")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("created")),
        "the retry is handled, not taken for a duplicate: {body}"
    );
}
