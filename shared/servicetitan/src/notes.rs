//! Notes on jobs, customers and locations (API-NOTES §7.1, §7.2, §9): the record a note goes on,
//! the create request, the note as ServiceTitan returns it, and (feature `client`) the client
//! calls that create and list them.
//!
//! The job note response (`Jpm.V2.NoteResponse`) has no `id`; the customer and location ones
//! (`Crm.V2.NoteResponse`) do, so [`Note::id`] is optional.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::wire::Id;

/// The ServiceTitan record a note is written on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum NoteTarget {
    /// A job: `POST /jpm/v2/tenant/{tenant}/jobs/{id}/notes`.
    Job(Id),
    /// A customer: `POST /crm/v2/tenant/{tenant}/customers/{id}/notes`.
    Customer(Id),
    /// A location: `POST /crm/v2/tenant/{tenant}/locations/{id}/notes`.
    Location(Id),
}

impl NoteTarget {
    /// The API module (`jpm` or `crm`).
    pub fn module(self) -> &'static str {
        match self {
            NoteTarget::Job(_) => "jpm",
            NoteTarget::Customer(_) | NoteTarget::Location(_) => "crm",
        }
    }

    /// The path after the tenant: `jobs/{id}/notes`, `customers/{id}/notes`,
    /// `locations/{id}/notes`.
    pub fn notes_path(self) -> String {
        match self {
            NoteTarget::Job(id) => format!("jobs/{id}/notes"),
            NoteTarget::Customer(id) => format!("customers/{id}/notes"),
            NoteTarget::Location(id) => format!("locations/{id}/notes"),
        }
    }

    /// The route template, for logs and request counters:
    /// `/jpm/v2/tenant/{tenant}/jobs/{id}/notes` etc.
    pub fn route(self) -> &'static str {
        match self {
            NoteTarget::Job(_) => "/jpm/v2/tenant/{tenant}/jobs/{id}/notes",
            NoteTarget::Customer(_) => "/crm/v2/tenant/{tenant}/customers/{id}/notes",
            NoteTarget::Location(_) => "/crm/v2/tenant/{tenant}/locations/{id}/notes",
        }
    }

    /// The record id.
    pub fn id(self) -> Id {
        match self {
            NoteTarget::Job(id) | NoteTarget::Customer(id) | NoteTarget::Location(id) => id,
        }
    }

    /// `job`, `customer` or `location`.
    pub fn kind(self) -> &'static str {
        match self {
            NoteTarget::Job(_) => "job",
            NoteTarget::Customer(_) => "customer",
            NoteTarget::Location(_) => "location",
        }
    }
}

impl std::fmt::Display for NoteTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind(), self.id())
    }
}

/// The body of a note POST (`Jpm.V2.CreateNoteRequest`, `Crm.V2.CreateNoteRequest` and the
/// location variant; API-NOTES §9). `addToLocations` exists only on customer notes and
/// `addToCustomer` only on location notes; `None` fields are not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteCreateRequest {
    /// The note body (plain text).
    pub text: String,
    /// Pin the note to the top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_to_top: Option<bool>,
    /// Customer notes: copy to the customer's active locations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_to_locations: Option<bool>,
    /// Location notes: copy to the location's customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_to_customer: Option<bool>,
}

impl NoteCreateRequest {
    /// A plain, unpinned note that is not copied anywhere.
    pub fn text(text: impl Into<String>) -> Self {
        NoteCreateRequest {
            text: text.into(),
            pin_to_top: None,
            add_to_locations: None,
            add_to_customer: None,
        }
    }
}

/// A note as ServiceTitan returns it (`Jpm.V2.NoteResponse` / `Crm.V2.NoteResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// Customer and location notes only (job notes have no id in this API version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// The note body.
    pub text: String,
    /// Pinned to the top.
    #[serde(default)]
    pub is_pinned: bool,
    /// The API user the note is attributed to.
    #[serde(default)]
    pub created_by_id: Id,
    /// Creation time (UTC).
    pub created_on: DateTime<Utc>,
    /// Last change (UTC).
    pub modified_on: DateTime<Utc>,
}

#[cfg(feature = "client")]
mod calls {
    use super::{Note, NoteCreateRequest, NoteTarget};
    use crate::client::{ApiError, Client, PostRetry};
    use crate::wire::Page;

    impl Client {
        /// Create a note on `target` (API-NOTES §9). A POST is not idempotent, so it is retried
        /// only when ServiceTitan cannot have acted on it: 429 (after `Retry-After`), 401 once
        /// with a new token, and connection failures before the request was sent. A 5xx or a
        /// timeout is returned at once: the note may or may not exist, and the caller decides
        /// (the note pusher looks for the event's marker before posting again).
        ///
        /// Errors: [`ApiError::Status`] (404 unknown record, 400 validation, 5xx, 429 after the
        /// retries), [`ApiError::Transport`], [`ApiError::Decode`].
        pub async fn post_note(
            &self,
            target: NoteTarget,
            note: &NoteCreateRequest,
        ) -> Result<Note, ApiError> {
            let body = serde_json::to_value(note).map_err(|e| ApiError::Decode {
                endpoint: target.route().to_owned(),
                path: String::new(),
                message: format!("note request does not serialize: {e}"),
            })?;
            self.post_json(
                target.module(),
                &target.notes_path(),
                target.route(),
                &body,
                PostRetry::OnlyWhenNotProcessed,
            )
            .await
        }

        /// One page of the notes of `target` (`page` is 1-based). The order is ServiceTitan's
        /// (not documented); callers that look for one note read every page they need.
        ///
        /// Errors: as [`Client::get`]; 404 when the record does not exist.
        pub async fn notes_page(
            &self,
            target: NoteTarget,
            page: u32,
            page_size: u32,
        ) -> Result<Page<Note>, ApiError> {
            let query = [
                ("page", page.to_string()),
                ("pageSize", page_size.to_string()),
            ];
            self.get_path(
                target.module(),
                &target.notes_path(),
                target.route(),
                &query,
            )
            .await
        }

        /// The first note of `target` for which `matches` is true, reading pages of
        /// `page_size` until one matches, the notes end, or `max_pages` pages were read.
        ///
        /// Errors: as [`Client::notes_page`].
        pub async fn find_note(
            &self,
            target: NoteTarget,
            page_size: u32,
            max_pages: u32,
            matches: impl Fn(&Note) -> bool,
        ) -> Result<Option<Note>, ApiError> {
            for page in 1..=max_pages.max(1) {
                let p = self.notes_page(target, page, page_size).await?;
                if let Some(found) = p.data.iter().find(|n| matches(n)) {
                    return Ok(Some(found.clone()));
                }
                if !p.has_more || p.data.is_empty() {
                    return Ok(None);
                }
            }
            tracing::warn!(%target, max_pages, "note search stopped at the page limit");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_trip() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/servicetitan/samples"
        );
        let Ok(job_req) = std::fs::read_to_string(format!("{dir}/job-note-create-request.json"))
        else {
            eprintln!("skipped: samples not found at {dir}");
            return;
        };
        let req: NoteCreateRequest = serde_json::from_str(&job_req).unwrap();
        assert_eq!(req.pin_to_top, Some(false));
        let loc: NoteCreateRequest = serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}/location-note-create-request.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(loc.add_to_customer, Some(false));
        let job_resp: Note = serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}/job-note-create-response.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(job_resp.id, None);
        let crm_resp: Note = serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}/note-create-response.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(crm_resp.id, Some(99_001_234));
        assert!(crm_resp.is_pinned);
    }

    #[test]
    fn request_omits_unset_options() {
        let json = serde_json::to_value(NoteCreateRequest::text("hi")).unwrap();
        assert_eq!(json, serde_json::json!({"text": "hi"}));
    }

    #[test]
    fn target_paths() {
        assert_eq!(NoteTarget::Job(7).notes_path(), "jobs/7/notes");
        assert_eq!(NoteTarget::Customer(8).module(), "crm");
        assert_eq!(NoteTarget::Location(9).to_string(), "location 9");
        let json = serde_json::to_value(NoteTarget::Location(9)).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "location", "id": 9}));
    }
}
