//! Activation, settings changes and disconnection of an integration (SPEC.md §2, §3; the
//! article's "Setup Steps" and "How to upgrade the ServiceTitan app").
//!
//! [`activate`]: validate the settings (every problem at once) → fetch a token with the given
//! credentials from the chosen environment → compare the token's granted scopes with the scopes
//! the settings need ([`opportunity::scopes`]) → check that the tenant is connected to the app
//! (the token's `tenant` claim, then one small read on the tenant) → write the secret (Secrets
//! Manager, one secret per integration) → store the integration `Active` with `activated_at =
//! now`. The sync engine starts the 90-day backfill on its next run (the window is the 90 days
//! before `activated_at`).
//!
//! How each failure is told apart (docs/connect.md):
//! - the token endpoint answers `invalid_client`: the other environment's token endpoint is asked
//!   with the same credentials (client ids and secrets are per environment, API-NOTES §1); if it
//!   accepts them → [`ActivateError::WrongEnvironment`], else →
//!   [`ActivateError::WrongCredentials`];
//! - the token's `tenant` claim is another tenant, or the tenant read answers 403/404 →
//!   [`ActivateError::TenantNotConnected`];
//! - granted scopes lack needed ones → [`ActivateError::MissingScopes`], each scope named with
//!   the settings that need it, and the fix.
//!
//! Secrets never appear in errors or logs: errors name the secret id, the client id and the
//! tenant only.

use chrono::{DateTime, Utc};
use opportunity::scopes::{known, missing_scopes};
use opportunity::{Environment, Integration, IntegrationStatus, Model, SettingProblem};
use secrecy::SecretString;
use secrets::{integration_secret_id, IntegrationSecret, SecretError, SecretSink};
use servicetitan::client::{
    endpoints, ApiError, Client, ClientConfig, GrantedScopes, INTEGRATION_API, INTEGRATION_AUTH,
    PRODUCTION_API, PRODUCTION_AUTH,
};
use store::{Store, StoreError};
use tracing::{info, instrument};

/// Where one ServiceTitan environment is: API root and token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentHosts {
    /// API root, e.g. [`PRODUCTION_API`] or a sandbox's `http://127.0.0.1:PORT`.
    pub api: String,
    /// Token endpoint, e.g. [`PRODUCTION_AUTH`].
    pub token_url: String,
}

/// Where both ServiceTitan environments are (API-NOTES §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    /// `production`.
    pub production: EnvironmentHosts,
    /// `integration`.
    pub integration: EnvironmentHosts,
}

impl Hosts {
    /// The real hosts: `api.servicetitan.io` / `auth.servicetitan.io` and their `-integration`
    /// twins.
    pub fn servicetitan() -> Hosts {
        Hosts {
            production: EnvironmentHosts {
                api: PRODUCTION_API.into(),
                token_url: PRODUCTION_AUTH.into(),
            },
            integration: EnvironmentHosts {
                api: INTEGRATION_API.into(),
                token_url: INTEGRATION_AUTH.into(),
            },
        }
    }

    /// Both environments at one place (a sandbox): a wrong environment then looks like wrong
    /// credentials, since there is no other environment to ask.
    pub fn both_at(api: impl Into<String>, token_url: impl Into<String>) -> Hosts {
        let one = EnvironmentHosts {
            api: api.into(),
            token_url: token_url.into(),
        };
        Hosts {
            production: one.clone(),
            integration: one,
        }
    }

    /// The hosts of `environment`.
    pub fn of(&self, environment: Environment) -> &EnvironmentHosts {
        match environment {
            Environment::Production => &self.production,
            Environment::Integration => &self.integration,
        }
    }
}

/// The platform side of an activation: the `ST-App-Key` (one platform secret) and the hosts.
#[derive(Clone)]
pub struct ActivationPlatform {
    /// The platform's `ST-App-Key` (never printed).
    pub app_key: SecretString,
    /// Where the environments are.
    pub hosts: Hosts,
}

impl std::fmt::Debug for ActivationPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivationPlatform")
            .field("app_key", &"***")
            .field("hosts", &self.hosts)
            .finish()
    }
}

/// The secret values an activation stores: the client secret (from the app's Application
/// Details screen) and, when webhooks are used, the HMAC signing key (32–64 characters).
#[derive(Clone)]
pub struct Credentials {
    /// OAuth client secret.
    pub client_secret: SecretString,
    /// Webhook HMAC key, when the inbound call webhook is used.
    pub webhook_signing_key: Option<SecretString>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// A successful activation.
#[derive(Debug, Clone)]
pub struct Activated {
    /// The integration as stored (`Active`, `activated_at` = the activation time).
    pub integration: Integration,
    /// Scopes the token granted.
    pub granted: Vec<String>,
    /// Settings advice that did not stop the activation (e.g. both polled models on).
    pub warnings: Vec<SettingProblem>,
}

/// The fix for missing scopes (SPEC.md §2; the article's "How to upgrade the ServiceTitan app").
pub const UPGRADE_FIX: &str = "upgrade the connected app version in ServiceTitan: Settings → Integrations → API Application Access, open the app, click \"upgrade version\" and confirm; then connect again (or turn off the settings named above)";

/// Where ServiceTitan shows the Tenant ID, Client ID and Client Secret.
const APP_ACCESS: &str = "Settings → Integrations → API Application Access";

/// Why an activation, a settings change or a disconnection failed. Messages say what to do;
/// none carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    /// The settings are invalid; every problem, each naming its setting.
    #[error("the settings have {} problem(s):\n{}", .problems.len(), lines(.problems))]
    InvalidSettings {
        /// The problems.
        problems: Vec<SettingProblem>,
    },
    /// The token endpoint refused the client id and secret, and the other environment refuses
    /// them too.
    #[error("ServiceTitan ({environment} environment) refused client id `{client_id}` with this client secret ({detail}). Fix: in ServiceTitan open {APP_ACCESS}, open the app's Application Details, copy the Client ID again, click Generate next to Client Secret, and connect with the new secret")]
    WrongCredentials {
        /// The environment asked.
        environment: &'static str,
        /// The client id (not secret).
        client_id: String,
        /// The token endpoint's answer (`invalid_client`).
        detail: String,
    },
    /// The credentials are refused by the chosen environment but accepted by the other one.
    #[error("client id `{client_id}` and its secret belong to ServiceTitan's {works_in} environment, not {configured} (credentials are per environment). Fix: connect with environment {works_in} (`--environment {works_in}`), or use credentials generated in the {configured} environment")]
    WrongEnvironment {
        /// The environment in the settings.
        configured: &'static str,
        /// The environment that accepts the credentials.
        works_in: &'static str,
        /// The client id (not secret).
        client_id: String,
    },
    /// The tenant is not connected to the app with these credentials.
    #[error("tenant {tenant} is not connected to the app with client id `{client_id}`{}. Fix: copy the Tenant ID shown on the app's Application Details screen ({APP_ACCESS}); if the app is not listed there, send your Tenant ID to your onboarding representative so the app is made available to your tenant, then click Connect New App, select the app and Allow Access", issued_for(*.credentials_tenant, .detail))]
    TenantNotConnected {
        /// The tenant in the settings.
        tenant: i64,
        /// The tenant the token was issued for (JWT claim), when known.
        credentials_tenant: Option<i64>,
        /// The client id (not secret).
        client_id: String,
        /// ServiceTitan's answer to the tenant read, when that told.
        detail: Option<String>,
    },
    /// The token lacks scopes the settings need.
    #[error("the connected app version does not grant {} scope(s) these settings need:\n{}\nFix: {UPGRADE_FIX}", .missing.len(), scope_lines(.missing))]
    MissingScopes {
        /// Each missing scope with the settings that need it.
        missing: Vec<(String, Vec<String>)>,
    },
    /// The platform's `ST-App-Key` was refused (a platform problem, not the user's).
    #[error("ServiceTitan refused the platform's ST-App-Key ({detail}). Fix: check the app key secret (`servicetitan-sync/app-key` by default) holds the key of the app the tenant connected")]
    AppKeyRejected {
        /// ServiceTitan's answer.
        detail: String,
    },
    /// ServiceTitan could not be reached or failed (token endpoint or API, after retries).
    #[error("ServiceTitan could not be reached or failed ({environment} environment); try again later: {source}")]
    Unavailable {
        /// The environment asked.
        environment: &'static str,
        /// The client error.
        #[source]
        source: ApiError,
    },
    /// No integration is stored for the workspace (settings change, disconnect).
    #[error("workspace `{workspace}` has no integration: connect it first (`stsync connect`)")]
    NotConnected {
        /// Workspace.
        workspace: String,
    },
    /// The secret could not be written.
    #[error("{0}")]
    Secret(#[from] SecretError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl ActivateError {
    /// True when trying again later without changing anything may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ActivateError::Unavailable { .. } => true,
            ActivateError::Store(e) => e.is_retryable(),
            _ => false,
        }
    }
}

fn lines(problems: &[SettingProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn scope_lines(missing: &[(String, Vec<String>)]) -> String {
    missing
        .iter()
        .map(|(scope, why)| {
            let label = known(scope)
                .map(|k| format!(" ({}: {}, {})", k.module, k.resource, k.access()))
                .unwrap_or_default();
            format!("  - {scope}{label}, needed by {}", why.join("; "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn issued_for(credentials_tenant: Option<i64>, detail: &Option<String>) -> String {
    match (credentials_tenant, detail) {
        (Some(t), _) => format!(" (these credentials were issued for tenant {t})"),
        (None, Some(d)) => format!(" (ServiceTitan answered: {d})"),
        (None, None) => String::new(),
    }
}

fn env_name(e: Environment) -> &'static str {
    match e {
        Environment::Production => "production",
        Environment::Integration => "integration",
    }
}

fn other(e: Environment) -> Environment {
    match e {
        Environment::Production => Environment::Integration,
        Environment::Integration => Environment::Production,
    }
}

fn client(
    hosts: &EnvironmentHosts,
    integration: &Integration,
    credentials: &Credentials,
    app_key: &SecretString,
) -> Result<Client, ApiError> {
    let mut config = ClientConfig::new(
        &hosts.api,
        &hosts.token_url,
        integration.tenant_id,
        integration.client_id.clone(),
        credentials.client_secret.clone(),
        app_key.clone(),
    )?;
    config.max_retries = 2;
    Client::new(config)
}

/// Whether a token error means "these credentials are not valid here" (OAuth2 `invalid_client`
/// or `unauthorized_client`, or a plain 401), as opposed to an outage.
fn refused(e: &ApiError) -> Option<String> {
    match e {
        ApiError::Token { status, message }
            if *status == 401
                || (*status == 400
                    && (message.starts_with("invalid_client")
                        || message.starts_with("unauthorized_client"))) =>
        {
            Some(message.clone())
        }
        _ => None,
    }
}

/// Fetch a token from the configured environment; on refusal, ask the other environment to tell
/// wrong credentials from a wrong environment.
async fn token_facts(
    integration: &Integration,
    credentials: &Credentials,
    platform: &ActivationPlatform,
) -> Result<(Client, GrantedScopes), ActivateError> {
    let env = integration.environment;
    let unavailable = |source| ActivateError::Unavailable {
        environment: env_name(env),
        source,
    };
    let hosts = platform.hosts.of(env);
    let c = client(hosts, integration, credentials, &platform.app_key).map_err(unavailable)?;
    match c.granted_scopes().await {
        Ok(granted) => Ok((c, granted)),
        Err(e) => {
            let Some(detail) = refused(&e) else {
                return Err(unavailable(e));
            };
            let other_hosts = platform.hosts.of(other(env));
            if other_hosts != hosts {
                let accepted =
                    match client(other_hosts, integration, credentials, &platform.app_key) {
                        Ok(o) => o.granted_scopes().await.is_ok(),
                        Err(_) => false,
                    };
                if accepted {
                    return Err(ActivateError::WrongEnvironment {
                        configured: env_name(env),
                        works_in: env_name(other(env)),
                        client_id: integration.client_id.clone(),
                    });
                }
            }
            Err(ActivateError::WrongCredentials {
                environment: env_name(env),
                client_id: integration.client_id.clone(),
                detail,
            })
        }
    }
}

/// Check credentials, scopes and tenant for `settings`, then store the secret and the
/// integration (module docs). `settings.status` and `settings.activated_at` are replaced
/// (`Active`, `now`); an empty `settings.secret_id` becomes
/// [`secrets::integration_secret_id`] of the workspace.
///
/// Errors: [`ActivateError::InvalidSettings`] (nothing contacted), then in this order
/// [`ActivateError::WrongEnvironment`] / [`ActivateError::WrongCredentials`],
/// [`ActivateError::TenantNotConnected`], [`ActivateError::MissingScopes`],
/// [`ActivateError::AppKeyRejected`], [`ActivateError::Unavailable`]; nothing is written on any
/// of these. [`ActivateError::Secret`] / [`ActivateError::Store`] when writing fails.
#[instrument(skip_all, fields(workspace = %settings.workspace_id, tenant = settings.tenant_id, environment = env_name(settings.environment)))]
pub async fn activate(
    store: &Store,
    secrets: &impl SecretSink,
    platform: &ActivationPlatform,
    mut settings: Integration,
    credentials: &Credentials,
    now: DateTime<Utc>,
) -> Result<Activated, ActivateError> {
    if settings.secret_id.trim().is_empty() {
        settings.secret_id = integration_secret_id(&settings.workspace_id);
    }
    let problems = settings.validate();
    if !problems.is_empty() {
        return Err(ActivateError::InvalidSettings { problems });
    }
    let (client, granted) = token_facts(&settings, credentials, platform).await?;
    if let Some(t) = granted.tenant.filter(|t| *t != settings.tenant_id) {
        info!(credentials_tenant = t, "activation: tenant mismatch");
        return Err(ActivateError::TenantNotConnected {
            tenant: settings.tenant_id,
            credentials_tenant: Some(t),
            client_id: settings.client_id.clone(),
            detail: None,
        });
    }
    let needed = settings.needed_scopes();
    let missing = missing_scopes(&needed, &granted.scopes);
    if !missing.is_empty() {
        info!(missing = missing.len(), "activation: scopes missing");
        return Err(ActivateError::MissingScopes {
            missing: missing
                .into_iter()
                .map(|(s, why)| (s.to_owned(), why))
                .collect(),
        });
    }
    // One small read on the tenant (customers: every model needs `tn.crm.customers:r`): a tenant
    // the app is not connected to answers 403/404; a refused app key 401.
    let probe = client
        .get::<serde_json::Value>(endpoints::CUSTOMERS, &[("pageSize", "1".to_owned())])
        .await;
    if let Err(e) = probe {
        return Err(match &e {
            ApiError::Status {
                status: 403 | 404, ..
            } => ActivateError::TenantNotConnected {
                tenant: settings.tenant_id,
                credentials_tenant: granted.tenant,
                client_id: settings.client_id.clone(),
                detail: Some(e.to_string()),
            },
            ApiError::Status { status: 401, .. } => ActivateError::AppKeyRejected {
                detail: e.to_string(),
            },
            _ => ActivateError::Unavailable {
                environment: env_name(settings.environment),
                source: e,
            },
        });
    }
    let secret = IntegrationSecret {
        client_secret: secrecy::ExposeSecret::expose_secret(&credentials.client_secret).to_owned(),
        webhook_signing_key: credentials
            .webhook_signing_key
            .as_ref()
            .map(|k| secrecy::ExposeSecret::expose_secret(k).to_owned()),
    };
    secrets
        .put(&settings.secret_id, &secret.to_secret_json())
        .await?;
    settings.status = IntegrationStatus::Active;
    settings.activated_at = now;
    store.put_integration(&settings).await?;
    info!(
        scopes = granted.scopes.len(),
        "integration activated; the next scheduled run starts the 90-day backfill"
    );
    let mut warnings = settings.warnings();
    if settings.models.contains(&Model::InboundCall) && credentials.webhook_signing_key.is_none() {
        warnings.push(SettingProblem {
            setting: "webhookSigningKey".into(),
            message: "the inbound_call model is on but no webhook signing key was given: the call webhook answers 401 to every call of this workspace until one is stored (connect again with --webhook-signing-key or ST_WEBHOOK_SIGNING_KEY)".into(),
        });
    }
    Ok(Activated {
        warnings,
        integration: settings,
        granted: granted.scopes,
    })
}

/// Apply `key=value` assignments ([`opportunity::settings_edit`]) to the stored integration of
/// `workspace` and store it; the engine reads settings on each run, so the change takes effect
/// on the next run. Nothing is written when any assignment or the result is invalid.
///
/// Errors: [`ActivateError::NotConnected`], [`ActivateError::InvalidSettings`] with every
/// problem, [`ActivateError::Store`].
#[instrument(skip_all, fields(workspace = %workspace))]
pub async fn configure(
    store: &Store,
    workspace: &str,
    assignments: &[String],
) -> Result<Integration, ActivateError> {
    let current =
        store
            .get_integration(workspace)
            .await?
            .ok_or_else(|| ActivateError::NotConnected {
                workspace: workspace.to_owned(),
            })?;
    let edited = opportunity::settings_edit::apply_all(&current, assignments)
        .map_err(|problems| ActivateError::InvalidSettings { problems })?;
    if edited != current {
        store.put_integration(&edited).await?;
        info!("integration settings changed");
    }
    Ok(edited)
}

/// Mark the integration of `workspace` disconnected: scheduled runs skip it (no polling, no
/// pushes), its opportunities, contacts, progress and secret stay. `stsync connect` activates it
/// again.
///
/// Errors: [`ActivateError::NotConnected`], [`ActivateError::Store`].
#[instrument(skip_all, fields(workspace = %workspace))]
pub async fn disconnect(store: &Store, workspace: &str) -> Result<Integration, ActivateError> {
    let mut i =
        store
            .get_integration(workspace)
            .await?
            .ok_or_else(|| ActivateError::NotConnected {
                workspace: workspace.to_owned(),
            })?;
    if i.status != IntegrationStatus::Disconnected {
        i.status = IntegrationStatus::Disconnected;
        store.put_integration(&i).await?;
        info!("integration disconnected");
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_each_scope_and_the_fix() {
        let e = ActivateError::MissingScopes {
            missing: vec![
                (
                    "tn.sls.estimates:r".into(),
                    vec!["resources.job: estimates".into()],
                ),
                (
                    "tn.jpm.jobs:w".into(),
                    vec!["push.incoming.destination: job".into()],
                ),
            ],
        };
        let text = e.to_string();
        assert!(text.contains("2 scope(s)"), "{text}");
        assert!(text.contains(
            "tn.sls.estimates:r (Sales & Estimates: Estimates, Read), needed by resources.job: estimates"
        ));
        assert!(text.contains("tn.jpm.jobs:w (Job Planning and Management: Jobs, Write)"));
        assert!(text.contains("Settings → Integrations → API Application Access"));
        assert!(text.contains("upgrade version"));
        let e = ActivateError::TenantNotConnected {
            tenant: 5,
            credentials_tenant: Some(7),
            client_id: "cid.x".into(),
            detail: None,
        };
        assert!(e.to_string().contains("issued for tenant 7"), "{e}");
    }

    #[test]
    fn only_refusals_count_as_wrong_credentials() {
        let refusal = ApiError::Token {
            status: 400,
            message: "invalid_client".into(),
        };
        assert!(refused(&refusal).is_some());
        let outage = ApiError::Token {
            status: 503,
            message: "HTTP 503".into(),
        };
        assert!(refused(&outage).is_none());
    }
}
