//! The HTTP server: routes, auth and rate-limit guard, request counters, handlers.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use axum::extract::rejection::FormRejection;
use axum::extract::{MatchedPath, Path, Query, RawPathParams, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use chrono::Utc;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use servicetitan::wire::{
    BusinessUnit, Customer, CustomerContact, ExportPage, Id, Job, JobType, Location, Page,
    TokenResponse,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SandboxConfig;
use crate::dataset::{Dataset, Record, Store};
use crate::error::SandboxError;
use crate::export::export_page;
use crate::faults::{Fault, PageTweak};
use crate::problem::Problem;
use crate::query::{ListQuery, Params, SortField};

/// Prefix of the admin surface (no auth, not counted): `GET /__admin/health`,
/// `GET /__admin/requests`, `POST /__admin/requests/reset`, `POST /__admin/fixture`,
/// `POST /__admin/records/{resource}/{id}`, `GET`/`POST`/`DELETE /__admin/faults`,
/// `POST /__admin/tokens/expire`.
pub const ADMIN_PREFIX: &str = "/__admin";

/// Route template of the token endpoint (counted under this key, not in the total).
const TOKEN_ROUTE: &str = "/connect/token";

/// State shared by every handler.
pub(crate) struct Shared {
    pub(crate) cfg: SandboxConfig,
    store: RwLock<Store>,
    /// Issued access tokens → expiry (monotonic clock).
    tokens: Mutex<HashMap<String, Instant>>,
    limiter: Option<DefaultKeyedRateLimiter<(String, i64)>>,
    counts: Mutex<BTreeMap<String, u64>>,
    total: AtomicU64,
    faults: Mutex<Vec<Fault>>,
    /// Requests being held by an injected latency or hang right now.
    held: AtomicU64,
    /// Requests an injected hang has started holding, since start.
    hangs_started: AtomicU64,
    /// Injected faults applied so far (one per request a fault applied to).
    faults_applied: AtomicU64,
    /// Change sets applied ("changes between pages"), numbering the default markers.
    changes_applied: AtomicU64,
    /// Notes received (module `notes`).
    pub(crate) notes: crate::notes::NoteBook,
}

impl Shared {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn counts(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub(crate) fn reset_counts(&self) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.total.store(0, Ordering::Relaxed);
    }

    pub(crate) fn add_fault(&self, fault: Fault) -> usize {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.push(fault);
        faults.len()
    }

    pub(crate) fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Forgets every issued token: the next API call with an old token gets 401.
    pub(crate) fn expire_tokens(&self) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Queued faults, in queue order (`skip` and `times` as they stand now).
    pub(crate) fn pending_faults(&self) -> Vec<Fault> {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn held(&self) -> u64 {
        self.held.load(Ordering::SeqCst)
    }

    pub(crate) fn faults_applied(&self) -> u64 {
        self.faults_applied.load(Ordering::SeqCst)
    }

    /// The first queued fault matching `key` whose `skip` is used up; every matching fault still
    /// skipping counts this request instead.
    fn take_fault(&self, key: &str) -> Option<Fault> {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let mut found = None;
        for (i, f) in faults.iter_mut().enumerate() {
            if f.endpoint.as_deref().is_some_and(|e| e != key) {
                continue;
            }
            if f.skip > 0 {
                f.skip -= 1;
            } else if found.is_none() {
                found = Some(i);
            }
        }
        let pos = found?;
        self.faults_applied.fetch_add(1, Ordering::SeqCst);
        let fault = faults[pos].clone();
        if faults[pos].times <= 1 {
            faults.remove(pos);
        } else {
            faults[pos].times -= 1;
        }
        Some(fault)
    }

    fn count(&self, key: String, in_total: bool) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert(0) += 1;
        if in_total {
            self.total.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Entry point: [`Sandbox::start`].
#[derive(Debug)]
pub struct Sandbox;

/// A sandbox serving on a loopback port until [`RunningSandbox::shutdown`] (or drop of the runtime).
pub struct RunningSandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for RunningSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Binds `addr` (usually `127.0.0.1:0`), loads `data` and serves the API until shutdown.
    /// Paths: the real ServiceTitan ones (`/jpm/v2/tenant/{tenant}/…` etc., API-NOTES §4),
    /// `POST /connect/token`, and the admin surface under [`ADMIN_PREFIX`].
    pub async fn start(
        cfg: SandboxConfig,
        data: Dataset,
        addr: SocketAddr,
    ) -> Result<RunningSandbox, SandboxError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let limiter = cfg
            .rate_limit_per_sec
            .and_then(NonZeroU32::new)
            .map(|n| RateLimiter::keyed(Quota::per_second(n)));
        let shared = Arc::new(Shared {
            cfg,
            store: RwLock::new(Store::new(data)),
            tokens: Mutex::new(HashMap::new()),
            limiter,
            counts: Mutex::new(BTreeMap::new()),
            total: AtomicU64::new(0),
            faults: Mutex::new(Vec::new()),
            held: AtomicU64::new(0),
            hangs_started: AtomicU64::new(0),
            faults_applied: AtomicU64::new(0),
            changes_applied: AtomicU64::new(0),
            notes: crate::notes::NoteBook::default(),
        });
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "sandbox server stopped with an error");
            }
        });
        tracing::info!(addr = %local, "ServiceTitan sandbox listening");
        Ok(RunningSandbox {
            shared,
            addr: local,
            stop: Some(stop),
            task,
        })
    }
}

impl RunningSandbox {
    /// The API root, `http://127.0.0.1:PORT` (no trailing slash); real paths go under it.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The OAuth2 token endpoint: `base_url() + "/connect/token"` (API-NOTES §2).
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_ROUTE}", self.base_url())
    }

    /// Requests per endpoint, keyed `"GET /jpm/v2/tenant/{tenant}/export/jobs"` (route template).
    /// Includes `"POST /connect/token"`; rejected requests (401, 429, 400) count too.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.shared.counts()
    }

    /// API requests since start or the last reset; token requests and admin calls excluded.
    pub fn total_requests(&self) -> u64 {
        self.shared.total()
    }

    /// Every note received through the notes endpoints, in order (also `GET /__admin/notes`).
    pub fn notes(&self) -> Vec<crate::notes::SandboxNote> {
        self.shared.notes.all()
    }

    /// Zeroes the counters.
    pub fn reset_counts(&self) {
        self.shared.reset_counts();
    }

    /// Queues an injected fault (as `POST /__admin/faults`; see [`Fault`] and module `faults`).
    ///
    /// Errors: [`SandboxError::Fault`] when the fault is unusable (`times` 0, unknown resource).
    pub fn add_fault(&self, fault: Fault) -> Result<(), SandboxError> {
        if let Some(problem) = fault.problem() {
            return Err(SandboxError::Fault(problem));
        }
        self.shared.add_fault(fault);
        Ok(())
    }

    /// Drops every queued fault (as `DELETE /__admin/faults`); requests already held keep
    /// sleeping.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Queued faults, in queue order, with `skip` and `times` as they stand now.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.shared.pending_faults()
    }

    /// API requests being held by an injected latency or hang right now.
    pub fn held_requests(&self) -> u64 {
        self.shared.held()
    }

    /// Requests an injected `hang` has started holding since start (a test that "kills" an
    /// invocation at a chosen request waits for this to move, then drops the run future).
    pub fn hangs_started(&self) -> u64 {
        self.shared.hangs_started.load(Ordering::SeqCst)
    }

    /// Requests an injected fault has applied to since start.
    pub fn faults_applied(&self) -> u64 {
        self.shared.faults_applied()
    }

    /// Forgets every issued token (as `POST /__admin/tokens/expire`).
    pub fn expire_tokens(&self) {
        self.shared.expire_tokens();
    }

    /// Runs `f` on the live dataset (tests). Callers set `modified_on` themselves; indexes are
    /// rebuilt afterwards, so any change (including ids and timestamps) is seen by the next call.
    pub fn with_data<R>(&self, f: impl FnOnce(&mut Dataset) -> R) -> R {
        let mut store = self.shared.write();
        let r = f(&mut store.data);
        store.reindex();
        r
    }

    /// Stops accepting connections, finishes in-flight requests and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Err(e) = (&mut self.task).await {
            tracing::warn!(error = %e, "sandbox server task ended abnormally");
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/jpm/v2/tenant/{tenant}/jobs", get(list_jobs))
        .route("/jpm/v2/tenant/{tenant}/jobs/{id}", get(get_one::<Job>))
        .route("/jpm/v2/tenant/{tenant}/job-types", get(list_job_types))
        .route(
            "/jpm/v2/tenant/{tenant}/job-types/{id}",
            get(get_one::<JobType>),
        )
        .route("/jpm/v2/tenant/{tenant}/export/jobs", get(export::<Job>))
        .route("/crm/v2/tenant/{tenant}/customers", get(list_customers))
        .route(
            "/crm/v2/tenant/{tenant}/customers/contacts",
            get(list_contacts),
        )
        .route(
            "/crm/v2/tenant/{tenant}/customers/{id}",
            get(get_one::<Customer>),
        )
        .route(
            "/crm/v2/tenant/{tenant}/customers/{id}/contacts",
            get(list_customer_contacts),
        )
        .route("/crm/v2/tenant/{tenant}/locations", get(list_locations))
        .route(
            "/crm/v2/tenant/{tenant}/locations/{id}",
            get(get_one::<Location>),
        )
        .route(
            "/crm/v2/tenant/{tenant}/export/customers",
            get(export::<Customer>),
        )
        .route(
            "/crm/v2/tenant/{tenant}/export/customers/contacts",
            get(export::<CustomerContact>),
        )
        .route(
            "/crm/v2/tenant/{tenant}/export/locations",
            get(export::<Location>),
        )
        .route(
            "/settings/v2/tenant/{tenant}/business-units",
            get(list_business_units),
        )
        .route(
            "/settings/v2/tenant/{tenant}/business-units/{id}",
            get(get_one::<BusinessUnit>),
        )
        .route(
            "/settings/v2/tenant/{tenant}/export/business-units",
            get(export::<BusinessUnit>),
        )
        .merge(crate::notes::api_routes())
        .merge(crate::resources::api_routes())
        .route_layer(middleware::from_fn_with_state(shared.clone(), api_guard))
        .route_layer(middleware::from_fn_with_state(shared.clone(), count_api));
    let token = Router::new()
        .route(TOKEN_ROUTE, post(token))
        .route_layer(middleware::from_fn_with_state(shared.clone(), count_token));
    Router::new()
        .merge(api)
        .merge(token)
        .nest(
            ADMIN_PREFIX,
            crate::admin::router().merge(crate::notes::admin_routes()),
        )
        .fallback(|| async { Problem::not_found("The requested resource was not found.") })
        .with_state(shared)
}

/// Counts the request under its route template, then applies an injected fault if one matches.
async fn count_api(
    State(s): State<Arc<Shared>>,
    path: MatchedPath,
    req: Request,
    next: Next,
) -> Response {
    let key = format!("{} {}", req.method(), path.as_str());
    s.count(key.clone(), true);
    let Some(fault) = s.take_fault(&key) else {
        return next.run(req).await;
    };
    // Effects in the order of module `faults`' docs.
    if fault.expire_tokens {
        tracing::debug!(%key, "injected token expiry");
        s.expire_tokens();
    }
    if fault.latency_ms > 0 || fault.hang {
        /// Counts the request as held while it sleeps, also when the client goes away.
        struct Held<'a>(&'a AtomicU64);
        impl Drop for Held<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        s.held.fetch_add(1, Ordering::SeqCst);
        let _held = Held(&s.held);
        tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
        if fault.hang {
            tracing::debug!(%key, "injected hang");
            s.hangs_started.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
        }
    }
    let mut response = match fault.status.and_then(|c| StatusCode::from_u16(c).ok()) {
        Some(code) => {
            tracing::debug!(%key, status = code.as_u16(), "injected fault");
            let title = code.canonical_reason().unwrap_or("Injected fault");
            let mut p = Problem::new(code, title);
            if code == StatusCode::TOO_MANY_REQUESTS {
                p.retry_after_secs = Some(fault.retry_after_secs.unwrap_or(1));
            }
            let mut response = p.into_response();
            if code == StatusCode::TOO_MANY_REQUESTS && fault.retry_after_http_date {
                let at = Utc::now()
                    + chrono::Duration::seconds(
                        i64::try_from(fault.retry_after_secs.unwrap_or(1)).unwrap_or(1),
                    );
                let text = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
                if let Ok(v) = header::HeaderValue::from_str(&text) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            response
        }
        None => {
            let mut req = req;
            if let Some(tweak) = fault.page_tweak() {
                req.extensions_mut().insert(tweak);
            }
            next.run(req).await
        }
    };
    if let Some(changes) = &fault.changes {
        let n = s.changes_applied.fetch_add(1, Ordering::SeqCst) + 1;
        let result = crate::faults::apply_changes(&mut s.write(), changes, n);
        if let Err(e) = result {
            tracing::warn!(%key, error = %e, "injected changes failed");
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    response
}

async fn count_token(
    State(s): State<Arc<Shared>>,
    path: MatchedPath,
    req: Request,
    next: Next,
) -> Response {
    s.count(format!("{} {}", req.method(), path.as_str()), false);
    next.run(req).await
}

/// The read scope a path needs (API-NOTES §2 scope naming), checked against the granted scopes.
fn required_scope(path: &str) -> Option<&'static str> {
    let rest = path.split("/tenant/").nth(1)?;
    let rest = rest.split_once('/').map_or("", |(_, r)| r);
    let rest = rest.strip_prefix("export/").unwrap_or(rest);
    Some(match rest.split('/').next()? {
        "jobs" => "tn.jpm.jobs:r",
        "job-types" => "tn.jpm.jobtypes:r",
        "customers" => "tn.crm.customers:r",
        "locations" => "tn.crm.locations:r",
        "business-units" => "tn.stt.businessunits:r",
        other => return crate::resources::required_scope(other),
    })
}

/// App key → bearer token → tenant → scope → rate limit (API-NOTES §3, §6).
async fn api_guard(
    State(s): State<Arc<Shared>>,
    params: RawPathParams,
    req: Request,
    next: Next,
) -> Response {
    let cfg = &s.cfg;
    let app_key = req
        .headers()
        .get("ST-App-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            // The specs also define the app key as query parameter `servicetitanapplicationkey`.
            req.uri().query().and_then(|q| {
                q.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    k.eq_ignore_ascii_case("servicetitanapplicationkey")
                        .then(|| v.to_owned())
                })
            })
        });
    match app_key {
        None => return Problem::unauthorized("The ST-App-Key header is missing.").into_response(),
        Some(k) if k.trim() != cfg.app_key => {
            return Problem::unauthorized(
                "The ST-App-Key header is invalid (unknown application key).",
            )
            .into_response()
        }
        Some(_) => {}
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.trim();
            match v.split_once(' ') {
                Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim().to_owned(),
                _ => v.to_owned(), // the official docs' example sends the raw token
            }
        });
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Problem::unauthorized(
            "The Authorization header is missing; send 'Bearer <access token>'.",
        )
        .into_response();
    };
    let valid = {
        let mut tokens = s.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        tokens.retain(|_, exp| *exp > now);
        tokens.contains_key(&token)
    };
    if !valid {
        return Problem::unauthorized("The access token is invalid or has expired.")
            .into_response();
    }
    let tenant = params
        .iter()
        .find(|(k, _)| *k == "tenant")
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    if tenant.parse::<i64>().ok() != Some(cfg.tenant_id) {
        return Problem::not_found(format!("Tenant '{tenant}' was not found.")).into_response();
    }
    if let Some(scope) = required_scope(req.uri().path()) {
        if !cfg.granted_scopes.iter().any(|g| g == scope) {
            let mut p = Problem::new(
                StatusCode::FORBIDDEN,
                "The application does not have the required scope.",
            );
            p.errors
                .insert("scope".to_owned(), vec![format!("Missing scope {scope}.")]);
            return p.into_response();
        }
    }
    if let Some(limiter) = &s.limiter {
        if limiter
            .check_key(&(cfg.app_key.clone(), cfg.tenant_id))
            .is_err()
        {
            tracing::debug!(path = %req.uri().path(), "rate limit hit");
            return Problem::too_many_requests().into_response();
        }
    }
    next.run(req).await
}

/// `POST /connect/token` (OAuth2 client credentials, API-NOTES §2). Errors are OAuth2-style
/// `{"error": "..."}` bodies, not problem details.
async fn token(
    State(s): State<Arc<Shared>>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let oauth_error = |code: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": code })),
        )
            .into_response()
    };
    let Ok(Form(pairs)) = form else {
        return oauth_error("invalid_request");
    };
    let get = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match get("grant_type") {
        None => return oauth_error("invalid_request"),
        Some("client_credentials") => {}
        Some(_) => return oauth_error("unsupported_grant_type"),
    }
    if get("client_id") != Some(s.cfg.client_id.as_str())
        || get("client_secret") != Some(s.cfg.client_secret.as_str())
    {
        return oauth_error("invalid_client");
    }
    let access_token = crate::token::issue(&s.cfg);
    // A lifetime too long for the clock (a configuration value) means "never expires" here.
    let now = Instant::now();
    let expires = now
        .checked_add(Duration::from_secs(s.cfg.token_lifetime_secs))
        .unwrap_or(now + Duration::from_secs(100 * 365 * 24 * 3600));
    s.tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(access_token.clone(), expires);
    Json(TokenResponse {
        access_token,
        expires_in: s.cfg.token_lifetime_secs,
        token_type: "Bearer".to_owned(),
        scope: Some(s.cfg.granted_scopes.join(" ")),
    })
    .into_response()
}

fn json<T: Serialize>(v: T) -> Response {
    Json(v).into_response()
}

/// Single record: `GET …/{resource}/{id}` (404 problem body when missing).
pub(crate) async fn get_one<T: Record>(
    State(s): State<Arc<Shared>>,
    Path(params): Path<Vec<(String, String)>>,
) -> Response {
    let raw = params
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let Ok(id) = raw.parse::<Id>() else {
        return Problem::bad_param("id", format!("The value '{raw}' is not a valid id."))
            .into_response();
    };
    let store = s.read();
    match store.get::<T>(id) {
        Some(r) => json(r.for_list()),
        None => Problem::not_found(format!("Record with id {id} was not found.")).into_response(),
    }
}

/// Pages the rows of `T` that pass `q` and `extra`, in `q`'s sort order (API-NOTES §5.1).
pub(crate) fn list_page<T: Record>(
    store: &Store,
    q: &ListQuery,
    extra: impl Fn(&T) -> bool,
) -> Page<T> {
    let rows = T::rows(&store.data);
    let index = T::index(store);
    let admit = |r: &&T| q.admits(*r) && extra(r);
    let ordered: Box<dyn Iterator<Item = &T>> = match (&q.ids, q.sort) {
        (Some(ids), SortField::Id) if !q.descending => Box::new(
            ids.iter()
                .filter_map(|id| index.by_id.get(id))
                .filter_map(|&i| rows.get(i)),
        ),
        (_, SortField::Id) if !q.descending => {
            Box::new(index.by_id.values().filter_map(|&i| rows.get(i)))
        }
        (_, SortField::Id) => Box::new(index.by_id.values().rev().filter_map(|&i| rows.get(i))),
        (_, SortField::ModifiedOn) if !q.descending => {
            Box::new(index.by_modified.values().filter_map(|&i| rows.get(i)))
        }
        (_, SortField::ModifiedOn) => Box::new(
            index
                .by_modified
                .values()
                .rev()
                .filter_map(|&i| rows.get(i)),
        ),
        (_, field) => {
            let mut v: Vec<&T> = rows.iter().filter(admit).collect();
            match field {
                SortField::Priority => v.sort_by_key(|r| (r.priority_rank(), r.id())),
                _ => v.sort_by_key(|r| (r.created_on(), r.id())),
            }
            if q.descending {
                v.reverse();
            }
            Box::new(v.into_iter())
        }
    };
    let filtered = ordered.filter(admit);
    let offset = (q.page - 1).saturating_mul(q.page_size);
    let (data, has_more, total) = if q.include_total {
        let all: Vec<&T> = filtered.collect();
        let total = all.len();
        let data: Vec<T> = all
            .iter()
            .skip(offset)
            .take(q.page_size)
            .map(|r| r.for_list())
            .collect();
        (
            data,
            total > offset.saturating_add(q.page_size),
            Some(total),
        )
    } else {
        let mut data: Vec<T> = filtered
            .skip(offset)
            .take(q.page_size + 1)
            .map(|r| r.for_list())
            .collect();
        let has_more = data.len() > q.page_size;
        data.truncate(q.page_size);
        (data, has_more, None)
    };
    Page {
        page: i32::try_from(q.page).unwrap_or(i32::MAX),
        page_size: i32::try_from(q.page_size).unwrap_or(i32::MAX),
        has_more,
        total_count: total.map(|t| i32::try_from(t).unwrap_or(i32::MAX)),
        data,
    }
}

pub(crate) const STANDARD_SORT: &[SortField] =
    &[SortField::Id, SortField::ModifiedOn, SortField::CreatedOn];

pub(crate) fn respond<T: Serialize>(r: Result<T, Problem>) -> Response {
    match r {
        Ok(v) => json(v),
        Err(p) => p.into_response(),
    }
}

/// `GET /jpm/v2/tenant/{tenant}/jobs`: common filters plus `customerId`, `locationId`,
/// `jobStatus` (comma list), `businessUnitId`, `jobTypeId`, `campaignId`, `number`, `priority`.
/// Deleted jobs (`active: false` in the dataset) are hidden unless `active=Any|False`, as for
/// every list here; rows never carry `active` (the list schema has no such field).
async fn list_jobs(
    State(s): State<Arc<Shared>>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(
            &p,
            &[
                SortField::Id,
                SortField::ModifiedOn,
                SortField::CreatedOn,
                SortField::Priority,
            ],
        )?;
        let customer = p.int("customerId")?;
        let location = p.int("locationId")?;
        let bu = p.int("businessUnitId")?;
        let jt = p.int("jobTypeId")?;
        let campaign = p.int("campaignId")?;
        let number = p.get("number").map(str::to_owned);
        let statuses: Option<Vec<String>> = p.get("jobStatus").map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        });
        let priority = p.get("priority").map(str::to_ascii_lowercase);
        let store = s.read();
        Ok(list_page::<Job>(&store, &q, |j| {
            customer.is_none_or(|c| j.customer_id == c)
                && location.is_none_or(|l| j.location_id == l)
                && bu.is_none_or(|b| j.business_unit_id == b)
                && jt.is_none_or(|t| j.job_type_id == t)
                && campaign.is_none_or(|c| j.campaign_id == Some(c))
                && number
                    .as_ref()
                    .is_none_or(|n| j.job_number.as_ref() == Some(n))
                && statuses
                    .as_ref()
                    .is_none_or(|st| st.contains(&j.job_status.to_ascii_lowercase()))
                && priority.as_ref().is_none_or(|pr| {
                    j.priority.as_deref().map(str::to_ascii_lowercase).as_ref() == Some(pr)
                })
        }))
    })())
}

/// `GET /jpm/v2/tenant/{tenant}/job-types` (also `orderBy`/`orderByDirection`, `name`).
async fn list_job_types(
    State(s): State<Arc<Shared>>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let name = p.get("name").map(str::to_lowercase);
        let store = s.read();
        Ok(list_page::<JobType>(&store, &q, |t| {
            name.as_ref()
                .is_none_or(|n| t.name.to_lowercase().contains(n))
        }))
    })())
}

/// `GET /crm/v2/tenant/{tenant}/customers` (also `name` contains, case-insensitive).
async fn list_customers(
    State(s): State<Arc<Shared>>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let name = p.get("name").map(str::to_lowercase);
        let store = s.read();
        Ok(list_page::<Customer>(&store, &q, |c| {
            name.as_ref()
                .is_none_or(|n| c.name.to_lowercase().contains(n))
        }))
    })())
}

/// `GET /crm/v2/tenant/{tenant}/locations` (also `customerId`).
async fn list_locations(
    State(s): State<Arc<Shared>>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let customer = p.int("customerId")?;
        let store = s.read();
        Ok(list_page::<Location>(&store, &q, |l| {
            customer.is_none_or(|c| l.customer_id == c)
        }))
    })())
}

/// `GET /settings/v2/tenant/{tenant}/business-units`.
async fn list_business_units(
    State(s): State<Arc<Shared>>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let store = s.read();
        Ok(list_page::<BusinessUnit>(&store, &q, |_| true))
    })())
}

/// `GET /crm/v2/tenant/{tenant}/customers/contacts`: needs `customerIds` (≤ 50) or a
/// `modifiedOnOrAfter`/`modifiedBefore` filter (API-NOTES §7.2); rows carry `customerId`.
async fn list_contacts(
    State(s): State<Arc<Shared>>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let customer_ids = p.ids("customerIds")?;
        if customer_ids.is_none() && !q.has_modified_filter() {
            return Err(Problem::bad_param(
                "customerIds",
                "Either customerIds or modifiedOnOrAfter/modifiedBefore must be specified.",
            ));
        }
        let store = s.read();
        Ok(list_page::<CustomerContact>(&store, &q, |c| {
            customer_ids
                .as_ref()
                .is_none_or(|ids| c.customer_id.is_some_and(|id| ids.contains(&id)))
        }))
    })())
}

/// `GET /crm/v2/tenant/{tenant}/customers/{id}/contacts`: rows without `customerId` (its schema
/// has none); 404 when the customer does not exist.
async fn list_customer_contacts(
    State(s): State<Arc<Shared>>,
    Path(params): Path<Vec<(String, String)>>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params(raw);
    let id_raw = params
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    respond((|| {
        let id = id_raw.parse::<Id>().map_err(|_| {
            Problem::bad_param("id", format!("The value '{id_raw}' is not a valid id."))
        })?;
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let store = s.read();
        if store.get::<Customer>(id).is_none() {
            return Err(Problem::not_found(format!(
                "Customer with id {id} was not found."
            )));
        }
        let mut page = list_page::<CustomerContact>(&store, &q, |c| c.customer_id == Some(id));
        for c in &mut page.data {
            c.customer_id = None;
        }
        Ok(page)
    })())
}

/// `GET …/export/{resource}` (API-NOTES §5.4): `from` / `continueFrom`, `includeRecentChanges`.
pub(crate) async fn export<T: Record>(
    State(s): State<Arc<Shared>>,
    tweak: Option<Extension<PageTweak>>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params(raw);
    let store = s.read();
    let page: Result<ExportPage<T>, Problem> = export_page(
        &store,
        &p,
        s.cfg.export_page_size,
        Utc::now(),
        tweak.map(|Extension(t)| t),
    );
    respond(page)
}
