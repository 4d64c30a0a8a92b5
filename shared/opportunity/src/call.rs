//! The Inbound Call model (SPEC.md §4 "Inbound Call"): a completed call (the `call` of a
//! `tn.tlc.call-completed` webhook, `Telecom.V3.CallResponse`) to an opportunity. Pure: no I/O,
//! no clock.
//!
//! Decisions where the spec is silent (API-NOTES §7.9):
//! - **External ID** is `leadCall.id`, the call's own id. The top-level `id` is the *bundle* id
//!   (the call plus what was booked from it); the samples show both equal, but only `leadCall.id`
//!   is documented as the call id, and it is the id the telecom list filters (`ids=`) and the
//!   v2 export use for the call. The bundle id is kept in the details as `bundleId`.
//! - **Details**: the call (`leadCall`) is the base object, so its fields have no prefix (`id`,
//!   `receivedOn`, `duration`, `from`, `to`, `direction`, `callType`, `createdOn`, `modifiedOn`,
//!   `recordingUrl`...), its references keep their names (`reason:name`, `campaign:name`,
//!   `customer:name`, `agent:name`, `createdBy:name`, `tags:#:typeName`). What was booked from
//!   the call comes from the bundle: `jobNumber`, `projectId` (omitted when 0), `businessUnit:*`,
//!   `jobType:*` (the bundle's `type` is a job type; SPEC names it `jobType`). `durationSeconds`
//!   (a number) is added when `duration` parses, so calls can be filtered by length.
//! - **Standard fields** come from the call alone, so the same call always maps to the same
//!   opportunity whatever the store or ServiceTitan hold: Phone = the caller's number (`from` of
//!   an inbound call) in E.164 with the integration's default region (unparseable → empty, raw
//!   value kept as `from`); First/Last Name = [`split_name`] of `leadCall.customer.name`; Email is
//!   empty (a call carries none); External Contact ID = `leadCall.customer.id` when present;
//!   External Created At = `leadCall.createdOn`; External Updated At = `leadCall.modifiedOn`.

use servicetitan::CallResponse;

use crate::details::flatten_value_into;
use crate::map::MappingConfig;
use crate::name::split_name;
use crate::phone::normalize_phone;
use crate::{Details, MapError, Model, Opportunity, StandardFields};

/// Call directions (`Telecom.V3.CallDirection`), compared case-insensitively.
const INBOUND: &str = "Inbound";

/// Whether a call is inbound (`leadCall.direction` is `Inbound`, case-insensitive, trimmed).
/// Only inbound calls make opportunities (SPEC.md §4).
pub fn is_inbound(call: &CallResponse) -> bool {
    call.lead_call
        .direction
        .trim()
        .eq_ignore_ascii_case(INBOUND)
}

/// Parse a .NET `TimeSpan` text (`[-][d.]hh:mm:ss[.fffffff]`, e.g. `00:04:17`, `1.02:00:00`) to
/// whole seconds (fractions dropped). `None` when it is not that shape, hours ≥ 24, or minutes
/// or seconds ≥ 60. Negative spans are `None` (a call cannot last less than nothing).
pub fn parse_timespan_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    let (days, clock) = match text.split_once('.') {
        // `d.hh:mm:ss...`: a dot before the first colon separates days.
        Some((d, rest)) if !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, text),
    };
    let clock = clock.split('.').next()?;
    let mut parts = clock.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let digits = |t: &str| {
        (!t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u64>().ok())
            .flatten()
    };
    let (h, m, s) = (digits(h)?, digits(m)?, digits(s)?);
    if h >= 24 || m >= 60 || s >= 60 {
        return None;
    }
    days.checked_mul(86_400)?
        .checked_add(h * 3_600 + m * 60 + s)
}

fn add_value<T: serde::Serialize>(
    details: &mut Details,
    prefix: &str,
    value: &T,
    call_id: i64,
) -> Result<(), MapError> {
    let json = serde_json::to_value(value).map_err(|e| MapError {
        resource: "call".to_owned(),
        id: call_id.to_string(),
        field: if prefix.is_empty() {
            "leadCall"
        } else {
            prefix
        }
        .to_owned(),
        reason: format!("cannot serialize the record: {e}"),
    })?;
    flatten_value_into(details, prefix, json);
    Ok(())
}

/// The details of a call (rules in the module docs).
///
/// Errors: a [`MapError`] when a part of the call cannot be serialized (not expected from the
/// wire types).
pub fn call_details(call: &CallResponse) -> Result<Details, MapError> {
    let lead = &call.lead_call;
    let mut details = Details::new();
    add_value(&mut details, "", lead, lead.id)?;
    if let Some(seconds) = lead.duration.as_deref().and_then(parse_timespan_seconds) {
        details.insert("durationSeconds".to_owned(), seconds.into());
    }
    details.insert("bundleId".to_owned(), call.id.into());
    if let Some(number) = call.job_number.as_deref().filter(|n| !n.trim().is_empty()) {
        add_value(&mut details, "jobNumber", &number, lead.id)?;
    }
    if let Some(project) = call.project_id.filter(|p| *p != 0) {
        details.insert("projectId".to_owned(), project.into());
    }
    if let Some(unit) = &call.business_unit {
        add_value(&mut details, "businessUnit", unit, lead.id)?;
    }
    if let Some(job_type) = &call.job_type {
        add_value(&mut details, "jobType", job_type, lead.id)?;
    }
    Ok(details)
}

/// Map a completed inbound call to an Inbound Call opportunity (SPEC.md §4; every rule and
/// decision is in the module docs). `config` supplies the default phone region.
///
/// Errors: a [`MapError`] (resource `call`, the call id, field `leadCall.direction`) when the
/// call is not inbound (see [`is_inbound`]): callers filter outbound calls first, this is the
/// guard that no outbound call ever becomes an opportunity.
pub fn map_inbound_call(
    call: &CallResponse,
    config: &MappingConfig,
) -> Result<Opportunity, MapError> {
    let lead = &call.lead_call;
    if !is_inbound(call) {
        return Err(MapError {
            resource: "call".to_owned(),
            id: lead.id.to_string(),
            field: "leadCall.direction".to_owned(),
            reason: format!(
                "is `{}`; only Inbound calls make opportunities",
                lead.direction
            ),
        });
    }
    let phone = normalize_phone(&lead.from, &config.phone_region);
    let (first_name, last_name) = lead
        .customer
        .as_ref()
        .and_then(|c| c.name.as_deref())
        .map(split_name)
        .unwrap_or((None, None));
    let standard = StandardFields {
        email: None,
        phone_extension: phone.as_ref().and_then(|p| p.extension.clone()),
        phone: phone.map(|p| p.e164),
        first_name,
        last_name,
        external_created_at: lead.created_on,
        external_updated_at: lead.modified_on,
    };
    Ok(Opportunity {
        model: Model::InboundCall,
        external_id: lead.id.to_string(),
        external_contact_id: lead.customer.as_ref().map(|c| c.id.to_string()),
        standard,
        details: call_details(call)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use serde_json::{json, Value};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test date")
            .with_timezone(&Utc)
    }

    /// The call of `samples/webhook-call-completed.json`, as JSON to mutate.
    fn sample() -> Value {
        json!({
            "id": 90112233, "jobNumber": "41872305", "projectId": 0,
            "businessUnit": {"id": 1044, "name": "HVAC - Service"},
            "type": {"id": 2210, "name": "Furnace No Heat", "modifiedOn": "2024-10-01T00:00:00Z"},
            "leadCall": {
                "createdOn": "2025-03-03T16:01:02.4410000Z", "active": true, "id": 90112233,
                "receivedOn": "2025-03-03T16:01:02Z", "duration": "00:04:17",
                "from": "2175550142", "to": "2175550100", "direction": "Inbound",
                "callType": "Booked",
                "reason": {"id": 12, "name": "No Heat", "lead": true, "active": true},
                "recordingUrl": "https://example.invalid/recordings/90112233",
                "voiceMailUrl": null,
                "createdBy": {"id": 5120, "name": "integration.user"},
                "customer": {"id": 3301457, "name": "Testwell, Avery"},
                "campaign": {"id": 884, "name": "Yard Signs"},
                "modifiedOn": "2025-03-03T16:06:10Z",
                "agent": {"id": 5133, "name": "Casey Csr", "externalId": null},
                "sid": "CA00000000000000000000000000000001",
                "tags": [{"id": 3, "typeName": "Emergency"}, {"id": 4, "typeName": "VIP"}]
            }
        })
    }

    fn call(value: Value) -> CallResponse {
        serde_json::from_value(value).expect("call parses")
    }

    fn with(mut value: Value, pointer: &str, new: Value) -> Value {
        *value.pointer_mut(pointer).expect(pointer) = new;
        value
    }

    #[test]
    fn sample_call_maps_ids_standard_fields_and_details() {
        let o = map_inbound_call(&call(sample()), &MappingConfig::default()).expect("maps");
        assert_eq!(o.model, Model::InboundCall);
        assert_eq!(o.external_id, "90112233");
        assert_eq!(o.external_contact_id.as_deref(), Some("3301457"));
        let s = &o.standard;
        assert_eq!(s.phone.as_deref(), Some("+12175550142"));
        assert_eq!(s.email, None);
        assert_eq!(
            (s.first_name.as_deref(), s.last_name.as_deref()),
            (Some("Avery"), Some("Testwell"))
        );
        assert_eq!(s.external_created_at, at("2025-03-03T16:01:02.441Z"));
        assert_eq!(s.external_updated_at, at("2025-03-03T16:06:10Z"));
        let d = &o.details;
        let expected = [
            ("id", json!(90112233)),
            ("receivedOn", json!("2025-03-03T16:01:02Z")),
            ("duration", json!("00:04:17")),
            ("durationSeconds", json!(257)),
            ("from", json!("2175550142")),
            ("to", json!("2175550100")),
            ("direction", json!("Inbound")),
            ("callType", json!("Booked")),
            ("reason:name", json!("No Heat")),
            ("reason:lead", json!(true)),
            ("campaign:name", json!("Yard Signs")),
            ("customer:name", json!("Testwell, Avery")),
            ("customer:id", json!(3301457)),
            ("agent:name", json!("Casey Csr")),
            ("createdBy:name", json!("integration.user")),
            ("tags:0:typeName", json!("Emergency")),
            ("tags:1:typeName", json!("VIP")),
            ("jobNumber", json!("41872305")),
            ("businessUnit:name", json!("HVAC - Service")),
            ("jobType:name", json!("Furnace No Heat")),
            ("bundleId", json!(90112233)),
        ];
        for (key, value) in expected {
            assert_eq!(d.get(key), Some(&value), "details key {key}");
        }
        for absent in ["voiceMailUrl", "agent:externalId", "projectId"] {
            assert!(!d.contains_key(absent), "{absent} must be absent");
        }
        for (key, value) in d {
            if key.ends_with("On") {
                assert!(value.as_str().expect("datetime").ends_with('Z'), "{key}");
            }
        }
    }

    #[test]
    fn standard_fields_table() {
        type Case = (&'static str, &'static str, Value, Option<&'static str>);
        let cases: Vec<Case> = vec![
            (
                "formatted caller",
                "/leadCall/from",
                json!("(217) 555-0199"),
                Some("+12175550199"),
            ),
            (
                "already E.164",
                "/leadCall/from",
                json!("+1 217 555 0142"),
                Some("+12175550142"),
            ),
            (
                "withheld number",
                "/leadCall/from",
                json!("Anonymous"),
                None,
            ),
            ("empty number", "/leadCall/from", json!(""), None),
            ("too short", "/leadCall/from", json!("555"), None),
        ];
        for (name, pointer, value, phone) in cases {
            let o = map_inbound_call(
                &call(with(sample(), pointer, value.clone())),
                &MappingConfig::default(),
            )
            .expect(name);
            assert_eq!(o.standard.phone.as_deref(), phone, "{name}");
            assert_eq!(o.details["from"], value.clone(), "{name}: raw value kept");
        }
    }

    #[test]
    fn names_table() {
        /// `(customer, first name, last name, External Contact ID)`.
        type Case = (
            Value,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                json!({"id": 1, "name": "Avery Testwell"}),
                Some("Avery"),
                Some("Testwell"),
                Some("1"),
            ),
            (
                json!({"id": 2, "name": "Fictional Widgets, LLC"}),
                Some("Fictional Widgets, LLC"),
                None,
                Some("2"),
            ),
            (json!({"id": 3, "name": null}), None, None, Some("3")),
            (Value::Null, None, None, None),
        ];
        for (customer, first, last, contact) in cases {
            let c = call(with(sample(), "/leadCall/customer", customer.clone()));
            let o = map_inbound_call(&c, &MappingConfig::default()).expect("maps");
            assert_eq!(o.standard.first_name.as_deref(), first, "{customer}");
            assert_eq!(o.standard.last_name.as_deref(), last, "{customer}");
            assert_eq!(o.external_contact_id.as_deref(), contact, "{customer}");
        }
    }

    #[test]
    fn direction_table() {
        let cases = [
            ("Inbound", true),
            ("inbound", true),
            (" INBOUND ", true),
            ("Outbound", false),
            ("", false),
            ("Internal", false),
        ];
        for (direction, inbound) in cases {
            let c = call(with(sample(), "/leadCall/direction", json!(direction)));
            assert_eq!(is_inbound(&c), inbound, "{direction:?}");
            let mapped = map_inbound_call(&c, &MappingConfig::default());
            match mapped {
                Ok(_) => assert!(inbound, "{direction:?} must not map"),
                Err(e) => {
                    assert!(!inbound, "{direction:?}: {e}");
                    assert_eq!(
                        (e.resource.as_str(), e.id.as_str(), e.field.as_str()),
                        ("call", "90112233", "leadCall.direction")
                    );
                }
            }
        }
    }

    #[test]
    fn external_id_is_the_lead_call_id_not_the_bundle_id() {
        let c = call(with(sample(), "/id", json!(777)));
        let o = map_inbound_call(&c, &MappingConfig::default()).expect("maps");
        assert_eq!(o.external_id, "90112233");
        assert_eq!(o.details["id"], json!(90112233));
        assert_eq!(o.details["bundleId"], json!(777));
    }

    #[test]
    fn abandoned_call_with_nulls_maps() {
        // The second call of samples/calls-v3-page.json: nothing booked, unknown caller.
        let c = call(json!({
            "id": 90113001, "jobNumber": null, "projectId": 0, "businessUnit": null, "type": null,
            "leadCall": {
                "createdOn": "2025-03-04T21:15:44Z", "active": true, "id": 90113001,
                "receivedOn": "2025-03-04T21:15:44Z", "duration": "00:00:38",
                "from": "2175550177", "to": "2175550100", "direction": "Inbound",
                "callType": "Abandoned", "reason": null, "recordingUrl": null,
                "voiceMailUrl": null, "createdBy": null, "customer": null,
                "campaign": {"id": 884, "name": "Yard Signs"},
                "modifiedOn": "2025-03-04T21:16:30Z", "agent": null, "sid": null, "tags": []
            }
        }));
        let o = map_inbound_call(&c, &MappingConfig::default()).expect("maps");
        assert_eq!(o.external_contact_id, None);
        assert_eq!(o.standard.phone.as_deref(), Some("+12175550177"));
        assert_eq!(o.details["durationSeconds"], json!(38));
        assert_eq!(o.details["callType"], json!("Abandoned"));
        for absent in [
            "jobNumber",
            "businessUnit:name",
            "jobType:name",
            "reason:name",
            "customer:name",
            "tags:0:typeName",
        ] {
            assert!(!o.details.contains_key(absent), "{absent}");
        }
    }

    #[test]
    fn region_comes_from_the_config() {
        let config = MappingConfig {
            phone_region: "GB".into(),
            ..MappingConfig::default()
        };
        let c = call(with(sample(), "/leadCall/from", json!("020 7946 0958")));
        let o = map_inbound_call(&c, &config).expect("maps");
        assert_eq!(o.standard.phone.as_deref(), Some("+442079460958"));
    }

    #[test]
    fn timespan_table() {
        let cases = [
            ("00:04:17", Some(257)),
            ("00:00:00", Some(0)),
            ("01:00:00", Some(3_600)),
            ("00:04:17.5000000", Some(257)),
            ("1.02:03:04", Some(93_784)),
            (" 00:00:38 ", Some(38)),
            ("4:17", None),
            ("00:60:00", None),
            ("24:00:00", None),
            ("-00:00:05", None),
            ("", None),
            ("PT4M17S", None),
            ("aa:bb:cc", None),
            ("00:00:00:00", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_timespan_seconds(text), expected, "{text:?}");
        }
    }
}
