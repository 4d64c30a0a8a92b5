//! `stsync demo`, inbound calls: the sandbox builds a realistic `tn.tlc.call-completed` event for
//! one of its customers, it is signed with the demo integration's webhook key and fed to the
//! call-webhook Lambda's handler exactly as API Gateway would hand it over; then the same
//! delivery again (a duplicate) and a forged one (401). The customer lookup goes to the sandbox
//! over HTTP, the opportunity to the demo's store.

use anyhow::{Context, Result};
use chrono::Utc;
use opportunity::{Integration, Model};
use secrets::StaticSecrets;
use serde::Serialize;
use st_sandbox::webhooks::{build_call, call_completed_event, CallCompletedRequest};
use st_sandbox::{Dataset, SandboxConfig};
use store::Store;
use sync::runner::Platform;

use call_webhook::signature::sign_hex;
use call_webhook::{handle, http_api_request, App, ServiceTitanAccess, WebhookSettings};

/// The demo integration's webhook signing key (a local demo value, not a secret).
/// The call id the demo fires (a fixed id, so redelivery is recognised across runs).
const DEMO_CALL_ID: i64 = 97_000_001;

pub const DEMO_SIGNING_KEY: &str = "demo-webhook-signing-key-0123456789abcdef";

/// What the three deliveries were answered, and the opportunity the first one made.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallDemo {
    /// The call id (External ID).
    pub call_id: i64,
    /// `[status, answer]` of the first delivery (created).
    pub first: (u16, serde_json::Value),
    /// ... of the same delivery again (duplicate).
    pub duplicate: (u16, serde_json::Value),
    /// ... of a delivery signed with another key (401).
    pub forged: (u16, serde_json::Value),
    /// The stored Inbound Call opportunity (summary JSON), when one was made.
    pub opportunity: Option<serde_json::Value>,
}

/// Fire a completed inbound call at the call-webhook handler (module docs). An integration saved
/// by an older demo without the `inbound_call` model gets it enabled first.
pub async fn fire_completed_call(
    store: &Store,
    integration: &Integration,
    secrets: &StaticSecrets,
    platform: &Platform,
    cfg: &SandboxConfig,
    data: &Dataset,
) -> Result<CallDemo> {
    let ws = integration.workspace_id.as_str();
    if !integration.models.contains(&Model::InboundCall) {
        let mut upgraded = integration.clone();
        upgraded.models.push(Model::InboundCall);
        store.put_integration(&upgraded).await?;
    }
    let app = App::new(
        store.clone(),
        secrets.clone(),
        ServiceTitanAccess {
            app_key: platform.app_key.clone(),
            endpoint_override: platform.endpoint_override.clone(),
            requests_per_second: platform.requests_per_second,
        },
        WebhookSettings::default(),
    );
    // The same call and event every run: the first run creates the Inbound Call opportunity,
    // later runs show ServiceTitan's redelivery being recognised (and write nothing).
    let call_id = DEMO_CALL_ID;
    let now = cfg.now; // pinned demo clock: the same call every run
    let call = build_call(data, &CallCompletedRequest::default(), call_id, now)
        .map_err(anyhow::Error::msg)
        .context("building the demo call")?;
    let event_id = format!("demo-call-{call_id}");
    let event = call_completed_event(&event_id, cfg.tenant_id, call, now);
    let body = serde_json::to_vec(&event)?;
    let deliver = |key: &str| {
        let signature = sign_hex(key.as_bytes(), &body);
        http_api_request(
            ws,
            &[
                ("content-type", "application/json"),
                ("x-servicetitan-signature", signature.as_str()),
            ],
            &body,
        )
    };
    let answer = |r: call_webhook::ApiGatewayV2httpResponse| {
        let body = r.body.map(|b| b.to_vec()).unwrap_or_default();
        (
            r.status_code as u16,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    };
    let first = answer(handle(&app, deliver(DEMO_SIGNING_KEY), now).await);
    let duplicate = answer(handle(&app, deliver(DEMO_SIGNING_KEY), Utc::now()).await);
    let forged = answer(
        handle(
            &app,
            deliver("forged-key-0123456789abcdef0123456789"),
            Utc::now(),
        )
        .await,
    );
    let opportunity = store
        .get_opportunity(ws, Model::InboundCall, &call_id.to_string())
        .await?
        .map(|o| {
            let mut json = crate::output::summary_json(&o);
            let shown = [
                "receivedOn",
                "duration",
                "from",
                "direction",
                "callType",
                "reason:name",
                "campaign:name",
                "customer:name",
                "agent:name",
            ];
            json["details"] = shown
                .iter()
                .filter_map(|k| Some(((*k).to_owned(), o.opportunity.details.get(*k)?.clone())))
                .collect::<serde_json::Map<_, _>>()
                .into();
            json
        });
    Ok(CallDemo {
        call_id,
        first,
        duplicate,
        forged,
        opportunity,
    })
}

/// Print the readable part of the demo summary.
pub fn print(demo: &CallDemo) {
    let line = |what: &str, (status, body): &(u16, serde_json::Value)| {
        let label = body["status"]
            .as_str()
            .or(body["error"].as_str())
            .unwrap_or("?");
        println!("    {what:<34} → {status} {label}");
    };
    println!();
    println!(
        "  a completed inbound call (id {}) through the call-webhook handler:",
        demo.call_id
    );
    line("signed delivery", &demo.first);
    line("the same delivery again (retry)", &demo.duplicate);
    line("a delivery signed with another key", &demo.forged);
    if let Some(o) = &demo.opportunity {
        println!("  Inbound Call opportunity:");
        println!("{}", serde_json::to_string_pretty(o).unwrap_or_default());
    }
}
