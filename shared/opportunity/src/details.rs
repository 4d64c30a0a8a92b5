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
//! recorded under `<list key>:omitted` (e.g. `appointments:omitted = 12`). Key segments (field
//! names, custom field and external data names) longer than [`MAX_KEY_SEGMENT_CHARS`] are cut the
//! same way, marker included (`customFields:nnnn…[truncated]`); when two cut names collide, the
//! first item wins, as for equal names.
//!
//! Those caps bound each value, not the whole item: [`fit_details`] brings details over a byte
//! budget under it (shorter text caps in steps, then the largest keys dropped) and says what it
//! cut under [`DETAILS_TRUNCATED`] and [`DETAILS_DROPPED`].

use std::collections::BTreeSet;

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

/// Longest key segment kept (a field, custom field or external data name), in characters,
/// marker included: a longer one is cut with [`TRUNCATION_MARKER`] (SPEC.md §5 size caps).
pub const MAX_KEY_SEGMENT_CHARS: usize = 200;

/// Details key written by [`fit_details`]: the keys whose text it shortened, a list of at most
/// [`MAX_LIST_ITEMS`] key names in key order; how many more were shortened goes under
/// `details:truncated:omitted` (the `:omitted` convention of capped lists). Absent when nothing
/// was shortened.
pub const DETAILS_TRUNCATED: &str = "details:truncated";

/// Details key written by [`fit_details`]: the keys it removed, shaped as
/// [`DETAILS_TRUNCATED`] (`details:dropped:omitted` for more than [`MAX_LIST_ITEMS`]).
pub const DETAILS_DROPPED: &str = "details:dropped";

/// The text caps [`fit_details`] applies in turn, in characters, marker included.
pub const FIT_TEXT_CAPS: [usize; 3] = [1_000, 200, 50];

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
/// A segment longer than [`MAX_KEY_SEGMENT_CHARS`] is cut with [`TRUNCATION_MARKER`].
fn push_segment(key: &mut String, segment: &str) {
    if !key.is_empty() {
        key.push(SEPARATOR);
    }
    // A segment of at most MAX_KEY_SEGMENT_CHARS bytes has at most that many characters.
    if segment.len() <= MAX_KEY_SEGMENT_CHARS {
        key.push_str(segment);
    } else {
        key.push_str(&cap_text_to(segment, MAX_KEY_SEGMENT_CHARS));
    }
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
    cap_text_to(text, MAX_TEXT_CHARS)
}

/// Cut a text at `max_chars` characters (Unicode scalar values), marker included: a longer text
/// keeps its first `max_chars - 12` characters followed by [`TRUNCATION_MARKER`] (12
/// characters); a text within the cap is returned as is. `max_chars` should exceed the marker's
/// length (every cap of this crate does); a smaller one yields the marker alone.
pub fn cap_text_to(text: &str, max_chars: usize) -> String {
    // A text of at most max_chars bytes has at most that many characters.
    if text.len() <= max_chars || text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let keep = max_chars.saturating_sub(TRUNCATION_MARKER.chars().count());
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

/// What [`fit_details`] cut: how many keys had their text shortened and how many were removed
/// (the keys themselves are listed in the details, see [`DETAILS_TRUNCATED`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// Keys whose text (or the text items of their list) was shortened.
    pub truncated: usize,
    /// Keys removed.
    pub dropped: usize,
}

impl Trimmed {
    /// Whether anything was cut.
    pub fn is_empty(&self) -> bool {
        self.truncated == 0 && self.dropped == 0
    }
}

/// The size of `details` as text: the byte length of their compact JSON
/// (`serde_json::to_string`), in bytes (the store keeps that text deflated; its size limit
/// applies to the packed item).
pub fn encoded_len(details: &Details) -> usize {
    let mut counter = ByteCounter(0);
    // Details (string keys, JSON values) always serialize; the counter never fails.
    let _ = serde_json::to_writer(&mut counter, details);
    counter.0
}

/// Bring `details` under `max_bytes` of compact JSON ([`encoded_len`]) so that an opportunity
/// item stays under DynamoDB's 400 KB (SPEC.md §5: "cap list lengths and long text; say what was
/// cut"). Deterministic, in steps, stopping at the first that fits:
///
/// 1. each cap of [`FIT_TEXT_CAPS`] in turn (1 000, 200, then 50 characters, marker included):
///    every text value, and every text item of a list value, longer than the cap is cut with
///    [`TRUNCATION_MARKER`];
/// 2. then whole keys are removed, the largest (encoded key and value) first, ties in key order.
///
/// The cut keys are listed under [`DETAILS_TRUNCATED`] (shortened and still present) and
/// [`DETAILS_DROPPED`] (removed), each at most [`MAX_LIST_ITEMS`] names in key order with the
/// rest counted under `<key>:omitted`; those entries count toward `max_bytes`. Details already
/// within `max_bytes` come back unchanged with an empty [`Trimmed`].
///
/// Returns `None` when not even the lists of cut keys fit in `max_bytes` (a budget of a few
/// bytes); the caller then reports the item as too large.
pub fn fit_details(details: &Details, max_bytes: usize) -> Option<(Details, Trimmed)> {
    let mut out = details.clone();
    if encoded_len(&out) <= max_bytes {
        return Some((out, Trimmed::default()));
    }
    // Entries of an earlier fit would be stale: they are written again below.
    out.retain(|key, _| !is_fit_record(key));
    let mut truncated: BTreeSet<String> = BTreeSet::new();
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    for cap in FIT_TEXT_CAPS {
        for (key, value) in out.iter_mut() {
            if cut_value(value, cap) {
                truncated.insert(key.clone());
            }
        }
        let body: usize = out.iter().map(|(k, v)| entry_len(k, v)).sum();
        if json_object_len(body, out.len(), fit_records(&truncated, &dropped)) <= max_bytes {
            return finish(out, &truncated, &dropped, max_bytes);
        }
    }
    let mut by_size: Vec<(usize, String)> = out
        .iter()
        .map(|(k, v)| (entry_len(k, v), k.clone()))
        .collect();
    // Largest first; equal sizes in key order (the sort is stable over the key-ordered input).
    by_size.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
    let mut body: usize = by_size.iter().map(|(size, _)| size).sum();
    for (size, key) in by_size {
        if json_object_len(body, out.len(), fit_records(&truncated, &dropped)) <= max_bytes {
            break;
        }
        out.remove(&key);
        body -= size;
        truncated.remove(&key);
        dropped.insert(key);
    }
    finish(out, &truncated, &dropped, max_bytes)
}

/// Whether `key` is one [`fit_details`] writes (`details:truncated`, `details:dropped` and
/// their `:omitted` counts).
pub fn is_fit_record(key: &str) -> bool {
    [DETAILS_TRUNCATED, DETAILS_DROPPED].iter().any(|record| {
        key.strip_prefix(record)
            .is_some_and(|rest| rest.is_empty() || rest == format!("{SEPARATOR}{OMITTED_SUFFIX}"))
    })
}

/// The entries recording the cut keys: `(sum of their encoded entry lengths, how many)`.
fn fit_records(truncated: &BTreeSet<String>, dropped: &BTreeSet<String>) -> (usize, usize) {
    record_entries(truncated, dropped)
        .iter()
        .fold((0, 0), |(len, n), (k, v)| (len + entry_len(k, v), n + 1))
}

/// `details:truncated` / `details:dropped` lists (at most [`MAX_LIST_ITEMS`] names) and their
/// `:omitted` counts.
fn record_entries(
    truncated: &BTreeSet<String>,
    dropped: &BTreeSet<String>,
) -> Vec<(String, Value)> {
    let mut entries = Vec::new();
    for (record, keys) in [(DETAILS_TRUNCATED, truncated), (DETAILS_DROPPED, dropped)] {
        if keys.is_empty() {
            continue;
        }
        let names: Vec<Value> = keys
            .iter()
            .take(MAX_LIST_ITEMS)
            .map(|k| Value::String(k.clone()))
            .collect();
        entries.push((record.to_owned(), Value::Array(names)));
        if keys.len() > MAX_LIST_ITEMS {
            entries.push((
                join_key(record, OMITTED_SUFFIX),
                Value::from(keys.len() - MAX_LIST_ITEMS),
            ));
        }
    }
    entries
}

/// Add the record entries and check the result against the budget (measured, not estimated).
fn finish(
    mut out: Details,
    truncated: &BTreeSet<String>,
    dropped: &BTreeSet<String>,
    max_bytes: usize,
) -> Option<(Details, Trimmed)> {
    out.extend(record_entries(truncated, dropped));
    (encoded_len(&out) <= max_bytes).then_some((
        out,
        Trimmed {
            truncated: truncated.len(),
            dropped: dropped.len(),
        },
    ))
}

/// Cut the text of a value (or the text items of a list) to `cap` characters; whether any was
/// cut.
fn cut_value(value: &mut Value, cap: usize) -> bool {
    let cut = |text: &mut String| {
        let capped = cap_text_to(text, cap);
        let changed = capped.len() != text.len();
        if changed {
            *text = capped;
        }
        changed
    };
    match value {
        Value::String(text) => cut(text),
        Value::Array(items) => items.iter_mut().fold(false, |any, item| match item {
            Value::String(text) => cut(text) || any,
            _ => any,
        }),
        _ => false,
    }
}

/// Compact JSON length of one `"key":value` entry.
fn entry_len(key: &str, value: &Value) -> usize {
    let mut counter = ByteCounter(0);
    // Writing a string or a JSON value into the counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, key);
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0 + 1
}

/// Compact JSON length of an object with `n` entries totalling `body` bytes, plus the
/// `records` entries (`(bytes, count)`): braces and commas included.
fn json_object_len(body: usize, n: usize, records: (usize, usize)) -> usize {
    let entries = n + records.1;
    2 + body + records.0 + entries.saturating_sub(1)
}

/// An `io::Write` that only counts bytes.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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
    fn long_key_segments_are_capped_with_marker() {
        let long = "n".repeat(300_000);
        let record = json!({
            "customFields": [
                {"typeId": 1, "name": long, "value": "first"},
                {"typeId": 2, "name": format!("{long}x"), "value": "same cut name"},
                {"typeId": 3, "name": "n".repeat(MAX_KEY_SEGMENT_CHARS), "value": "at the cap"}
            ]
        });
        let d = flat("", record);
        let cut = format!(
            "customFields:{}{TRUNCATION_MARKER}",
            "n".repeat(MAX_KEY_SEGMENT_CHARS - TRUNCATION_MARKER.chars().count())
        );
        assert_eq!(d[&cut], json!("first"), "the first of a cut name wins");
        let exact = format!("customFields:{}", "n".repeat(MAX_KEY_SEGMENT_CHARS));
        assert_eq!(d[&exact], json!("at the cap"));
        assert_eq!(d.len(), 2, "{:?}", d.keys().collect::<Vec<_>>());
    }

    /// 200 custom fields of 3 999 characters: about 800 KB of details.
    fn oversized() -> Details {
        let fields: Vec<Value> = (0..200)
            .map(|i| json!({"typeId": i, "name": format!("F{i:03}"), "value": "x".repeat(3_999)}))
            .collect();
        flat(
            "",
            json!({"id": 41000126, "jobStatus": "Completed", "customFields": fields}),
        )
    }

    #[test]
    fn fit_details_leaves_details_within_the_budget_alone() {
        let d = oversized();
        let (same, trimmed) = fit_details(&d, encoded_len(&d)).unwrap();
        assert_eq!(same, d);
        assert!(trimmed.is_empty());
        assert_eq!(
            encoded_len(&d),
            serde_json::to_string(&d).unwrap().len(),
            "the counted length is the JSON's"
        );
    }

    #[test]
    fn fit_details_shortens_text_in_steps_and_lists_what_it_cut() {
        let d = oversized();
        assert!(encoded_len(&d) > 800_000);
        let (fitted, trimmed) = fit_details(&d, 300_000).unwrap();
        assert!(encoded_len(&fitted) <= 300_000);
        // The first step (1 000 characters) is enough: every field kept, each cut.
        let value = fitted["customFields:F000"].as_str().unwrap();
        assert_eq!(value.chars().count(), FIT_TEXT_CAPS[0]);
        assert!(value.ends_with(TRUNCATION_MARKER));
        assert_eq!(fitted["id"], json!(41000126));
        assert_eq!(fitted["jobStatus"], json!("Completed"));
        assert_eq!(
            trimmed,
            Trimmed {
                truncated: 200,
                dropped: 0
            }
        );
        let listed = fitted[DETAILS_TRUNCATED].as_array().unwrap();
        assert_eq!(listed.len(), MAX_LIST_ITEMS);
        assert_eq!(listed[0], json!("customFields:F000"));
        assert_eq!(fitted["details:truncated:omitted"], json!(150));
        assert!(!fitted.contains_key(DETAILS_DROPPED));
        // Deterministic: the same input gives the same output.
        assert_eq!(fit_details(&d, 300_000).unwrap().0, fitted);
        // A smaller budget takes the next step.
        let (small, _) = fit_details(&d, 60_000).unwrap();
        assert!(encoded_len(&small) <= 60_000);
        assert_eq!(
            small["customFields:F199"].as_str().unwrap().chars().count(),
            FIT_TEXT_CAPS[1]
        );
    }

    #[test]
    fn fit_details_drops_the_largest_keys_last() {
        let d = oversized();
        let (fitted, trimmed) = fit_details(&d, 8_000).unwrap();
        assert!(encoded_len(&fitted) <= 8_000, "{}", encoded_len(&fitted));
        assert!(trimmed.dropped > 0);
        assert_eq!(fitted["id"], json!(41000126), "small keys stay");
        assert_eq!(fitted["jobStatus"], json!("Completed"));
        let dropped = fitted[DETAILS_DROPPED].as_array().unwrap();
        assert!(dropped.len() <= MAX_LIST_ITEMS);
        for key in dropped {
            assert!(!fitted.contains_key(key.as_str().unwrap()));
        }
        // No budget at all: nothing fits.
        assert_eq!(fit_details(&d, 1), None);
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
