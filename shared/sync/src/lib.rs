//! The sync engine: ServiceTitan export feeds → related records in batches → mapping → contact
//! resolution → idempotent upserts → watermark (SPEC.md §3, §5). Both the Lambdas and the CLI
//! call it, so a local `stsync demo` runs exactly the code a scheduled poll runs.
//!
//! What belongs here: the order of operations and the rules that make a sync lose nothing
//! (a feed's continuation token is committed only after every opportunity it affected is written;
//! bad records are reported, skipped and counted). What does not: HTTP details (crate
//! `servicetitan`), item layout (crate `store`), mapping rules (crate `opportunity`), event
//! parsing (the function crates).

pub mod activate;
mod contacts;
mod engine;
pub mod env;
mod error;
mod jobs;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod metrics;
pub mod push;
pub mod runner;

pub use engine::Feed;
pub use error::SyncError;
pub use jobs::{
    is_polled, sync_jobs, sync_memberships, sync_model, JOBS_BACKFILL_FEED, JOBS_FEED,
    MEMBERSHIPS_FEED,
};

use std::time::Instant;

/// How one sync run behaves.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Days before activation that the first run covers (SPEC.md §3: 90).
    pub backfill_days: i64,
    /// Ask export feeds for recent changes at once (`includeRecentChanges=true`; rows may repeat,
    /// which the idempotent upsert absorbs).
    pub include_recent_changes: bool,
    /// Stop taking new pages after this instant (the Lambda soft deadline); `None` = no limit.
    pub deadline: Option<Instant>,
    /// No ServiceTitan call (tries and retry waits) runs past this instant: the Lambda's
    /// deadline less what the handler needs after the sync (release the lease, queue the
    /// continuation). A call cut short fails the run with a retryable error instead of the
    /// invocation timing out ([`servicetitan::client::ClientConfig::deadline`]); `None` = no limit.
    pub request_deadline: Option<Instant>,
    /// Page size for `ids=` lookups and reference lists.
    pub list_page_size: u32,
    /// The HTTP client's first retry delay for 5xx and timeouts (it doubles per try, capped,
    /// with jitter); `None` = the client's default (200 ms). Tests that inject many faults
    /// shorten it.
    pub retry_min_backoff: Option<std::time::Duration>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            backfill_days: 90,
            include_recent_changes: true,
            deadline: None,
            request_deadline: None,
            list_page_size: 500,
            retry_min_backoff: None,
        }
    }
}

/// What one sync run of one feed did. Serialized camelCase (the CLI's `--json` and Lambda results).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Workspace synced.
    pub workspace_id: String,
    /// Export pages read.
    pub pages: u64,
    /// Feed rows read (before de-duplication).
    pub records_read: u64,
    /// Opportunities created or replaced.
    pub opportunities_written: u64,
    /// Opportunities rebuilt identical to the stored one (no write).
    pub opportunities_unchanged: u64,
    /// Opportunities refused because the stored one is newer (External Updated At).
    pub opportunities_refused: u64,
    /// Contacts created by this run.
    pub contacts_created: u64,
    /// Records skipped as bad (each also logged with resource, id and field): rows that do not
    /// decode, and base records that cannot be mapped, whose contact or opportunity the store
    /// cannot hold; a base record counts once per run however many feeds rebuild it.
    pub bad_records: u64,
    /// Messages of the first bad records (at most 20), e.g. `job 41: field createdOn: ...`.
    pub bad_record_samples: Vec<String>,
    /// Base records (jobs, memberships) to rebuild that ServiceTitan did not return by id:
    /// named by related rows (an appointment of a deleted or inactive job) or by changed
    /// customers and locations; their rows are skipped (logged with the first ids). Each is
    /// counted once per run.
    pub missing_bases: u64,
    /// ServiceTitan API calls made (every try counts; token requests excluded).
    pub api_calls: u64,
    /// 429 answers received.
    pub throttled: u64,
    /// Store item writes made (opportunities, contacts, links, progress).
    pub store_writes: u64,
    /// True when every incremental feed was read to its end (`hasMore=false`) and the backfill
    /// is finished; false when the deadline stopped the run first.
    pub caught_up: bool,
    /// True when the model's activation backfill has finished (SPEC.md §3).
    pub backfill_done: bool,
    /// How far behind its incremental feeds this run stopped, in seconds: 0 when each was read
    /// to its end, else the age of the newest row reached (SPEC.md §9 "feed lag").
    pub feed_lag_seconds: u64,
}

impl SyncReport {
    /// Add the counts of `other` (another run or model) to these; its bad record samples are
    /// appended up to the same cap of 20. The workspace, `caught_up`, `backfill_done` and
    /// `feed_lag_seconds` stay as they are (they describe one run, not a sum).
    pub fn add(&mut self, other: &SyncReport) {
        self.pages += other.pages;
        self.records_read += other.records_read;
        self.opportunities_written += other.opportunities_written;
        self.opportunities_unchanged += other.opportunities_unchanged;
        self.opportunities_refused += other.opportunities_refused;
        self.contacts_created += other.contacts_created;
        self.bad_records += other.bad_records;
        let room = 20usize.saturating_sub(self.bad_record_samples.len());
        self.bad_record_samples
            .extend(other.bad_record_samples.iter().take(room).cloned());
        self.missing_bases += other.missing_bases;
        self.api_calls += other.api_calls;
        self.throttled += other.throttled;
        self.store_writes += other.store_writes;
    }

    pub(crate) fn note_bad(&mut self, message: String) {
        self.bad_records += 1;
        if self.bad_record_samples.len() < 20 {
            self.bad_record_samples.push(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_add_their_counts_and_keep_twenty_samples() {
        let mut job = SyncReport {
            workspace_id: "acme".into(),
            pages: 3,
            api_calls: 10,
            caught_up: true,
            ..SyncReport::default()
        };
        for i in 0..15 {
            job.note_bad(format!("job {i}: bad"));
        }
        let mut membership = SyncReport {
            workspace_id: "acme".into(),
            pages: 2,
            api_calls: 4,
            missing_bases: 1,
            store_writes: 7,
            ..SyncReport::default()
        };
        for i in 0..10 {
            membership.note_bad(format!("membership {i}: bad"));
        }
        job.add(&membership);
        assert_eq!((job.pages, job.api_calls, job.store_writes), (5, 14, 7));
        assert_eq!((job.bad_records, job.missing_bases), (25, 1));
        assert_eq!(job.bad_record_samples.len(), 20);
        assert_eq!(job.bad_record_samples[15], "membership 0: bad");
        assert!(job.caught_up, "flags describe one run and are kept");
    }
}
