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

/// [`client_for`] with the first retry delay replaced (`SyncOptions::retry_min_backoff`).
async fn client_with(
    integration: &Integration,
    secrets: &impl SecretSource,
    platform: &Platform,
    min_backoff: Option<std::time::Duration>,
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
    if let Some(d) = min_backoff {
        config.min_backoff = d;
    }
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
    run_filtered(store, secrets, platform, run, opts, |ws| {
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
    run_filtered(store, secrets, platform, run, opts, |ws| ws == workspace).await
}

async fn run_filtered(
    store: &Store,
    secrets: &impl SecretSource,
    platform: &Platform,
    run: &Run<'_>,
    opts: &SyncOptions,
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
                summary.skipped += 1;
                summary.outcomes.push(IntegrationOutcome {
                    workspace_id: ws.to_owned(),
                    report: None,
                    error: None,
                    retryable: false,
                    skipped: true,
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
                summary.failed += 1;
                summary.outcomes.push(IntegrationOutcome {
                    workspace_id: ws.to_owned(),
                    report: None,
                    retryable: e.is_retryable(),
                    error: Some(e.to_string()),
                    skipped: false,
                });
                continue;
            }
        };
        let result = async {
            let client =
                client_with(integration, secrets, platform, opts.retry_min_backoff).await?;
            sync_model(model, &client, store, integration, now, opts).await
        }
        .await;
        if let Err(e) = store.release_lease(&lease).await {
            // It expires by itself; the next run may start a little later.
            error!(workspace = ws, error = %e, "releasing the sync lease failed");
        }
        match result {
            Ok(report) => {
                summary.succeeded += 1;
                summary.outcomes.push(IntegrationOutcome {
                    workspace_id: integration.workspace_id.clone(),
                    report: Some(report),
                    error: None,
                    retryable: false,
                    skipped: false,
                });
            }
            Err(e) => {
                error!(workspace = %integration.workspace_id, error = %e, "integration sync failed");
                summary.failed += 1;
                summary.outcomes.push(IntegrationOutcome {
                    workspace_id: integration.workspace_id.clone(),
                    report: None,
                    retryable: e.is_retryable(),
                    error: Some(e.to_string()),
                    skipped: false,
                });
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

#[cfg(test)]
mod tests {
    use super::*;

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
