//! [`SandboxConfig`]: the knobs of one sandbox (data size, credentials, limits).

use chrono::{DateTime, Utc};

/// Scopes the sandbox grants by default: every read scope the job and membership models can need,
/// plus the write scopes the note pusher needs (SPEC.md §2, the article's FAQ scope list).
/// Names follow `tn.<module>.<resource>:r|w` as in API-NOTES §2 and `samples/token-response.json`.
pub const DEFAULT_GRANTED_SCOPES: &[&str] = &[
    "tn.acc.invoices:r",
    "tn.acc.invoiceitems:r",
    "tn.acc.paymenttypes:r",
    "tn.acc.taxzones:r",
    "tn.crm.bookingprovidertags:r",
    "tn.crm.bookings:r",
    "tn.crm.customers:r",
    "tn.crm.customers:w",
    "tn.crm.leads:r",
    "tn.crm.leads:w",
    "tn.crm.locations:r",
    "tn.crm.locations:w",
    "tn.crm.tags:r",
    "tn.dis.appointmentassignments:r",
    "tn.dis.capacity:r",
    "tn.dis.capacity:w",
    "tn.dis.nonjobappointments:r",
    "tn.dis.zones:r",
    "tn.jpm.appointments:r",
    "tn.jpm.appointments:w",
    "tn.jpm.jobcancelreasons:r",
    "tn.jpm.jobholdreasons:r",
    "tn.jpm.jobs:r",
    "tn.jpm.jobs:w",
    "tn.jpm.jobtypes:r",
    "tn.mem.memberships:r",
    "tn.mem.membershiptypes:r",
    "tn.mem.recurringserviceevents:r",
    "tn.mem.recurringservices:r",
    "tn.mem.recurringservicetypes:r",
    "tn.mkt.campaigns:r",
    "tn.mkt.campaigns:w",
    "tn.mkt.campaigncategories:r",
    "tn.sls.estimates:r",
    "tn.stt.businessunits:r",
    "tn.stt.employees:r",
    "tn.stt.tagtypes:r",
    "tn.stt.technicians:r",
    "tn.stt.userroles:r",
    "tn.tlc.calls:r",
];

/// Everything that shapes one sandbox: generated data size, the clock the data is generated
/// against, the credentials it accepts and the limits it enforces.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Seed of the data generator's `StdRng`; the same seed, sizes and `now` give the same data.
    pub seed: u64,
    /// Number of customers to generate.
    pub customers: usize,
    /// Number of jobs to generate.
    pub jobs: usize,
    /// Days of history: jobs are created in `[now - history_days, now - 1 h]`.
    pub history_days: i64,
    /// The generator's "now" (UTC). Generated `modifiedOn` values are at most `now - 20 min`.
    /// The export feeds' 15-minute hold-back uses the real clock, not this value.
    pub now: DateTime<Utc>,
    /// The one tenant id the API paths accept (`/…/v2/tenant/{tenant}/…`); others get 404.
    pub tenant_id: i64,
    /// The `ST-App-Key` header value every API call must carry (API-NOTES §3).
    pub app_key: String,
    /// OAuth2 client id accepted by `POST /connect/token` (API-NOTES §2).
    pub client_id: String,
    /// OAuth2 client secret accepted by `POST /connect/token`.
    pub client_secret: String,
    /// Scopes put in the token response's `scope` (space-separated on the wire).
    pub granted_scopes: Vec<String>,
    /// Requests per second per (app key, tenant), burst of the same size; `None` or `Some(0)` =
    /// unlimited (API-NOTES §6: about 60). Over the limit: 429 with `Retry-After: 1` (seconds).
    pub rate_limit_per_sec: Option<u32>,
    /// Rows per export-feed response (API-NOTES §5.4 gives no number; the sandbox default is 500).
    pub export_page_size: usize,
    /// Lifetime of issued access tokens in seconds (`expires_in`; 900 in production).
    pub token_lifetime_secs: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: 42,
            customers: 200,
            jobs: 500,
            history_days: 120,
            now: Utc::now(),
            tenant_id: 123_456_789,
            app_key: "ak1.sandbox".to_owned(),
            client_id: "cid.sandbox".to_owned(),
            client_secret: "cs1.sandbox".to_owned(),
            granted_scopes: DEFAULT_GRANTED_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            rate_limit_per_sec: Some(60),
            export_page_size: 500,
            token_lifetime_secs: 900,
        }
    }
}
