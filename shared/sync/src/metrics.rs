//! CloudWatch Embedded Metric Format (EMF) lines for sync runs (SPEC.md §9). A Lambda prints
//! each line to stdout on its own; CloudWatch Logs turns it into metrics without any API call.
//!
//! Namespace `ServiceTitanSync`, one dimension set `[Model]` (workspace ids are far too many to
//! be a dimension: they travel as a property, searchable in Logs Insights).

use serde_json::{json, Map, Value};

use crate::SyncReport;

/// The metric namespace.
pub const NAMESPACE: &str = "ServiceTitanSync";

/// One EMF object (serialize it to one line) for a finished sync of `model` in one workspace.
/// `timestamp_ms` is the UTC time in epoch milliseconds. Metrics (unit Count): RecordsRead,
/// OpportunitiesWritten, OpportunitiesUnchanged, OpportunitiesRefused, ContactsCreated,
/// BadRecords, ApiCalls, Throttled (429s), StoreWrites.
pub fn sync_run(model: &str, report: &SyncReport, timestamp_ms: i64) -> Value {
    let metrics: [(&str, u64); 9] = [
        ("RecordsRead", report.records_read),
        ("OpportunitiesWritten", report.opportunities_written),
        ("OpportunitiesUnchanged", report.opportunities_unchanged),
        ("OpportunitiesRefused", report.opportunities_refused),
        ("ContactsCreated", report.contacts_created),
        ("BadRecords", report.bad_records),
        ("ApiCalls", report.api_calls),
        ("Throttled", report.throttled),
        ("StoreWrites", report.store_writes),
    ];
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Model"]],
                "Metrics": metrics
                    .iter()
                    .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    root.insert("Model".into(), Value::from(model));
    root.insert(
        "workspaceId".into(),
        Value::from(report.workspace_id.as_str()),
    );
    root.insert("caughtUp".into(), Value::from(report.caught_up));
    for (name, value) in metrics {
        root.insert(name.into(), Value::from(value));
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_metric_has_a_value_and_no_personal_data_travels() {
        let report = SyncReport {
            workspace_id: "ws-1".into(),
            records_read: 12,
            opportunities_written: 3,
            api_calls: 9,
            throttled: 2,
            bad_record_samples: vec!["job 1: field `createdOn`: bad".into()],
            ..SyncReport::default()
        };
        let v = sync_run("job", &report, 1_700_000_000_000);
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], NAMESPACE);
        assert_eq!(declared["Dimensions"], json!([["Model"]]));
        for m in declared["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(v[name].is_u64(), "{name} has a numeric value");
        }
        assert_eq!(v["RecordsRead"], 12);
        assert_eq!(v["Throttled"], 2);
        assert_eq!(v["Model"], "job");
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert!(
            !v.to_string().contains("createdOn"),
            "bad-record samples stay out of metrics"
        );
    }
}
