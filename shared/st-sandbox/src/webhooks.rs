//! Signed webhook deliveries (SPEC.md §10, API-NOTES §8): the sandbox plays ServiceTitan's V2
//! webhook sender for `tn.tlc.call-completed`.
//!
//! `POST /__admin/webhooks/call-completed` with a [`CallCompletedRequest`] builds a realistic
//! CloudEvents 1.0 event from the sandbox's data (the call's customer, the customer's phone as the
//! caller's number), signs the exact body bytes with HMAC-SHA256 under `signingKey`, POSTs them to
//! `url`, and on a non-2xx answer (or no answer) retries on ServiceTitan's schedule — 10, 30, 60
//! and 300 s after the previous attempt, five attempts in all — multiplied by `retryScale` (tests
//! use a small factor; `0` retries at once). The answer (200) reports the event and every attempt;
//! with `"wait": false` it answers 202 at once and the delivery goes on in the background.
//! `GET /__admin/webhooks/deliveries` lists every delivery of this sandbox with its attempts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use servicetitan::webhook::{CallCompletedData, CloudEvent, CALL_COMPLETED, SPEC_VERSION};
use servicetitan::wire::{
    CallAgent, CallJobType, CallReason, CallResponse, CallTag, Id, LeadCall, NamedRef,
};
use sha2::Sha256;

use crate::dataset::Dataset;
use crate::server::Shared;

/// ServiceTitan's retry delays after a failed attempt, in seconds (API-NOTES §8.1).
pub const RETRY_SCHEDULE_SECS: [u64; 4] = [10, 30, 60, 300];
/// Default signature header (API-NOTES §8.2).
pub const DEFAULT_SIGNATURE_HEADER: &str = "x-servicetitan-signature";
/// CloudEvents `source` ServiceTitan sends.
pub const WEBHOOK_SOURCE: &str = "https://webhooks.servicetitan.io";

/// What to send: `POST /__admin/webhooks/call-completed` body (camelCase JSON). Only `url` and
/// `signingKey` are required.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CallCompletedRequest {
    /// Where to POST the event.
    pub url: String,
    /// HMAC key (the app's webhook key in the developer portal, 32–64 characters).
    pub signing_key: String,
    /// The call id (`leadCall.id`; the bundle `id` is the same). Default: a new id per delivery.
    pub call_id: Option<Id>,
    /// CloudEvent id. Default: a new UUID (send the same id twice to simulate a re-delivery).
    pub event_id: Option<String>,
    /// `Inbound` (default) or `Outbound`.
    pub direction: Option<String>,
    /// The calling customer. Default: the first active customer of the data; see
    /// `unknown_caller`.
    pub customer_id: Option<Id>,
    /// A caller ServiceTitan does not know (`customer: null`).
    pub unknown_caller: bool,
    /// Caller's number. Default: the customer's first phone contact as typed, else `2175550199`.
    pub from: Option<String>,
    /// Called number (default `2175550100`).
    pub to: Option<String>,
    /// `Booked` (default), `Unbooked`, `Abandoned`, `Excused`, `NotLead`; outbound calls get none.
    pub call_type: Option<String>,
    /// `data.tenantId`. Default: the sandbox's tenant.
    pub tenant_id: Option<i64>,
    /// Signature header name (default [`DEFAULT_SIGNATURE_HEADER`]).
    pub signature_header: Option<String>,
    /// `hex` (default) or `base64`.
    pub encoding: Option<String>,
    /// Multiplies the retry schedule (default 1.0; must be ≥ 0).
    pub retry_scale: Option<f64>,
    /// Answer after the delivery is final (default true) or at once (202).
    pub wait: Option<bool>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// 1-based.
    pub attempt: u32,
    /// Delay before this attempt, in (scaled) seconds.
    pub delay_secs: f64,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Transport error, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A delivery and its attempts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// CloudEvent id.
    pub event_id: String,
    /// Call id.
    pub call_id: Id,
    /// Target URL.
    pub url: String,
    /// A 2xx was received.
    pub delivered: bool,
    /// No more attempts will be made.
    pub finished: bool,
    /// Attempts so far.
    pub attempts: Vec<Attempt>,
}

type Log = Arc<Mutex<Vec<Delivery>>>;

pub(crate) fn router() -> Router<Arc<Shared>> {
    let log: Log = Arc::default();
    Router::new()
        .route("/webhooks/call-completed", post(send_call_completed))
        .route("/webhooks/deliveries", get(deliveries))
        .layer(Extension(log))
}

fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// The call of an event, from the sandbox data (see [`CallCompletedRequest`] for the defaults).
///
/// Errors: a message when `customer_id` is not in the data or the data has no active customer.
pub fn build_call(
    data: &Dataset,
    req: &CallCompletedRequest,
    call_id: Id,
    now: DateTime<Utc>,
) -> Result<CallResponse, String> {
    let customer = if req.unknown_caller {
        None
    } else {
        let found = match req.customer_id {
            Some(id) => data.customers.iter().find(|c| c.id == id),
            None => data.customers.iter().find(|c| c.active),
        };
        Some(found.ok_or_else(|| match req.customer_id {
            Some(id) => format!("customer {id} is not in the sandbox data"),
            None => "the sandbox data has no active customer".to_owned(),
        })?)
    };
    let direction = req.direction.clone().unwrap_or_else(|| "Inbound".into());
    let inbound = direction.eq_ignore_ascii_case("inbound");
    let customer_phone = customer.and_then(|c| {
        data.contacts
            .iter()
            .filter(|k| k.customer_id == Some(c.id))
            .find(|k| {
                let kind = k.kind.to_ascii_lowercase();
                kind == "mobilephone" || kind == "phone"
            })
            .map(|k| k.value.clone())
    });
    let office = req.to.clone().unwrap_or_else(|| "2175550100".into());
    let other = req
        .from
        .clone()
        .or(customer_phone)
        .unwrap_or_else(|| "2175550199".into());
    let (from, to) = if inbound {
        (other, office)
    } else {
        (office, other)
    };
    let received = now - chrono::Duration::minutes(5);
    let booked = inbound && req.call_type.as_deref().is_none_or(|t| t == "Booked");
    Ok(CallResponse {
        id: call_id,
        job_number: booked.then(|| (call_id + 1_000).to_string()),
        project_id: Some(0),
        business_unit: booked.then(|| NamedRef {
            id: 1044,
            name: Some("HVAC - Service".into()),
        }),
        job_type: booked.then(|| CallJobType {
            id: 2210,
            name: Some("Furnace No Heat".into()),
            modified_on: Some(received - chrono::Duration::days(30)),
        }),
        lead_call: LeadCall {
            id: call_id,
            created_on: received,
            modified_on: now,
            received_on: received,
            active: Some(true),
            duration: Some("00:04:17".into()),
            from,
            to,
            direction,
            call_type: if inbound {
                Some(req.call_type.clone().unwrap_or_else(|| "Booked".into()))
            } else {
                None
            },
            reason: inbound.then(|| CallReason {
                id: 12,
                name: Some("No Heat".into()),
                lead: Some(true),
                active: Some(true),
            }),
            recording_url: Some(format!("https://example.invalid/recordings/{call_id}")),
            voice_mail_url: None,
            created_by: Some(NamedRef {
                id: 5120,
                name: Some("integration.user".into()),
            }),
            customer: customer.map(|c| NamedRef {
                id: c.id,
                name: Some(c.name.clone()),
            }),
            campaign: Some(NamedRef {
                id: 884,
                name: Some("Yard Signs".into()),
            }),
            agent: Some(CallAgent {
                id: 5133,
                name: Some("Casey Csr".into()),
                external_id: None,
            }),
            sid: Some(format!("CA{call_id:032}")),
            tags: Some(vec![CallTag {
                id: 3,
                type_name: Some("Emergency".into()),
            }]),
        },
    })
}

/// The CloudEvents 1.0 envelope of a call-completed event (API-NOTES §8.1).
pub fn call_completed_event(
    event_id: &str,
    tenant_id: i64,
    call: CallResponse,
    now: DateTime<Utc>,
) -> CloudEvent<CallCompletedData> {
    CloudEvent {
        specversion: SPEC_VERSION.into(),
        id: event_id.into(),
        kind: CALL_COMPLETED.into(),
        time: Some(now),
        source: WEBHOOK_SOURCE.into(),
        userassignedid: Some(format!("evt-{}", call.id)),
        datacontenttype: Some("application/json".into()),
        data: CallCompletedData {
            call,
            tenant_id,
            tenant_name: Some("Sandbox Heating & Air".into()),
        },
    }
}

/// HMAC-SHA256 of `body` under `key` as lowercase hex (`base64 = false`) or standard base64.
pub fn sign(key: &[u8], body: &[u8], base64: bool) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    if base64 {
        base64::engine::general_purpose::STANDARD.encode(digest)
    } else {
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Deliver `body` to `url` until a 2xx or the schedule ends, recording attempts in `log[index]`.
async fn deliver(
    log: Log,
    index: usize,
    url: String,
    header: String,
    signature: String,
    body: Vec<u8>,
    scale: f64,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let delays = std::iter::once(0).chain(RETRY_SCHEDULE_SECS);
    for (n, delay) in delays.enumerate() {
        let delay_secs = delay as f64 * scale;
        if delay_secs > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(delay_secs)).await;
        }
        let answer = http
            .post(&url)
            .header("content-type", "application/json")
            .header("user-agent", "ServiceTitan-Webhooks (sandbox)")
            .header(header.as_str(), signature.as_str())
            .body(body.clone())
            .send()
            .await;
        let (status, error) = match answer {
            Ok(r) => (Some(r.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let last = n == RETRY_SCHEDULE_SECS.len();
        let mut entries = log.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = entries.get_mut(index) {
            d.attempts.push(Attempt {
                attempt: n as u32 + 1,
                delay_secs,
                status,
                error,
            });
            d.delivered = delivered;
            d.finished = delivered || last;
        }
        if delivered || last {
            tracing::info!(url = %url, attempts = n + 1, delivered, "sandbox webhook delivery finished");
            return;
        }
    }
}

async fn send_call_completed(
    State(s): State<Arc<Shared>>,
    Extension(log): Extension<Log>,
    body: String,
) -> Response {
    let req: CallCompletedRequest = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("bad request: {e}")),
    };
    if req.url.trim().is_empty() || req.signing_key.is_empty() {
        return admin_error(
            StatusCode::BAD_REQUEST,
            "`url` and `signingKey` are required",
        );
    }
    let scale = req.retry_scale.unwrap_or(1.0);
    if !(scale.is_finite() && scale >= 0.0) {
        return admin_error(StatusCode::BAD_REQUEST, "`retryScale` must be ≥ 0");
    }
    let base64 = match req.encoding.as_deref().unwrap_or("hex") {
        "hex" => false,
        "base64" => true,
        other => {
            return admin_error(
                StatusCode::BAD_REQUEST,
                format!("`encoding` is `{other}`; use hex or base64"),
            )
        }
    };
    let now = Utc::now();
    let call_id = req.call_id.unwrap_or_else(|| {
        // A fresh id per delivery, above the generated data's ids.
        95_000_000 + log.lock().unwrap_or_else(|e| e.into_inner()).len() as i64
    });
    let call = {
        let store = s.read();
        match build_call(&store.data, &req, call_id, now) {
            Ok(c) => c,
            Err(e) => return admin_error(StatusCode::BAD_REQUEST, e),
        }
    };
    let event_id = req
        .event_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let event = call_completed_event(
        &event_id,
        req.tenant_id.unwrap_or(s.cfg.tenant_id),
        call,
        now,
    );
    let bytes = match serde_json::to_vec(&event) {
        Ok(b) => b,
        Err(e) => return admin_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let signature = sign(req.signing_key.as_bytes(), &bytes, base64);
    let header = req
        .signature_header
        .clone()
        .unwrap_or_else(|| DEFAULT_SIGNATURE_HEADER.into());
    let index = {
        let mut entries = log.lock().unwrap_or_else(|e| e.into_inner());
        entries.push(Delivery {
            event_id: event_id.clone(),
            call_id,
            url: req.url.clone(),
            delivered: false,
            finished: false,
            attempts: Vec::new(),
        });
        entries.len() - 1
    };
    let task = deliver(
        log.clone(),
        index,
        req.url.clone(),
        header,
        signature,
        bytes,
        scale,
    );
    if req.wait == Some(false) {
        tokio::spawn(task);
        return (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({"eventId": event_id, "callId": call_id, "event": event})),
        )
            .into_response();
    }
    task.await;
    let delivery = log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(index)
        .cloned();
    let mut answer = serde_json::to_value(delivery).unwrap_or_default();
    answer["event"] = serde_json::to_value(&event).unwrap_or_default();
    Json(answer).into_response()
}

async fn deliveries(Extension(log): Extension<Log>) -> Response {
    let entries = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Json(serde_json::json!({ "deliveries": entries })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test cases 2 and 6 (key longer than the block).
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?", false),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            sign(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                false
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
