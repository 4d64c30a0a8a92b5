//! Flattening ServiceTitan records into details keys (SPEC.md §4 "Details").
//!
//! A record (a wire struct serialized to JSON) becomes `key -> value` pairs:
//!
//! | input | key | value |
//! |---|---|---|
//! | scalar field `jobStatus` of the base record | `jobStatus` | the scalar |
//! | field of a related record under prefix `customer` | `customer:name` | the scalar |
//! | nested object | `location:address:zip` | the scalar |
//! | array of scalars | `tagTypeIds` | one JSON list (`[77, 102]`) |
//! | array of objects | `customer:contacts:0:value` | index 0 = newest by `createdOn` |
//! | `customFields: [{name, value}]` | `customFields:Gate Code` | the value |
//! | `externalData: [{key, value}]` | `externalData:erpId` | the value |
//! | `null`, empty array | (no key) | absent means "no value" |
//!
//! Numbers stay numbers, booleans stay booleans, datetimes are the RFC 3339 UTC strings the wire
//! types serialize to (`2025-03-04T19:43:02.665011800Z`, always ending in `Z`).
//!
//! Size caps (SPEC.md §5: an opportunity item must stay under DynamoDB's 400 KB): text longer
//! than [`MAX_TEXT_CHARS`] is cut and ends with [`TRUNCATION_MARKER`]; lists keep their first
//! [`MAX_LIST_ITEMS`] items (for lists of records: the newest) and the number of items cut is
//! recorded under `<list key>:omitted` (e.g. `appointments:omitted = 12`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Details;

/// Longest text value kept in details, in characters (Unicode scalar values), marker included.
pub const MAX_TEXT_CHARS: usize = 4_000;

/// Most items kept of one list (list of scalars or list of records).
pub const MAX_LIST_ITEMS: usize = 50;

/// Appended to a text value that was cut at [`MAX_TEXT_CHARS`].
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// Key suffix recording how many items of a capped list were cut: `<list key>:omitted`.
pub const OMITTED_SUFFIX: &str = "omitted";

/// The separator between key segments (`customer:address:zip`).
pub const SEPARATOR: char = ':';

/// Join a prefix and a segment with [`SEPARATOR`]; an empty prefix yields the segment alone.
pub fn join_key(prefix: &str, segment: &str) -> String {
    let mut key = String::with_capacity(prefix.len() + 1 + segment.len());
    key.push_str(prefix);
    push_segment(&mut key, segment);
    key
}

/// Append `segment` to the key being built: after a [`SEPARATOR`], or alone when the key is
/// empty (the same rule as [`join_key`], without a new allocation).
fn push_segment(key: &mut String, segment: &str) {
    if !key.is_empty() {
        key.push(SEPARATOR);
    }
    key.push_str(segment);
}

/// Append a list index (`appointments` -> `appointments:3`), as [`push_segment`] does.
fn push_index(key: &mut String, index: usize) {
    use std::fmt::Write as _;
    if !key.is_empty() {
        key.push(SEPARATOR);
    }
    if index < 10 {
        key.push(char::from(b'0' + index as u8));
    } else {
        // Writing into a String cannot fail.
        let _ = write!(key, "{index}");
    }
}

/// Sort records newest first by their creation time (SPEC.md §4: "Lists are sorted by
/// `createdOn` descending, index 0 = newest"). Stable: ties keep their input order; records
/// without a creation time go after all dated ones, in input order.
///
/// Used for details lists and for standard-field selection, so "the first contact" means the
/// same record in both.
pub fn sort_newest_first<T>(items: &mut [T], created_on: impl Fn(&T) -> Option<DateTime<Utc>>) {
    items.sort_by_key(|item| std::cmp::Reverse(created_on(item)));
}

/// The `createdOn` of a JSON record, when it is an RFC 3339 string.
fn json_created_on(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.get("createdOn")?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|dt| dt.with_timezone(&Utc))
}

/// Cut a text at [`MAX_TEXT_CHARS`] characters (marker included) with [`TRUNCATION_MARKER`].
pub fn cap_text(text: &str) -> String {
    // A text of at most MAX_TEXT_CHARS bytes has at most that many characters.
    if text.len() <= MAX_TEXT_CHARS || text.chars().count() <= MAX_TEXT_CHARS {
        return text.to_owned();
    }
    let keep = MAX_TEXT_CHARS - TRUNCATION_MARKER.chars().count();
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(TRUNCATION_MARKER);
    out
}

/// [`cap_text`] of an owned text: returned as is (no copy) when within the cap.
fn cap_string(text: String) -> String {
    if text.len() <= MAX_TEXT_CHARS || text.chars().count() <= MAX_TEXT_CHARS {
        text
    } else {
        cap_text(&text)
    }
}

/// A scalar with the text cap applied; `None` for `null` and for non-scalars.
fn scalar(value: Value) -> Option<Value> {
    match value {
        Value::String(s) => Some(Value::String(cap_string(s))),
        Value::Number(_) | Value::Bool(_) => Some(value),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Flatten `value` into `details` under `prefix` (SPEC.md §4 "Details"; the rules are in the
/// module docs). Use an empty prefix for the base record (`id`, `jobStatus`) and the resource
/// name for related records (`customer`, `businessUnit`); a list of related records goes under
/// its list key (`customer:contacts`, `appointments`).
///
/// Keys already present are overwritten. A scalar with an empty prefix has no key and is
/// ignored. [`flatten_value_into`] does the same with an owned value, without copying it.
pub fn flatten_into(details: &mut Details, prefix: &str, value: &Value) {
    flatten_value_into(details, prefix, value.clone());
}

/// [`flatten_into`] taking the value by value: its texts move into `details` instead of being
/// copied (the mapping's path: records are serialized for this only).
pub fn flatten_value_into(details: &mut Details, prefix: &str, value: Value) {
    // One key buffer for the whole walk: segments are pushed and popped, and a key is only
    // allocated when a value is stored under it.
    let mut key = String::with_capacity(prefix.len() + 64);
    key.push_str(prefix);
    flatten_at(details, &mut key, value);
}

/// Flatten `value` under the key in `key` (left as it was on return).
fn flatten_at(details: &mut Details, key: &mut String, value: Value) {
    match value {
        Value::Null => {}
        Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            if !key.is_empty() {
                if let Some(v) = scalar(value) {
                    details.insert(key.clone(), v);
                }
            }
        }
        Value::Object(map) => {
            let len = key.len();
            for (field, v) in map {
                push_segment(key, &field);
                match (field.as_str(), v) {
                    ("customFields", Value::Array(items)) => {
                        flatten_named(details, key, items, "name", "typeId");
                    }
                    ("externalData", Value::Array(items)) => {
                        flatten_named(details, key, items, "key", "key");
                    }
                    (_, v) => flatten_at(details, key, v),
                }
                key.truncate(len);
            }
        }
        Value::Array(items) => flatten_list(details, key, items),
    }
}

/// A list: scalars become one list value; records (or mixed) are indexed newest first.
fn flatten_list(details: &mut Details, key: &mut String, items: Vec<Value>) {
    let all_scalars = items
        .iter()
        .all(|v| !matches!(v, Value::Object(_) | Value::Array(_)));
    if all_scalars {
        if key.is_empty() {
            return;
        }
        let mut values: Vec<Value> = items.into_iter().filter_map(scalar).collect();
        if values.is_empty() {
            return;
        }
        record_omitted(details, key, values.len());
        values.truncate(MAX_LIST_ITEMS);
        details.insert(key.clone(), Value::Array(values));
        return;
    }
    // Each item's createdOn is parsed once (not at every comparison); the sort is the stable
    // one of `sort_newest_first`, so the order is the same.
    let mut sorted: Vec<(Option<DateTime<Utc>>, Value)> = items
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| (json_created_on(&v), v))
        .collect();
    sort_newest_first(&mut sorted, |(created_on, _)| *created_on);
    record_omitted(details, key, sorted.len());
    let len = key.len();
    for (index, (_, item)) in sorted.into_iter().take(MAX_LIST_ITEMS).enumerate() {
        push_index(key, index);
        flatten_at(details, key, item);
        key.truncate(len);
    }
}

/// Record `<key>:omitted` when a list of `len` items exceeds [`MAX_LIST_ITEMS`].
fn record_omitted(details: &mut Details, key: &str, len: usize) {
    if len > MAX_LIST_ITEMS {
        details.insert(
            join_key(key, OMITTED_SUFFIX),
            Value::from(len - MAX_LIST_ITEMS),
        );
    }
}

/// `[{name, value}]` lists (custom fields, external data) as `<key>:<name>` = value. Items
/// without a name fall back to `fallback_name_field` (a custom field's `typeId`); items with a
/// null value are omitted; the first item of a name wins.
fn flatten_named(
    details: &mut Details,
    key: &mut String,
    items: Vec<Value>,
    name_field: &str,
    fallback_name_field: &str,
) {
    let len = key.len();
    for item in items {
        let name =
            [name_field, fallback_name_field]
                .iter()
                .find_map(|field| match item.get(*field) {
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                });
        let Some(name) = name else {
            continue;
        };
        let value = match item {
            Value::Object(mut object) => object.remove("value"),
            _ => None,
        };
        let Some(value) = value.and_then(scalar) else {
            continue;
        };
        push_segment(key, &name);
        if !details.contains_key(key.as_str()) {
            details.insert(key.clone(), value);
        }
        key.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flat(prefix: &str, value: Value) -> Details {
        let mut d = Details::new();
        flatten_into(&mut d, prefix, &value);
        d
    }

    #[test]
    fn base_fields_have_no_prefix_and_related_fields_do() {
        let value = json!({"id": 41872305, "jobNumber": "41872305", "jobStatus": "Completed",
                           "noCharge": false, "total": 389.5});
        let base = flat("", value.clone());
        assert_eq!(base["id"], json!(41872305));
        assert_eq!(base["jobNumber"], json!("41872305"));
        assert_eq!(base["jobStatus"], json!("Completed"));
        assert_eq!(base["noCharge"], json!(false));
        assert_eq!(base["total"], json!(389.5));
        let related = flat("customer", value);
        assert_eq!(related["customer:id"], json!(41872305));
        assert!(!related.contains_key("id"));
    }

    #[test]
    fn nested_objects_flatten_with_colons() {
        let d = flat(
            "location",
            json!({"address": {"zip": "62704", "geo": {"lat": 39.78}, "unit": null}}),
        );
        assert_eq!(d["location:address:zip"], json!("62704"));
        assert_eq!(d["location:address:geo:lat"], json!(39.78));
        assert!(!d.contains_key("location:address:unit"));
        assert!(!d.contains_key("location:address"));
    }

    #[test]
    fn nulls_and_empty_lists_are_omitted() {
        let d = flat(
            "",
            json!({"projectId": null, "tagTypeIds": [], "contacts": [], "summary": "x",
                   "lead": {"jobId": null, "employeeId": null}}),
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d["summary"], json!("x"));
    }

    #[test]
    fn scalar_lists_are_one_value() {
        let d = flat(
            "",
            json!({"tagTypeIds": [77, 102], "skills": ["hvac", null, "plumbing"]}),
        );
        assert_eq!(d["tagTypeIds"], json!([77, 102]));
        assert_eq!(d["skills"], json!(["hvac", "plumbing"]));
        assert!(!d.contains_key("tagTypeIds:0"));
    }

    #[test]
    fn record_lists_are_indexed_newest_first_and_stable() {
        let d = flat(
            "customer:contacts",
            json!([
                {"id": 1, "createdOn": "2023-06-12T14:22:09Z"},
                {"id": 2, "createdOn": "2024-02-01T10:00:00.5Z"},
                {"id": 3},
                {"id": 4, "createdOn": "2023-06-12T14:22:09Z"},
                {"id": 5, "createdOn": "2024-02-01T10:00:00Z"},
                {"id": 6, "createdOn": "not a date"}
            ]),
        );
        let order: Vec<&Value> = (0..6)
            .map(|i| &d[&format!("customer:contacts:{i}:id")])
            .collect();
        // 2 (newest, fractional seconds compared as time not text), 5, then the tie 1/4 in
        // input order, then undated 3/6 in input order.
        assert_eq!(
            order,
            vec![
                &json!(2),
                &json!(5),
                &json!(1),
                &json!(4),
                &json!(3),
                &json!(6)
            ]
        );
        assert_eq!(
            d["customer:contacts:0:createdOn"],
            json!("2024-02-01T10:00:00.5Z")
        );
    }

    #[test]
    fn nested_record_lists() {
        let d = flat(
            "appointments",
            json!([{"start": "2025-03-04T15:00:00Z", "createdOn": "2025-03-03T16:05:27Z",
                    "assignments": [{"technicianName": "Sam"}, {"technicianName": "Kim"}]}]),
        );
        assert_eq!(d["appointments:0:start"], json!("2025-03-04T15:00:00Z"));
        assert_eq!(
            d["appointments:0:assignments:0:technicianName"],
            json!("Sam")
        );
        assert_eq!(
            d["appointments:0:assignments:1:technicianName"],
            json!("Kim")
        );
    }

    #[test]
    fn custom_fields_and_external_data_by_name() {
        let record = json!({
            "customFields": [
                {"typeId": 610, "name": "Preferred Tech", "value": "Any"},
                {"typeId": 611, "name": "Gate Code", "value": null},
                {"typeId": 612, "name": null, "value": "no name"},
                {"typeId": 613, "name": "Preferred Tech", "value": "duplicate"}
            ],
            "externalData": [{"key": "erpId", "value": "CUST-0042"}, {"key": "x", "value": null}]
        });
        let d = flat("customer", record.clone());
        assert_eq!(d["customer:customFields:Preferred Tech"], json!("Any"));
        assert!(!d.contains_key("customer:customFields:Gate Code"));
        assert_eq!(d["customer:customFields:612"], json!("no name"));
        assert_eq!(d["customer:externalData:erpId"], json!("CUST-0042"));
        assert!(!d.contains_key("customer:externalData:x"));
        assert!(!d.keys().any(|k| k.starts_with("customer:customFields:0")));
        let base = flat("", record);
        assert_eq!(base["customFields:Preferred Tech"], json!("Any"));
        assert_eq!(base["externalData:erpId"], json!("CUST-0042"));
    }

    #[test]
    fn datetimes_from_wire_types_end_with_z() {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct R {
            created_on: DateTime<Utc>,
        }
        let created_on = DateTime::parse_from_rfc3339("2025-03-04T19:43:02.6650118+00:00")
            .unwrap()
            .with_timezone(&Utc);
        let d = flat(
            "",
            serde_json::to_value(R { created_on }).expect("serializes"),
        );
        let text = d["createdOn"].as_str().expect("string");
        assert!(text.ends_with('Z'), "{text}");
        assert_eq!(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
            created_on
        );
    }

    #[test]
    fn long_text_is_capped_with_marker() {
        let long = "é".repeat(MAX_TEXT_CHARS + 10);
        let d = flat("", json!({ "summary": long, "short": "ok" }));
        let capped = d["summary"].as_str().unwrap();
        assert_eq!(capped.chars().count(), MAX_TEXT_CHARS);
        assert!(capped.ends_with(TRUNCATION_MARKER));
        assert_eq!(d["short"], json!("ok"));
        let exact = "a".repeat(MAX_TEXT_CHARS);
        assert_eq!(cap_text(&exact), exact);
    }

    #[test]
    fn long_lists_are_capped_and_the_cut_recorded() {
        let ids: Vec<i64> = (0..60).collect();
        let records: Vec<Value> = (0..55)
            .map(|i| json!({"id": i, "createdOn": format!("2025-01-01T00:00:{:02}Z", i)}))
            .collect();
        let d = flat("", json!({"tagTypeIds": ids, "appointments": records}));
        assert_eq!(d["tagTypeIds"].as_array().unwrap().len(), MAX_LIST_ITEMS);
        assert_eq!(d["tagTypeIds:omitted"], json!(10));
        assert_eq!(d["appointments:0:id"], json!(54), "newest kept first");
        assert!(d.contains_key("appointments:49:id"));
        assert!(!d.contains_key("appointments:50:id"));
        assert_eq!(d["appointments:omitted"], json!(5));
        let short = flat("", json!({"tagTypeIds": [1, 2]}));
        assert!(!short.contains_key("tagTypeIds:omitted"));
    }

    #[test]
    fn sort_newest_first_generic() {
        let day = |d: u32| {
            DateTime::parse_from_rfc3339(&format!("2025-01-{d:02}T00:00:00Z"))
                .unwrap()
                .with_timezone(&Utc)
        };
        let mut items = vec![
            ("a", Some(day(1))),
            ("b", None),
            ("c", Some(day(3))),
            ("d", Some(day(1))),
            ("e", None),
        ];
        sort_newest_first(&mut items, |(_, t)| *t);
        let names: Vec<&str> = items.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["c", "a", "d", "b", "e"]);
    }
}
