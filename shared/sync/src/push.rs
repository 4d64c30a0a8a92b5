//! Push: one platform event → at most one ServiceTitan note, exactly once (SPEC.md §7). The
//! note-pusher Lambda calls [`Pusher::push`] for each SQS message; `stsync demo` calls the same.
//!
//! Order of operations for one event:
//! 1. Parse and validate ([`PushEvent::parse`]). Invalid → recorded `skipped/invalid_event`
//!    (when its workspace and event id are readable; otherwise only logged) and acknowledged.
//! 2. Read the event's note item: `done`/`skipped` → duplicate, nothing posted; `pending` with
//!    a live lease → busy (transient: SQS delivers it again later).
//! 3. Read the integration and apply its push settings ([`opportunity::push::plan`]); `none` or
//!    an event switched off → `skipped/not_pushed`.
//! 4. Route: the named opportunity's record of the destination, else the contact's opportunities
//!    newest first (External Updated At, index `gsi3`), the first that has one. A job
//!    destination skips memberships and inbound calls, which have no job, and falls back to the
//!    contact's most recent job. Nothing → `skipped/no_servicetitan_record` (the article: "there
//!    must be a ServiceTitan record in Hatch at the time of the sync").
//! 5. Claim the event id (conditional write, lease). A takeover of an expired or released claim
//!    keeps the first claim's record and first looks for the event's marker among that record's
//!    notes: found → done, nothing posted.
//! 6. POST the note; then mark done. 404 → `skipped/record_not_found`; 400/409/422 →
//!    `skipped/rejected`; anything else (429 after the client's retries, 5xx, timeouts,
//!    credentials, store failures) → the claim is released (flagged `uncertain` when the POST may
//!    have landed) and the error is returned as transient, so SQS retries and, after the queue's
//!    max receives, the DLQ keeps it.
//!
//! A crash between the POST and "done" leaves a `pending` claim; once its lease expires the next
//! delivery takes over, finds the marker and marks the event done without a second note. The
//! lease (default 5 minutes) must be longer than the function's timeout, so a lease only expires
//! after its holder is gone; the queue's visibility timeout must be longer than the lease, so a
//! redelivery does not find the claim still live.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use opportunity::note::{has_marker, note_text};
use opportunity::push::{plan, target_on, PushEvent, PushPlan};
use opportunity::settings::Destination;
use opportunity::{Integration, IntegrationStatus, Model};
use secrets::SecretSource;
use serde::Serialize;
use servicetitan::client::{ApiError, Client};
use servicetitan::notes::{NoteCreateRequest, NoteTarget};
use store::{NoteClaim, NoteClaimOutcome, NoteState, Store, StoreError};
use tracing::{info, instrument, warn};

use crate::runner::{client_for, Platform};
use crate::SyncError;

/// Knobs of the pusher.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// How long a claim is held (must exceed the function timeout; default 5 minutes).
    pub lease: Duration,
    /// Notes read per page when looking for a marker (default 50).
    pub marker_page_size: u32,
    /// Pages read at most when looking for a marker (default 20, so 1,000 notes).
    pub marker_max_pages: u32,
    /// The contact's opportunities considered when routing (default 25).
    pub routing_candidates: usize,
    /// Opportunities read at most when routing to a customer or location (default 5).
    pub routing_reads: usize,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            lease: Duration::minutes(5),
            marker_page_size: 50,
            marker_max_pages: 20,
            routing_candidates: 25,
            routing_reads: 5,
        }
    }
}

/// What happened to one event (all of these are acknowledged: SQS deletes the message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Delivery {
    /// The note was posted now.
    Posted {
        /// Workspace.
        workspace_id: String,
        /// Event id.
        event_id: String,
        /// The record it is on.
        target: NoteTarget,
        /// ServiceTitan's note id (customer and location notes).
        note_id: Option<i64>,
    },
    /// An earlier attempt had posted it (its marker was found); marked done, nothing posted.
    FoundPosted {
        /// Workspace.
        workspace_id: String,
        /// Event id.
        event_id: String,
        /// The record it is on.
        target: NoteTarget,
    },
    /// The event was already done or skipped: a duplicate delivery, nothing posted.
    Duplicate {
        /// Workspace.
        workspace_id: String,
        /// Event id.
        event_id: String,
        /// `done` or `skipped`.
        state: NoteState,
    },
    /// Not pushed, for good (a permanent outcome).
    Skipped {
        /// Workspace, when readable.
        workspace_id: Option<String>,
        /// Event id, when readable.
        event_id: Option<String>,
        /// `invalid_event`, `no_integration`, `integration_disconnected`, `not_pushed`,
        /// `no_servicetitan_record`, `record_not_found`, `rejected`.
        reason: &'static str,
        /// Details (field names, settings, statuses; never message content).
        detail: String,
        /// Whether the outcome is stored (`NOTE#<event id>`); not when the event has no readable
        /// workspace or event id.
        recorded: bool,
    },
}

/// A failure worth another delivery (the message goes back to the queue).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Another invocation holds a live claim on the event.
    #[error("workspace {workspace}: event {event_id} is being pushed by another invocation (claim held until {lease_until})")]
    Busy {
        /// Workspace.
        workspace: String,
        /// Event id.
        event_id: String,
        /// When that claim expires.
        lease_until: DateTime<Utc>,
    },
    /// ServiceTitan failed (429 after retries, 5xx, timeout, 401/403).
    #[error("workspace {workspace}: event {event_id}: ServiceTitan: {source}")]
    Api {
        /// Workspace.
        workspace: String,
        /// Event id.
        event_id: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// The store failed.
    #[error("workspace {workspace}: event {event_id}: store: {source}")]
    Store {
        /// Workspace.
        workspace: String,
        /// Event id.
        event_id: String,
        /// The store error.
        #[source]
        source: StoreError,
    },
    /// The integration's ServiceTitan client could not be built (secret missing or malformed,
    /// bad configuration): retried, then kept in the DLQ until someone fixes it and redrives.
    #[error("event {event_id}: {source}")]
    Client {
        /// Event id.
        event_id: String,
        /// The error (names the secret id, never its value).
        #[source]
        source: SyncError,
    },
}

/// Pushes events of many workspaces; holds one ServiceTitan client per integration for the
/// life of the process (tokens are cached inside the clients).
pub struct Pusher<S> {
    store: Store,
    secrets: S,
    platform: Platform,
    options: PushOptions,
    clients: Mutex<HashMap<String, Client>>,
}

impl<S: SecretSource> Pusher<S> {
    /// A pusher over `store`, with integration secrets from `secrets` and the platform settings.
    pub fn new(store: Store, secrets: S, platform: Platform, options: PushOptions) -> Self {
        Pusher {
            store,
            secrets,
            platform,
            options,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Push one event from its JSON text (an SQS message body) at `now` (see the module docs).
    ///
    /// Errors: [`PushError`] for failures worth another delivery; every permanent outcome is an
    /// `Ok(Delivery::Skipped)`.
    #[instrument(skip_all, fields(workspace, event_id))]
    pub async fn push(&self, body: &str, now: DateTime<Utc>) -> Result<Delivery, PushError> {
        let event = match PushEvent::parse(body) {
            Ok(e) => e,
            Err(e) => {
                let detail = e.to_string();
                let recorded = match (&e.workspace_id, &e.event_id) {
                    (Some(ws), Some(id)) => {
                        tracing::Span::current().record("workspace", ws.as_str());
                        tracing::Span::current().record("event_id", id.as_str());
                        self.store
                            .skip_note(ws, id, "invalid_event", &detail, now)
                            .await
                            .map_err(|source| PushError::Store {
                                workspace: ws.clone(),
                                event_id: id.clone(),
                                source,
                            })?;
                        true
                    }
                    _ => false,
                };
                warn!(field = %e.field, %detail, recorded, "invalid event acknowledged");
                return Ok(Delivery::Skipped {
                    workspace_id: e.workspace_id,
                    event_id: e.event_id,
                    reason: "invalid_event",
                    detail,
                    recorded,
                });
            }
        };
        let span = tracing::Span::current();
        span.record("workspace", event.workspace_id.as_str());
        span.record("event_id", event.event_id.as_str());
        let delivery = self.push_event(&event, now).await?;
        info!(delivery = ?DeliveryLog(&delivery), "event handled");
        Ok(delivery)
    }

    async fn push_event(
        &self,
        event: &PushEvent,
        now: DateTime<Utc>,
    ) -> Result<Delivery, PushError> {
        let ws = event.workspace_id.as_str();
        let id = event.event_id.as_str();
        let store_err = |source| PushError::Store {
            workspace: ws.to_owned(),
            event_id: id.to_owned(),
            source,
        };
        let skip = |reason: &'static str, detail: String| async move {
            self.store
                .skip_note(ws, id, reason, &detail, now)
                .await
                .map_err(store_err)?;
            Ok::<_, PushError>(Delivery::Skipped {
                workspace_id: Some(ws.to_owned()),
                event_id: Some(id.to_owned()),
                reason,
                detail,
                recorded: true,
            })
        };

        // A duplicate costs one read; a pending claim's record is kept for a takeover.
        let mut known_target = None;
        if let Some(record) = self
            .store
            .get_note_record(ws, id)
            .await
            .map_err(store_err)?
        {
            match record.state {
                NoteState::Done | NoteState::Skipped => {
                    return Ok(Delivery::Duplicate {
                        workspace_id: ws.to_owned(),
                        event_id: id.to_owned(),
                        state: record.state,
                    })
                }
                NoteState::Pending => match record.lease_until {
                    Some(until) if until > now => {
                        return Err(PushError::Busy {
                            workspace: ws.to_owned(),
                            event_id: id.to_owned(),
                            lease_until: until,
                        })
                    }
                    _ => known_target = record.target,
                },
            }
        }

        let Some(integration) = self.store.get_integration(ws).await.map_err(store_err)? else {
            return skip(
                "no_integration",
                format!("workspace {ws} has no integration"),
            )
            .await;
        };
        if integration.status != IntegrationStatus::Active {
            return skip(
                "integration_disconnected",
                "the integration is disconnected".into(),
            )
            .await;
        }
        let push_plan = match plan(&integration.push, event) {
            Ok(p) => p,
            Err(n) => {
                return skip(
                    "not_pushed",
                    format!("{} is off or none for this event", n.setting),
                )
                .await
            }
        };
        let target = match known_target {
            Some(t) => t,
            None => match self.route(event, push_plan).await.map_err(store_err)? {
                Some(t) => t,
                None => {
                    return skip(
                        "no_servicetitan_record",
                        format!(
                            "no opportunity of contact {} has a ServiceTitan {}",
                            event.contact_id,
                            push_plan.destination.as_str()
                        ),
                    )
                    .await
                }
            },
        };

        let claim = match self
            .store
            .claim_note(ws, id, target, now, self.options.lease)
            .await
            .map_err(store_err)?
        {
            NoteClaimOutcome::Claimed(c) => c,
            NoteClaimOutcome::Finished(r) => {
                return Ok(Delivery::Duplicate {
                    workspace_id: ws.to_owned(),
                    event_id: id.to_owned(),
                    state: r.state,
                })
            }
            NoteClaimOutcome::Busy { lease_until } => {
                return Err(PushError::Busy {
                    workspace: ws.to_owned(),
                    event_id: id.to_owned(),
                    lease_until,
                })
            }
        };
        let result = self
            .post_claimed(&integration, event, push_plan, &claim, now)
            .await;
        if let Err(e) = &result {
            // Give the event back so the next delivery can take it at once.
            let maybe_posted = match e {
                PushError::Api { source, .. } => !source.was_not_processed(),
                _ => false,
            };
            if let Err(release) = self.store.release_note(&claim, maybe_posted, now).await {
                warn!(error = %release, "claim not released; it expires with its lease");
            }
        }
        result
    }

    async fn post_claimed(
        &self,
        integration: &Integration,
        event: &PushEvent,
        push_plan: PushPlan,
        claim: &NoteClaim,
        now: DateTime<Utc>,
    ) -> Result<Delivery, PushError> {
        let ws = event.workspace_id.as_str();
        let id = event.event_id.as_str();
        let target = claim.target;
        let store_err = |source| PushError::Store {
            workspace: ws.to_owned(),
            event_id: id.to_owned(),
            source,
        };
        let client = self
            .client(integration)
            .await
            .map_err(|source| PushError::Client {
                event_id: id.to_owned(),
                source,
            })?;

        if claim.takeover {
            let found = client
                .find_note(
                    target,
                    self.options.marker_page_size,
                    self.options.marker_max_pages,
                    |n| has_marker(&n.text, id),
                )
                .await;
            match found {
                Ok(Some(note)) => {
                    self.store
                        .complete_note(claim, note.id, now)
                        .await
                        .map_err(store_err)?;
                    info!(%target, attempts = claim.attempts, "marker found: the note was already posted");
                    return Ok(Delivery::FoundPosted {
                        workspace_id: ws.to_owned(),
                        event_id: id.to_owned(),
                        target,
                    });
                }
                Ok(None) => {}
                Err(e) => return self.api_failure(claim, e, now).await,
            }
        }

        let text = note_text(event, push_plan.include_content);
        match client
            .post_note(target, &NoteCreateRequest::text(text))
            .await
        {
            Ok(note) => {
                if !self
                    .store
                    .complete_note(claim, note.id, now)
                    .await
                    .map_err(store_err)?
                {
                    warn!(%target, "note posted but the claim was taken over meanwhile");
                }
                Ok(Delivery::Posted {
                    workspace_id: ws.to_owned(),
                    event_id: id.to_owned(),
                    target,
                    note_id: note.id,
                })
            }
            Err(e) => self.api_failure(claim, e, now).await,
        }
    }

    /// 404 and validation answers are permanent outcomes; the rest is transient.
    async fn api_failure(
        &self,
        claim: &NoteClaim,
        e: ApiError,
        now: DateTime<Utc>,
    ) -> Result<Delivery, PushError> {
        let reason = match e.status() {
            Some(404) => "record_not_found",
            Some(400 | 409 | 422) => "rejected",
            _ => {
                return Err(PushError::Api {
                    workspace: claim.workspace.clone(),
                    event_id: claim.event_id.clone(),
                    source: e,
                })
            }
        };
        let detail = format!("{}: {e}", claim.target);
        self.store
            .skip_claimed_note(claim, reason, &detail, now)
            .await
            .map_err(|source| PushError::Store {
                workspace: claim.workspace.clone(),
                event_id: claim.event_id.clone(),
                source,
            })?;
        warn!(target = %claim.target, reason, "note not posted, for good");
        Ok(Delivery::Skipped {
            workspace_id: Some(claim.workspace.clone()),
            event_id: Some(claim.event_id.clone()),
            reason,
            detail,
            recorded: true,
        })
    }

    /// The destination's record: the named opportunity's, else the contact's opportunities
    /// newest first (see the module docs).
    async fn route(
        &self,
        event: &PushEvent,
        push_plan: PushPlan,
    ) -> Result<Option<NoteTarget>, StoreError> {
        let ws = event.workspace_id.as_str();
        let destination = push_plan.destination;
        if let Some(named) = &event.opportunity {
            if let Some(t) = self
                .target_of(ws, destination, named.model, &named.external_id)
                .await?
            {
                return Ok(Some(t));
            }
        }
        let candidates = self
            .store
            .contact_opportunities(ws, &event.contact_id, self.options.routing_candidates)
            .await?;
        let mut reads = 0;
        for (model, external_id) in candidates {
            if destination == Destination::Job {
                // The job id is the External ID: no read needed, and non-jobs never qualify.
                if let Some(t) =
                    target_on(destination, model, &external_id, None, &Default::default())
                {
                    return Ok(Some(t));
                }
                continue;
            }
            if reads == self.options.routing_reads {
                break;
            }
            reads += 1;
            if let Some(t) = self.target_of(ws, destination, model, &external_id).await? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    async fn target_of(
        &self,
        ws: &str,
        destination: Destination,
        model: Model,
        external_id: &str,
    ) -> Result<Option<NoteTarget>, StoreError> {
        let Some(stored) = self.store.get_opportunity(ws, model, external_id).await? else {
            return Ok(None);
        };
        let o = &stored.opportunity;
        Ok(target_on(
            destination,
            o.model,
            &o.external_id,
            o.external_contact_id.as_deref(),
            &o.details,
        ))
    }

    /// The integration's client, built once per process and integration settings.
    async fn client(&self, integration: &Integration) -> Result<Client, SyncError> {
        let key = format!(
            "{}|{:?}|{}|{}|{}",
            integration.workspace_id,
            integration.environment,
            integration.tenant_id,
            integration.client_id,
            integration.secret_id
        );
        if let Some(c) = self
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(c.clone());
        }
        let client = client_for(integration, &self.secrets, &self.platform).await?;
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, client.clone());
        Ok(client)
    }
}

impl PushError {
    /// The workspace, when known.
    pub fn workspace(&self) -> Option<&str> {
        match self {
            PushError::Busy { workspace, .. }
            | PushError::Api { workspace, .. }
            | PushError::Store { workspace, .. } => Some(workspace),
            PushError::Client { .. } => None,
        }
    }
}

/// A log view of a [`Delivery`] (no content, no personal data: ids, targets and reasons only).
struct DeliveryLog<'a>(&'a Delivery);

impl std::fmt::Debug for DeliveryLog<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Delivery::Posted { target, .. } => write!(f, "posted on {target}"),
            Delivery::FoundPosted { target, .. } => write!(f, "already on {target}"),
            Delivery::Duplicate { state, .. } => write!(f, "duplicate ({state:?})"),
            Delivery::Skipped { reason, .. } => write!(f, "skipped ({reason})"),
        }
    }
}
