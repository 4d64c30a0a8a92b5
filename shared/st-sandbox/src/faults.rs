//! Injected faults (SPEC.md §10 "injects faults"): what a queued [`Fault`] does to the API
//! request it matches. Faults are queued through `POST /__admin/faults` (or
//! [`crate::RunningSandbox::add_fault`]) and consumed by matching requests in queue order.
//!
//! One fault can combine several effects on the request it applies to, in this order:
//!
//! 1. `expireTokens`: every issued access token is forgotten first, so this request (and every
//!    later one with an old token) gets 401 until the client fetches a new token (token expiry
//!    mid-run; with `skip` it happens after the Nth matching request);
//! 2. `latencyMs`: the request is held that long (slow responses); `hang`: the request is never
//!    answered (held until the client goes away). A hang with `skip` is how a test "kills" an
//!    invocation at a chosen request: it waits until [`crate::RunningSandbox::hangs_started`]
//!    moves, then drops the run future;
//! 3. `status`: answered with that status and a problem body instead of the real answer
//!    (5xx bursts; 429 storms with `Retry-After: retryAfterSecs`, default 1, or an HTTP date
//!    with `retryAfterHttpDate`);
//! 4. `repeatRows` / `duplicateRows` (export feeds only): the page repeats up to `repeatRows`
//!    rows of the previous page (the rows at and just before `from`, as they are now) before its
//!    own rows, and repeats its first `duplicateRows` rows at its end, as ServiceTitan's
//!    `includeRecentChanges=true` feeds may; the continuation token is unaffected;
//! 5. `changes`: right after the answer is produced (before the client reads it), `count`
//!    records of `resource` (or exactly `ids`) are changed as the admin record patch does
//!    (`patch`, default a marker text in one field of the resource, and `modifiedOn` = now), so
//!    the client's next page sees a changed world ("changes between pages").
//!
//! `skip` lets that many matching requests pass untouched before the fault applies; `times`
//! is how many matching requests it then applies to.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use servicetitan::wire::Id;

use crate::dataset::{Resource, Store};
use crate::error::SandboxError;

/// An injected fault: the next `times` API requests matching `endpoint` (a counter key such as
/// `"GET /jpm/v2/tenant/{tenant}/export/jobs"`; absent = any API request), after `skip` matching
/// requests have passed, get the effects set here (module docs). JSON (camelCase):
/// `{"status": 503, "times": 2, "skip": 0, "latencyMs": 0, "endpoint": "GET …",
/// "retryAfterSecs": 1, "retryAfterHttpDate": false, "expireTokens": false, "hang": false,
/// "repeatRows": 0,
/// "duplicateRows": 0, "changes": {"resource": "jobs", "count": 2, "ids": null, "patch": null,
/// "seed": 0}}`; every field is optional (`times` defaults to 1).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// Answer this status (problem body) instead of the real answer.
    #[serde(default)]
    pub status: Option<u16>,
    /// Hold the request this long before answering.
    #[serde(default)]
    pub latency_ms: u64,
    /// Requests the fault applies to (at least 1).
    #[serde(default = "one")]
    pub times: u32,
    /// Matching requests that pass untouched before the fault applies.
    #[serde(default)]
    pub skip: u32,
    /// Counter key of the requests it matches (`"GET /jpm/v2/tenant/{tenant}/export/jobs"`);
    /// `None` = every API request.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `Retry-After` seconds of an injected 429 (default 1).
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Send the 429's `Retry-After` as an HTTP date (now + `retryAfterSecs`) instead of seconds.
    #[serde(default)]
    pub retry_after_http_date: bool,
    /// Forget every issued token before this request is checked (it then gets 401).
    #[serde(default)]
    pub expire_tokens: bool,
    /// Never answer this request (it is held until the client goes away).
    #[serde(default)]
    pub hang: bool,
    /// Export pages: repeat up to this many rows of the previous page before the page's rows.
    #[serde(default)]
    pub repeat_rows: usize,
    /// Export pages: repeat this many of the page's first rows at its end.
    #[serde(default)]
    pub duplicate_rows: usize,
    /// Records changed right after this request is answered.
    #[serde(default)]
    pub changes: Option<Changes>,
}

fn one() -> u32 {
    1
}

impl Default for Fault {
    fn default() -> Self {
        Fault {
            status: None,
            latency_ms: 0,
            times: 1,
            skip: 0,
            endpoint: None,
            retry_after_secs: None,
            retry_after_http_date: false,
            expire_tokens: false,
            hang: false,
            repeat_rows: 0,
            duplicate_rows: 0,
            changes: None,
        }
    }
}

/// "Changes between pages": which records a [`Fault`] changes after its request is answered.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    /// Resource name as in fixtures and admin paths (`jobs`, `appointments`, `customers`,
    /// `contacts`...). Job canceled logs are immutable and cannot be changed.
    pub resource: String,
    /// How many records to change (picked at random with `seed` when `ids` is absent).
    #[serde(default = "one_usize")]
    pub count: usize,
    /// Exactly these records (missing ids are ignored).
    #[serde(default)]
    pub ids: Option<Vec<Id>>,
    /// JSON merge-patch applied to each record; default: a marker text
    /// (`"changed between pages <n>"`) in one field of the resource ([`default_change`]), or
    /// only `modifiedOn` for resources without such a field.
    #[serde(default)]
    pub patch: Option<serde_json::Value>,
    /// Seed of the record pick.
    #[serde(default)]
    pub seed: u64,
}

fn one_usize() -> usize {
    1
}

/// What an applying fault asks the export handler to do to its page.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PageTweak {
    pub(crate) repeat_rows: usize,
    pub(crate) duplicate_rows: usize,
}

impl Fault {
    /// Why the fault cannot be queued, if it cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.times == 0 {
            return Some("times must be at least 1".to_owned());
        }
        if let Some(c) = &self.changes {
            match Resource::parse(&c.resource) {
                None => {
                    return Some(format!(
                        "unknown resource '{}' in changes; use one of {}",
                        c.resource,
                        crate::dataset::FIXTURE_KEYS.join(", ")
                    ))
                }
                Some(Resource::JobCanceledLogs) => {
                    return Some("job canceled logs are immutable; they cannot change".to_owned())
                }
                Some(_) => {}
            }
            if c.patch.as_ref().is_some_and(|p| !p.is_object()) {
                return Some("changes.patch must be a JSON object (a merge-patch)".to_owned());
            }
        }
        None
    }

    pub(crate) fn page_tweak(&self) -> Option<PageTweak> {
        (self.repeat_rows > 0 || self.duplicate_rows > 0).then_some(PageTweak {
            repeat_rows: self.repeat_rows,
            duplicate_rows: self.duplicate_rows,
        })
    }
}

/// The default merge-patch of "changes between pages": a marker in a field the resource's
/// details show (`summary` of jobs, estimates and invoices, `specialInstructions` of
/// appointments, `memo` of contacts, memberships and recurring services, `name` of customers
/// and locations, `status` of assignments and recurring service events); `{}` (only
/// `modifiedOn` moves) for the others.
pub fn default_change(resource: &str, marker: &str) -> serde_json::Value {
    let field = match resource {
        "jobs" | "estimates" | "invoices" => "summary",
        "appointments" => "specialInstructions",
        "contacts" | "memberships" | "recurringServices" => "memo",
        "customers" | "locations" => "name",
        "appointmentAssignments" | "recurringServiceEvents" => "status",
        _ => return serde_json::json!({}),
    };
    serde_json::json!({ field: marker })
}

/// Applies `changes` to the store (the `n`-th change set of this sandbox); returns the ids
/// changed.
pub(crate) fn apply_changes(
    store: &mut Store,
    changes: &Changes,
    n: u64,
) -> Result<Vec<Id>, SandboxError> {
    let Some(res) = Resource::parse(&changes.resource) else {
        return Ok(Vec::new());
    };
    let ids: Vec<Id> = match &changes.ids {
        Some(ids) => ids.clone(),
        None => {
            let all = res.ids(store);
            let mut rng = StdRng::seed_from_u64(changes.seed ^ n.rotate_left(32));
            let picked: BTreeSet<Id> = all
                .sample(&mut rng, changes.count.min(all.len()))
                .copied()
                .collect();
            picked.into_iter().collect()
        }
    };
    let patch = changes.patch.clone().unwrap_or_else(|| {
        default_change(&changes.resource, &format!("changed between pages {n}"))
    });
    let mut changed = Vec::with_capacity(ids.len());
    for id in ids {
        if res.patch(store, id, &patch)?.is_some() {
            changed.push(id);
        }
    }
    tracing::debug!(resource = res.name(), ?changed, "changed between pages");
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_read_with_defaults_and_are_checked() {
        let f: Fault = serde_json::from_str("{}").unwrap();
        assert_eq!(f, Fault::default());
        let f: Fault = serde_json::from_str(
            r#"{"changes": {"resource": "jobs"}, "skip": 3, "repeatRows": 2}"#,
        )
        .unwrap();
        assert_eq!(f.skip, 3);
        assert_eq!(f.changes.as_ref().unwrap().count, 1);
        assert!(f.problem().is_none());
        assert!(f.page_tweak().is_some());
        let bad = |json: &str| serde_json::from_str::<Fault>(json).unwrap().problem();
        assert!(bad(r#"{"times": 0}"#).unwrap().contains("times"));
        assert!(bad(r#"{"changes": {"resource": "nope"}}"#)
            .unwrap()
            .contains("unknown resource"));
        assert!(bad(r#"{"changes": {"resource": "jobCanceledLogs"}}"#)
            .unwrap()
            .contains("immutable"));
        assert!(bad(r#"{"changes": {"resource": "jobs", "patch": 3}}"#).is_some());
    }

    #[test]
    fn default_changes_name_a_field() {
        assert_eq!(
            default_change("jobs", "x"),
            serde_json::json!({"summary": "x"})
        );
        assert_eq!(default_change("zones", "x"), serde_json::json!({}));
    }
}
