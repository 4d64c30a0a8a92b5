//! From the API Gateway event to typed values: the raw body bytes (base64-decoded when API
//! Gateway says so, size-checked), then — only after the signature is verified — the CloudEvents
//! envelope and the call-completed payload. Every failure names the field; nothing here panics
//! on any input (a proptest feeds it random bytes and mutated events).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde::de::DeserializeOwned;
use servicetitan::webhook::{CallCompletedData, CloudEvent, SPEC_VERSION};

use crate::error::WebhookError;

/// Longest accepted CloudEvent `id` / `source`, in bytes (the store's key limit).
pub const MAX_ID_BYTES: usize = 512;

/// The body bytes exactly as ServiceTitan sent them. API Gateway (HTTP API, payload v2) hands the
/// body over as text, base64-encoded when `isBase64Encoded` is true; that is decoded here, and
/// nothing else is done to the bytes (no re-encoding, no trimming), because the signature covers
/// exactly these bytes. A missing body is empty.
///
/// Errors: [`WebhookError::TooLarge`] over `limit` bytes (checked on the base64 length first, so
/// a huge body is never decoded); [`WebhookError::Malformed`] (field `body`) when the body is
/// flagged base64 but is not valid base64. (lambda_http's own conversion panics on that case,
/// which is why the function takes the raw API Gateway event.)
pub fn raw_body(request: &ApiGatewayV2httpRequest, limit: usize) -> Result<Vec<u8>, WebhookError> {
    let Some(text) = request.body.as_deref() else {
        return Ok(Vec::new());
    };
    if !request.is_base64_encoded {
        if text.len() > limit {
            return Err(WebhookError::TooLarge {
                size: text.len(),
                limit,
            });
        }
        return Ok(text.as_bytes().to_vec());
    }
    // Every 4 base64 characters carry 3 bytes; padding removes at most 2.
    let at_least = (text.len() / 4 * 3).saturating_sub(2);
    if at_least > limit {
        return Err(WebhookError::TooLarge {
            size: at_least,
            limit,
        });
    }
    let bytes = STANDARD.decode(text).map_err(|e| {
        WebhookError::malformed(
            "body",
            format!("isBase64Encoded is true but the body is not valid base64 ({e})"),
        )
    })?;
    if bytes.len() > limit {
        return Err(WebhookError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    Ok(bytes)
}

/// Deserialize with the JSON path of the failing field in the error, under `prefix`.
fn decode<T: DeserializeOwned>(
    prefix: &str,
    result: Result<T, serde_path_to_error::Error<serde_json::Error>>,
) -> Result<T, WebhookError> {
    result.map_err(|e| {
        let path = e.path().to_string();
        let field = match (prefix.is_empty(), path.as_str()) {
            (true, "." | "") => "body".to_owned(),
            (true, p) => p.to_owned(),
            (false, "." | "") => prefix.to_owned(),
            (false, p) => format!("{prefix}.{p}"),
        };
        WebhookError::malformed(field, e.inner().to_string())
    })
}

fn check_id(field: &str, value: &str) -> Result<(), WebhookError> {
    let reason = if value.trim().is_empty() {
        "must not be empty"
    } else if value.len() > MAX_ID_BYTES {
        "longer than 512 bytes"
    } else if value.chars().any(char::is_control) {
        "must not contain control characters"
    } else {
        return Ok(());
    };
    Err(WebhookError::malformed(field, reason))
}

/// Parse the CloudEvents 1.0 envelope (payload left as JSON).
///
/// Errors: [`WebhookError::Malformed`] naming the field: not JSON / not an object (`body`), a
/// missing or mistyped envelope field, `specversion` other than `1.0`, an empty or unusable `id`
/// or `source`.
pub fn parse_envelope(body: &[u8]) -> Result<CloudEvent, WebhookError> {
    // The signature was checked over the bytes as received; a UTF-8 byte order mark some
    // senders put in front is not part of the JSON.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::malformed("body", format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(WebhookError::malformed("body", "must be a JSON object"));
    }
    let event: CloudEvent = decode("", serde_path_to_error::deserialize(value))?;
    if event.specversion != SPEC_VERSION {
        return Err(WebhookError::malformed(
            "specversion",
            format!("is `{}`, expected `1.0`", event.specversion),
        ));
    }
    check_id("id", &event.id)?;
    check_id("source", &event.source)?;
    Ok(event)
}

/// The event's `data.tenantId`, when present (every ServiceTitan payload carries it).
///
/// Errors: [`WebhookError::Malformed`] (`data.tenantId`) when present but not an integer.
pub fn event_tenant(event: &CloudEvent) -> Result<Option<i64>, WebhookError> {
    match event.data.get("tenantId") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| WebhookError::malformed("data.tenantId", "must be an integer")),
    }
}

/// Parse the payload of a `tn.tlc.call-completed` event.
///
/// Errors: [`WebhookError::Malformed`] naming the field under `data` (e.g.
/// `data.call.leadCall.id`).
pub fn parse_call_completed(
    event: CloudEvent,
) -> Result<CloudEvent<CallCompletedData>, WebhookError> {
    let data: CallCompletedData = decode("data", serde_path_to_error::deserialize(event.data))?;
    if data.call.lead_call.id <= 0 {
        // ServiceTitan ids are positive; 0 or a negative id would become External ID "0".
        return Err(WebhookError::malformed(
            "data.call.leadCall.id",
            format!("must be a positive id, got {}", data.call.lead_call.id),
        ));
    }
    Ok(CloudEvent {
        specversion: event.specversion,
        id: event.id,
        kind: event.kind,
        time: event.time,
        source: event.source,
        userassignedid: event.userassignedid,
        datacontenttype: event.datacontenttype,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: Option<&str>, base64: bool) -> ApiGatewayV2httpRequest {
        let mut r = ApiGatewayV2httpRequest::default();
        r.body = body.map(str::to_owned);
        r.is_base64_encoded = base64;
        r
    }

    #[test]
    fn a_byte_order_mark_before_the_envelope_is_ignored() {
        let body = json!({
            "specversion": "1.0", "id": "evt-bom", "type": "tn.tlc.call-completed",
            "time": "2025-03-03T16:06:11Z", "source": "https://webhooks.servicetitan.io",
            "userassignedid": "u", "datacontenttype": "application/json",
            "data": {"tenantId": 1, "tenantName": "t"}
        })
        .to_string();
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(body.as_bytes());
        let plain = parse_envelope(body.as_bytes()).expect("plain envelope parses");
        let bom = parse_envelope(&with_bom).expect("BOM-prefixed envelope parses");
        assert_eq!(plain.id, bom.id);
    }

    #[test]
    fn a_call_id_that_is_not_positive_is_malformed() {
        let call: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/inbound-call.json"))
                .unwrap();
        for (id, ok) in [(90550002_i64, true), (0, false), (-1, false)] {
            let mut call = call.clone();
            call["leadCall"]["id"] = json!(id);
            let body = json!({
                "specversion": "1.0", "id": "evt-1", "type": "tn.tlc.call-completed",
                "time": "2025-03-03T16:06:11Z", "source": "https://webhooks.servicetitan.io",
                "userassignedid": "u", "datacontenttype": "application/json",
                "data": {"tenantId": 1, "tenantName": "t", "call": call}
            })
            .to_string();
            let parsed = parse_call_completed(parse_envelope(body.as_bytes()).unwrap());
            match (parsed, ok) {
                (Ok(e), true) => assert_eq!(e.data.call.lead_call.id, id),
                (Err(e), false) => {
                    assert_eq!(e.status(), 400);
                    assert!(e.to_string().contains("data.call.leadCall.id"), "{e}");
                }
                (other, _) => panic!("id {id}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn raw_body_table() {
        let text = r#"{"a": "é"}"#;
        let b64 = STANDARD.encode(text);
        assert_eq!(
            raw_body(&request(Some(text), false), 100).unwrap(),
            text.as_bytes()
        );
        assert_eq!(
            raw_body(&request(Some(&b64), true), 100).unwrap(),
            text.as_bytes()
        );
        assert_eq!(raw_body(&request(None, false), 100).unwrap(), b"");
        let err = raw_body(&request(Some("%%% not base64"), true), 100).unwrap_err();
        assert_eq!((err.status(), err.code()), (400, "malformed"));
        assert!(err.to_string().contains("body"), "{err}");
        assert_eq!(
            raw_body(&request(Some(text), false), 5)
                .unwrap_err()
                .status(),
            413
        );
        assert_eq!(
            raw_body(&request(Some(&b64), true), 5)
                .unwrap_err()
                .status(),
            413
        );
        let huge = "A".repeat(4_000);
        assert_eq!(
            raw_body(&request(Some(&huge), true), 100)
                .unwrap_err()
                .status(),
            413
        );
        // exactly at the limit is fine
        assert!(raw_body(&request(Some(text), false), text.len()).is_ok());
    }

    fn envelope() -> serde_json::Value {
        json!({
            "specversion": "1.0", "id": "e-1", "type": "tn.tlc.call-completed",
            "time": "2025-03-03T16:05:19.512Z", "source": "https://webhooks.servicetitan.io",
            "userassignedid": "u", "datacontenttype": "application/json",
            "data": {"tenantId": 7, "tenantName": "T", "call": {"id": 1}}
        })
    }

    fn field_of(body: &[u8]) -> String {
        match parse_envelope(body).and_then(parse_call_completed) {
            Err(WebhookError::Malformed { field, .. }) => field,
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn malformed_bodies_name_the_field() {
        let mut no_id = envelope();
        no_id.as_object_mut().unwrap().remove("id");
        let mut bad_version = envelope();
        bad_version["specversion"] = json!("0.3");
        let mut empty_id = envelope();
        empty_id["id"] = json!("  ");
        let mut bad_time = envelope();
        bad_time["time"] = json!("yesterday");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "body"),
            (b"not json".to_vec(), "body"),
            (b"[1,2]".to_vec(), "body"),
            (serde_json::to_vec(&no_id).unwrap(), "body"),
            (serde_json::to_vec(&bad_version).unwrap(), "specversion"),
            (serde_json::to_vec(&empty_id).unwrap(), "id"),
            (serde_json::to_vec(&bad_time).unwrap(), "time"),
            (serde_json::to_vec(&envelope()).unwrap(), "data.call"),
        ];
        for (body, field) in cases {
            assert_eq!(field_of(&body), field, "{}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn tenant_is_read_when_present() {
        let e = parse_envelope(&serde_json::to_vec(&envelope()).unwrap()).unwrap();
        assert_eq!(event_tenant(&e).unwrap(), Some(7));
        let mut v = envelope();
        v["data"]["tenantId"] = json!("7");
        let e = parse_envelope(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(event_tenant(&e).unwrap_err().status(), 400);
        v["data"] = json!({});
        let e = parse_envelope(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(event_tenant(&e).unwrap(), None);
    }
}
