//! The ServiceTitan HTTP client (API-NOTES §2–§6, SPEC.md §3 "HTTP").
//!
//! One [`Client`] per integration and invocation. It fetches OAuth2 client-credentials tokens and
//! caches them until 60 s before expiry, sends `Authorization: Bearer …` and `ST-App-Key` on every
//! call, keeps the app under a per-tenant request budget (a token bucket shared by every request
//! of the client), and retries what is worth retrying: 429 after `Retry-After` (seconds or HTTP
//! date), 5xx and transport errors with capped exponential backoff and jitter, and 401 once with
//! a new token. Error bodies (RFC 7807 `ApiErrorResponse`) become [`ApiError::Status`].

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use url::Url;

use crate::wire::{ApiErrorResponse, ExportPage, Id, Page, TokenResponse};

/// Production API host (API-NOTES §1).
pub const PRODUCTION_API: &str = "https://api.servicetitan.io";
/// Production token endpoint (API-NOTES §1).
pub const PRODUCTION_AUTH: &str = "https://auth.servicetitan.io/connect/token";
/// Integration-environment API host (API-NOTES §1).
pub const INTEGRATION_API: &str = "https://api-integration.servicetitan.io";
/// Integration-environment token endpoint (API-NOTES §1).
pub const INTEGRATION_AUTH: &str = "https://auth-integration.servicetitan.io/connect/token";

/// Most ids one `ids=` lookup may carry (API-NOTES §5.3).
pub const MAX_IDS_PER_CALL: usize = 50;
/// A token is renewed this long before it expires (SPEC.md §3).
pub const TOKEN_EARLY_REFRESH: Duration = Duration::from_secs(60);
/// The longest token lifetime the client believes (`expires_in` beyond it is clamped):
/// ServiceTitan issues 900-second tokens, so anything near a day is a broken token endpoint.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// Default request budget per tenant, requests per second (SPEC.md §3; ServiceTitan allows 60).
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 20;

/// One API endpoint: `{api}/{module}/v2/tenant/{tenant}/{path}` (API-NOTES §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Module, e.g. `jpm`, `crm`, `settings`.
    pub module: &'static str,
    /// Path after the tenant, e.g. `export/jobs`.
    pub path: &'static str,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "/{}/v2/tenant/{{tenant}}/{}", self.module, self.path)
    }
}

/// The endpoints this project reads (API-NOTES §7).
pub mod endpoints {
    use super::Endpoint;

    /// `GET /jpm/v2/tenant/{tenant}/jobs`.
    pub const JOBS: Endpoint = Endpoint {
        module: "jpm",
        path: "jobs",
    };
    /// `GET /jpm/v2/tenant/{tenant}/export/jobs`.
    pub const EXPORT_JOBS: Endpoint = Endpoint {
        module: "jpm",
        path: "export/jobs",
    };
    /// `GET /jpm/v2/tenant/{tenant}/job-types`.
    pub const JOB_TYPES: Endpoint = Endpoint {
        module: "jpm",
        path: "job-types",
    };
    /// `GET /crm/v2/tenant/{tenant}/customers`.
    pub const CUSTOMERS: Endpoint = Endpoint {
        module: "crm",
        path: "customers",
    };
    /// `GET /crm/v2/tenant/{tenant}/export/customers`.
    pub const EXPORT_CUSTOMERS: Endpoint = Endpoint {
        module: "crm",
        path: "export/customers",
    };
    /// `GET /crm/v2/tenant/{tenant}/customers/contacts` (needs `customerIds` or a date filter).
    pub const CUSTOMER_CONTACTS: Endpoint = Endpoint {
        module: "crm",
        path: "customers/contacts",
    };
    /// `GET /crm/v2/tenant/{tenant}/export/customers/contacts`.
    pub const EXPORT_CUSTOMER_CONTACTS: Endpoint = Endpoint {
        module: "crm",
        path: "export/customers/contacts",
    };
    /// `GET /crm/v2/tenant/{tenant}/locations`.
    pub const LOCATIONS: Endpoint = Endpoint {
        module: "crm",
        path: "locations",
    };
    /// `GET /crm/v2/tenant/{tenant}/export/locations`.
    pub const EXPORT_LOCATIONS: Endpoint = Endpoint {
        module: "crm",
        path: "export/locations",
    };
    /// `GET /settings/v2/tenant/{tenant}/business-units`.
    pub const BUSINESS_UNITS: Endpoint = Endpoint {
        module: "settings",
        path: "business-units",
    };
    /// `GET /jpm/v2/tenant/{tenant}/appointments` (`ids`, `jobId`).
    pub const APPOINTMENTS: Endpoint = Endpoint {
        module: "jpm",
        path: "appointments",
    };
    /// `GET /jpm/v2/tenant/{tenant}/export/appointments`.
    pub const EXPORT_APPOINTMENTS: Endpoint = Endpoint {
        module: "jpm",
        path: "export/appointments",
    };
    /// `GET /jpm/v2/tenant/{tenant}/export/job-canceled-logs` (no list with `ids`).
    pub const EXPORT_JOB_CANCELED_LOGS: Endpoint = Endpoint {
        module: "jpm",
        path: "export/job-canceled-logs",
    };
    /// `GET /jpm/v2/tenant/{tenant}/job-cancel-reasons`.
    pub const JOB_CANCEL_REASONS: Endpoint = Endpoint {
        module: "jpm",
        path: "job-cancel-reasons",
    };
    /// `GET /dispatch/v2/tenant/{tenant}/appointment-assignments` (`ids`, `appointmentIds`, `jobId`).
    pub const APPOINTMENT_ASSIGNMENTS: Endpoint = Endpoint {
        module: "dispatch",
        path: "appointment-assignments",
    };
    /// `GET /dispatch/v2/tenant/{tenant}/export/appointment-assignments`.
    pub const EXPORT_APPOINTMENT_ASSIGNMENTS: Endpoint = Endpoint {
        module: "dispatch",
        path: "export/appointment-assignments",
    };
    /// `GET /dispatch/v2/tenant/{tenant}/zones` (no export feed).
    pub const ZONES: Endpoint = Endpoint {
        module: "dispatch",
        path: "zones",
    };
    /// `GET /sales/v2/tenant/{tenant}/estimates` (`ids`, `jobId`).
    pub const ESTIMATES: Endpoint = Endpoint {
        module: "sales",
        path: "estimates",
    };
    /// `GET /sales/v2/tenant/{tenant}/estimates/export` (note: not `export/estimates`).
    pub const EXPORT_ESTIMATES: Endpoint = Endpoint {
        module: "sales",
        path: "estimates/export",
    };
    /// `GET /accounting/v2/tenant/{tenant}/invoices` (`ids`, `jobId`; no GET by id).
    pub const INVOICES: Endpoint = Endpoint {
        module: "accounting",
        path: "invoices",
    };
    /// `GET /accounting/v2/tenant/{tenant}/export/invoices`.
    pub const EXPORT_INVOICES: Endpoint = Endpoint {
        module: "accounting",
        path: "export/invoices",
    };
    /// `GET /settings/v2/tenant/{tenant}/tag-types`.
    pub const TAG_TYPES: Endpoint = Endpoint {
        module: "settings",
        path: "tag-types",
    };
    /// `GET /settings/v2/tenant/{tenant}/employees`.
    pub const EMPLOYEES: Endpoint = Endpoint {
        module: "settings",
        path: "employees",
    };
    /// `GET /settings/v2/tenant/{tenant}/technicians`.
    pub const TECHNICIANS: Endpoint = Endpoint {
        module: "settings",
        path: "technicians",
    };
    /// `GET /marketing/v2/tenant/{tenant}/campaigns` (no export feed).
    pub const CAMPAIGNS: Endpoint = Endpoint {
        module: "marketing",
        path: "campaigns",
    };
    /// `GET /memberships/v2/tenant/{tenant}/memberships` (`ids`, `customerIds`).
    pub const MEMBERSHIPS: Endpoint = Endpoint {
        module: "memberships",
        path: "memberships",
    };
    /// `GET /memberships/v2/tenant/{tenant}/export/memberships`.
    pub const EXPORT_MEMBERSHIPS: Endpoint = Endpoint {
        module: "memberships",
        path: "export/memberships",
    };
    /// `GET /memberships/v2/tenant/{tenant}/membership-types`.
    pub const MEMBERSHIP_TYPES: Endpoint = Endpoint {
        module: "memberships",
        path: "membership-types",
    };
    /// `GET /memberships/v2/tenant/{tenant}/recurring-services` (`ids`, `membershipIds`, `locationIds`).
    pub const RECURRING_SERVICES: Endpoint = Endpoint {
        module: "memberships",
        path: "recurring-services",
    };
    /// `GET /memberships/v2/tenant/{tenant}/export/recurring-services`.
    pub const EXPORT_RECURRING_SERVICES: Endpoint = Endpoint {
        module: "memberships",
        path: "export/recurring-services",
    };
    /// `GET /memberships/v2/tenant/{tenant}/recurring-service-events` (`ids`, `locationId`, `jobId`).
    pub const RECURRING_SERVICE_EVENTS: Endpoint = Endpoint {
        module: "memberships",
        path: "recurring-service-events",
    };
    /// `GET /memberships/v2/tenant/{tenant}/export/recurring-service-events`.
    pub const EXPORT_RECURRING_SERVICE_EVENTS: Endpoint = Endpoint {
        module: "memberships",
        path: "export/recurring-service-events",
    };
}

/// Where and as whom the client talks.
#[derive(Clone)]
pub struct ClientConfig {
    /// API root, e.g. [`PRODUCTION_API`] or a sandbox `http://127.0.0.1:PORT`.
    pub api_base: Url,
    /// Token endpoint, e.g. [`PRODUCTION_AUTH`].
    pub token_url: Url,
    /// ServiceTitan tenant id.
    pub tenant_id: i64,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret (never printed).
    pub client_secret: SecretString,
    /// The platform's `ST-App-Key` (never printed).
    pub app_key: SecretString,
    /// Request budget, requests per second, shared by all requests of this client.
    pub requests_per_second: u32,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first try for 429, 5xx and transport errors.
    pub max_retries: usize,
    /// First backoff delay; doubles per retry, capped at 20 s, with jitter.
    pub min_backoff: Duration,
    /// Longest `Retry-After` waited out (default 20 s); a 429 asking for more fails at once
    /// with a retryable error, so no run sleeps past its deadline.
    pub max_retry_after: Duration,
    /// When every call must have ended (e.g. a Lambda's deadline less the time its handler
    /// needs afterwards); `None` (the default): only `timeout` and `max_retries` bound a call.
    /// A try's timeout (token requests included) is cut to the time left (at least
    /// [`MIN_TRY_TIMEOUT`]), and a retry whose wait would end at or after it is not made: the
    /// last error (retryable) is returned.
    pub deadline: Option<Instant>,
}

/// The shortest timeout a try gets when [`ClientConfig::deadline`] is near or past.
pub const MIN_TRY_TIMEOUT: Duration = Duration::from_millis(100);

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_base", &self.api_base.as_str())
            .field("token_url", &self.token_url.as_str())
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("app_key", &"***")
            .field("requests_per_second", &self.requests_per_second)
            .finish()
    }
}

impl ClientConfig {
    /// A config with the defaults of SPEC.md §3 (20 requests/s, 30 s timeout, 5 retries).
    ///
    /// Errors: [`ApiError::Config`] when a URL does not parse.
    pub fn new(
        api_base: &str,
        token_url: &str,
        tenant_id: i64,
        client_id: impl Into<String>,
        client_secret: SecretString,
        app_key: SecretString,
    ) -> Result<Self, ApiError> {
        let parse = |what: &str, s: &str| {
            Url::parse(s).map_err(|e| ApiError::Config(format!("{what} `{s}` is not a URL: {e}")))
        };
        Ok(ClientConfig {
            api_base: parse("API base URL", api_base)?,
            token_url: parse("token URL", token_url)?,
            tenant_id,
            client_id: client_id.into(),
            client_secret,
            app_key,
            requests_per_second: DEFAULT_REQUESTS_PER_SECOND,
            timeout: Duration::from_secs(30),
            max_retries: 5,
            min_backoff: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(20),
            deadline: None,
        })
    }
}

/// What went wrong talking to ServiceTitan.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The configuration is unusable (bad URL, zero rate).
    #[error("invalid ServiceTitan client configuration: {0}")]
    Config(String),
    /// The token endpoint refused the credentials or answered badly.
    #[error("ServiceTitan token request failed ({status}): {message}")]
    Token {
        /// HTTP status of the token endpoint (0 when no answer).
        status: u16,
        /// `error` of the OAuth answer, or what went wrong.
        message: String,
    },
    /// No HTTP answer (connection, timeout).
    #[error("{endpoint}: request failed: {source}")]
    Transport {
        /// The endpoint called.
        endpoint: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// A non-2xx answer, with its problem-details body when there was one.
    #[error("{endpoint}: HTTP {status}{}", problem_summary(.problem))]
    Status {
        /// The endpoint called.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The RFC 7807 body, when it parsed.
        problem: Option<Box<ApiErrorResponse>>,
        /// `Retry-After`, when sent (429).
        retry_after: Option<Duration>,
    },
    /// A 2xx body that is not the documented shape.
    #[error("{endpoint}: unexpected response body at `{path}`: {message}")]
    Decode {
        /// The endpoint called.
        endpoint: String,
        /// JSON path of the offending value.
        path: String,
        /// What serde said.
        message: String,
    },
}

fn problem_summary(problem: &Option<Box<ApiErrorResponse>>) -> String {
    let Some(p) = problem else {
        return String::new();
    };
    let mut out = String::new();
    if let Some(title) = &p.title {
        out.push_str(": ");
        out.push_str(title);
    }
    if let Some(errors) = &p.errors {
        for (field, messages) in errors {
            out.push_str(&format!(" [{field}: {}]", messages.join("; ")));
        }
    }
    if let Some(trace) = &p.trace_id {
        out.push_str(&format!(" (traceId {trace})"));
    }
    out
}

impl ApiError {
    /// True for failures a later try may fix: 429, 5xx, 408 and transport errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport { .. } => true,
            ApiError::Status { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            ApiError::Token { status, .. } => *status == 429 || *status >= 500 || *status == 0,
            _ => false,
        }
    }

    /// True when ServiceTitan certainly did not act on the request, so even a non-idempotent
    /// POST may be sent again: 429 (throttled before processing), and connection failures
    /// before the request was sent. 5xx and timeouts are not: the request may have been
    /// processed.
    pub fn was_not_processed(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => *status == 429,
            ApiError::Transport { source, .. } => source.is_connect(),
            ApiError::Token { .. } => self.is_retryable(),
            _ => false,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } | ApiError::Token { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A granted token's facts (the token itself stays inside the client).
///
/// Source of each (API-NOTES §2): `scopes` from the token response's `scope` field
/// (space-separated), or, when the response has none, from the JWT payload's `scope` claim (an
/// array or a space-separated string); `tenant` and `client_id` from the JWT payload's `tenant`
/// and `client_id` claims. The payload is only decoded, not verified: these facts explain an
/// activation failure, they grant nothing (ServiceTitan enforces access on every call).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrantedScopes {
    /// Scopes as the token endpoint listed them.
    pub scopes: Vec<String>,
    /// The tenant the credentials belong to (JWT claim `tenant`), when the token is a JWT.
    pub tenant: Option<i64>,
    /// The client id the token was issued to (JWT claim `client_id`), when the token is a JWT.
    pub client_id: Option<String>,
}

/// When a token requested at `sent` with `expires_in` seconds of life is renewed:
/// [`TOKEN_EARLY_REFRESH`] before it expires, its lifetime clamped to [`MAX_TOKEN_LIFETIME`]
/// (a huge `expires_in` must not overflow the clock). A lifetime of at most
/// [`TOKEN_EARLY_REFRESH`] (0 included) renews the token on every use.
fn refresh_at(sent: Instant, expires_in: u64) -> Instant {
    let lifetime = Duration::from_secs(expires_in).min(MAX_TOKEN_LIFETIME);
    let early = lifetime.saturating_sub(TOKEN_EARLY_REFRESH);
    // Instant's range is platform-defined: should even a day not fit, renew at once.
    sent.checked_add(early).unwrap_or(sent)
}

struct CachedToken {
    token: SecretString,
    refresh_at: Instant,
    granted: GrantedScopes,
}

/// What [`GrantedScopes`] reads from a token: the `scope` field of the response, else the JWT's
/// `scope` claim; `tenant` and `client_id` claims. A token that is not a JWT yields only the
/// response's scopes.
fn granted_from(access_token: &str, scope_field: Option<&str>) -> GrantedScopes {
    use base64::Engine as _;
    let claims: Option<serde_json::Value> = access_token
        .split('.')
        .nth(1)
        .filter(|_| access_token.split('.').count() == 3)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload.trim_end_matches('='))
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let split = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let scopes = match scope_field {
        Some(s) if !s.trim().is_empty() => split(s),
        _ => match claims.as_ref().and_then(|c| c.get("scope")) {
            Some(serde_json::Value::String(s)) => split(s),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        },
    };
    let tenant = claims
        .as_ref()
        .and_then(|c| c.get("tenant"))
        .and_then(|t| match t {
            serde_json::Value::String(s) => s.trim().parse().ok(),
            other => other.as_i64(),
        });
    let client_id = claims
        .as_ref()
        .and_then(|c| c.get("client_id"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    GrantedScopes {
        scopes,
        tenant,
        client_id,
    }
}

/// Counters of one client, cumulative since creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// API requests sent (every try counts), token requests excluded.
    pub api_calls: u64,
    /// Token requests sent.
    pub token_requests: u64,
    /// 429 answers received.
    pub throttled: u64,
}

#[derive(Default)]
struct Counters {
    api_calls: AtomicU64,
    token_requests: AtomicU64,
    throttled: AtomicU64,
}

/// The ServiceTitan API client. Cheap to clone (shared token cache, limiter and counters).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    token: Mutex<Option<CachedToken>>,
    limiter: DefaultDirectRateLimiter,
    counters: Counters,
}

impl Client {
    /// Build a client.
    ///
    /// Errors: [`ApiError::Config`] when the rate is 0 or the HTTP stack cannot start.
    pub fn new(config: ClientConfig) -> Result<Self, ApiError> {
        let rate = NonZeroU32::new(config.requests_per_second)
            .ok_or_else(|| ApiError::Config("requests_per_second must be at least 1".into()))?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("servicetitan-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                limiter: RateLimiter::direct(Quota::per_second(rate)),
                config,
                token: Mutex::new(None),
                counters: Counters::default(),
            }),
        })
    }

    /// The tenant this client talks to.
    pub fn tenant_id(&self) -> i64 {
        self.inner.config.tenant_id
    }

    /// Counters since creation.
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        ClientStats {
            api_calls: c.api_calls.load(Ordering::Relaxed),
            token_requests: c.token_requests.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
        }
    }

    /// Fetch (or reuse) a token and return its granted scopes and, when the token is a JWT, the
    /// tenant and client id it was issued for (activation checks them; see [`GrantedScopes`]).
    ///
    /// Errors: [`ApiError::Token`] when the credentials are refused.
    pub async fn granted_scopes(&self) -> Result<GrantedScopes, ApiError> {
        self.bearer(false).await?;
        let guard = self.inner.token.lock().await;
        Ok(guard
            .as_ref()
            .map(|t| t.granted.clone())
            .unwrap_or_default())
    }

    async fn bearer(&self, force_new: bool) -> Result<SecretString, ApiError> {
        let mut guard = self.inner.token.lock().await;
        if let Some(cached) = guard.as_ref() {
            if !force_new && Instant::now() < cached.refresh_at {
                return Ok(cached.token.clone());
            }
        }
        let fresh = self.fetch_token().await?;
        let token = fresh.token.clone();
        *guard = Some(fresh);
        Ok(token)
    }

    async fn fetch_token(&self) -> Result<CachedToken, ApiError> {
        let cfg = &self.inner.config;
        self.inner
            .counters
            .token_requests
            .fetch_add(1, Ordering::Relaxed);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.expose_secret()),
        ];
        let sent = Instant::now();
        let response = self
            .inner
            .http
            .post(cfg.token_url.clone())
            .timeout(self.try_timeout())
            .form(&form)
            .send()
            .await
            .map_err(|e| ApiError::Token {
                status: 0,
                message: format!("no answer: {e}"),
            })?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    let error = v.get("error")?.as_str()?.to_owned();
                    Some(match v.get("error_description").and_then(|d| d.as_str()) {
                        Some(d) => format!("{error}: {d}"),
                        None => error,
                    })
                })
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            return Err(ApiError::Token {
                status: status.as_u16(),
                message,
            });
        }
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| ApiError::Token {
            status: status.as_u16(),
            message: format!("unexpected token response: {e}"),
        })?;
        let refresh_at = refresh_at(sent, token.expires_in);
        let granted = granted_from(&token.access_token, token.scope.as_deref());
        Ok(CachedToken {
            token: SecretString::from(token.access_token),
            refresh_at,
            granted,
        })
    }

    fn url(&self, endpoint: Endpoint) -> Result<Url, ApiError> {
        self.url_for(endpoint.module, endpoint.path, &endpoint.to_string())
    }

    /// `{api}/{module}/v2/tenant/{tenant}/{path}`; `label` names the endpoint in errors.
    fn url_for(&self, module: &str, path: &str, label: &str) -> Result<Url, ApiError> {
        let cfg = &self.inner.config;
        let relative = format!("{module}/v2/tenant/{}/{path}", cfg.tenant_id);
        let mut base = cfg.api_base.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.join(&relative)
            .map_err(|e| ApiError::Config(format!("URL for {label}: {e}")))
    }

    /// One GET with auth, budget and retries; returns the JSON body decoded as `T`.
    ///
    /// Errors: [`ApiError::Status`] for non-2xx answers after retries, [`ApiError::Transport`],
    /// [`ApiError::Decode`] when a 2xx body is not a `T` (with the JSON path).
    pub async fn get<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        let url = self.url(endpoint)?;
        let label = endpoint.to_string();
        let body = self
            .with_retries(&label, ApiError::is_retryable, || {
                self.send_once(reqwest::Method::GET, &label, &url, query, None)
            })
            .await?;
        decode_body(&label, &body)
    }

    /// [`Client::get`] for a path built at run time (`jobs/{id}/notes`): `module` and `path` as
    /// in [`Endpoint`], `label` names it in errors and logs (the route template, without ids).
    ///
    /// Errors: as [`Client::get`].
    pub(crate) async fn get_path<T: DeserializeOwned>(
        &self,
        module: &str,
        path: &str,
        label: &str,
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        let url = self.url_for(module, path, label)?;
        let body = self
            .with_retries(label, ApiError::is_retryable, || {
                self.send_once(reqwest::Method::GET, label, &url, query, None)
            })
            .await?;
        decode_body(label, &body)
    }

    /// One POST of a JSON body with auth and budget, retried only as `retry` allows (a POST is
    /// not idempotent: see [`PostRetry`]).
    ///
    /// Errors: as [`Client::get`].
    pub(crate) async fn post_json<T: DeserializeOwned>(
        &self,
        module: &str,
        path: &str,
        label: &str,
        body: &serde_json::Value,
        retry: PostRetry,
    ) -> Result<T, ApiError> {
        let url = self.url_for(module, path, label)?;
        let when = move |e: &ApiError| match retry {
            PostRetry::OnlyWhenNotProcessed => e.was_not_processed(),
        };
        let answer = self
            .with_retries(label, when, || {
                self.send_once(reqwest::Method::POST, label, &url, &[], Some(body))
            })
            .await?;
        decode_body(label, &answer)
    }

    /// Runs `call` with the client's backoff while `when` says the error is worth another try;
    /// a 429's `Retry-After` replaces the planned wait.
    async fn with_retries<F, Fut>(
        &self,
        label: &str,
        when: impl FnMut(&ApiError) -> bool,
        call: F,
    ) -> Result<Vec<u8>, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<u8>, ApiError>>,
    {
        let cfg = &self.inner.config;
        let max_retry_after = cfg.max_retry_after;
        let deadline = cfg.deadline;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(cfg.min_backoff)
            .with_max_delay(Duration::from_secs(20))
            .with_max_times(cfg.max_retries)
            .with_jitter();
        call.retry(backoff)
            .when(when)
            .adjust(|err, planned| {
                let wait = match (err, planned) {
                    // Retries exhausted: stop, whatever the server asked.
                    (_, None) => None,
                    // Honour Retry-After up to the cap; a longer wait is not waited out here
                    // (the caller's deadline would pass): the retryable error goes back.
                    (ApiError::Status { retry_after: Some(wait), .. }, Some(_)) => {
                        (*wait <= max_retry_after).then_some(*wait)
                    }
                    (_, planned) => planned,
                };
                // No retry that would start at or after the deadline.
                wait.filter(|w| deadline.is_none_or(|d| Instant::now() + *w < d))
            })
            .notify(|err, wait| {
                tracing::warn!(endpoint = label, error = %err, wait_ms = wait.as_millis() as u64, "retrying ServiceTitan request");
            })
            .await
    }

    /// A try's timeout: the configured one, cut to the time left before the deadline.
    fn try_timeout(&self) -> Duration {
        let cfg = &self.inner.config;
        match cfg.deadline {
            None => cfg.timeout,
            Some(d) => cfg
                .timeout
                .min(d.saturating_duration_since(Instant::now()))
                .max(MIN_TRY_TIMEOUT),
        }
    }

    /// One try, plus one more with a new token on 401.
    async fn send_once(
        &self,
        method: reqwest::Method,
        label: &str,
        url: &Url,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, ApiError> {
        let endpoint = label;
        let mut renewed = false;
        loop {
            let token = self.bearer(renewed).await?;
            self.inner.limiter.until_ready().await;
            self.inner
                .counters
                .api_calls
                .fetch_add(1, Ordering::Relaxed);
            let mut request = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .timeout(self.try_timeout())
                .query(query)
                .bearer_auth(token.expose_secret())
                .header("ST-App-Key", self.inner.config.app_key.expose_secret());
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|source| ApiError::Transport {
                endpoint: endpoint.to_string(),
                source,
            })?;
            let status = response.status();
            if status.is_success() {
                return response
                    .bytes()
                    .await
                    .map(|b| b.to_vec())
                    .map_err(|source| ApiError::Transport {
                        endpoint: endpoint.to_string(),
                        source,
                    });
            }
            if status == StatusCode::UNAUTHORIZED && !renewed {
                renewed = true;
                continue;
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                self.inner
                    .counters
                    .throttled
                    .fetch_add(1, Ordering::Relaxed);
            }
            let retry_after = retry_after(response.headers());
            let body = response.bytes().await.unwrap_or_default();
            let problem = serde_json::from_slice::<ApiErrorResponse>(&body)
                .ok()
                .map(Box::new);
            return Err(ApiError::Status {
                endpoint: endpoint.to_string(),
                status: status.as_u16(),
                problem,
                retry_after,
            });
        }
    }

    /// One page of a list endpoint (`page` is 1-based; API-NOTES §5.1).
    ///
    /// Errors: as [`Client::get`].
    pub async fn list_page<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        query: &[(&str, String)],
        page: u32,
        page_size: u32,
    ) -> Result<Page<T>, ApiError> {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("page", page.to_string()));
        q.push(("pageSize", page_size.to_string()));
        self.get(endpoint, &q).await
    }

    /// Every record of a list endpoint: pages 1, 2, … while `hasMore` (API-NOTES §5.1).
    ///
    /// Errors: as [`Client::get`].
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        query: &[(&str, String)],
        page_size: u32,
    ) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let p: Page<T> = self.list_page(endpoint, query, page, page_size).await?;
            let more = p.has_more && !p.data.is_empty();
            out.extend(p.data);
            if !more {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// Records by id through the `id_param` filter (`ids`, or `customerIds` for contacts), in
    /// chunks of at most [`MAX_IDS_PER_CALL`] ids, each chunk paged until `hasMore` is false.
    /// Duplicate ids are asked once. `active=Any` is added when `include_inactive` (so deleted
    /// or merged records are not silently missing).
    ///
    /// Errors: as [`Client::get`].
    pub async fn list_by_ids<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        id_param: &str,
        ids: &[Id],
        include_inactive: bool,
    ) -> Result<Vec<T>, ApiError> {
        let mut unique: Vec<Id> = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut out = Vec::new();
        for chunk in unique.chunks(MAX_IDS_PER_CALL) {
            let joined = chunk
                .iter()
                .map(Id::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let mut q = vec![(id_param, joined)];
            if include_inactive {
                q.push(("active", "Any".to_owned()));
            }
            out.extend(self.list_all::<T>(endpoint, &q, 500).await?);
        }
        Ok(out)
    }

    /// One page of an export feed (API-NOTES §5.4). `from` is the previous `continueFrom`, a
    /// date (`2025-01-31`), or `None` for the start of history. Rows come back undecoded so that
    /// one bad row can be reported and skipped (see [`decode_rows`]).
    ///
    /// Errors: as [`Client::get`].
    pub async fn export_page(
        &self,
        endpoint: Endpoint,
        from: Option<&str>,
        include_recent_changes: bool,
    ) -> Result<ExportPage<serde_json::Value>, ApiError> {
        let mut q = Vec::new();
        if let Some(from) = from {
            q.push(("from", from.to_owned()));
        }
        if include_recent_changes {
            q.push(("includeRecentChanges", "true".to_owned()));
        }
        self.get(endpoint, &q).await
    }
}

/// When a POST may be retried inside the client (a POST is not idempotent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostRetry {
    /// Only failures where ServiceTitan certainly did not act ([`ApiError::was_not_processed`]):
    /// 429 and connection failures; 401 is retried once with a new token as for every request.
    OnlyWhenNotProcessed,
}

fn decode_body<T: DeserializeOwned>(label: &str, body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| ApiError::Decode {
        endpoint: label.to_owned(),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past means 0.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A row that could not be decoded, reported with resource, id and field (SPEC.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// ServiceTitan resource (`job`, `customer`…).
    pub resource: &'static str,
    /// The row's `id` when it had a readable one.
    pub id: Option<Id>,
    /// JSON path of the offending field.
    pub field: String,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.id {
            Some(id) => write!(
                f,
                "{} {id}: field `{}`: {}",
                self.resource, self.field, self.reason
            ),
            None => write!(
                f,
                "{} (no id): field `{}`: {}",
                self.resource, self.field, self.reason
            ),
        }
    }
}

/// Decode raw rows one by one: good rows as `T`, bad rows as [`BadRecord`]s naming the field.
pub fn decode_rows<T: DeserializeOwned>(
    resource: &'static str,
    rows: Vec<serde_json::Value>,
) -> (Vec<T>, Vec<BadRecord>) {
    let mut good = Vec::with_capacity(rows.len());
    let mut bad = Vec::new();
    for row in rows {
        let id = row.get("id").and_then(serde_json::Value::as_i64);
        match serde_path_to_error::deserialize::<_, T>(row) {
            Ok(v) => good.push(v),
            Err(e) => bad.push(BadRecord {
                resource,
                id,
                field: e.path().to_string(),
                reason: e.inner().to_string(),
            }),
        }
    }
    (good, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn token_refresh_time_is_clamped_and_never_overflows() {
        let sent = Instant::now();
        // production: 900 s, renewed a minute early
        assert_eq!(refresh_at(sent, 900), sent + Duration::from_secs(840));
        // zero and tiny lifetimes: renewed on every use, as before
        assert_eq!(refresh_at(sent, 0), sent);
        assert_eq!(refresh_at(sent, 30), sent);
        // absurd lifetimes: clamped to a day instead of panicking on `Instant + Duration`
        let clamped = sent + MAX_TOKEN_LIFETIME - TOKEN_EARLY_REFRESH;
        assert_eq!(refresh_at(sent, u64::MAX), clamped);
        assert_eq!(refresh_at(sent, 10 * 365 * 24 * 3600), clamped);
        assert_eq!(refresh_at(sent, 24 * 3600 + 1), clamped);
    }

    #[test]
    fn granted_facts_from_the_sample_token() {
        // samples/token-response.json: a JWT whose payload has `tenant` as text and `scope` as
        // an array, plus the response's own `scope` field.
        let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IkVYQU1QTEUiLCJ0eXAiOiJhdCtqd3QifQ.eyJuYmYiOjE3NDA4MjMyMDAsImV4cCI6MTc0MDgyNDEwMCwiaXNzIjoiaHR0cHM6Ly9hdXRoLWludGVncmF0aW9uLnNlcnZpY2V0aXRhbi5pbyIsImNsaWVudF9pZCI6ImNpZC5leGFtcGxlIiwidGVuYW50IjoiMTIzNDU2Nzg5IiwianRpIjoiRVhBTVBMRSIsImlhdCI6MTc0MDgyMzIwMCwic2NvcGUiOlsidG4uanBtLmpvYnM6ciJdfQ.c2lnbmF0dXJlLW5vdC1yZWFs";
        let g = granted_from(jwt, Some("tn.jpm.jobs:r tn.crm.customers:r"));
        assert_eq!(g.scopes, vec!["tn.jpm.jobs:r", "tn.crm.customers:r"]);
        assert_eq!(g.tenant, Some(123_456_789));
        assert_eq!(g.client_id.as_deref(), Some("cid.example"));
        // no `scope` field: the claim
        assert_eq!(granted_from(jwt, None).scopes, vec!["tn.jpm.jobs:r"]);
        // an opaque token: only the field
        let g = granted_from("opaque", Some("a:r"));
        assert_eq!(g.scopes, vec!["a:r"]);
        assert_eq!(g.tenant, None);
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&headers(" 0 ")), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_as_an_http_date() {
        let later = SystemTime::now() + Duration::from_secs(120);
        let wait = retry_after(&headers(&httpdate::fmt_http_date(later))).unwrap();
        assert!(
            wait <= Duration::from_secs(120) && wait >= Duration::from_secs(100),
            "{wait:?}"
        );
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(60));
        assert_eq!(retry_after(&headers(&past)), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_absent_or_garbage() {
        assert_eq!(retry_after(&HeaderMap::new()), None);
        assert_eq!(retry_after(&headers("soon")), None);
    }

    #[test]
    fn bad_rows_name_resource_id_and_field() {
        let rows = vec![
            serde_json::json!({"id": 1, "name": "ok", "active": true,
                "createdOn": "2025-01-01T00:00:00Z", "modifiedOn": "2025-01-01T00:00:00Z"}),
            serde_json::json!({"id": 2, "name": "bad", "active": true,
                "createdOn": "yesterday", "modifiedOn": "2025-01-01T00:00:00Z"}),
            serde_json::json!({"name": "no id"}),
        ];
        let (good, bad) = decode_rows::<crate::wire::BusinessUnit>("businessUnit", rows);
        assert_eq!(good.len(), 1);
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[0].id, Some(2));
        assert_eq!(bad[0].field, "createdOn");
        assert!(
            bad[0]
                .to_string()
                .starts_with("businessUnit 2: field `createdOn`"),
            "{}",
            bad[0]
        );
        assert_eq!(bad[1].id, None);
    }

    #[test]
    fn config_debug_hides_secrets() {
        let cfg = ClientConfig::new(
            PRODUCTION_API,
            PRODUCTION_AUTH,
            1,
            "cid",
            SecretString::from("s3cret".to_owned()),
            SecretString::from("ak1.key".to_owned()),
        )
        .unwrap();
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("ak1.key"),
            "{shown}"
        );
        assert!(ClientConfig::new(
            "not a url",
            PRODUCTION_AUTH,
            1,
            "c",
            SecretString::from(String::new()),
            SecretString::from(String::new())
        )
        .is_err());
    }
}
