//! Which of the sandbox's jobs a sync window should produce opportunities for: the ground truth
//! that the demo prints and the end-to-end tests compare the store with.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use servicetitan::Id;

use crate::Dataset;

impl Dataset {
    /// Ids of the jobs a Job sync starting at `window_start` (a UTC date; the export feeds take
    /// `from` as a date) makes opportunities for: jobs modified on or after it, and active jobs
    /// whose appointments, estimates or invoices (the default resources, which have change
    /// feeds) were modified on or after it: a related change makes its job's opportunity
    /// (SPEC.md §3).
    pub fn jobs_in_window(&self, window_start: NaiveDate) -> BTreeSet<Id> {
        let related: BTreeSet<Id> = self
            .appointments
            .iter()
            .filter(|a| a.modified_on.date_naive() >= window_start)
            .map(|a| a.job_id)
            .chain(
                self.estimates
                    .iter()
                    .filter(|e| e.modified_on.date_naive() >= window_start)
                    .filter_map(|e| e.job_id),
            )
            .chain(
                self.invoices
                    .iter()
                    .filter(|i| i.last_modified().date_naive() >= window_start)
                    .filter_map(|i| i.job.as_ref().map(|j| j.id)),
            )
            .collect();
        self.jobs
            .iter()
            .filter(|j| {
                j.modified_on.date_naive() >= window_start
                    || (j.active != Some(false) && related.contains(&j.id))
            })
            .map(|j| j.id)
            .collect()
    }
}
