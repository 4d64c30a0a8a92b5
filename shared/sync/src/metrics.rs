//! CloudWatch Embedded Metric Format (EMF) lines for every function (SPEC.md §9). A Lambda prints
//! each line to stdout on its own; CloudWatch Logs turns it into metrics without any API call.
//!
//! One builder ([`Emf`]) and one function per kind of line, so every metric name of the project
//! is in this file:
//!
//! | line | dimension sets | metrics (unit Count) |
//! |---|---|---|
//! | [`sync_run`] (poll-jobs, poll-memberships; one per synced integration) | `[Model]` | RecordsRead, OpportunitiesWritten, OpportunitiesUnchanged, OpportunitiesRefused, ContactsCreated, BadRecords, ApiCalls, Throttled, StoreWrites |
//! | [`webhook_request`] (call-webhook; one per request) | `[Function, Outcome]`, `[Function, Status]` | Requests |
//! | [`note_batch`] (note-pusher; one per batch, plus one per permanent-outcome reason) | `[Function]`; `[Function, Reason]` | Messages, NotesPosted, NotesFoundPosted, NotesDuplicate, NotesSkipped, NotesFailed; NotesSkipped |
//!
//! Namespace `ServiceTitanSync`. Workspace ids are far too many to be a dimension: they travel
//! as a property (`workspaceId`), searchable in Logs Insights. Nothing personal or secret is ever
//! a dimension or a property: only ids, counts, outcomes and status codes.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::SyncReport;

/// The metric namespace.
pub const NAMESPACE: &str = "ServiceTitanSync";

/// One EMF document: dimensions, properties and Count metrics, turned into JSON by
/// [`Emf::build`] (print it on one line).
#[derive(Debug, Clone)]
pub struct Emf {
    timestamp_ms: i64,
    dimension_sets: Vec<Vec<String>>,
    root: Map<String, Value>,
    /// (name, CloudWatch unit) of each metric.
    metrics: Vec<(String, &'static str)>,
}

impl Emf {
    /// A document stamped `timestamp_ms` (UTC epoch milliseconds), with no dimension set yet.
    pub fn new(timestamp_ms: i64) -> Self {
        Emf {
            timestamp_ms,
            dimension_sets: Vec::new(),
            root: Map::new(),
            metrics: Vec::new(),
        }
    }

    /// Add a dimension set over `dimensions` (each name with its value); a dimension repeated in
    /// several sets keeps one value.
    pub fn dimensions(mut self, dimensions: &[(&str, &str)]) -> Self {
        for (name, value) in dimensions {
            self.root.insert((*name).into(), Value::from(*value));
        }
        self.dimension_sets
            .push(dimensions.iter().map(|(n, _)| (*n).to_owned()).collect());
        self
    }

    /// A property: searchable in Logs Insights, not a metric or a dimension.
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.root.insert(name.into(), value.into());
        self
    }

    /// A metric with unit Count.
    pub fn count(self, name: &str, value: u64) -> Self {
        self.metric(name, value, "Count")
    }

    /// A metric with unit Seconds.
    pub fn seconds(self, name: &str, value: u64) -> Self {
        self.metric(name, value, "Seconds")
    }

    fn metric(mut self, name: &str, value: u64, unit: &'static str) -> Self {
        self.root.insert(name.into(), Value::from(value));
        self.metrics.push((name.into(), unit));
        self
    }

    /// The EMF object.
    pub fn build(self) -> Value {
        let mut root = self.root;
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": self.dimension_sets,
                    "Metrics": self
                        .metrics
                        .iter()
                        .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
                        .collect::<Vec<_>>(),
                }],
            }),
        );
        Value::Object(root)
    }
}

/// One EMF object (serialize it to one line) for a finished sync of `model` in one workspace.
/// `timestamp_ms` is the UTC time in epoch milliseconds. Metrics (unit Count): RecordsRead,
/// OpportunitiesWritten, OpportunitiesUnchanged, OpportunitiesRefused, ContactsCreated,
/// BadRecords, ApiCalls, Throttled (429s), StoreWrites; FeedLag (unit Seconds: how far behind
/// its incremental feeds the run stopped, 0 when caught up).
pub fn sync_run(model: &str, report: &SyncReport, timestamp_ms: i64) -> Value {
    Emf::new(timestamp_ms)
        .dimensions(&[("Model", model)])
        .property("workspaceId", report.workspace_id.as_str())
        .property("caughtUp", report.caught_up)
        .count("RecordsRead", report.records_read)
        .count("OpportunitiesWritten", report.opportunities_written)
        .count("OpportunitiesUnchanged", report.opportunities_unchanged)
        .count("OpportunitiesRefused", report.opportunities_refused)
        .count("ContactsCreated", report.contacts_created)
        .count("BadRecords", report.bad_records)
        .count("ApiCalls", report.api_calls)
        .count("Throttled", report.throttled)
        .count("StoreWrites", report.store_writes)
        .seconds("FeedLag", report.feed_lag_seconds)
        .property("backfillDone", report.backfill_done)
        .build()
}

/// The `Function` dimension of call-webhook's lines.
pub const CALL_WEBHOOK: &str = "call-webhook";
/// The `Function` dimension of note-pusher's lines.
pub const NOTE_PUSHER: &str = "note-pusher";

/// One EMF object for one call-webhook request: `Requests` = 1 by `Outcome` and by HTTP
/// `Status`. Outcomes: `created`, `duplicate`, `ignored` (200), `rejected` (4xx: bad signature,
/// malformed, unknown workspace, ...), `failed` (5xx: worth a retry by ServiceTitan). `error` is
/// the answer's error code (`bad_signature`), a property; `workspace` the path's workspace id.
pub fn webhook_request(
    workspace: &str,
    outcome: &str,
    status: u16,
    error: Option<&str>,
    timestamp_ms: i64,
) -> Value {
    let status = status.to_string();
    let mut emf = Emf::new(timestamp_ms)
        .dimensions(&[("Function", CALL_WEBHOOK), ("Outcome", outcome)])
        .dimensions(&[("Function", CALL_WEBHOOK), ("Status", status.as_str())])
        .property("workspaceId", workspace);
    if let Some(code) = error {
        emf = emf.property("error", code);
    }
    emf.count("Requests", 1).build()
}

/// What one note-pusher batch did, for [`note_batch`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoteBatchCounts {
    /// Messages in the batch.
    pub messages: u64,
    /// Notes posted now.
    pub posted: u64,
    /// Notes an earlier attempt had posted (found by their marker, marked done).
    pub found_posted: u64,
    /// Duplicate deliveries of done or skipped events.
    pub duplicates: u64,
    /// Permanent outcomes (recorded and acknowledged), all reasons.
    pub skipped: u64,
    /// Returned to the queue (transient failures, or not started before the deadline).
    pub failed: u64,
    /// Permanent outcomes by reason (`no_servicetitan_record`, `invalid_event`, ...).
    pub skipped_by_reason: BTreeMap<String, u64>,
}

/// The EMF objects of one note-pusher batch: one with the batch's counts (dimension set
/// `[Function]`), then one per permanent-outcome reason with its `NotesSkipped` (dimension set
/// `[Function, Reason]`).
pub fn note_batch(counts: &NoteBatchCounts, timestamp_ms: i64) -> Vec<Value> {
    let batch = Emf::new(timestamp_ms)
        .dimensions(&[("Function", NOTE_PUSHER)])
        .count("Messages", counts.messages)
        .count("NotesPosted", counts.posted)
        .count("NotesFoundPosted", counts.found_posted)
        .count("NotesDuplicate", counts.duplicates)
        .count("NotesSkipped", counts.skipped)
        .count("NotesFailed", counts.failed)
        .build();
    std::iter::once(batch)
        .chain(counts.skipped_by_reason.iter().map(|(reason, n)| {
            Emf::new(timestamp_ms)
                .dimensions(&[("Function", NOTE_PUSHER), ("Reason", reason.as_str())])
                .count("NotesSkipped", *n)
                .build()
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse a printed line back and check it is a well-formed EMF document: every declared
    /// metric has a numeric value and every dimension of every set is a string member.
    fn parse_emf(line: &str) -> Value {
        assert!(!line.contains('\n'), "one line: {line}");
        let v: Value = serde_json::from_str(line).expect("EMF is JSON");
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], NAMESPACE);
        assert!(v["_aws"]["Timestamp"].is_i64());
        for m in declared["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            let unit = if name == "FeedLag" {
                "Seconds"
            } else {
                "Count"
            };
            assert_eq!(m["Unit"], unit, "{name}");
            assert!(v[name].is_u64(), "{name} has a numeric value: {line}");
        }
        for set in declared["Dimensions"].as_array().unwrap() {
            for d in set.as_array().unwrap() {
                let d = d.as_str().unwrap();
                assert!(v[d].is_string(), "dimension {d} has a value: {line}");
            }
        }
        v
    }

    fn metric_names(v: &Value) -> Vec<&str> {
        v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn every_declared_metric_has_a_value_and_no_personal_data_travels() {
        let report = SyncReport {
            workspace_id: "ws-1".into(),
            records_read: 12,
            opportunities_written: 3,
            api_calls: 9,
            throttled: 2,
            feed_lag_seconds: 840,
            bad_record_samples: vec!["job 1: field `createdOn`: bad".into()],
            ..SyncReport::default()
        };
        let v = parse_emf(&sync_run("job", &report, 1_700_000_000_000).to_string());
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Dimensions"], json!([["Model"]]));
        assert_eq!(metric_names(&v).len(), 10);
        assert_eq!(v["FeedLag"], 840);
        assert_eq!(v["RecordsRead"], 12);
        assert_eq!(v["Throttled"], 2);
        assert_eq!(v["Model"], "job");
        assert_eq!(v["workspaceId"], "ws-1");
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert!(
            !v.to_string().contains("createdOn"),
            "bad-record samples stay out of metrics"
        );
    }

    #[test]
    fn webhook_requests_count_by_outcome_and_by_status() {
        let created = parse_emf(&webhook_request("acme", "created", 200, None, 5).to_string());
        assert_eq!(
            created["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "Outcome"], ["Function", "Status"]])
        );
        assert_eq!(metric_names(&created), ["Requests"]);
        assert_eq!(created["Requests"], 1);
        assert_eq!(created["Function"], "call-webhook");
        assert_eq!(created["Outcome"], "created");
        assert_eq!(created["Status"], "200");
        assert_eq!(created["workspaceId"], "acme");
        assert!(created.get("error").is_none());

        let rejected = parse_emf(
            &webhook_request("acme", "rejected", 401, Some("bad_signature"), 5).to_string(),
        );
        assert_eq!(rejected["Outcome"], "rejected");
        assert_eq!(rejected["Status"], "401");
        assert_eq!(rejected["error"], "bad_signature");
    }

    #[test]
    fn a_note_batch_counts_outcomes_and_each_permanent_reason() {
        let counts = NoteBatchCounts {
            messages: 5,
            posted: 2,
            skipped: 3,
            failed: 0,
            skipped_by_reason: [
                ("invalid_event".to_owned(), 1),
                ("no_servicetitan_record".to_owned(), 2),
            ]
            .into(),
            ..NoteBatchCounts::default()
        };
        let lines: Vec<Value> = note_batch(&counts, 7)
            .iter()
            .map(|v| parse_emf(&v.to_string()))
            .collect();
        assert_eq!(lines.len(), 3);
        let batch = &lines[0];
        assert_eq!(
            batch["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        assert_eq!(batch["Function"], "note-pusher");
        assert_eq!(
            metric_names(batch),
            [
                "Messages",
                "NotesPosted",
                "NotesFoundPosted",
                "NotesDuplicate",
                "NotesSkipped",
                "NotesFailed"
            ]
        );
        assert_eq!(
            (batch["Messages"].as_u64(), batch["NotesPosted"].as_u64()),
            (Some(5), Some(2))
        );
        assert_eq!(batch["NotesSkipped"], 3);
        assert_eq!(batch["NotesFailed"], 0);
        let reasons: Vec<(&str, u64)> = lines[1..]
            .iter()
            .map(|v| {
                assert_eq!(
                    v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                    json!([["Function", "Reason"]])
                );
                (
                    v["Reason"].as_str().unwrap(),
                    v["NotesSkipped"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            reasons,
            [("invalid_event", 1), ("no_servicetitan_record", 2)]
        );
        // An empty batch still says so (one line, zero counts).
        assert_eq!(note_batch(&NoteBatchCounts::default(), 7).len(), 1);
    }
}
