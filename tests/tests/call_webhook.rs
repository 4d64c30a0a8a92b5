//! call-webhook end to end: the handler behind a local HTTP front (standing in for API Gateway,
//! which hands the function the body text and headers exactly as received), the ServiceTitan
//! sandbox (customer lookups over HTTP, and its signed webhook sender with the retry schedule),
//! and the store on dynoxide — and on moto in CI (`Engine::Moto`, skipped when
//! `AWS_ENDPOINT_URL` is unset).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use call_webhook::signature::sign_hex;
use call_webhook::{handle, http_api_request, App, ServiceTitanAccess, WebhookSettings};
use chrono::Utc;
use e2e::{store_on, Engine, World};
use opportunity::Model;
use secrets::StaticSecrets;
use serde_json::{json, Value};
use store::Store;

const KEY: &str = "e2e-webhook-signing-key-0123456789abcdef";
const SECRET_ID: &str = "e2e/servicetitan-with-webhooks";

/// The API Gateway stand-in: `POST /webhooks/servicetitan/{workspaceId}` → the real handler.
async fn front(
    State(app): State<Arc<App<StaticSecrets>>>,
    Path(workspace): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = http_api_request(&workspace, &pairs, &body);
    let response = handle(&app, request, Utc::now()).await;
    let status = StatusCode::from_u16(response.status_code as u16).unwrap();
    let body = response.body.map(|b| b.to_vec()).unwrap_or_default();
    (status, body)
}

struct Setup {
    world: World,
    store: Store,
    url: String,
    http: reqwest::Client,
    _engine: Option<store::embedded::EmbeddedDynamo>,
}

async fn setup(engine: Engine, workspace: &str) -> Option<Setup> {
    let (store, embedded) = store_on(engine).await?;
    let now = Utc::now();
    let mut world = World::start(40, 20, 7, now).await;
    let mut integration = world.integration(workspace, now);
    integration.models.push(Model::InboundCall);
    integration.secret_id = SECRET_ID.into();
    store.put_integration(&integration).await.unwrap();
    world.secrets.insert(
        SECRET_ID,
        json!({"clientSecret": world.config.client_secret, "webhookSigningKey": KEY}).to_string(),
    );
    let app = App::new(
        store.clone(),
        world.secrets.clone(),
        ServiceTitanAccess {
            app_key: world.platform.app_key.clone(),
            endpoint_override: world.platform.endpoint_override.clone(),
            requests_per_second: world.platform.requests_per_second,
        },
        WebhookSettings::default(),
    );
    let router = Router::new()
        .route("/webhooks/servicetitan/{workspaceId}", post(front))
        .with_state(Arc::new(app));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Some(Setup {
        world,
        store,
        url: format!("http://{addr}/webhooks/servicetitan/{workspace}"),
        http: reqwest::Client::new(),
        _engine: embedded,
    })
}

impl Setup {
    /// Ask the sandbox for an event without delivering it anywhere useful: the event it builds
    /// (first active customer, a fresh call id) comes back in the answer.
    async fn sandbox_event(&self, call_id: i64, event_id: &str) -> Value {
        let admin = format!(
            "{}/__admin/webhooks/call-completed",
            self.world.sandbox.base_url()
        );
        let answer: Value = self
            .http
            .post(admin)
            .json(
                &json!({"url": "http://127.0.0.1:9/nowhere", "signingKey": KEY,
                          "callId": call_id, "eventId": event_id, "retryScale": 0, "wait": false}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["event"].clone()
    }

    async fn post(&self, body: &[u8], signature: &str) -> (u16, Value) {
        let r = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-servicetitan-signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn calls(&self, workspace: &str) -> Vec<store::StoredOpportunity> {
        self.store
            .list_opportunities(workspace, Some(Model::InboundCall))
            .await
            .unwrap()
    }
}

/// The acceptance test of issue 5: the same signed event twice and a forged one → one
/// opportunity, two 2xx, one 401; a re-serialised but equal JSON body with the original
/// signature is refused (verification is over the raw bytes).
async fn acceptance(engine: Engine) {
    let ws = "ws-calls";
    let Some(s) = setup(engine, ws).await else {
        return;
    };
    let event = s.sandbox_event(91_000_001, "evt-acceptance-1").await;
    let body = serde_json::to_vec(&event).unwrap();
    let signature = sign_hex(KEY.as_bytes(), &body);
    let forged = sign_hex(b"someone-else's-key-0123456789abcdefghij", &body);

    let first = s.post(&body, &signature).await;
    let second = s.post(&body, &signature).await;
    let third = s.post(&body, &forged).await;
    assert_eq!(
        [first.0, second.0, third.0],
        [200, 200, 401],
        "{first:?} {second:?} {third:?}"
    );
    assert_eq!(first.1["status"], json!("created"));
    assert_eq!(
        first.1["customerFetched"],
        json!(true),
        "customer fetched from the sandbox"
    );
    assert_eq!(second.1["status"], json!("duplicate"));
    assert_eq!(third.1["error"], json!("bad_signature"));

    let pretty = serde_json::to_vec_pretty(&event).unwrap();
    assert_ne!(pretty, body);
    assert_eq!(
        serde_json::from_slice::<Value>(&pretty).unwrap(),
        event,
        "same JSON"
    );
    let (status, answer) = s.post(&pretty, &signature).await;
    assert_eq!(
        (status, answer["error"].clone()),
        (401, json!("bad_signature"))
    );

    let calls = s.calls(ws).await;
    assert_eq!(calls.len(), 1, "one opportunity");
    let o = &calls[0].opportunity;
    assert_eq!(o.external_id, "91000001");
    let customer = event["data"]["call"]["leadCall"]["customer"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(o.external_contact_id, Some(customer.to_string()));
    let contact = s
        .store
        .get_contact(ws, &calls[0].contact_id)
        .await
        .unwrap()
        .expect("contact");
    assert!(contact.customer_ids.contains(&customer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_event_twice_and_a_forged_one_on_dynoxide() {
    acceptance(Engine::Dynoxide).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_event_twice_and_a_forged_one_on_moto() {
    acceptance(Engine::Moto).await;
}

/// The sandbox's sender retries a non-2xx answer on ServiceTitan's schedule (scaled down): the
/// handler answers 503 while ServiceTitan's customer lookups fail, releases its claim, and the
/// third attempt records the call. A forged sender gets 401 on every attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sandbox_deliveries_retry_until_accepted() {
    let ws = "ws-retry";
    let s = setup(Engine::Dynoxide, ws).await.unwrap();
    let base = s.world.sandbox.base_url();
    s.http
        .post(format!("{base}/__admin/faults"))
        .json(&json!({"status": 503, "times": 4, "endpoint": "GET /crm/v2/tenant/{tenant}/customers"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let delivery: Value = s
        .http
        .post(format!("{base}/__admin/webhooks/call-completed"))
        .json(&json!({"url": s.url, "signingKey": KEY, "callId": 91_000_002, "retryScale": 0.001}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<Value> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    // The client retries once per delivery: two 503 lookups per failed attempt.
    assert_eq!(
        statuses,
        vec![json!(503), json!(503), json!(200)],
        "{delivery}"
    );
    let delays: Vec<f64> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["delaySecs"].as_f64().unwrap())
        .collect();
    assert_eq!(delays.len(), 3);
    assert!(
        (delays[1] - 0.010).abs() < 1e-9 && (delays[2] - 0.030).abs() < 1e-9,
        "{delays:?}"
    );
    assert_eq!(delivery["delivered"], json!(true));
    assert_eq!(s.calls(ws).await.len(), 1);

    let forged: Value = s
        .http
        .post(format!("{base}/__admin/webhooks/call-completed"))
        .json(&json!({"url": s.url, "signingKey": "not-the-key-0123456789abcdef0123456789", "retryScale": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<Value> = forged["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(401); 5], "initial attempt + 4 retries");
    assert_eq!(forged["delivered"], json!(false));
    assert_eq!(
        s.calls(ws).await.len(),
        1,
        "nothing stored for forged deliveries"
    );

    let log: Value = s
        .http
        .get(format!("{base}/__admin/webhooks/deliveries"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 2);
}
