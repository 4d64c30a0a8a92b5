//! The Job model's sync (SPEC.md §3): the jobs export feed drives it.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use opportunity::{map_job, ContactCandidate, Integration, JobBundle, MappingConfig, Opportunity};
use servicetitan::client::{decode_rows, endpoints, Client};
use servicetitan::{BusinessUnit, Customer, CustomerContact, Id, Job, JobType, Location};
use store::{FeedProgress, Store};
use tracing::{info, instrument, warn};

use crate::error::Ctx;
use crate::{SyncError, SyncOptions, SyncReport};

/// Progress key of the jobs export feed (`PROGRESS#job:jobs` in the store).
pub const JOBS_FEED: &str = "job:jobs";

/// Reference data read once per run and reused for every page (SPEC.md §3: never one request per
/// record).
#[derive(Default)]
struct Reference {
    business_units: Option<HashMap<Id, BusinessUnit>>,
    job_types: Option<HashMap<Id, JobType>>,
}

impl Reference {
    async fn load(
        &mut self,
        client: &Client,
        opts: &SyncOptions,
        ws: &str,
    ) -> Result<(), SyncError> {
        let any = [("active", "Any".to_owned())];
        if self.business_units.is_none() {
            let list: Vec<BusinessUnit> = client
                .list_all(endpoints::BUSINESS_UNITS, &any, opts.list_page_size)
                .await
                .ws(ws)?;
            self.business_units = Some(list.into_iter().map(|b| (b.id, b)).collect());
        }
        if self.job_types.is_none() {
            let list: Vec<JobType> = client
                .list_all(endpoints::JOB_TYPES, &any, opts.list_page_size)
                .await
                .ws(ws)?;
            self.job_types = Some(list.into_iter().map(|t| (t.id, t)).collect());
        }
        Ok(())
    }
}

/// The first `from` of a new integration: the date `backfill_days` before activation (UTC), as
/// the export feeds accept it (API-NOTES §5.4: `from` may be a plain date).
pub(crate) fn initial_from(integration: &Integration, backfill_days: i64) -> String {
    let start = integration.activated_at - Duration::days(backfill_days);
    start.format("%Y-%m-%d").to_string()
}

/// Sync the Job model of one integration: read the jobs export feed from the saved token (or
/// from `backfill_days` before activation on the first run), fetch each page's customers,
/// contacts and locations with `ids=` lookups (≤ 50 per call), map, resolve contacts, upsert,
/// then commit the page's continuation token. Stops at `opts.deadline` between pages.
///
/// `now` (UTC) stamps `synced_at` and new contacts. Errors: [`SyncError`] when ServiceTitan or
/// the store fails after retries; everything committed before stays committed.
#[instrument(skip_all, fields(workspace = %integration.workspace_id, feed = JOBS_FEED))]
pub async fn sync_jobs(
    client: &Client,
    store: &Store,
    integration: &Integration,
    now: DateTime<Utc>,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let ws = integration.workspace_id.as_str();
    let api_before = client.stats();
    let writes_before = store.stats().item_writes;
    let mapping = MappingConfig::from_integration(integration);
    let mut report = SyncReport {
        workspace_id: ws.to_owned(),
        ..SyncReport::default()
    };
    let mut reference = Reference::default();

    let progress = store.get_progress(ws, JOBS_FEED).await.ws(ws)?;
    let mut records_total = progress.as_ref().map_or(0, |p| p.records_read);
    let mut from = progress
        .and_then(|p| p.token)
        .unwrap_or_else(|| initial_from(integration, opts.backfill_days));

    loop {
        if opts.deadline.is_some_and(|d| Instant::now() >= d) {
            info!("soft deadline reached; the next run resumes from the saved token");
            break;
        }
        let page = client
            .export_page(
                endpoints::EXPORT_JOBS,
                Some(&from),
                opts.include_recent_changes,
            )
            .await
            .ws(ws)?;
        report.pages += 1;
        let page_rows = page.data.len() as u64;
        report.records_read += page_rows;
        let (jobs, bad) = decode_rows::<Job>("job", page.data);
        for b in bad {
            warn!(resource = b.resource, id = ?b.id, field = %b.field, "bad record skipped");
            report.note_bad(b.to_string());
        }
        // Feeds may repeat a row; the last copy is the newest.
        let mut by_id: BTreeMap<Id, Job> = BTreeMap::new();
        for job in jobs {
            by_id.insert(job.id, job);
        }
        if !by_id.is_empty() {
            reference.load(client, opts, ws).await?;
            let bundles =
                fetch_related(client, &reference, by_id.into_values().collect(), ws).await?;
            write_page(store, ws, &mapping, bundles, now, &mut report).await?;
        }
        records_total += page_rows;
        if page.continue_from != from {
            let p = FeedProgress {
                feed: JOBS_FEED.to_owned(),
                token: Some(page.continue_from.clone()),
                updated_at: now,
                records_read: records_total,
            };
            store.put_progress(ws, &p).await.ws(ws)?;
            from = page.continue_from;
        }
        if !page.has_more {
            report.caught_up = true;
            break;
        }
    }

    let api = client.stats();
    report.api_calls = api.api_calls - api_before.api_calls;
    report.throttled = api.throttled - api_before.throttled;
    report.store_writes = store.stats().item_writes - writes_before;
    info!(
        written = report.opportunities_written,
        unchanged = report.opportunities_unchanged,
        refused = report.opportunities_refused,
        bad = report.bad_records,
        api_calls = report.api_calls,
        "job sync finished"
    );
    Ok(report)
}

/// Fetch the customers, contacts and locations of a page of jobs in batches and assemble bundles.
async fn fetch_related(
    client: &Client,
    reference: &Reference,
    jobs: Vec<Job>,
    ws: &str,
) -> Result<Vec<JobBundle>, SyncError> {
    let customer_ids: Vec<Id> = jobs.iter().map(|j| j.customer_id).collect();
    let location_ids: Vec<Id> = jobs.iter().map(|j| j.location_id).collect();
    let customers: Vec<Customer> = client
        .list_by_ids(endpoints::CUSTOMERS, "ids", &customer_ids, true)
        .await
        .ws(ws)?;
    let contacts: Vec<CustomerContact> = client
        .list_by_ids(
            endpoints::CUSTOMER_CONTACTS,
            "customerIds",
            &customer_ids,
            false,
        )
        .await
        .ws(ws)?;
    let locations: Vec<Location> = client
        .list_by_ids(endpoints::LOCATIONS, "ids", &location_ids, true)
        .await
        .ws(ws)?;
    let customers: HashMap<Id, Customer> = customers.into_iter().map(|c| (c.id, c)).collect();
    let locations: HashMap<Id, Location> = locations.into_iter().map(|l| (l.id, l)).collect();
    let mut contacts_by_customer: HashMap<Id, Vec<CustomerContact>> = HashMap::new();
    for c in contacts {
        if let Some(owner) = c.customer_id {
            contacts_by_customer.entry(owner).or_default().push(c);
        }
    }
    let bus = reference.business_units.as_ref();
    let types = reference.job_types.as_ref();
    Ok(jobs
        .into_iter()
        .map(|job| JobBundle {
            customer: customers.get(&job.customer_id).cloned(),
            contacts: contacts_by_customer
                .get(&job.customer_id)
                .cloned()
                .unwrap_or_default(),
            location: locations.get(&job.location_id).cloned(),
            business_unit: bus.and_then(|m| m.get(&job.business_unit_id)).cloned(),
            job_type: types.and_then(|m| m.get(&job.job_type_id)).cloned(),
            job,
        })
        .collect())
}

/// Map bundles, resolve their contacts (in order, so two jobs of one new customer make one
/// contact) and upsert the opportunities.
async fn write_page(
    store: &Store,
    ws: &str,
    mapping: &MappingConfig,
    bundles: Vec<JobBundle>,
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let mut items: Vec<(Opportunity, String)> = Vec::with_capacity(bundles.len());
    for bundle in &bundles {
        let opportunity = match map_job(bundle, mapping) {
            Ok(o) => o,
            Err(e) => {
                warn!(resource = %e.resource, id = %e.id, field = %e.field, "record not mapped");
                report.note_bad(e.to_string());
                continue;
            }
        };
        let candidate = ContactCandidate::from_opportunity(&opportunity);
        let resolution = store.resolve_contact(ws, &candidate, now).await.ws(ws)?;
        if resolution.created {
            report.contacts_created += 1;
        }
        items.push((opportunity, resolution.contact_id));
    }
    let upsert = store.upsert_opportunities(ws, &items, now).await.ws(ws)?;
    report.opportunities_written += upsert.written as u64;
    report.opportunities_unchanged += upsert.unchanged as u64;
    report.opportunities_refused += upsert.refused as u64;
    // Permanent per-item problems (e.g. an item over the size limit) are reported like bad
    // records: the rest of the page is written and the watermark may move on.
    for failure in &upsert.failed {
        report.note_bad(format!(
            "{} {}: not stored: {}",
            failure.model, failure.external_id, failure.error
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opportunity::{Environment, IntegrationStatus, Model};

    #[test]
    fn first_run_starts_backfill_days_before_activation() {
        let integration = Integration {
            workspace_id: "ws-1".into(),
            environment: Environment::Integration,
            tenant_id: 1,
            client_id: "cid".into(),
            secret_id: "s".into(),
            models: vec![Model::Job],
            placeholder_emails: vec![],
            phone_region: "US".into(),
            poll_interval_minutes: 15,
            status: IntegrationStatus::Active,
            activated_at: "2026-03-31T10:00:00Z".parse().unwrap(),
        };
        assert_eq!(initial_from(&integration, 90), "2025-12-31");
        assert_eq!(initial_from(&integration, 1), "2026-03-30");
    }
}
