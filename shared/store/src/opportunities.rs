//! Opportunities: idempotent upsert, reads, and the customer → opportunities index (SPEC.md §3,
//! §5).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use opportunity::{Model, Opportunity, StandardFields};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{error, instrument, warn};

use crate::keys::{self, GSI1, GSI1_PK, GSI1_SK, PK, SK};
use crate::store::{decode, s, Item};
use crate::{Store, StoreError};

/// Largest item the store writes, in bytes (DynamoDB's limit is 400 KB; the margin covers the
/// size estimate's approximations).
pub const MAX_ITEM_BYTES: usize = 350_000;
/// Budgets [`Store::prepare_fitted`] tries, each a tenth below the last, before it gives up.
const FIT_ROUNDS: usize = 24;
/// Concurrent PutItem requests of one upsert call.
const PUT_CONCURRENCY: usize = 16;
/// Keys per BatchGetItem (the DynamoDB maximum).
const BATCH_GET_MAX: usize = 100;
/// BatchGetItem rounds for unprocessed keys before giving up.
const BATCH_GET_ROUNDS: u32 = 8;

/// Top-level attribute holding the External Updated At in sortable form.
const UPDATED_ATTR: &str = "externalUpdatedAt";
/// Top-level attribute holding the content hash.
const HASH_ATTR: &str = "contentHash";
/// Top-level attribute holding the details: their JSON text, raw-deflated ([`pack`]).
const DETAILS_ATTR: &str = "details";
/// Top-level attribute holding the source records: their JSON text, raw-deflated ([`pack`]).
const SOURCES_ATTR: &str = "sources";

/// A JSON text as stored in [`DETAILS_ATTR`] and [`SOURCES_ATTR`]: a binary attribute holding
/// its raw deflate (RFC 1951, fastest level). Details and sources are repetitive JSON (the same
/// keys on every list entry): the demo tenant's opportunity items shrink from 12.3 KB to 4.6 KB
/// (DynamoDB size), and DynamoDB bills writes and storage per KB. The content hash is over the
/// text, not the packed bytes. The attributes are no longer readable in the DynamoDB console;
/// `stsync opportunities --json` shows the details (the sources are the engine's own).
fn pack(text: &str) -> AttributeValue {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(text.len() / 3),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    let bytes = encoder.finish().expect("deflating into a Vec");
    AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes))
}

/// The JSON text of a [`pack`]ed attribute, or of a string attribute (items written before
/// packing). `Ok(None)` when the attribute is absent.
///
/// Errors: the attribute is neither a string nor valid deflated UTF-8; as a
/// [`StoreError::Codec`] naming the item and `what`.
fn unpack(
    item: &mut Item,
    name: &str,
    workspace: &str,
    key: impl FnOnce() -> String,
    what: &'static str,
) -> Result<Option<String>, StoreError> {
    use std::io::Read;
    let codec = |source: BoxedErr, key: String| StoreError::Codec {
        workspace: workspace.to_owned(),
        key,
        direction: "decode",
        what,
        source,
    };
    match item.remove(name) {
        None => Ok(None),
        Some(AttributeValue::S(text)) => Ok(Some(text)),
        Some(AttributeValue::B(bytes)) => {
            let mut text = String::with_capacity(bytes.as_ref().len() * 4);
            flate2::read::DeflateDecoder::new(bytes.as_ref())
                .read_to_string(&mut text)
                .map_err(|e| codec(Box::new(e), key()))?;
            Ok(Some(text))
        }
        Some(_) => Err(codec(
            "neither a string nor a binary attribute".into(),
            key(),
        )),
    }
}

/// An opportunity as stored: the mapped [`Opportunity`] plus its workspace, contact and sync time.
/// Serialized camelCase with the opportunity's fields flattened in (the shape `stsync` prints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredOpportunity {
    /// The workspace it belongs to.
    pub workspace_id: String,
    /// The resolved contact's id.
    pub contact_id: String,
    /// When this version was written (UTC).
    pub synced_at: DateTime<Utc>,
    /// Hex SHA-256 of the canonical JSON of the opportunity and contact id; an identical rebuild
    /// has the same hash and is not written again.
    pub content_hash: String,
    /// The opportunity.
    #[serde(flatten)]
    pub opportunity: Opportunity,
    /// The ServiceTitan records it was built from, as the sync engine wrote them (opaque JSON
    /// text owned by the engine; `None` for items written without them, such as inbound calls
    /// or items over the size limit with them). Not part of the printed shape.
    #[serde(skip)]
    pub sources: Option<String>,
}

/// One opportunity to upsert: the mapped opportunity, its resolved contact id and, optionally,
/// the source records it was built from (opaque JSON text, see [`StoredOpportunity::sources`]).
#[derive(Debug, Clone, Copy)]
pub struct Upsert<'a> {
    /// The opportunity.
    pub opportunity: &'a Opportunity,
    /// Its resolved contact's id.
    pub contact_id: &'a str,
    /// Source records kept with it (dropped when the item would exceed [`MAX_ITEM_BYTES`]).
    pub sources: Option<&'a str>,
}

/// Counts of one [`Store::upsert_opportunities`] call. Every input item lands in exactly one of
/// `written`, `unchanged`, `refused`, `superseded` or `failed`.
#[derive(Debug, Default)]
pub struct UpsertReport {
    /// Items created or replaced.
    pub written: usize,
    /// Items whose stored content hash equals the new one: nothing was written.
    pub unchanged: usize,
    /// Items whose External Updated At is older than the stored one: refused by the conditional
    /// write (or before it, when the read already showed a newer version). Not an error.
    pub refused: usize,
    /// Items that appeared more than once in the input: only the newest occurrence (by External
    /// Updated At, the later one on a tie) is considered, the others are counted here.
    pub superseded: usize,
    /// Items that can never be stored as they are (too large even with trimmed details,
    /// unusable external or contact id).
    /// Permanent: retrying will not help; the rest of the call was still written. Each is also
    /// logged at error level.
    pub failed: Vec<UpsertFailure>,
}

/// One item an upsert could not store.
#[derive(Debug)]
pub struct UpsertFailure {
    /// The opportunity model.
    pub model: Model,
    /// The opportunity's external id.
    pub external_id: String,
    /// Why: [`StoreError::ItemTooLarge`], [`StoreError::InvalidInput`] or [`StoreError::Codec`].
    pub error: StoreError,
}

/// What is written for an opportunity, besides keys.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OppWrite<'a> {
    entity: &'static str,
    workspace_id: &'a str,
    contact_id: &'a str,
    synced_at: DateTime<Utc>,
    content_hash: &'a str,
    external_updated_at: &'a str,
    model: Model,
    external_id: &'a str,
    external_contact_id: &'a Option<String>,
    standard: &'a StandardFields,
}

/// What is read back.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OppRead {
    workspace_id: String,
    contact_id: String,
    synced_at: DateTime<Utc>,
    content_hash: String,
    model: Model,
    external_id: String,
    external_contact_id: Option<String>,
    standard: StandardFields,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HashInput<'a> {
    contact_id: &'a str,
    opportunity: &'a Opportunity,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<&'a str>,
}

struct Prepared {
    sk: String,
    hash: String,
    updated: String,
    item: Item,
}

/// The content hash of an opportunity linked to `contact_id`: hex SHA-256 over the canonical
/// JSON `{"contactId":…,"opportunity":…}` (struct fields in declaration order, details in key
/// order). `synced_at` is not part of it. Items stored with source records hash them too
/// ([`content_hash_with_sources`]).
pub fn content_hash(opportunity: &Opportunity, contact_id: &str) -> String {
    content_hash_with_sources(opportunity, contact_id, None)
}

/// [`content_hash`] over `{"contactId":…,"opportunity":…,"sources":…}` when `sources` is given
/// (equal to [`content_hash`] when it is `None`): a rebuild with the same details but different
/// source records is written, so the stored sources never go stale.
pub fn content_hash_with_sources(
    opportunity: &Opportunity,
    contact_id: &str,
    sources: Option<&str>,
) -> String {
    let json = serde_json::to_vec(&HashInput {
        contact_id,
        opportunity,
        sources,
    })
    .expect("an opportunity always serializes to JSON");
    hex::encode(Sha256::digest(&json))
}

/// External Updated At as a fixed-width, lexicographically sortable UTC string
/// (`2024-05-01T12:00:00.000000000Z`, always nine fractional digits).
pub fn sortable_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

impl Store {
    /// Create or replace opportunities of `workspace` (SPEC.md §5), each with its resolved
    /// contact id. Per item:
    /// - the content hash (see [`content_hash`]) equals the stored one → `unchanged`, nothing
    ///   written (existing hashes are read with consistent BatchGetItem, 100 keys per call);
    /// - otherwise a PutItem conditioned on
    ///   `attribute_not_exists(pk) OR externalUpdatedAt <= :new` replaces the whole item; a
    ///   failed condition (the stored version is newer) → `refused`, not an error.
    ///
    /// Puts run 16 at a time. Items over [`MAX_ITEM_BYTES`] (estimated DynamoDB size) and items
    /// with an unusable external or contact id are reported in [`UpsertReport::failed`] with the
    /// workspace, model and external id; the others are still written. Over [`MAX_ITEM_BYTES`]
    /// here means over it even with trimmed details (see [`Store::upsert`]). `now` (UTC) becomes
    /// `syncedAt`.
    ///
    /// Errors: invalid workspace; request failures (throttling after the SDK's retries, network):
    /// the first one is returned after all puts have finished; writes that succeeded stay, and a
    /// retry of the same call is harmless (idempotent).
    pub async fn upsert_opportunities(
        &self,
        workspace: &str,
        items: &[(Opportunity, String)],
        now: DateTime<Utc>,
    ) -> Result<UpsertReport, StoreError> {
        let upserts: Vec<Upsert<'_>> = items
            .iter()
            .map(|(opportunity, contact_id)| Upsert {
                opportunity,
                contact_id,
                sources: None,
            })
            .collect();
        self.upsert(workspace, &upserts, now).await
    }

    /// [`Store::upsert_opportunities`] with the source records of each item
    /// ([`StoredOpportunity::sources`], part of the content hash). An item too large with its
    /// sources is written without them; one too large even without them is written with its
    /// details trimmed to fit (SPEC.md §5: "cap list lengths and long text; say what was cut"):
    /// [`opportunity::details::fit_details`] shortens long text in steps, then drops the largest
    /// keys, and lists the cut keys under `details:truncated` / `details:dropped`. The stored
    /// opportunity and its content hash are the trimmed ones, so an identical rebuild is
    /// `unchanged`. Only an item whose fields besides its details are over the limit is failed.
    ///
    /// Errors: as [`Store::upsert_opportunities`].
    #[instrument(skip_all, fields(workspace = %workspace, items = items.len()))]
    pub async fn upsert(
        &self,
        workspace: &str,
        items: &[Upsert<'_>],
        now: DateTime<Utc>,
    ) -> Result<UpsertReport, StoreError> {
        keys::validate_workspace(workspace)?;
        let pk = keys::pk(workspace);
        let mut report = UpsertReport::default();

        // Prepare items; keep the newest occurrence of each key.
        let mut prepared: Vec<Prepared> = Vec::with_capacity(items.len());
        let mut index_of: HashMap<String, usize> = HashMap::new();
        for u in items {
            let opp = u.opportunity;
            let attempt = match self.prepare(workspace, &pk, u, now) {
                Err(StoreError::ItemTooLarge { bytes, .. }) if u.sources.is_some() => {
                    warn!(model = %opp.model, external_id = %opp.external_id, bytes, "opportunity stored without its source records (too large with them)");
                    self.prepare(
                        workspace,
                        &pk,
                        &Upsert {
                            sources: None,
                            ..*u
                        },
                        now,
                    )
                }
                other => other,
            };
            let attempt = match attempt {
                Err(StoreError::ItemTooLarge { bytes, .. }) => {
                    self.prepare_fitted(workspace, &pk, opp, u.contact_id, bytes, now)
                }
                other => other,
            };
            let p = match attempt {
                Ok(p) => p,
                Err(error) => {
                    error!(model = %opp.model, external_id = %opp.external_id, error = %error, "opportunity not stored");
                    report.failed.push(UpsertFailure {
                        model: opp.model,
                        external_id: opp.external_id.clone(),
                        error,
                    });
                    continue;
                }
            };
            report.superseded += match index_of.get(&p.sk) {
                Some(&i) if prepared[i].updated <= p.updated => {
                    prepared[i] = p;
                    1
                }
                Some(_) => 1,
                None => {
                    index_of.insert(p.sk.clone(), prepared.len());
                    prepared.push(p);
                    0
                }
            };
        }

        // Skip identical rebuilds and versions already known to be older.
        let sks: Vec<&str> = prepared.iter().map(|p| p.sk.as_str()).collect();
        let stored = self.stored_versions(workspace, &pk, &sks).await?;
        let mut to_write = Vec::new();
        for p in prepared {
            match stored.get(&p.sk) {
                Some((hash, _)) if *hash == p.hash => report.unchanged += 1,
                Some((_, updated)) if *updated > p.updated => report.refused += 1,
                _ => to_write.push(p),
            }
        }

        let results: Vec<(String, Result<bool, StoreError>)> = futures::stream::iter(to_write)
            .map(|p| async {
                let sk = p.sk.clone();
                (sk, self.put_opportunity(workspace, &pk, p).await)
            })
            .buffer_unordered(PUT_CONCURRENCY)
            .collect()
            .await;
        let mut first_error = None;
        let mut errors = 0usize;
        for (sk, r) in results {
            match r {
                Ok(true) => report.written += 1,
                Ok(false) => report.refused += 1,
                // DynamoDB refused this one item (e.g. over 400 KB although the estimate was
                // not): permanent, reported like an item the estimate caught.
                Err(error) if error.is_record_problem() => match keys::parse_sk_opp(&sk) {
                    Some((model, external_id)) => {
                        error!(%model, %external_id, error = %error, "opportunity not stored");
                        report.failed.push(UpsertFailure {
                            model,
                            external_id,
                            error,
                        });
                    }
                    None => {
                        errors += 1;
                        first_error.get_or_insert(error);
                    }
                },
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            warn!(errors, written = report.written, "opportunity puts failed");
            return Err(e);
        }
        Ok(report)
    }

    /// An opportunity over [`MAX_ITEM_BYTES`] without its sources (`bytes` as estimated):
    /// prepared again with its details brought under what the rest of the item leaves
    /// ([`opportunity::details::fit_details`]: shorter text, then the largest keys dropped,
    /// the cut keys listed in the details), without sources. The content hash is the trimmed
    /// opportunity's, so an identical rebuild is still `unchanged`.
    ///
    /// Errors: [`StoreError::ItemTooLarge`] when even trimmed details do not fit (the rest of
    /// the item alone is over the limit); as [`Store::prepare`] otherwise.
    fn prepare_fitted(
        &self,
        workspace: &str,
        pk: &str,
        opp: &Opportunity,
        contact_id: &str,
        bytes: usize,
        now: DateTime<Utc>,
    ) -> Result<Prepared, StoreError> {
        let too_large = || StoreError::ItemTooLarge {
            workspace: workspace.to_owned(),
            model: opp.model,
            external_id: opp.external_id.clone(),
            bytes,
            limit: MAX_ITEM_BYTES,
        };
        // `bytes` counts the details packed; `fit_details` budgets their text. Aim the text at
        // the room the rest of the item leaves times the details' own packing ratio (less a
        // twentieth), then tighten by a tenth while the packed item is still over the limit:
        // what is cut depends on the packed size, not on the text's.
        let text_len = opportunity::details::encoded_len(&opp.details);
        let packed_len = serde_json::to_string(&opp.details)
            .map(|text| value_size(&pack(&text)))
            .unwrap_or(text_len);
        let room = MAX_ITEM_BYTES
            .checked_sub(bytes.saturating_sub(packed_len))
            .ok_or_else(too_large)?;
        let ratio = (text_len as f64 / packed_len.max(1) as f64).max(1.0);
        let mut budget = (room as f64 * ratio * 0.95) as usize;
        for _ in 0..FIT_ROUNDS {
            let (details, trimmed) =
                opportunity::details::fit_details(&opp.details, budget).ok_or_else(too_large)?;
            let fitted = Opportunity {
                model: opp.model,
                external_id: opp.external_id.clone(),
                external_contact_id: opp.external_contact_id.clone(),
                standard: opp.standard.clone(),
                details,
            };
            let upsert = Upsert {
                opportunity: &fitted,
                contact_id,
                sources: None,
            };
            match self.prepare(workspace, pk, &upsert, now) {
                Err(StoreError::ItemTooLarge { .. }) => budget = budget / 10 * 9,
                other => {
                    warn!(
                        model = %opp.model,
                        external_id = %opp.external_id,
                        bytes,
                        truncated = trimmed.truncated,
                        dropped = trimmed.dropped,
                        "opportunity details trimmed to fit the item size limit"
                    );
                    return other;
                }
            }
        }
        Err(too_large())
    }

    fn prepare(
        &self,
        workspace: &str,
        pk: &str,
        u: &Upsert<'_>,
        now: DateTime<Utc>,
    ) -> Result<Prepared, StoreError> {
        let (opp, contact_id) = (u.opportunity, u.contact_id);
        keys::validate_id(workspace, "external id", &opp.external_id)?;
        keys::validate_id(workspace, "contact id", contact_id)?;
        let sk = keys::sk_opp(opp.model, &opp.external_id);
        let hash = content_hash_with_sources(opp, contact_id, u.sources);
        let updated = sortable_time(opp.standard.external_updated_at);
        let codec = |e: BoxedErr| StoreError::Codec {
            workspace: workspace.to_owned(),
            key: keys::display(pk, &sk),
            direction: "encode",
            what: "opportunity",
            source: e,
        };
        let details = serde_json::to_string(&opp.details).map_err(|e| codec(Box::new(e)))?;
        let write = OppWrite {
            entity: "opportunity",
            workspace_id: workspace,
            contact_id,
            synced_at: now,
            content_hash: &hash,
            external_updated_at: &updated,
            model: opp.model,
            external_id: &opp.external_id,
            external_contact_id: &opp.external_contact_id,
            standard: &opp.standard,
        };
        let mut item: Item = serde_dynamo::to_item(&write).map_err(|e| codec(Box::new(e)))?;
        item.insert(DETAILS_ATTR.into(), pack(&details));
        if let Some(sources) = u.sources {
            item.insert(SOURCES_ATTR.into(), pack(sources));
        }
        item.extend(keys::key(pk, &sk));
        if let Some(customer) = opp
            .external_contact_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            item.insert(GSI1_PK.into(), s(keys::gsi1pk(workspace, customer)));
            item.insert(GSI1_SK.into(), s(sk.clone()));
        }
        let bytes = item_size(&item);
        if bytes > MAX_ITEM_BYTES {
            return Err(StoreError::ItemTooLarge {
                workspace: workspace.to_owned(),
                model: opp.model,
                external_id: opp.external_id.clone(),
                bytes,
                limit: MAX_ITEM_BYTES,
            });
        }
        Ok(Prepared {
            sk,
            hash,
            updated,
            item,
        })
    }

    /// `sk → (content hash, externalUpdatedAt)` of the stored items among `sks`.
    async fn stored_versions(
        &self,
        workspace: &str,
        pk: &str,
        sks: &[&str],
    ) -> Result<HashMap<String, (String, String)>, StoreError> {
        let items = self
            .batch_get_all(workspace, pk, sks, Some(&[SK, HASH_ATTR, UPDATED_ATTR]))
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let sk = keys::get_s(item, SK)?;
                let h = keys::get_s(item, HASH_ATTR)?;
                let u = keys::get_s(item, UPDATED_ATTR)?;
                Some((sk.to_owned(), (h.to_owned(), u.to_owned())))
            })
            .collect())
    }

    /// Every stored item among the sort keys `sks` of partition `pk`: strongly consistent
    /// BatchGetItem calls of at most 100 keys, unprocessed keys retried with a short backoff
    /// (at most `BATCH_GET_ROUNDS` rounds). `projection`: only these attributes.
    ///
    /// Errors: [`StoreError::Unprocessed`] when keys stay unprocessed, or DynamoDB failures.
    pub(crate) async fn batch_get_all(
        &self,
        workspace: &str,
        pk: &str,
        sks: &[&str],
        projection: Option<&[&str]>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in sks.chunks(BATCH_GET_MAX) {
            let mut pending: Vec<Item> = chunk.iter().map(|sk| keys::key(pk, sk)).collect();
            let mut round = 0;
            while !pending.is_empty() {
                if round == BATCH_GET_ROUNDS {
                    return Err(StoreError::Unprocessed {
                        operation: "BatchGetItem",
                        workspace: workspace.to_owned(),
                        count: pending.len(),
                    });
                }
                if round > 0 {
                    let ms = (25u64 << round.min(6)).min(1_000);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                round += 1;
                let mut request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true);
                if let Some(attrs) = projection {
                    let names: Vec<String> = (0..attrs.len()).map(|i| format!("#a{i}")).collect();
                    request = request.projection_expression(names.join(", "));
                    for (name, attr) in names.iter().zip(attrs) {
                        request = request.expression_attribute_names(name, *attr);
                    }
                }
                let request = request.build().map_err(StoreError::build("BatchGetItem"))?;
                self.count_read();
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(self.table.as_ref(), request)
                    .send()
                    .await
                    .map_err(|e| {
                        StoreError::sdk("BatchGetItem", Some(workspace), format!("{pk}/OPP#…"), e)
                    })?;
                found.extend(
                    out.responses
                        .and_then(|mut r| r.remove(self.table.as_ref()))
                        .unwrap_or_default(),
                );
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(self.table.as_ref()))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
        }
        Ok(found)
    }

    /// Conditional put; `Ok(false)` when the stored version is newer.
    async fn put_opportunity(
        &self,
        workspace: &str,
        pk: &str,
        p: Prepared,
    ) -> Result<bool, StoreError> {
        self.count_write_request();
        let result = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(p.item))
            .condition_expression("attribute_not_exists(#pk) OR #u <= :u")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#u", UPDATED_ATTR)
            .expression_attribute_values(":u", s(p.updated))
            .send()
            .await;
        match result {
            Ok(_) => {
                self.count_items_written(1);
                Ok(true)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(StoreError::sdk(
                "PutItem",
                Some(workspace),
                keys::display(pk, &p.sk),
                e,
            )),
        }
    }

    /// One opportunity, by identity `(workspace, model, external_id)` (strongly consistent).
    #[instrument(skip_all, fields(workspace = %workspace, model = %model))]
    pub async fn get_opportunity(
        &self,
        workspace: &str,
        model: Model,
        external_id: &str,
    ) -> Result<Option<StoredOpportunity>, StoreError> {
        keys::validate_workspace(workspace)?;
        keys::validate_id(workspace, "external id", external_id)?;
        let (pk, sk) = (keys::pk(workspace), keys::sk_opp(model, external_id));
        self.get_item(workspace, &pk, &sk)
            .await?
            .map(|item| decode_opportunity(workspace, &pk, &sk, item))
            .transpose()
    }

    /// The opportunities of `workspace`, of one model or all, ordered by model then external id
    /// (as text). A strongly consistent Query on the workspace partition
    /// (`begins_with(sk, "OPP#[<model>#]")`), paginated internally.
    #[instrument(skip_all, fields(workspace = %workspace))]
    pub async fn list_opportunities(
        &self,
        workspace: &str,
        model: Option<Model>,
    ) -> Result<Vec<StoredOpportunity>, StoreError> {
        keys::validate_workspace(workspace)?;
        let pk = keys::pk(workspace);
        let prefix = model.map_or_else(|| keys::SK_OPP.to_owned(), keys::sk_opp_prefix);
        let items = self
            .query_all(Some(workspace), None, PK, &pk, Some(&prefix), SK)
            .await?;
        items
            .into_iter()
            .map(|item| {
                let sk = keys::get_s(&item, SK).unwrap_or_default().to_owned();
                decode_opportunity(workspace, &pk, &sk, item)
            })
            .collect()
    }

    /// The `(model, external id)` of every opportunity of `workspace` whose External Contact ID
    /// is `customer_id` (SPEC.md §3: a customer change affects that customer's opportunities).
    /// A Query on index `gsi1` (`gsi1pk = WS#<workspace>#CUST#<customer id>`), paginated; like
    /// every GSI read it is eventually consistent.
    #[instrument(skip_all, fields(workspace = %workspace))]
    pub async fn opportunities_for_customer(
        &self,
        workspace: &str,
        customer_id: &str,
    ) -> Result<Vec<(Model, String)>, StoreError> {
        keys::validate_workspace(workspace)?;
        keys::validate_id(workspace, "customer id", customer_id)?;
        let hash = keys::gsi1pk(workspace, customer_id.trim());
        let items = self
            .query_all(Some(workspace), Some(GSI1), GSI1_PK, &hash, None, GSI1_SK)
            .await?;
        items
            .iter()
            .map(|item| {
                let sk = keys::get_s(item, SK).unwrap_or_default();
                keys::parse_sk_opp(sk).ok_or_else(|| StoreError::Corrupt {
                    workspace: workspace.to_owned(),
                    key: keys::display(&keys::pk(workspace), sk),
                    reason: "gsi1 entry without an opportunity sort key".into(),
                })
            })
            .collect()
    }
}

type BoxedErr = crate::error::BoxError;

pub(crate) fn decode_opportunity(
    workspace: &str,
    pk: &str,
    sk: &str,
    mut item: Item,
) -> Result<StoredOpportunity, StoreError> {
    let key = || keys::display(pk, sk);
    let details = unpack(
        &mut item,
        DETAILS_ATTR,
        workspace,
        key,
        "opportunity details",
    )?
    .ok_or_else(|| StoreError::Corrupt {
        workspace: workspace.to_owned(),
        key: key(),
        reason: "an opportunity without details".into(),
    })?;
    let sources = unpack(
        &mut item,
        SOURCES_ATTR,
        workspace,
        key,
        "opportunity sources",
    )?;
    let read: OppRead = decode(workspace, pk, sk, "opportunity", item)?;
    let details = serde_json::from_str(&details).map_err(|e| StoreError::Codec {
        workspace: workspace.to_owned(),
        key: keys::display(pk, sk),
        direction: "decode",
        what: "opportunity details",
        source: Box::new(e),
    })?;
    Ok(StoredOpportunity {
        workspace_id: read.workspace_id,
        contact_id: read.contact_id,
        synced_at: read.synced_at,
        content_hash: read.content_hash,
        opportunity: Opportunity {
            model: read.model,
            external_id: read.external_id,
            external_contact_id: read.external_contact_id,
            standard: read.standard,
            details,
        },
        sources,
    })
}

/// Estimated DynamoDB item size in bytes (attribute names plus values, following the documented
/// rules; numbers are counted generously).
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Estimated DynamoDB size of one attribute value in bytes (the rules of [`item_size`]).
pub(crate) fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn packed_text_comes_back_and_older_string_attributes_still_read() {
        let text =
            r#"{"appointments:0:id":7,"appointments:1:id":8,"summary":"No heat"}"#.repeat(40);
        let mut item = Item::new();
        item.insert(DETAILS_ATTR.into(), pack(&text));
        item.insert(
            SOURCES_ATTR.into(),
            AttributeValue::S("{\"job\":{}}".into()),
        );
        item.insert(
            "bad".into(),
            AttributeValue::B(vec![0xff, 0x00, 0x13].into()),
        );
        let packed = value_size(&item[DETAILS_ATTR]);
        assert!(packed * 3 < text.len(), "{packed} of {}", text.len());
        let key = || "pk/sk".to_owned();
        let back = unpack(&mut item, DETAILS_ATTR, "ws", key, "details").unwrap();
        assert_eq!(back.as_deref(), Some(text.as_str()));
        let legacy = unpack(&mut item, SOURCES_ATTR, "ws", key, "sources").unwrap();
        assert_eq!(legacy.as_deref(), Some("{\"job\":{}}"));
        assert_eq!(unpack(&mut item, "absent", "ws", key, "x").unwrap(), None);
        let err = unpack(&mut item, "bad", "ws", key, "details").unwrap_err();
        assert!(
            matches!(&err, StoreError::Codec { key, what: "details", .. } if key == "pk/sk"),
            "{err}"
        );
    }

    #[test]
    fn sortable_time_is_fixed_width() {
        let a = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let b = a + chrono::Duration::milliseconds(5);
        assert_eq!(sortable_time(a), "2024-05-01T12:00:00.000000000Z");
        assert_eq!(sortable_time(b), "2024-05-01T12:00:00.005000000Z");
        assert!(sortable_time(a) < sortable_time(b));
    }
}
