//! Note claims and outcomes (SPEC.md §7 "exactly once", §8 "note claims (with TTL)"), and the
//! contact → opportunities index the note pusher routes with.
//!
//! # Note items
//!
//! `pk = WS#<workspace>`, `sk = NOTE#<event id>`, one per platform event, attributes:
//! `entity = note`, `eventId`, `state` (`pending`, `done`, `skipped`), `owner` (the claim's
//! token), `leaseUntil` (epoch ms, N; a `pending` claim is held until then), `attempts` (claims
//! made, N), `uncertain` (a previous attempt may have posted the note), `targetKind` + `targetId`
//! (the ServiceTitan record chosen by the first claim, kept for every later attempt),
//! `reason` + `detail` (why a `skipped` event was not pushed), `noteId` (ServiceTitan's id of the
//! note, customer and location notes only), `updatedAt` (RFC 3339) and `ttl` (epoch seconds:
//! [`NOTE_RETENTION_DAYS`] after the last write, longer than SQS keeps a message, so any
//! redelivery still finds its item).
//!
//! The protocol ([`Store::claim_note`] before the POST, [`Store::complete_note`] after it):
//! - absent, or `pending` with an expired lease → claimed (an UpdateItem conditioned on exactly
//!   that, so two workers never hold one event);
//! - `done` or `skipped` → nothing to do (a duplicate delivery);
//! - `pending` with a live lease → busy (another invocation holds it; retry later).
//!
//! # Contact → opportunities (GSI `gsi3`)
//!
//! `gsi3` has `contactId` as partition key and `externalUpdatedAt` as sort key, projection
//! `KEYS_ONLY`. Only opportunity items carry both attributes (contacts and lookups have a
//! `contactId` but no `externalUpdatedAt`), so the index is sparse and holds exactly the
//! opportunities, newest first when read backwards. Its keys are attributes every opportunity
//! already has: no write path changes, and adding the index to an existing table (see
//! [`Store::ensure_table`]) indexes the stored opportunities at once. Contact ids are UUIDs the
//! store generates, unique across workspaces; the partition is not workspace-prefixed, so
//! [`Store::contact_opportunities`] keeps only entries whose table key is under the caller's
//! workspace (SPEC.md §1).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, CreateGlobalSecondaryIndexAction,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType, ReturnValue,
    ScalarAttributeType,
};
use chrono::{DateTime, Duration, Utc};
use opportunity::Model;
use serde::Serialize;
use servicetitan::notes::NoteTarget;
use tracing::{info, instrument, warn};

use crate::keys::{self, GSI3, GSI3_PK, GSI3_SK, PK, SK, TTL};
use crate::store::{s, Item};
use crate::{Store, StoreError};

/// How long note items are kept after their last write, in days (SQS keeps a message at most
/// 14 days).
pub const NOTE_RETENTION_DAYS: i64 = 30;
/// Sort key prefix of note items.
pub const SK_NOTE: &str = "NOTE#";

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteState {
    /// Claimed; the note may be being posted (see `lease_until`).
    Pending,
    /// The note is on the record.
    Done,
    /// Not pushed, for good (see `reason`).
    Skipped,
}

/// The stored state of one event (item `NOTE#<event id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteRecord {
    /// The platform event id.
    pub event_id: String,
    /// Pending, done or skipped.
    pub state: NoteState,
    /// The record the note goes (went) on, once chosen.
    pub target: Option<NoteTarget>,
    /// A pending claim is held until then (UTC).
    pub lease_until: Option<DateTime<Utc>>,
    /// Claims made so far.
    pub attempts: u32,
    /// A previous attempt may have posted the note (its POST failed without a clear answer).
    pub uncertain: bool,
    /// Why a skipped event was not pushed: `invalid_event`, `not_pushed`, `no_servicetitan_record`,
    /// `record_not_found`, `rejected`.
    pub reason: Option<String>,
    /// Details of the reason (field names, settings, statuses; never message content).
    pub detail: Option<String>,
    /// ServiceTitan's note id (customer and location notes).
    pub note_id: Option<i64>,
    /// Last write (UTC).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A held claim: pass it to [`Store::complete_note`], [`Store::release_note`] or
/// [`Store::skip_note`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteClaim {
    /// Workspace.
    pub workspace: String,
    /// Event id.
    pub event_id: String,
    /// This claim's token (`owner`).
    pub token: String,
    /// The record to post on: the first claim's choice, kept for every later attempt.
    pub target: NoteTarget,
    /// This claim took over an earlier, expired or released one: a note may already exist, so
    /// the caller looks for the event's marker before posting.
    pub takeover: bool,
    /// An earlier attempt reported that its POST may have landed.
    pub uncertain: bool,
    /// Claims made, this one included.
    pub attempts: u32,
    /// Held until then (UTC).
    pub lease_until: DateTime<Utc>,
}

/// The answer of [`Store::claim_note`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteClaimOutcome {
    /// The caller holds the event now.
    Claimed(NoteClaim),
    /// The event is done or skipped: nothing to do.
    Finished(NoteRecord),
    /// Another invocation holds a live claim until `lease_until`: try again later.
    Busy {
        /// When that claim expires (UTC).
        lease_until: DateTime<Utc>,
    },
}

fn sk_note(event_id: &str) -> String {
    format!("{SK_NOTE}{event_id}")
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn expiry(now: DateTime<Utc>) -> AttributeValue {
    n((now + Duration::days(NOTE_RETENTION_DAYS)).timestamp())
}

fn is_condition_failed<E>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    e.code() == Some("ConditionalCheckFailedException")
}

impl Store {
    /// The stored state of `event_id` in `workspace`, if any (strongly consistent).
    ///
    /// Errors: invalid workspace or event id; request failures; a corrupt item.
    #[instrument(skip_all, fields(workspace = %workspace, event_id = %event_id))]
    pub async fn get_note_record(
        &self,
        workspace: &str,
        event_id: &str,
    ) -> Result<Option<NoteRecord>, StoreError> {
        keys::validate_workspace(workspace)?;
        keys::validate_id(workspace, "event id", event_id)?;
        let (pk, sk) = (keys::pk(workspace), sk_note(event_id));
        self.get_item(workspace, &pk, &sk)
            .await?
            .map(|item| decode_record(workspace, &pk, &sk, &item))
            .transpose()
    }

    /// Claim `event_id` for posting on `target` until `now + lease` (see the module docs). A
    /// takeover keeps the target the first claim chose and reports `takeover = true`.
    ///
    /// Errors: invalid input; request failures; a corrupt item.
    #[instrument(skip_all, fields(workspace = %workspace, event_id = %event_id))]
    pub async fn claim_note(
        &self,
        workspace: &str,
        event_id: &str,
        target: NoteTarget,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<NoteClaimOutcome, StoreError> {
        keys::validate_workspace(workspace)?;
        keys::validate_id(workspace, "event id", event_id)?;
        let (pk, sk) = (keys::pk(workspace), sk_note(event_id));
        let token = uuid::Uuid::new_v4().simple().to_string();
        let lease_until = now + lease;
        // Two rounds: the item may vanish (TTL) between a failed condition and the read.
        for _ in 0..2 {
            self.count_write_request();
            let result = self
                .client
                .update_item()
                .table_name(self.table.as_ref())
                .set_key(Some(keys::key(&pk, &sk)))
                .condition_expression(
                    "attribute_not_exists(#pk) OR (#state = :pending AND #lease < :now)",
                )
                .update_expression(
                    "SET #entity = :entity, #eventId = :eventId, #state = :pending, \
                     #owner = :owner, #lease = :until, #updatedAt = :updatedAt, #ttl = :ttl, \
                     #attempts = if_not_exists(#attempts, :zero) + :one, \
                     #uncertain = if_not_exists(#uncertain, :false), \
                     #targetKind = if_not_exists(#targetKind, :targetKind), \
                     #targetId = if_not_exists(#targetId, :targetId)",
                )
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#entity", keys::ENTITY)
                .expression_attribute_names("#eventId", "eventId")
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_names("#lease", "leaseUntil")
                .expression_attribute_names("#updatedAt", "updatedAt")
                .expression_attribute_names("#ttl", TTL)
                .expression_attribute_names("#attempts", "attempts")
                .expression_attribute_names("#uncertain", "uncertain")
                .expression_attribute_names("#targetKind", "targetKind")
                .expression_attribute_names("#targetId", "targetId")
                .expression_attribute_values(":entity", s("note"))
                .expression_attribute_values(":eventId", s(event_id))
                .expression_attribute_values(":pending", s("pending"))
                .expression_attribute_values(":owner", s(token.clone()))
                .expression_attribute_values(":until", n(lease_until.timestamp_millis()))
                .expression_attribute_values(":now", n(now.timestamp_millis()))
                .expression_attribute_values(":updatedAt", s(now.to_rfc3339()))
                .expression_attribute_values(":ttl", expiry(now))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":targetKind", s(target.kind()))
                .expression_attribute_values(":targetId", n(target.id()))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match result {
                Ok(out) => {
                    self.count_items_written(1);
                    let item = out.attributes.unwrap_or_default();
                    let record = decode_record(workspace, &pk, &sk, &item)?;
                    let target = record.target.ok_or_else(|| StoreError::Corrupt {
                        workspace: workspace.to_owned(),
                        key: keys::display(&pk, &sk),
                        reason: "claimed note item without a target".into(),
                    })?;
                    return Ok(NoteClaimOutcome::Claimed(NoteClaim {
                        workspace: workspace.to_owned(),
                        event_id: event_id.to_owned(),
                        token,
                        target,
                        takeover: record.attempts > 1,
                        uncertain: record.uncertain,
                        attempts: record.attempts,
                        lease_until,
                    }));
                }
                Err(e) if is_condition_failed(&e) => {
                    match self.get_note_record(workspace, event_id).await? {
                        Some(r) if r.state == NoteState::Pending => {
                            return Ok(NoteClaimOutcome::Busy {
                                lease_until: r.lease_until.unwrap_or(now),
                            })
                        }
                        Some(r) => return Ok(NoteClaimOutcome::Finished(r)),
                        None => continue,
                    }
                }
                Err(e) => {
                    return Err(StoreError::sdk(
                        "UpdateItem",
                        Some(workspace),
                        keys::display(&pk, &sk),
                        e,
                    ))
                }
            }
        }
        Err(StoreError::ResolutionContended {
            workspace: workspace.to_owned(),
            attempts: 2,
        })
    }

    /// Mark a claimed event done (its note is on the record). `note_id` is ServiceTitan's id of
    /// the note when the answer had one.
    ///
    /// Returns `Ok(false)` when the claim was lost (its lease expired and another invocation
    /// took the event over); nothing is written then. Errors: request failures.
    #[instrument(skip_all, fields(workspace = %claim.workspace, event_id = %claim.event_id))]
    pub async fn complete_note(
        &self,
        claim: &NoteClaim,
        note_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut set = vec!["#state = :done", "#updatedAt = :updatedAt", "#ttl = :ttl"];
        let mut values: Vec<(&str, AttributeValue)> = vec![
            (":done", s("done")),
            (":updatedAt", s(now.to_rfc3339())),
            (":ttl", expiry(now)),
        ];
        if let Some(id) = note_id {
            set.push("#noteId = :noteId");
            values.push((":noteId", n(id)));
        }
        let expr = format!("SET {} REMOVE #lease", set.join(", "));
        self.update_claimed(claim, &expr, values, &["noteId"]).await
    }

    /// Give a claimed event back after a failed attempt, so the next delivery can take it at
    /// once (the lease ends now). `maybe_posted` records that the POST may have landed (a 5xx
    /// or a timeout): the next attempt then looks for the marker first. Takeovers look for it
    /// anyway; the flag is kept for operators.
    ///
    /// Returns `Ok(false)` when the claim was lost. Errors: request failures.
    #[instrument(skip_all, fields(workspace = %claim.workspace, event_id = %claim.event_id))]
    pub async fn release_note(
        &self,
        claim: &NoteClaim,
        maybe_posted: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let values = vec![
            (":until", n(now.timestamp_millis())),
            (
                ":uncertain",
                AttributeValue::Bool(claim.uncertain || maybe_posted),
            ),
            (":updatedAt", s(now.to_rfc3339())),
        ];
        self.update_claimed(
            claim,
            "SET #lease = :until, #uncertain = :uncertain, #updatedAt = :updatedAt",
            values,
            &["uncertain"],
        )
        .await
    }

    /// Record that a claimed event will never be pushed (the record is gone, ServiceTitan
    /// rejected the note): state `skipped` with `reason` and `detail`.
    ///
    /// Returns `Ok(false)` when the claim was lost. Errors: request failures.
    #[instrument(skip_all, fields(workspace = %claim.workspace, event_id = %claim.event_id, reason))]
    pub async fn skip_claimed_note(
        &self,
        claim: &NoteClaim,
        reason: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let values = vec![
            (":skipped", s("skipped")),
            (":reason", s(reason)),
            (":detail", s(cap(detail))),
            (":updatedAt", s(now.to_rfc3339())),
            (":ttl", expiry(now)),
        ];
        self.update_claimed(
            claim,
            "SET #state = :skipped, #reason = :reason, #detail = :detail, \
             #updatedAt = :updatedAt, #ttl = :ttl REMOVE #lease",
            values,
            &["reason", "detail"],
        )
        .await
    }

    /// Record that an event that was never claimed will not be pushed (invalid event, settings
    /// say no, no ServiceTitan record for the contact): state `skipped` with `reason` and
    /// `detail`. Does not overwrite a `done` or `skipped` event nor a live claim.
    ///
    /// Returns `Ok(false)` when the event already had an outcome or a live claim (nothing
    /// written). Errors: invalid input; request failures.
    #[instrument(skip_all, fields(workspace = %workspace, event_id = %event_id, reason))]
    pub async fn skip_note(
        &self,
        workspace: &str,
        event_id: &str,
        reason: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        keys::validate_workspace(workspace)?;
        keys::validate_id(workspace, "event id", event_id)?;
        let (pk, sk) = (keys::pk(workspace), sk_note(event_id));
        let mut item: Item = keys::key(&pk, &sk);
        item.insert(keys::ENTITY.into(), s("note"));
        item.insert("eventId".into(), s(event_id));
        item.insert("state".into(), s("skipped"));
        item.insert("attempts".into(), n(0));
        item.insert("uncertain".into(), AttributeValue::Bool(false));
        item.insert("reason".into(), s(reason));
        item.insert("detail".into(), s(cap(detail)));
        item.insert("updatedAt".into(), s(now.to_rfc3339()));
        item.insert(TTL.into(), expiry(now));
        self.count_write_request();
        let result = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(#pk) OR (#state = :pending AND #lease < :now)",
            )
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#lease", "leaseUntil")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => {
                self.count_items_written(1);
                Ok(true)
            }
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(StoreError::sdk(
                "PutItem",
                Some(workspace),
                keys::display(&pk, &sk),
                e,
            )),
        }
    }

    /// Every note item of `workspace` (claims and outcomes), ordered by event id. A strongly
    /// consistent Query on the workspace partition (`begins_with(sk, "NOTE#")`), paginated.
    ///
    /// Errors: invalid workspace; request failures; a corrupt item.
    #[instrument(skip_all, fields(workspace = %workspace))]
    pub async fn list_note_records(&self, workspace: &str) -> Result<Vec<NoteRecord>, StoreError> {
        keys::validate_workspace(workspace)?;
        let pk = keys::pk(workspace);
        let items = self
            .query_all(Some(workspace), None, PK, &pk, Some(SK_NOTE), SK)
            .await?;
        items
            .iter()
            .map(|item| {
                let sk = keys::get_s(item, SK).unwrap_or_default().to_owned();
                decode_record(workspace, &pk, &sk, item)
            })
            .collect()
    }

    /// The `(model, external id)` of `contact_id`'s opportunities in `workspace`, newest External
    /// Updated At first, at most `limit`. A backwards Query on index `gsi3` (eventually
    /// consistent, like every GSI read), pages of at most 100; entries of other workspaces are
    /// dropped (see the module docs).
    ///
    /// Errors: invalid input; request failures.
    #[instrument(skip_all, fields(workspace = %workspace))]
    pub async fn contact_opportunities(
        &self,
        workspace: &str,
        contact_id: &str,
        limit: usize,
    ) -> Result<Vec<(Model, String)>, StoreError> {
        keys::validate_workspace(workspace)?;
        keys::validate_id(workspace, "contact id", contact_id)?;
        let pk = keys::pk(workspace);
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = (limit - out.len()).clamp(1, 100) as i32;
            self.count_read();
            let resp = self
                .client
                .query()
                .table_name(self.table.as_ref())
                .index_name(GSI3)
                .key_condition_expression("#c = :c")
                .expression_attribute_names("#c", GSI3_PK)
                .expression_attribute_values(":c", s(contact_id))
                .scan_index_forward(false)
                .limit(page)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    StoreError::sdk("Query", Some(workspace), format!("{GSI3}:{pk}/contact"), e)
                })?;
            for item in resp.items.unwrap_or_default() {
                if keys::get_s(&item, PK) != Some(pk.as_str()) {
                    continue;
                }
                if let Some(parsed) = keys::get_s(&item, SK).and_then(keys::parse_sk_opp) {
                    out.push(parsed);
                }
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// Conditional update of a held claim (`owner = token AND state = pending`).
    async fn update_claimed(
        &self,
        claim: &NoteClaim,
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
        extra_names: &[&str],
    ) -> Result<bool, StoreError> {
        let ws = claim.workspace.as_str();
        keys::validate_workspace(ws)?;
        let (pk, sk) = (keys::pk(ws), sk_note(&claim.event_id));
        let mut names: HashMap<String, String> = [
            ("#state", "state"),
            ("#owner", "owner"),
            ("#lease", "leaseUntil"),
            ("#updatedAt", "updatedAt"),
            ("#ttl", TTL),
            ("#uncertain", "uncertain"),
        ]
        .into_iter()
        .filter(|(k, _)| expression.contains(k) || *k == "#state" || *k == "#owner")
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for name in extra_names {
            let placeholder = format!("#{name}");
            if expression.contains(&placeholder) {
                names.insert(placeholder, (*name).to_owned());
            }
        }
        let mut vals: HashMap<String, AttributeValue> =
            values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        vals.insert(":me".into(), s(claim.token.clone()));
        vals.insert(":pendingState".into(), s("pending"));
        self.count_write_request();
        let result = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(keys::key(&pk, &sk)))
            .condition_expression("#owner = :me AND #state = :pendingState")
            .update_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(vals))
            .send()
            .await;
        match result {
            Ok(_) => {
                self.count_items_written(1);
                Ok(true)
            }
            Err(e) if is_condition_failed(&e) => {
                warn!("note claim lost (lease expired and taken over)");
                Ok(false)
            }
            Err(e) => Err(StoreError::sdk(
                "UpdateItem",
                Some(ws),
                keys::display(&pk, &sk),
                e,
            )),
        }
    }

    /// Add the contact index `gsi3` to a table created before it existed (UpdateTable; DynamoDB
    /// then indexes the stored opportunities by itself). No-op when the index is there.
    pub(crate) async fn ensure_contact_index(&self) -> Result<(), StoreError> {
        let table = self.table.to_string();
        let desc = self
            .client
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .map_err(|e| StoreError::sdk("DescribeTable", None, &table, e))?;
        let has = desc.table().is_some_and(|t| {
            t.global_secondary_indexes()
                .iter()
                .any(|g| g.index_name() == Some(GSI3))
        });
        if has {
            return Ok(());
        }
        info!("adding index gsi3 (contact -> opportunities) to an existing table");
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(StoreError::build("UpdateTable"))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(StoreError::build("UpdateTable"))
        };
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(GSI3)
            .key_schema(key(GSI3_PK, KeyType::Hash)?)
            .key_schema(key(GSI3_SK, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::KeysOnly)
                    .build(),
            )
            .build()
            .map_err(StoreError::build("UpdateTable"))?;
        let result = self
            .client
            .update_table()
            .table_name(&table)
            .attribute_definitions(attr(GSI3_PK)?)
            .attribute_definitions(attr(GSI3_SK)?)
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Added concurrently by another process.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::sdk("UpdateTable", None, &table, e)),
        }
    }
}

/// At most 1,000 characters of a detail text.
fn cap(detail: &str) -> String {
    detail.chars().take(1_000).collect()
}

fn decode_record(
    workspace: &str,
    pk: &str,
    sk: &str,
    item: &Item,
) -> Result<NoteRecord, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        workspace: workspace.to_owned(),
        key: keys::display(pk, sk),
        reason: reason.to_owned(),
    };
    let num = |name: &str| -> Option<i64> {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
    };
    let state = match keys::get_s(item, "state") {
        Some("pending") => NoteState::Pending,
        Some("done") => NoteState::Done,
        Some("skipped") => NoteState::Skipped,
        _ => return Err(corrupt("note item without a valid `state`")),
    };
    let target = match (keys::get_s(item, "targetKind"), num("targetId")) {
        (Some("job"), Some(id)) => Some(NoteTarget::Job(id)),
        (Some("customer"), Some(id)) => Some(NoteTarget::Customer(id)),
        (Some("location"), Some(id)) => Some(NoteTarget::Location(id)),
        (None, None) => None,
        _ => return Err(corrupt("note item with an unreadable target")),
    };
    Ok(NoteRecord {
        event_id: keys::get_s(item, "eventId")
            .map(str::to_owned)
            .or_else(|| sk.strip_prefix(SK_NOTE).map(str::to_owned))
            .unwrap_or_default(),
        state,
        target,
        lease_until: num("leaseUntil").and_then(DateTime::from_timestamp_millis),
        attempts: num("attempts").unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32,
        uncertain: item
            .get("uncertain")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        reason: keys::get_s(item, "reason").map(str::to_owned),
        detail: keys::get_s(item, "detail").map(str::to_owned),
        note_id: num("noteId"),
        updated_at: keys::get_s(item, "updatedAt")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
    })
}
