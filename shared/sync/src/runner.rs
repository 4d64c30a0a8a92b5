//! Scheduled runs: pick this shard's active integrations, build each one's ServiceTitan client
//! from its secrets, and sync it. One integration's failure never stops the others.

use chrono::{DateTime, Utc};
use opportunity::{Environment, Integration, IntegrationStatus, Model};
use secrecy::SecretString;
use secrets::{parse_integration_secret, SecretSource};
use servicetitan::client::{
    Client, ClientConfig, INTEGRATION_API, INTEGRATION_AUTH, PRODUCTION_API, PRODUCTION_AUTH,
};
use sha2::{Digest, Sha256};
use store::Store;
use tracing::{error, info};

use crate::error::Ctx;
use crate::{is_polled, sync_model, SyncError, SyncOptions, SyncReport};

/// Platform-wide settings of the ServiceTitan side, read once at cold start.
#[derive(Clone)]
pub struct Platform {
    /// The `ST-App-Key` (one platform secret, not per workspace; SPEC.md §1).
    pub app_key: SecretString,
    /// Replaces the environment's API host and token URL (a sandbox); `None` in production.
    pub endpoint_override: Option<(String, String)>,
    /// Request budget per tenant, requests per second (SPEC.md §3, default 20).
    pub requests_per_second: u32,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("app_key", &"***")
            .field("endpoint_override", &self.endpoint_override)
            .field("requests_per_second", &self.requests_per_second)
            .finish()
    }
}

/// Which part of the integrations one scheduled rule handles: `{"shard": i, "of": n}`
/// (SPEC.md §3 "Concurrency"). `of = 1` (the default) is everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// This rule's shard, `0..of`.
    #[serde(default)]
    pub shard: u32,
    /// Number of shards.
    #[serde(default = "one")]
    pub of: u32,
}

fn one() -> u32 {
    1
}

impl Default for Shard {
    fn default() -> Self {
        Shard { shard: 0, of: 1 }
    }
}

impl Shard {
    /// Check `of ≥ 1` and `shard < of`.
    ///
    /// Errors: a message naming the bad field.
    pub fn validate(&self) -> Result<(), String> {
        if self.of == 0 {
            return Err("`of` must be at least 1".into());
        }
        if self.shard >= self.of {
            return Err(format!(
                "`shard` must be below `of` ({} ≥ {})",
                self.shard, self.of
            ));
        }
        Ok(())
    }

    /// Whether a workspace belongs to this shard: a stable hash (first 8 bytes of SHA-256 of the
    /// workspace id) modulo `of`, so a workspace stays on one rule across deployments.
    pub fn contains(&self, workspace_id: &str) -> bool {
        let digest = Sha256::digest(workspace_id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.of.max(1)) == u64::from(self.shard)
    }
}

/// Build the ServiceTitan client of an integration: its environment's hosts (or the platform's
/// override), its client id, its client secret from `secrets`, the platform app key.
///
/// Errors: [`SyncError::Secret`] when the secret is missing or malformed, [`SyncError::Config`]
/// for unusable URLs.
pub async fn client_for(
    integration: &Integration,
    secrets: &impl SecretSource,
    platform: &Platform,
) -> Result<Client, SyncError> {
    client_with(integration, secrets, platform, None).await
}

/// [`client_for`] with the run's options: the first retry delay
/// (`SyncOptions::retry_min_backoff`) and the calls' deadline (`SyncOptions::request_deadline`).
async fn client_with(
    integration: &Integration,
    secrets: &impl SecretSource,
    platform: &Platform,
    opts: Option<&SyncOptions>,
) -> Result<Client, SyncError> {
    let ws = integration.workspace_id.as_str();
    let text = secrets.get(&integration.secret_id).await.ws(ws)?;
    let secret = parse_integration_secret(
        &integration.secret_id,
        secrecy::ExposeSecret::expose_secret(&text),
    )
    .ws(ws)?;
    let (api, auth) = match (&platform.endpoint_override, integration.environment) {
        (Some((api, auth)), _) => (api.clone(), auth.clone()),
        (None, Environment::Production) => (PRODUCTION_API.to_owned(), PRODUCTION_AUTH.to_owned()),
        (None, Environment::Integration) => {
            (INTEGRATION_API.to_owned(), INTEGRATION_AUTH.to_owned())
        }
    };
    let mut config = ClientConfig::new(
        &api,
        &auth,
        integration.tenant_id,
        integration.client_id.clone(),
        SecretString::from(secret.client_secret),
        platform.app_key.clone(),
    )
    .map_err(|e| SyncError::Config {
        workspace: ws.to_owned(),
        message: e.to_string(),
    })?;
    config.requests_per_second = platform.requests_per_second;
    if let Some(d) = opts.and_then(|o| o.retry_min_backoff) {
        config.min_backoff = d;
    }
    config.deadline = opts.and_then(|o| o.request_deadline);
    Client::new(config).map_err(|e| SyncError::Config {
        workspace: ws.to_owned(),
        message: e.to_string(),
    })
}

/// The outcome of one integration in a scheduled run.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationOutcome {
    /// Workspace.
    pub workspace_id: String,
    /// The report when the sync ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<SyncReport>,
    /// The error when it failed (no secret values, no personal data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the error may go away by itself.
    pub retryable: bool,
    /// True when another invocation held the integration's lease, so this run left it alone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    /// True when the integration's poll interval has not passed since its last scheduled sync
    /// ([`poll_slot`]), so this run left it alone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_due: bool,
}

impl IntegrationOutcome {
    /// An outcome of `workspace` with nothing set yet (no report, no error, not skipped).
    fn of(workspace: &str) -> IntegrationOutcome {
        IntegrationOutcome {
            workspace_id: workspace.to_owned(),
            report: None,
            error: None,
            retryable: false,
            skipped: false,
            not_due: false,
        }
    }

    /// The outcome of a sync of `workspace` that failed with `e`.
    fn failed(workspace: &str, e: &SyncError) -> IntegrationOutcome {
        IntegrationOutcome {
            retryable: e.is_retryable(),
            error: Some(e.to_string()),
            ..IntegrationOutcome::of(workspace)
        }
    }
}

/// A scheduled run's summary (the poll Lambdas' result).
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Integrations of this shard with the model enabled.
    pub integrations: usize,
    /// Those that synced without error.
    pub succeeded: usize,
    /// Those that failed.
    pub failed: usize,
    /// Those skipped because another invocation held their lease.
    pub skipped: usize,
    /// Those left alone because their poll interval has not passed yet.
    pub not_due: usize,
    /// One entry per integration.
    pub outcomes: Vec<IntegrationOutcome>,
}

/// What one scheduled run is: which model, which shard, who runs it and when.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The polled model (`job` or `membership`).
    pub model: Model,
    /// This rule's shard of the integrations.
    pub shard: Shard,
    /// The lease owner: the invocation's request id, or any id unique to this run.
    pub owner: &'a str,
    /// The run's clock reading (UTC): stamps writes and lease expiry.
    pub now: DateTime<Utc>,
}

/// How long a sync holds its integration's lease (SPEC.md §3 "Concurrency"): the longest a
/// Lambda invocation can run, so a crashed invocation blocks the next one at most this long.
pub const LEASE_DURATION: chrono::Duration = chrono::Duration::minutes(15);

/// How early a poll may come before its interval has fully passed: the schedule's own jitter
/// (EventBridge fires within a minute of its time) must not make a due poll wait a whole period.
pub const POLL_INTERVAL_TOLERANCE: chrono::Duration = chrono::Duration::minutes(1);

/// How long a scheduled sync of an integration keeps the next scheduled one away: its poll
/// interval (SPEC.md §2, 1 to 60 minutes) less [`POLL_INTERVAL_TOLERANCE`]; `None` when that is
/// no time at all (an interval of one minute: every schedule is due).
///
/// The slot is a lease named `poll:<model>:<interval minutes>` taken at the run's start and
/// kept; while it is unexpired, scheduled runs leave the integration alone
/// ([`IntegrationOutcome::not_due`]). It is given back when the sync did not catch up (the
/// deadline came first) or failed with an error that may go away, so the next schedule goes on
/// at once; a changed interval names a new slot, so it applies on the next schedule. The
/// schedule's rate is the floor: an interval below it polls at the schedule's rate.
/// Continuations ([`run_continuation`]) and manual runs are not gated.
pub fn poll_slot(integration: &Integration) -> Option<chrono::Duration> {
    let interval = chrono::Duration::minutes(i64::from(integration.poll_interval_minutes));
    let slot = interval - POLL_INTERVAL_TOLERANCE;
    (slot > chrono::Duration::zero()).then_some(slot)
}

/// Sync `run.model` for every active integration of `run.shard` that has the model enabled, one
/// after the other, each under its lease `sync:<model>` taken for `run.owner` (the invocation's request id,
/// or any id unique to this run). An integration whose lease another run holds is skipped and
/// counted. Per-integration failures are logged and reported, not returned.
///
/// Errors: [`SyncError::Store`] only when the integrations cannot be listed; [`SyncError::Config`]
/// for a model that is not polled (`inbound_call`).
pub async fn run_scheduled(
    store: &Store,
    secrets: &impl SecretSource,
    platform: &Platform,
    run: &Run<'_>,
    opts: &SyncOptions,
) -> Result<RunSummary, SyncError> {
    run_filtered(store, secrets, platform, run, opts, true, |ws| {
        run.shard.contains(ws)
    })
    .await
}

/// Continue one integration's unfinished sync (SPEC.md §3 "A backfill that needs many
/// invocations continues without waiting for the next schedule"): as [`run_scheduled`], for
/// `workspace` alone whatever its shard (`run.shard` is ignored). An integration that is not
/// active or no longer has the model enabled is not synced (0 integrations in the summary).
///
/// Errors: as [`run_scheduled`].
pub async fn run_continuation(
    store: &Store,
    secrets: &impl SecretSource,
    platform: &Platform,
    run: &Run<'_>,
    workspace: &str,
    opts: &SyncOptions,
) -> Result<RunSummary, SyncError> {
    run_filtered(store, secrets, platform, run, opts, false, |ws| {
        ws == workspace
    })
    .await
}

/// The integrations `wanted` keeps, each synced under its lease; with `scheduled`, only those
/// whose poll interval has passed ([`poll_slot`]).
async fn run_filtered(
    store: &Store,
    secrets: &impl SecretSource,
    platform: &Platform,
    run: &Run<'_>,
    opts: &SyncOptions,
    scheduled: bool,
    wanted: impl Fn(&str) -> bool,
) -> Result<RunSummary, SyncError> {
    let Run {
        model, owner, now, ..
    } = *run;
    if !is_polled(model) {
        return Err(SyncError::Config {
            workspace: "*".into(),
            message: format!("the {model} model is not polled (it arrives through the webhook)"),
        });
    }
    let integrations = store.list_integrations().await.ws("*")?;
    let mut summary = RunSummary::default();
    for integration in integrations.iter().filter(|i| {
        i.status == IntegrationStatus::Active
            && i.models.contains(&model)
            && wanted(&i.workspace_id)
    }) {
        summary.integrations += 1;
        let ws = integration.workspace_id.as_str();
        // The interval is part of the name: a changed interval starts a new slot at once.
        let slot_name = format!("poll:{model}:{}", integration.poll_interval_minutes);
        let slot = match poll_slot(integration).filter(|_| scheduled) {
            None => None,
            Some(duration) => match store
                .acquire_lease(ws, &slot_name, owner, now, duration)
                .await
            {
                Ok(Some(slot)) => Some(slot),
                Ok(None) => {
                    info!(
                        workspace = ws,
                        interval_minutes = integration.poll_interval_minutes,
                        "poll interval not passed since the last scheduled sync; not due"
                    );
                    summary.not_due += 1;
                    summary.outcomes.push(IntegrationOutcome {
                        not_due: true,
                        ..IntegrationOutcome::of(ws)
                    });
                    continue;
                }
                // Not knowing whether it is due, sync it: a poll too many is harmless.
                Err(e) => {
                    error!(workspace = ws, error = %e, "reading the poll interval slot failed; syncing");
                    None
                }
            },
        };
        let lease = match store
            .acquire_lease(ws, &format!("sync:{model}"), owner, now, LEASE_DURATION)
            .await
        {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                info!(
                    workspace = ws,
                    "another invocation is syncing this integration; skipped"
                );
                release_slot(store, slot.as_ref()).await;
                summary.skipped += 1;
                summary.outcomes.push(IntegrationOutcome {
                    skipped: true,
                    ..IntegrationOutcome::of(ws)
                });
                continue;
            }
            Err(e) => {
                // One integration's store trouble never stops the others.
                let e = SyncError::Store {
                    workspace: ws.to_owned(),
                    source: e,
                };
                error!(workspace = ws, error = %e, "taking the sync lease failed");
                release_slot(store, slot.as_ref()).await;
                summary.failed += 1;
                summary.outcomes.push(IntegrationOutcome::failed(ws, &e));
                continue;
            }
        };
        let result = async {
            let client = client_with(integration, secrets, platform, Some(opts)).await?;
            sync_model(model, &client, store, integration, now, opts).await
        }
        .await;
        if let Err(e) = store.release_lease(&lease).await {
            // It expires by itself; the next run may start a little later.
            error!(workspace = ws, error = %e, "releasing the sync lease failed");
        }
        match result {
            Ok(report) => {
                // Not caught up (the deadline came first, maybe before its first page): the
                // next schedule continues it without waiting for the interval.
                if !report.caught_up {
                    release_slot(store, slot.as_ref()).await;
                }
                summary.succeeded += 1;
                summary.outcomes.push(IntegrationOutcome {
                    report: Some(report),
                    ..IntegrationOutcome::of(ws)
                });
            }
            Err(e) => {
                error!(workspace = %integration.workspace_id, error = %e, "integration sync failed");
                // A failure that may go away: the next schedule retries it without waiting
                // for the interval (a permanent one waits, rather than failing every minute).
                if e.is_retryable() {
                    release_slot(store, slot.as_ref()).await;
                }
                summary.failed += 1;
                summary.outcomes.push(IntegrationOutcome::failed(ws, &e));
            }
        }
    }
    info!(
        integrations = summary.integrations,
        failed = summary.failed,
        "scheduled run finished"
    );
    Ok(summary)
}

/// Give back a poll slot taken by this run (the sync did not happen or failed).
async fn release_slot(store: &Store, slot: Option<&store::Lease>) {
    if let Some(slot) = slot {
        if let Err(e) = store.release_lease(slot).await {
            // It expires by itself: the next poll waits at most the interval.
            error!(workspace = %slot.workspace, error = %e, "releasing the poll slot failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_slot_is_the_interval_less_the_jitter_allowance() {
        let mut i: Integration = serde_json::from_value(serde_json::json!({
            "workspaceId": "acme", "environment": "integration", "tenantId": 1,
            "clientId": "cid", "secretId": "s", "models": ["job"], "status": "active",
            "activatedAt": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(i.poll_interval_minutes, 15, "the SPEC default");
        assert_eq!(poll_slot(&i), Some(chrono::Duration::minutes(14)));
        i.poll_interval_minutes = 60;
        assert_eq!(poll_slot(&i), Some(chrono::Duration::minutes(59)));
        i.poll_interval_minutes = 1;
        assert_eq!(poll_slot(&i), None, "every schedule is due");
    }

    #[test]
    fn shards_partition_workspaces() {
        let shards: Vec<Shard> = (0..4).map(|i| Shard { shard: i, of: 4 }).collect();
        for n in 0..200 {
            let ws = format!("ws-{n}");
            let owners = shards.iter().filter(|s| s.contains(&ws)).count();
            assert_eq!(owners, 1, "{ws} must belong to exactly one shard");
        }
        assert!(Shard::default().contains("anything"));
    }

    #[test]
    fn shard_validation_names_the_field() {
        assert!(Shard { shard: 0, of: 0 }
            .validate()
            .unwrap_err()
            .contains("`of`"));
        assert!(Shard { shard: 3, of: 2 }
            .validate()
            .unwrap_err()
            .contains("`shard`"));
        assert!(Shard { shard: 1, of: 2 }.validate().is_ok());
    }

    #[test]
    fn shard_input_defaults() {
        let s: Shard = serde_json::from_str("{}").unwrap();
        assert_eq!(s, Shard::default());
        let s: Shard = serde_json::from_str(r#"{"shard":2,"of":3}"#).unwrap();
        assert_eq!(s, Shard { shard: 2, of: 3 });
    }
}
