//! The field catalog (SPEC.md §4, the article's "Available Resource Fields"): for each model,
//! every details field with its resource, its name (`#` for list indexes, `<name>` for custom
//! fields) and its data type (`string`, `number`, `boolean`, `datetime`, `list`).
//!
//! Generated from the code, not written by hand: the example bundles in `tests/fixtures/`
//! (every field of every resource filled in) go through the real mapping ([`map_job`],
//! [`map_membership`]) with every resource selected, and each key is normalized
//! ([`normalize_key`]) and typed ([`data_type`]). `docs/fields.md` is [`render_markdown`]'s
//! output; a test fails when it is out of date, another checks that every key the mapping writes
//! for other bundles (fixtures, and the e2e sync over generated data) is in the catalog.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::details::{OMITTED_SUFFIX, SEPARATOR};
use crate::{map_job, map_membership, JobBundle, MappingConfig, MembershipBundle, Model};

/// The example job bundle (`tests/fixtures/job-bundle.json`): every job-model resource, every
/// field filled, three estimates.
pub const JOB_EXAMPLE: &str = include_str!("../../../tests/fixtures/job-bundle.json");
/// The example membership bundle (`tests/fixtures/membership-bundle.json`).
pub const MEMBERSHIP_EXAMPLE: &str = include_str!("../../../tests/fixtures/membership-bundle.json");

/// The example inbound call (`tests/fixtures/inbound-call.json`): a v3 call object as the
/// `tn.tlc.call-completed` webhook carries it, every field filled.
pub const INBOUND_CALL_EXAMPLE: &str = include_str!("../../../tests/fixtures/inbound-call.json");

/// How `docs/fields.md` is regenerated (printed by the test that finds it stale).
pub const REGENERATE: &str =
    "STSYNC_UPDATE_CATALOG=1 cargo test -p opportunity --test catalog   (or: stsync catalog > docs/fields.md)";

/// One catalog row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogField {
    /// The resource the field comes from ("Job", "Appointment Assignments", "Employees & Technicians").
    pub resource: &'static str,
    /// The details key with `#` for list indexes, e.g. `appointments:#:assignments:#:technicianName`.
    pub name: String,
    /// `string`, `number`, `boolean`, `datetime` or `list`.
    pub data_type: &'static str,
}

/// A details key as the catalog names it: numeric list indexes become `#`, the segment after
/// `customFields` / `externalData` becomes `<name>`. `appointments:0:assignments:1:id` →
/// `appointments:#:assignments:#:id`; `customer:customFields:Gate Code` →
/// `customer:customFields:<name>`.
pub fn normalize_key(key: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut named = false;
    for segment in key.split(SEPARATOR) {
        if named {
            out.push("<name>");
            named = false;
            continue;
        }
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push("#");
        } else {
            out.push(segment);
        }
        named = segment == "customFields" || segment == "externalData";
    }
    out.join(&SEPARATOR.to_string())
}

/// The catalog type of a details value: booleans, numbers, lists (of scalars), RFC 3339 UTC
/// date-times (`datetime`) and other text (`string`).
pub fn data_type(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::Array(_) => "list",
        Value::String(s)
            if s.len() >= 20
                && s.as_bytes().get(10) == Some(&b'T')
                && chrono::DateTime::parse_from_rfc3339(s).is_ok() =>
        {
            "datetime"
        }
        _ => "string",
    }
}

/// Whether a key records what a cap cut (a capped list's `appointments:omitted`, or the
/// `details:truncated` / `details:dropped` lists of [`crate::details::fit_details`]),
/// documented once in the header instead of per field.
pub fn is_omitted_marker(key: &str) -> bool {
    key.ends_with(&format!("{SEPARATOR}{OMITTED_SUFFIX}")) || crate::details::is_fit_record(key)
}

/// The resource a (normalized) key belongs to, per model (the article's "Resource" column).
pub fn resource_of(model: Model, name: &str) -> &'static str {
    let starts = |p: &str| name == p || name.starts_with(&format!("{p}{SEPARATOR}"));
    let base = match model {
        Model::Job => "Job",
        Model::Membership => "Membership",
        Model::InboundCall => "Call",
    };
    if starts("customer") {
        "Customer"
    } else if starts("location") {
        "Location"
    } else if starts("businessUnit") {
        "Business Unit"
    } else if starts("jobType") {
        "Job Type"
    } else if starts("membershipType") {
        "Membership Type"
    } else if starts("appointments:#:assignments") {
        "Appointment Assignments"
    } else if starts("appointments") {
        "Appointments"
    } else if starts("estimates:#:soldBy") || starts("soldBy") {
        "Employees & Technicians"
    } else if starts("estimates") {
        "Estimates"
    } else if starts("invoices") {
        "Invoices"
    } else if starts("jobCanceledLogs") || starts("cancelReason") {
        "Cancel Reasons"
    } else if starts("campaign") || starts("recurringServices:#:campaign") {
        "Campaigns"
    } else if starts("tagTypes") {
        "Tag Types"
    } else if starts("zone") {
        "Zones"
    } else if starts("recurringServiceEvents") {
        "Recurring Service Events"
    } else if starts("recurringServices") {
        "Recurring Services"
    } else {
        base
    }
}

/// Resource order of the catalog tables (required resources first, then optional ones).
fn resource_rank(resource: &str) -> usize {
    const ORDER: &[&str] = &[
        "Job",
        "Membership",
        "Customer",
        "Location",
        "Business Unit",
        "Job Type",
        "Membership Type",
        "Estimates",
        "Appointments",
        "Appointment Assignments",
        "Cancel Reasons",
        "Tag Types",
        "Campaigns",
        "Zones",
        "Employees & Technicians",
        "Invoices",
        "Recurring Services",
        "Recurring Service Events",
    ];
    ORDER
        .iter()
        .position(|r| *r == resource)
        .unwrap_or(ORDER.len())
}

/// The catalog rows of a set of details (sorted by resource, then name; one row per name).
pub fn fields_of(model: Model, details: &crate::Details) -> Vec<CatalogField> {
    let mut by_name: BTreeMap<String, &'static str> = BTreeMap::new();
    for (key, value) in details {
        if is_omitted_marker(key) {
            continue;
        }
        by_name
            .entry(normalize_key(key))
            .or_insert(data_type(value));
    }
    let mut rows: Vec<CatalogField> = by_name
        .into_iter()
        .map(|(name, data_type)| CatalogField {
            resource: resource_of(model, &name),
            name,
            data_type,
        })
        .collect();
    rows.sort_by(|a, b| {
        (resource_rank(a.resource), &a.name).cmp(&(resource_rank(b.resource), &b.name))
    });
    rows
}

/// The catalog of `model`, generated from the example bundles (job, membership) or the example
/// call (inbound call).
///
/// Panics only if the compiled-in example bundles do not parse or map (a test keeps them valid).
pub fn catalog(model: Model) -> Vec<CatalogField> {
    let config = MappingConfig::default();
    let details = match model {
        Model::Job => {
            let bundle: JobBundle = serde_json::from_str(JOB_EXAMPLE).expect("job example parses");
            map_job(&bundle, &config).expect("job example maps").details
        }
        Model::Membership => {
            let bundle: MembershipBundle =
                serde_json::from_str(MEMBERSHIP_EXAMPLE).expect("membership example parses");
            map_membership(&bundle, &config)
                .expect("membership example maps")
                .details
        }
        Model::InboundCall => {
            let call: servicetitan::CallResponse =
                serde_json::from_str(INBOUND_CALL_EXAMPLE).expect("call example parses");
            crate::call::map_inbound_call(&call, &config)
                .expect("call example maps")
                .details
        }
    };
    fields_of(model, &details)
}

/// `docs/fields.md`: one table per model (Resource | Field Name | Data Type).
pub fn render_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Field catalog\n\n");
    out.push_str(
        "<!-- Generated from the mapping code by shared/opportunity/src/catalog.rs; do not edit.\n",
    );
    out.push_str(&format!("     Regenerate: {REGENERATE} -->\n\n"));
    out.push_str(
        "The details fields of each opportunity model (SPEC.md §4). `#` stands for a list index: \
         lists are sorted by `createdOn` descending, so index 0 is the newest record \
         (`estimates:0:name` is the newest estimate's name). `<name>` stands for a custom field's \
         (or external data's) name, e.g. `customFields:Gate Code`. Types: string, number, \
         boolean, datetime (RFC 3339, UTC, ending in `Z`), list (a list of scalars). A field \
         without a value is absent. A list longer than 50 items keeps the newest 50 and records \
         the number cut under `<list>:omitted` (e.g. `appointments:omitted`). Text longer \
         than 4 000 characters, and a custom field's name longer than 200, is cut and ends \
         with `…[truncated]`. An opportunity still too large for one DynamoDB item (SPEC.md \
         §5) has its longest texts shortened further, then its largest fields removed; the \
         fields cut are listed under `details:truncated` and `details:dropped` (50 names at \
         most; the number of the others under `details:truncated:omitted` / \
         `details:dropped:omitted`). Fields of an \
         optional resource appear only when that resource is selected (SPEC.md §2). Invoice \
         money fields, decimal text on the wire, are numbers here.\n\n",
    );
    for (model, title) in [
        (Model::Job, "Job"),
        (Model::Membership, "Membership"),
        (Model::InboundCall, "Inbound Call"),
    ] {
        let rows = catalog(model);
        out.push_str(&format!(
            "## {title} opportunity ({} fields)\n\n",
            rows.len()
        ));
        out.push_str("| Resource | Field Name | Data Type |\n|---|---|---|\n");
        for r in rows {
            out.push_str(&format!(
                "| {} | `{}` | {} |\n",
                r.resource, r.name, r.data_type
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cut_records_are_markers_not_fields() {
        for marker in [
            "appointments:omitted",
            "details:truncated",
            "details:dropped",
            "details:dropped:omitted",
        ] {
            assert!(is_omitted_marker(marker), "{marker}");
        }
        for field in [
            "details",
            "details:truncatedX",
            "summary",
            "customFields:omittedness",
        ] {
            assert!(!is_omitted_marker(field), "{field}");
        }
    }

    #[test]
    fn keys_normalize() {
        let cases = [
            ("id", "id"),
            (
                "appointments:0:assignments:12:technicianName",
                "appointments:#:assignments:#:technicianName",
            ),
            ("customFields:Gate Code", "customFields:<name>"),
            ("customer:customFields:612", "customer:customFields:<name>"),
            (
                "invoices:3:customFields:PO Verified",
                "invoices:#:customFields:<name>",
            ),
            ("externalData:erpId", "externalData:<name>"),
            ("location:address:zip", "location:address:zip"),
        ];
        for (key, expected) in cases {
            assert_eq!(normalize_key(key), expected, "{key}");
        }
    }

    #[test]
    fn types() {
        assert_eq!(data_type(&json!(true)), "boolean");
        assert_eq!(data_type(&json!(1.5)), "number");
        assert_eq!(data_type(&json!([77, 102])), "list");
        assert_eq!(
            data_type(&json!("2025-03-04T19:43:02.665011800Z")),
            "datetime"
        );
        assert_eq!(data_type(&json!("2025-03-04")), "string");
        assert_eq!(data_type(&json!("Completed")), "string");
    }

    #[test]
    fn resources_by_prefix() {
        let cases = [
            (Model::Job, "jobStatus", "Job"),
            (Model::Job, "customer:contacts:#:value", "Customer"),
            (
                Model::Job,
                "appointments:#:assignments:#:technicianName",
                "Appointment Assignments",
            ),
            (Model::Job, "appointments:#:start", "Appointments"),
            (
                Model::Job,
                "estimates:#:soldBy:name",
                "Employees & Technicians",
            ),
            (Model::Job, "estimates:#:status:name", "Estimates"),
            (Model::Job, "cancelReason:name", "Cancel Reasons"),
            (Model::Job, "campaignId", "Job"),
            (Model::Job, "campaign:name", "Campaigns"),
            (Model::Job, "zone:name", "Zones"),
            (Model::Membership, "status", "Membership"),
            (
                Model::Membership,
                "recurringServices:#:campaign:name",
                "Campaigns",
            ),
            (
                Model::Membership,
                "recurringServiceEvents:#:status",
                "Recurring Service Events",
            ),
            (Model::Membership, "soldBy:name", "Employees & Technicians"),
        ];
        for (model, key, expected) in cases {
            assert_eq!(resource_of(model, key), expected, "{key}");
        }
    }

    #[test]
    fn catalogs_cover_the_spec_examples() {
        let job: Vec<String> = catalog(Model::Job).into_iter().map(|f| f.name).collect();
        for name in [
            "id",
            "jobNumber",
            "jobStatus",
            "createdOn",
            "modifiedOn",
            "customFields:<name>",
            "customer:name",
            "customer:contacts:#:value",
            "location:address:zip",
            "businessUnit:name",
            "jobType:name",
            "campaign:name",
            "zone:name",
            "cancelReason:name",
            "tagTypes:#:name",
            "soldBy:name",
            "estimates:#:status:name",
            "estimates:#:soldBy:name",
            "appointments:#:start",
            "appointments:#:assignments:#:technicianName",
            "invoices:#:balance",
        ] {
            assert!(job.contains(&name.to_owned()), "job catalog lacks {name}");
        }
        let membership: Vec<String> = catalog(Model::Membership)
            .into_iter()
            .map(|f| f.name)
            .collect();
        for name in [
            "id",
            "status",
            "customFields:<name>",
            "customer:contacts:#:value",
            "membershipType:name",
            "recurringServices:#:name",
            "recurringServices:#:campaign:name",
            "recurringServiceEvents:#:status",
            "invoices:#:balance",
            "soldBy:name",
            "tagTypes:#:name",
        ] {
            assert!(
                membership.contains(&name.to_owned()),
                "membership catalog lacks {name}"
            );
        }
        let balance = catalog(Model::Job)
            .into_iter()
            .find(|f| f.name == "invoices:#:balance")
            .unwrap();
        assert_eq!(
            (balance.resource, balance.data_type),
            ("Invoices", "number")
        );
    }
}
