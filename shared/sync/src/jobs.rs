//! The model entry points (SPEC.md §3): the Job model (jobs export feed plus the feeds of its
//! selected related resources) and the Membership model (memberships feed plus recurring
//! services, events and invoices). Both run the shared engine in `engine.rs`.

use chrono::{DateTime, Utc};
use opportunity::{Integration, Model};
use servicetitan::client::Client;
use store::Store;
use tracing::instrument;

use crate::engine::Run;
use crate::{SyncError, SyncOptions, SyncReport};

/// Progress key of the jobs export feed (`PROGRESS#job:jobs` in the store).
pub const JOBS_FEED: &str = "job:jobs";
/// Backfill progress key of the jobs export feed (`PROGRESS#backfill:job:jobs`).
pub const JOBS_BACKFILL_FEED: &str = "backfill:job:jobs";
/// Progress key of the memberships export feed (`PROGRESS#membership:memberships`).
pub const MEMBERSHIPS_FEED: &str = "membership:memberships";

/// Sync the Job model of one integration: read the jobs export feed and the feeds of the
/// selected related resources (appointments, assignments, estimates, invoices, canceled logs),
/// each from its saved token (or from `backfill_days` before activation on the first run); for
/// every page rebuild the affected jobs with their related records fetched in `ids=` batches
/// (≤ 50 per call) and reference data read once per run; map, resolve contacts, upsert, then
/// commit the page's token. Stops at `opts.deadline` between pages.
///
/// `now` (UTC) stamps `synced_at` and new contacts. Errors: [`SyncError`] when ServiceTitan or
/// the store fails after retries; everything committed before stays committed.
#[instrument(skip_all, fields(workspace = %integration.workspace_id, model = "job"))]
pub async fn sync_jobs(
    client: &Client,
    store: &Store,
    integration: &Integration,
    now: DateTime<Utc>,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    Run::new(client, store, integration, Model::Job, now, opts)
        .run()
        .await
}

/// Sync the Membership model of one integration: the memberships export feed and the feeds of
/// the selected related resources (recurring services, recurring service events, invoices), as
/// [`sync_jobs`] does for jobs.
///
/// Errors: as [`sync_jobs`].
#[instrument(skip_all, fields(workspace = %integration.workspace_id, model = "membership"))]
pub async fn sync_memberships(
    client: &Client,
    store: &Store,
    integration: &Integration,
    now: DateTime<Utc>,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    Run::new(client, store, integration, Model::Membership, now, opts)
        .run()
        .await
}

/// Sync `model` (job or membership) of one integration.
///
/// Errors: as [`sync_jobs`]; [`SyncError::Config`] for a model that is not polled (inbound calls
/// arrive through the webhook).
pub async fn sync_model(
    model: Model,
    client: &Client,
    store: &Store,
    integration: &Integration,
    now: DateTime<Utc>,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    match model {
        Model::Job => sync_jobs(client, store, integration, now, opts).await,
        Model::Membership => sync_memberships(client, store, integration, now, opts).await,
        Model::InboundCall => Err(SyncError::Config {
            workspace: integration.workspace_id.clone(),
            message: "the inbound_call model is not polled (it arrives through the webhook)".into(),
        }),
    }
}

/// Whether `model` is one the scheduled pollers sync.
pub fn is_polled(model: Model) -> bool {
    matches!(model, Model::Job | Model::Membership)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{from_date, Feed};
    use opportunity::{Environment, IntegrationStatus};

    #[test]
    fn first_run_starts_backfill_days_before_activation() {
        let integration: Integration = serde_json::from_value(serde_json::json!({
            "workspaceId": "ws-1", "environment": "integration", "tenantId": 1,
            "clientId": "cid", "secretId": "s", "models": ["job"],
            "status": "active", "activatedAt": "2026-03-31T10:00:00Z"
        }))
        .unwrap();
        assert_eq!(integration.environment, Environment::Integration);
        assert_eq!(integration.status, IntegrationStatus::Active);
        assert_eq!(from_date(integration.activated_at), "2026-03-31");
        assert_eq!(
            from_date(integration.activated_at - chrono::Duration::days(90)),
            "2025-12-31"
        );
    }

    #[test]
    fn base_feed_keys_are_stable() {
        assert_eq!(Feed::Jobs.progress_key(Model::Job), JOBS_FEED);
        assert_eq!(Feed::Jobs.backfill_key(Model::Job), JOBS_BACKFILL_FEED);
        assert_eq!(
            Feed::Memberships.progress_key(Model::Membership),
            MEMBERSHIPS_FEED
        );
        assert!(is_polled(Model::Membership) && !is_polled(Model::InboundCall));
    }
}
