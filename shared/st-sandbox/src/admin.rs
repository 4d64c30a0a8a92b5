//! The admin surface under `/__admin` (SPEC.md §10): health, request counters, fixture loading,
//! record mutation and injected faults (`GET`/`POST`/`DELETE /__admin/faults`: 5xx bursts, 429
//! storms with `Retry-After`, token expiry after the Nth request, slow or held requests, repeated
//! export rows, changes between pages; module `faults`, docs/sandbox.md). No auth; not counted;
//! outside the real API paths.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use servicetitan::wire::Id;

use crate::dataset::{Dataset, Record, Resource, Store};
use crate::error::SandboxError;
use crate::faults::Fault;
use crate::server::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/health",
            get(|| async { Json(serde_json::json!({ "status": "ok" })) }),
        )
        .route("/requests", get(requests))
        .route("/requests/reset", post(reset))
        .route("/fixture", post(load_fixture))
        .route("/records/{resource}/{id}", post(patch_record))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/tokens/expire", post(expire_tokens))
        .merge(crate::webhooks::router())
}

/// `POST /__admin/faults` with `{"status": 503, "times": 2, "skip": 0, "latencyMs": 0,
/// "endpoint": "GET /jpm/v2/tenant/{tenant}/export/jobs", "retryAfterSecs": 1,
/// "retryAfterHttpDate": false, "expireTokens": false, "repeatRows": 0, "duplicateRows": 0,
/// "changes": {"resource": "jobs", "count": 2, "ids": [..], "patch": {..}, "seed": 7}}` (all
/// optional; `times` defaults to 1; effects in module `faults`) queues a fault for the next
/// matching API requests → 200 `{"queued": n}`; 400 names what is wrong.
async fn add_fault(State(s): State<Arc<Shared>>, body: String) -> Response {
    match serde_json::from_str::<Fault>(&body) {
        Ok(f) => match f.problem() {
            Some(problem) => admin_error(StatusCode::BAD_REQUEST, problem),
            None => Json(serde_json::json!({ "queued": s.add_fault(f) })).into_response(),
        },
        Err(e) => admin_error(StatusCode::BAD_REQUEST, format!("bad fault: {e}")),
    }
}

/// `GET /__admin/faults` → `{"pending": [fault…], "held": n, "applied": n}`: the queued faults
/// (`skip`/`times` as they stand), requests held by an injected latency right now, and requests
/// a fault has applied to since start.
async fn list_faults(State(s): State<Arc<Shared>>) -> Response {
    Json(serde_json::json!({
        "pending": s.pending_faults(),
        "held": s.held(),
        "applied": s.faults_applied(),
    }))
    .into_response()
}

/// `DELETE /__admin/faults` → 204, no more injected faults.
async fn clear_faults(State(s): State<Arc<Shared>>) -> Response {
    s.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /__admin/tokens/expire` → 204; every issued token is now invalid (401 until a new one).
async fn expire_tokens(State(s): State<Arc<Shared>>) -> Response {
    s.expire_tokens();
    StatusCode::NO_CONTENT.into_response()
}

fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// `GET /__admin/requests` → `{"total": N, "byEndpoint": {"GET /jpm/v2/tenant/{tenant}/jobs": n}}`.
async fn requests(State(s): State<Arc<Shared>>) -> Response {
    Json(serde_json::json!({ "total": s.total(), "byEndpoint": s.counts() })).into_response()
}

/// `POST /__admin/requests/reset` → 204.
async fn reset(State(s): State<Arc<Shared>>) -> Response {
    s.reset_counts();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /__admin/fixture` with a fixture document replaces all data → 200 with record counts.
async fn load_fixture(State(s): State<Arc<Shared>>, body: String) -> Response {
    match Dataset::from_fixture_json(&body) {
        Ok(data) => {
            let counts = data.counts();
            *s.write() = Store::new(data);
            tracing::info!(%counts, "sandbox fixture loaded");
            Json(counts).into_response()
        }
        Err(e) => admin_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `POST /__admin/records/{resource}/{id}` with a JSON merge-patch (RFC 7396) body: applies it,
/// sets `modifiedOn` to now (real clock, UTC; strictly later than before) → 200 with the record.
async fn patch_record(
    State(s): State<Arc<Shared>>,
    Path((resource, id)): Path<(String, String)>,
    body: String,
) -> Response {
    let Some(res) = Resource::parse(&resource) else {
        return admin_error(
            StatusCode::NOT_FOUND,
            format!(
                "unknown resource '{resource}'; use one of {}",
                crate::dataset::FIXTURE_KEYS.join(", ")
            ),
        );
    };
    let Ok(id) = id.parse::<Id>() else {
        return admin_error(StatusCode::BAD_REQUEST, format!("'{id}' is not an id"));
    };
    let patch: serde_json::Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")),
    };
    let mut store = s.write();
    let result = res.patch(&mut store, id, &patch);
    match result {
        Ok(Some(v)) => Json(v).into_response(),
        Ok(None) => admin_error(
            StatusCode::NOT_FOUND,
            format!("{} {id} not found", res.name()),
        ),
        Err(e) => admin_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// Applies `patch` to record `id` of `T`; `Ok(None)` when there is no such record.
pub(crate) fn patch_in<T: Record>(
    store: &mut Store,
    res: Resource,
    id: Id,
    patch: &serde_json::Value,
) -> Result<Option<serde_json::Value>, SandboxError> {
    let Some(&pos) = T::index(store).by_id.get(&id) else {
        return Ok(None);
    };
    let err = |message: String| SandboxError::Patch {
        resource: res.name().to_owned(),
        id,
        message,
    };
    let Some(current) = T::rows(&store.data).get(pos) else {
        return Ok(None);
    };
    let mut doc = serde_json::to_value(current).map_err(|e| err(e.to_string()))?;
    merge_patch(&mut doc, patch);
    let mut updated: T = serde_path_to_error::deserialize(doc)
        .map_err(|e| err(format!("field `{}`: {}", e.path(), e.inner())))?;
    if updated.id() != id {
        return Err(err("the id cannot be changed".to_owned()));
    }
    if res == Resource::Contacts {
        let v = serde_json::to_value(&updated).map_err(|e| err(e.to_string()))?;
        if v.get("customerId").is_none_or(serde_json::Value::is_null) {
            return Err(err("customerId cannot be removed from a contact".to_owned()));
        }
    }
    updated.set_modified_on(next_modified(current.modified_on()));
    let out = serde_json::to_value(&updated).map_err(|e| err(e.to_string()))?;
    if let Some(slot) = T::rows_mut(&mut store.data).get_mut(pos) {
        *slot = updated;
    }
    store.reindex();
    tracing::info!(resource = res.name(), id, "sandbox record patched");
    Ok(Some(out))
}

/// Now (100 ns precision), but never at or before `previous`.
pub(crate) fn next_modified(previous: DateTime<Utc>) -> DateTime<Utc> {
    let now = Utc::now();
    let now = now - Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos() % 100));
    if now > previous {
        now
    } else {
        previous + Duration::microseconds(1)
    }
}

/// RFC 7396 JSON merge-patch.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match patch {
        serde_json::Value::Object(p) => {
            if !target.is_object() {
                *target = serde_json::Value::Object(serde_json::Map::new());
            }
            if let serde_json::Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc7396() {
        let mut doc = serde_json::json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, &serde_json::json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, serde_json::json!({"a": "z", "c": {"d": "e"}}));
    }
}
