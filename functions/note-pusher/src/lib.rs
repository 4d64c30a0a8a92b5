//! note-pusher: the SQS-triggered Lambda that turns platform events into ServiceTitan notes,
//! exactly once (SPEC.md §7). The handler only walks the batch, hands each message body to
//! [`sync::push::Pusher::push`] and reports SQS batch item failures: permanent outcomes (an
//! invalid event, no ServiceTitan record for the contact, destination `none`, ...) are recorded
//! by the pusher and acknowledged; transient failures (429, 5xx, timeouts, a busy claim, store
//! throttling) come back as failures, so SQS delivers them again and, after the queue's
//! `maxReceiveCount`, moves them to the DLQ. The event source mapping must have
//! `FunctionResponseTypes: [ReportBatchItemFailures]`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use secrets::SecretSource;
use serde::Serialize;
use sync::push::{Delivery, Pusher};
use tracing::{error, info, instrument, warn};

/// Configuration from the environment, read once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the DynamoDB table.
    pub table_name: String,
    /// `ST_APP_KEY_SECRET_ID`: Secrets Manager id of the platform `ST-App-Key`.
    pub app_key_secret_id: String,
    /// `ST_API_BASE_URL` + `ST_TOKEN_URL`: both or neither; replace the environment's hosts
    /// (a sandbox).
    pub endpoint_override: Option<(String, String)>,
    /// `ST_REQUESTS_PER_SECOND` (default 20).
    pub requests_per_second: u32,
    /// `NOTE_CLAIM_LEASE_SECONDS` (default 300): how long a claim is held. Must exceed the
    /// function timeout; the queue's visibility timeout must exceed it.
    pub claim_lease: Duration,
    /// `PUSH_DEADLINE_MARGIN_MS` (default 10000): messages not started this long before the
    /// Lambda deadline are returned as failures, unprocessed.
    pub deadline_margin: Duration,
}

impl Config {
    /// Read from the process environment.
    ///
    /// Errors: one message listing every missing or malformed variable.
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read through `get` (tests pass a map).
    ///
    /// Errors: one message listing every missing or malformed variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let mut env = sync::env::EnvReader::new(get);
        let table_name = env.required("TABLE_NAME");
        let app_key_secret_id = env.required("ST_APP_KEY_SECRET_ID");
        let endpoint_override = env.endpoint_override();
        let requests_per_second = env.number("ST_REQUESTS_PER_SECOND", 20, 1);
        let lease_secs = env.number("NOTE_CLAIM_LEASE_SECONDS", 300, 1);
        let margin_ms = env.number("PUSH_DEADLINE_MARGIN_MS", 10_000, 0);
        if requests_per_second > u64::from(u32::MAX) {
            env.problem("ST_REQUESTS_PER_SECOND is too large");
        }
        env.finish()?;
        Ok(Config {
            table_name,
            app_key_secret_id,
            endpoint_override,
            requests_per_second: requests_per_second as u32,
            claim_lease: Duration::from_secs(lease_secs),
            deadline_margin: Duration::from_millis(margin_ms),
        })
    }
}

/// Everything the handler needs, built once per container.
pub struct App<S> {
    /// The pusher (store, secrets, platform settings, cached clients).
    pub pusher: Pusher<S>,
    /// Messages are not started later than this before the Lambda deadline.
    pub deadline_margin: Duration,
}

/// Counts of one batch (logged once per invocation).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSummary {
    /// Messages in the batch.
    pub messages: usize,
    /// Notes posted.
    pub posted: usize,
    /// Notes found already posted by an earlier attempt (marked done).
    pub found_posted: usize,
    /// Duplicate deliveries of done or skipped events.
    pub duplicates: usize,
    /// Permanent outcomes (recorded and acknowledged).
    pub skipped: usize,
    /// Returned to the queue (transient failures, or not started before the deadline).
    pub failed: usize,
    /// The permanent outcomes by reason (`no_servicetitan_record`, `invalid_event`, ...).
    pub skipped_by_reason: BTreeMap<String, usize>,
}

impl BatchSummary {
    fn skip(&mut self, reason: &str) {
        self.skipped += 1;
        *self.skipped_by_reason.entry(reason.to_owned()).or_default() += 1;
    }

    /// The batch's CloudWatch EMF lines ([`sync::metrics::note_batch`]): its counts, then one
    /// line per permanent-outcome reason.
    pub fn metrics(&self, timestamp_ms: i64) -> Vec<serde_json::Value> {
        let n = |v: usize| v as u64;
        let counts = sync::metrics::NoteBatchCounts {
            messages: n(self.messages),
            posted: n(self.posted),
            found_posted: n(self.found_posted),
            duplicates: n(self.duplicates),
            skipped: n(self.skipped),
            failed: n(self.failed),
            skipped_by_reason: self
                .skipped_by_reason
                .iter()
                .map(|(reason, count)| (reason.clone(), n(*count)))
                .collect(),
        };
        sync::metrics::note_batch(&counts, timestamp_ms)
    }
}

/// The handler: each message of the batch through the pusher, failures reported per message,
/// then the batch's CloudWatch EMF lines on stdout ([`BatchSummary::metrics`], SPEC.md §9).
///
/// Never fails as a whole: a failed message is a batch item failure, so one bad message does not
/// make SQS deliver the whole batch again.
#[instrument(skip_all, fields(request_id = %event.context.request_id, messages = event.payload.records.len()))]
pub async fn handle<S: SecretSource>(
    app: &App<S>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let deadline = soft_deadline(&event.context, app.deadline_margin);
    let (response, summary) = process(app, event.payload, deadline).await;
    info!(
        messages = summary.messages,
        posted = summary.posted,
        found_posted = summary.found_posted,
        duplicates = summary.duplicates,
        skipped = summary.skipped,
        failed = summary.failed,
        "batch done"
    );
    for line in summary.metrics(Utc::now().timestamp_millis()) {
        println!("{line}");
    }
    Ok(response)
}

/// The batch walk behind [`handle`], with its counts.
pub async fn process<S: SecretSource>(
    app: &App<S>,
    event: SqsEvent,
    deadline: Instant,
) -> (SqsBatchResponse, BatchSummary) {
    let mut response = SqsBatchResponse::default();
    let mut summary = BatchSummary {
        messages: event.records.len(),
        ..BatchSummary::default()
    };
    for message in event.records {
        let Some(message_id) = message.message_id.clone() else {
            // Without an id a failure cannot be reported for this message alone.
            error!("SQS message without messageId skipped");
            summary.skip("no_message_id");
            continue;
        };
        if Instant::now() >= deadline {
            warn!(%message_id, "not started before the deadline; returned to the queue");
            response.add_failure(message_id);
            summary.failed += 1;
            continue;
        }
        let body = message.body.as_deref().unwrap_or_default();
        match app.pusher.push(body, Utc::now()).await {
            Ok(Delivery::Posted { .. }) => summary.posted += 1,
            Ok(Delivery::FoundPosted { .. }) => summary.found_posted += 1,
            Ok(Delivery::Duplicate { .. }) => summary.duplicates += 1,
            Ok(Delivery::Skipped { reason, .. }) => {
                info!(%message_id, reason, "permanent outcome, acknowledged");
                summary.skip(reason);
            }
            Err(e) => {
                warn!(%message_id, workspace = e.workspace().unwrap_or("-"), error = %e, "transient failure; SQS will deliver it again");
                response.add_failure(message_id);
                summary.failed += 1;
            }
        }
    }
    (response, summary)
}

/// The soft deadline: the invocation's deadline minus the margin (never in the past); the same
/// rule as the poll functions'.
pub use sync::lambda::soft_deadline;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn config_reports_every_missing_variable_at_once() {
        let err = Config::from_lookup(|_| None).unwrap_err();
        assert!(err.contains("TABLE_NAME"), "{err}");
        assert!(err.contains("ST_APP_KEY_SECRET_ID"), "{err}");
    }

    #[test]
    fn config_reads_values_and_defaults() {
        let env: HashMap<&str, &str> = [
            ("TABLE_NAME", "t1"),
            ("ST_APP_KEY_SECRET_ID", "app-key"),
            ("NOTE_CLAIM_LEASE_SECONDS", "120"),
        ]
        .into();
        let c = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.table_name, "t1");
        assert_eq!(c.claim_lease, Duration::from_secs(120));
        assert_eq!(c.requests_per_second, 20);
        assert_eq!(c.deadline_margin, Duration::from_secs(10));
    }

    #[test]
    fn config_rejects_bad_values_together() {
        let env: HashMap<&str, &str> = [
            ("TABLE_NAME", "t1"),
            ("ST_APP_KEY_SECRET_ID", "k"),
            ("ST_TOKEN_URL", "http://127.0.0.1:1/connect/token"),
            ("NOTE_CLAIM_LEASE_SECONDS", "0"),
            ("PUSH_DEADLINE_MARGIN_MS", "soon"),
        ]
        .into();
        let err = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(err.contains("ST_API_BASE_URL"), "{err}");
        assert!(err.contains("NOTE_CLAIM_LEASE_SECONDS"), "{err}");
        assert!(err.contains("PUSH_DEADLINE_MARGIN_MS"), "{err}");
    }

    #[test]
    fn batch_metrics_are_emf_with_each_permanent_reason() {
        let mut summary = BatchSummary {
            messages: 4,
            posted: 1,
            failed: 1,
            ..BatchSummary::default()
        };
        summary.skip("invalid_event");
        summary.skip("no_servicetitan_record");
        let lines: Vec<serde_json::Value> = summary
            .metrics(1_700_000_000_000)
            .iter()
            .map(|v| serde_json::from_str(&v.to_string()).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        let batch = &lines[0];
        assert_eq!(
            batch["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "ServiceTitanSync"
        );
        assert_eq!(batch["Function"], "note-pusher");
        assert_eq!(batch["Messages"], 4);
        assert_eq!(batch["NotesPosted"], 1);
        assert_eq!(batch["NotesSkipped"], 2);
        assert_eq!(batch["NotesFailed"], 1);
        for m in batch["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
        {
            assert!(batch[m["Name"].as_str().unwrap()].is_u64(), "{batch}");
        }
        let reasons: Vec<(&str, u64)> = lines[1..]
            .iter()
            .map(|v| {
                (
                    v["Reason"].as_str().unwrap(),
                    v["NotesSkipped"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            reasons,
            [("invalid_event", 1), ("no_servicetitan_record", 1)]
        );
    }
}
