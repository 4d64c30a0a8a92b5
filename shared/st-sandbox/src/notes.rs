//! Notes on jobs, customers and locations (API-NOTES §7.1, §7.2, §9; SPEC.md §10 "notes
//! POST/GET ... lists the notes received"):
//!
//! - `POST /jpm/v2/tenant/{tenant}/jobs/{id}/notes`, `POST /crm/v2/tenant/{tenant}/customers/{id}/notes`,
//!   `POST /crm/v2/tenant/{tenant}/locations/{id}/notes`: body `{text, pinToTop?, addToLocations?,
//!   addToCustomer?}`; 404 for an unknown record, 400 (naming the field) for a bad body or empty
//!   text, 403 without the write scope (`tn.jpm.jobs:w`, `tn.crm.customers:w`,
//!   `tn.crm.locations:w`). A customer note with `addToLocations: true` is also copied to the
//!   customer's active locations, a location note with `addToCustomer: true` to its customer.
//!   The answer is the note; job notes have no `id` (`Jpm.V2.NoteResponse`), customer and
//!   location notes do (`Crm.V2.NoteResponse`).
//! - `GET` on the same paths: the record's notes in creation order (ServiceTitan does not
//!   document its order), paged with `page`, `pageSize`, `includeTotal`; customer and location
//!   notes also take `createdOnOrAfter`/`createdBefore`/`modifiedOnOrAfter`/`modifiedBefore`.
//! - Admin `GET /__admin/notes` (optionally `?kind=job&id=…`): every note received, in order,
//!   with its record: `{"notes": [{"id", "target": {"kind", "id"}, "text", ...}]}`;
//!   `DELETE /__admin/notes` forgets them.
//!
//! The routes sit behind the same guard, counters and injected faults as every API path
//! (fault keys such as `"POST /jpm/v2/tenant/{tenant}/jobs/{id}/notes"`).

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use servicetitan::notes::{Note, NoteCreateRequest, NoteTarget};
use servicetitan::wire::{Customer, Id, Job, Location, Page};

use crate::problem::Problem;
use crate::query::{Params, SortField};
use crate::server::Shared;

/// The `createdById` of notes written through the API (the app's user).
pub const API_USER_ID: Id = 5120;
/// The first note id handed out.
const FIRST_NOTE_ID: Id = 99_000_001;

/// A note the sandbox received, with the record it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxNote {
    /// The note id (the sandbox gives every note one; job notes do not show it on the API).
    pub id: Id,
    /// The record.
    pub target: NoteTarget,
    /// The note body as received.
    pub text: String,
    /// Pinned to the top.
    pub is_pinned: bool,
    /// The API user.
    pub created_by_id: Id,
    /// When it was received (UTC).
    pub created_on: DateTime<Utc>,
    /// Last change (UTC).
    pub modified_on: DateTime<Utc>,
    /// For a copy made by `addToLocations` / `addToCustomer`: the id of the note posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<Id>,
}

impl SandboxNote {
    fn api_view(&self) -> Note {
        Note {
            id: match self.target {
                NoteTarget::Job(_) => None,
                _ => Some(self.id),
            },
            text: self.text.clone(),
            is_pinned: self.is_pinned,
            created_by_id: self.created_by_id,
            created_on: self.created_on,
            modified_on: self.modified_on,
        }
    }
}

/// Every note received, in order.
#[derive(Debug, Default)]
pub(crate) struct NoteBook {
    notes: Mutex<Vec<SandboxNote>>,
}

impl NoteBook {
    pub(crate) fn all(&self) -> Vec<SandboxNote> {
        self.notes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn clear(&self) {
        self.notes.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn add(
        &self,
        target: NoteTarget,
        req: &NoteCreateRequest,
        copied_from: Option<Id>,
    ) -> SandboxNote {
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        let now = Utc::now();
        let note = SandboxNote {
            id: FIRST_NOTE_ID + notes.len() as Id,
            target,
            text: req.text.clone(),
            is_pinned: req.pin_to_top.unwrap_or(false),
            created_by_id: API_USER_ID,
            created_on: now,
            modified_on: now,
            copied_from,
        };
        notes.push(note.clone());
        note
    }
}

/// The API routes (merged before the guard and counter layers are applied).
pub(crate) fn api_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/jpm/v2/tenant/{tenant}/jobs/{id}/notes",
            get(list_job_notes).post(post_job_note),
        )
        .route(
            "/crm/v2/tenant/{tenant}/customers/{id}/notes",
            get(list_customer_notes).post(post_customer_note),
        )
        .route(
            "/crm/v2/tenant/{tenant}/locations/{id}/notes",
            get(list_location_notes).post(post_location_note),
        )
}

/// The admin routes (nested under `/__admin`).
pub(crate) fn admin_routes() -> Router<Arc<Shared>> {
    Router::new().route("/notes", get(admin_notes).delete(admin_clear))
}

#[derive(Clone, Copy)]
enum Kind {
    Job,
    Customer,
    Location,
}

impl Kind {
    fn target(self, id: Id) -> NoteTarget {
        match self {
            Kind::Job => NoteTarget::Job(id),
            Kind::Customer => NoteTarget::Customer(id),
            Kind::Location => NoteTarget::Location(id),
        }
    }

    fn write_scope(self) -> &'static str {
        match self {
            Kind::Job => "tn.jpm.jobs:w",
            Kind::Customer => "tn.crm.customers:w",
            Kind::Location => "tn.crm.locations:w",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Job => "Job",
            Kind::Customer => "Customer",
            Kind::Location => "Location",
        }
    }
}

fn path_id(params: &[(String, String)]) -> Result<Id, Problem> {
    let raw = params
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    raw.parse::<Id>()
        .map_err(|_| Problem::bad_param("id", format!("The value '{raw}' is not a valid id.")))
}

/// The record exists (404 otherwise).
fn check_record(s: &Shared, kind: Kind, id: Id) -> Result<(), Problem> {
    let store = s.read();
    let exists = match kind {
        Kind::Job => store.get::<Job>(id).is_some(),
        Kind::Customer => store.get::<Customer>(id).is_some(),
        Kind::Location => store.get::<Location>(id).is_some(),
    };
    if exists {
        Ok(())
    } else {
        Err(Problem::not_found(format!(
            "{} with id {id} was not found.",
            kind.name()
        )))
    }
}

async fn post_job_note(
    s: State<Arc<Shared>>,
    p: Path<Vec<(String, String)>>,
    body: String,
) -> Response {
    post_note(s, p, body, Kind::Job).await
}

async fn post_customer_note(
    s: State<Arc<Shared>>,
    p: Path<Vec<(String, String)>>,
    body: String,
) -> Response {
    post_note(s, p, body, Kind::Customer).await
}

async fn post_location_note(
    s: State<Arc<Shared>>,
    p: Path<Vec<(String, String)>>,
    body: String,
) -> Response {
    post_note(s, p, body, Kind::Location).await
}

async fn post_note(
    State(s): State<Arc<Shared>>,
    Path(params): Path<Vec<(String, String)>>,
    body: String,
    kind: Kind,
) -> Response {
    let result: Result<Note, Problem> = (|| {
        let id = path_id(&params)?;
        let scope = kind.write_scope();
        if !s.cfg.granted_scopes.iter().any(|g| g == scope) {
            let mut p = Problem::new(
                StatusCode::FORBIDDEN,
                "The application does not have the required scope.",
            );
            p.errors
                .insert("scope".to_owned(), vec![format!("Missing scope {scope}.")]);
            return Err(p);
        }
        check_record(&s, kind, id)?;
        let de = &mut serde_json::Deserializer::from_str(&body);
        let req: NoteCreateRequest = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = match e.path().to_string() {
                p if p == "." => "request".to_owned(),
                p => p,
            };
            Problem::bad_param(&field, e.inner().to_string())
        })?;
        if req.text.trim().is_empty() {
            return Err(Problem::bad_param("text", "The Text field is required."));
        }
        let target = kind.target(id);
        let note = s.notes.add(target, &req, None);
        tracing::info!(%target, note_id = note.id, "sandbox note received");
        match kind {
            Kind::Customer if req.add_to_locations == Some(true) => {
                let locations: Vec<Id> = s
                    .read()
                    .data
                    .locations
                    .iter()
                    .filter(|l| l.customer_id == id && l.active)
                    .map(|l| l.id)
                    .collect();
                for loc in locations {
                    s.notes.add(NoteTarget::Location(loc), &req, Some(note.id));
                }
            }
            Kind::Location if req.add_to_customer == Some(true) => {
                let customer = s.read().get::<Location>(id).map(|l| l.customer_id);
                if let Some(c) = customer {
                    s.notes.add(NoteTarget::Customer(c), &req, Some(note.id));
                }
            }
            _ => {}
        }
        Ok(note.api_view())
    })();
    match result {
        Ok(note) => Json(note).into_response(),
        Err(p) => p.into_response(),
    }
}

async fn list_job_notes(
    s: State<Arc<Shared>>,
    p: Path<Vec<(String, String)>>,
    q: Query<Vec<(String, String)>>,
) -> Response {
    list_notes(s, p, q, Kind::Job).await
}

async fn list_customer_notes(
    s: State<Arc<Shared>>,
    p: Path<Vec<(String, String)>>,
    q: Query<Vec<(String, String)>>,
) -> Response {
    list_notes(s, p, q, Kind::Customer).await
}

async fn list_location_notes(
    s: State<Arc<Shared>>,
    p: Path<Vec<(String, String)>>,
    q: Query<Vec<(String, String)>>,
) -> Response {
    list_notes(s, p, q, Kind::Location).await
}

async fn list_notes(
    State(s): State<Arc<Shared>>,
    Path(params): Path<Vec<(String, String)>>,
    Query(raw): Query<Vec<(String, String)>>,
    kind: Kind,
) -> Response {
    let p = Params(raw);
    let result: Result<Page<Note>, Problem> = (|| {
        let id = path_id(&params)?;
        let q = crate::query::ListQuery::parse(&p, &[SortField::Id])?;
        check_record(&s, kind, id)?;
        let target = kind.target(id);
        let dated = !matches!(kind, Kind::Job);
        let rows: Vec<SandboxNote> = s
            .notes
            .all()
            .into_iter()
            .filter(|n| n.target == target)
            .filter(|n| {
                !dated
                    || (q.created_on_or_after.is_none_or(|t| n.created_on >= t)
                        && q.created_before.is_none_or(|t| n.created_on < t)
                        && q.modified_on_or_after.is_none_or(|t| n.modified_on >= t)
                        && q.modified_before.is_none_or(|t| n.modified_on < t))
            })
            .collect();
        let total = rows.len();
        let offset = (q.page - 1).saturating_mul(q.page_size);
        let data: Vec<Note> = rows
            .iter()
            .skip(offset)
            .take(q.page_size)
            .map(SandboxNote::api_view)
            .collect();
        Ok(Page {
            page: i32::try_from(q.page).unwrap_or(i32::MAX),
            page_size: i32::try_from(q.page_size).unwrap_or(i32::MAX),
            has_more: total > offset.saturating_add(q.page_size),
            total_count: q
                .include_total
                .then(|| i32::try_from(total).unwrap_or(i32::MAX)),
            data,
        })
    })();
    match result {
        Ok(page) => Json(page).into_response(),
        Err(p) => p.into_response(),
    }
}

#[derive(Deserialize)]
struct AdminFilter {
    kind: Option<String>,
    id: Option<Id>,
}

/// `GET /__admin/notes[?kind=job|customer|location][&id=N]`.
async fn admin_notes(State(s): State<Arc<Shared>>, Query(f): Query<AdminFilter>) -> Response {
    let notes: Vec<SandboxNote> = s
        .notes
        .all()
        .into_iter()
        .filter(|n| f.kind.as_deref().is_none_or(|k| k == n.target.kind()))
        .filter(|n| f.id.is_none_or(|id| id == n.target.id()))
        .collect();
    Json(serde_json::json!({ "notes": notes })).into_response()
}

/// `DELETE /__admin/notes` → 204.
async fn admin_clear(State(s): State<Arc<Shared>>) -> Response {
    s.notes.clear();
    StatusCode::NO_CONTENT.into_response()
}
