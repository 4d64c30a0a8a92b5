//! The [`Store`] handle, table setup, integrations and feed progress.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, IndexStatus,
    KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use opportunity::Integration;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, instrument, warn};

use crate::keys::{
    self, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, GSI3, GSI3_PK, GSI3_SK, PK, SK, TTL,
};
use crate::StoreError;

/// An item as the SDK sees it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// How long [`Store::ensure_table`] waits for the table and its indexes to become ACTIVE.
const ACTIVE_WAIT: Duration = Duration::from_secs(120);

/// Most items one Query page of the store asks for (`Limit`). DynamoDB ends a page at 1 MB
/// anyway; the embedded engine (dynoxide) reads the whole rest of the partition for every page
/// without a limit, which makes listing a large workspace quadratic.
pub const QUERY_PAGE_ITEMS: i32 = 1000;

/// The one store: a single-table DynamoDB adapter (see the crate docs for the key schema).
///
/// Cheap to clone (the SDK client and the counters are shared). Every method takes the workspace
/// and builds keys under `WS#<workspace>` only (SPEC.md §1, §8).
#[derive(Clone)]
pub struct Store {
    pub(crate) client: Client,
    pub(crate) table: Arc<str>,
    pub(crate) counters: Arc<Counters>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("table", &self.table)
            .field("stats", &self.stats())
            .finish()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    item_writes: AtomicU64,
    pub(crate) lease_writes: AtomicU64,
    write_requests: AtomicU64,
    read_requests: AtomicU64,
}

/// Cumulative request counters of a [`Store`] and its clones since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreStats {
    /// Items put, updated or deleted by successful write requests; every item of a transaction
    /// counts. Conditional failures and cancelled transactions write nothing and are not counted.
    pub item_writes: u64,
    /// Lease items taken or given back (bookkeeping of invocations, not synced data; see
    /// [`Store::acquire_lease`]). Not part of `item_writes`.
    pub lease_writes: u64,
    /// Write requests sent (PutItem, UpdateItem, TransactWriteItems), successful or not.
    pub write_requests: u64,
    /// Read requests sent: each GetItem, each Query page, each BatchGetItem call.
    pub read_requests: u64,
}

/// Progress of one ServiceTitan export feed of a workspace (SPEC.md §3): the continuation token
/// to resume from, committed only after everything it covered is durably written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedProgress {
    /// Feed name, e.g. `jobs`, `backfill:jobs`; becomes part of the sort key (`PROGRESS#<feed>`).
    pub feed: String,
    /// The export feed's continuation token (`from`); `None` before the first page.
    pub token: Option<String>,
    /// When this progress was saved (UTC).
    pub updated_at: DateTime<Utc>,
    /// Records read from the feed so far (cumulative).
    pub records_read: u64,
    /// A backfill feed that reached the end of its window (`false` for incremental feeds, which
    /// never end). Absent in older items.
    #[serde(default)]
    pub done: bool,
}

impl Store {
    /// A store over `client` and the single table `table`. Nothing is sent until a method is
    /// called; see [`Store::ensure_table`] for creating the table.
    pub fn new(client: Client, table: impl Into<String>) -> Store {
        let table: String = table.into();
        Store {
            client,
            table: table.into(),
            counters: Arc::new(Counters::default()),
        }
    }

    /// A store over the SDK client from [`aws_client`]: the same constructor production uses
    /// (region, credentials and `AWS_ENDPOINT_URL` from the environment).
    pub async fn from_env(table: impl Into<String>) -> Store {
        Store::new(aws_client().await, table)
    }

    /// The table name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The SDK client this store sends its requests through (for raw requests in tools and
    /// tests; requests made with it are not counted in [`Store::stats`]).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Cumulative counters, shared by all clones of this store.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            item_writes: self.counters.item_writes.load(Ordering::Relaxed),
            lease_writes: self.counters.lease_writes.load(Ordering::Relaxed),
            write_requests: self.counters.write_requests.load(Ordering::Relaxed),
            read_requests: self.counters.read_requests.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count_read(&self) {
        self.counters.read_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_write_request(&self) {
        self.counters.write_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_items_written(&self, n: u64) {
        self.counters.item_writes.fetch_add(n, Ordering::Relaxed);
    }

    /// Create the table and its indexes when missing, wait until table and indexes are ACTIVE,
    /// and enable TTL on `ttl` (a warning, not an error, when the engine does not support it).
    /// Idempotent; safe to call concurrently. Used by the CLI and tests; in AWS the SAM template
    /// creates the same table (key schema in the crate docs).
    ///
    /// Errors: [`StoreError::Table`] when an existing table lacks the key schema or an index, or
    /// does not become ACTIVE within two minutes; [`StoreError::Dynamo`] for request failures.
    #[instrument(skip_all, fields(table = %self.table))]
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        let table = self.table.to_string();
        if self.describe_status().await?.is_none() {
            info!("creating table");
            let created = self
                .client
                .create_table()
                .table_name(&table)
                .billing_mode(BillingMode::PayPerRequest)
                .set_attribute_definitions(Some(
                    [PK, SK, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, GSI3_PK, GSI3_SK]
                        .into_iter()
                        .map(|name| {
                            AttributeDefinition::builder()
                                .attribute_name(name)
                                .attribute_type(ScalarAttributeType::S)
                                .build()
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(StoreError::build("CreateTable"))?,
                ))
                .set_key_schema(Some(key_schema(PK, SK)?))
                .global_secondary_indexes(gsi(GSI1, GSI1_PK, GSI1_SK, ProjectionType::KeysOnly)?)
                .global_secondary_indexes(gsi(GSI2, GSI2_PK, GSI2_SK, ProjectionType::All)?)
                .global_secondary_indexes(gsi(GSI3, GSI3_PK, GSI3_SK, ProjectionType::KeysOnly)?)
                .send()
                .await;
            match created {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_in_use_exception()) =>
                {
                    debug!("table created concurrently");
                }
                Err(e) => return Err(StoreError::sdk("CreateTable", None, &table, e)),
            }
        }
        self.ensure_contact_index().await?;
        let deadline = tokio::time::Instant::now() + ACTIVE_WAIT;
        loop {
            match self.describe_status().await? {
                Some(true) => break,
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(StoreError::Table {
                        table,
                        reason: "did not become ACTIVE (with its indexes) within 120 s".into(),
                    })
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
        self.ensure_ttl().await;
        Ok(())
    }

    /// `None`: no table; `Some(active)`: exists (and has the expected schema).
    async fn describe_status(&self) -> Result<Option<bool>, StoreError> {
        let table = self.table.to_string();
        let out = match self.client.describe_table().table_name(&table).send().await {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(StoreError::sdk("DescribeTable", None, &table, e)),
        };
        let Some(desc) = out.table else {
            return Ok(None);
        };
        let hash = desc
            .key_schema()
            .iter()
            .find(|k| k.key_type() == &KeyType::Hash)
            .map(|k| k.attribute_name());
        let range = desc
            .key_schema()
            .iter()
            .find(|k| k.key_type() == &KeyType::Range)
            .map(|k| k.attribute_name());
        if hash != Some(PK) || range != Some(SK) {
            return Err(StoreError::Table {
                table,
                reason: format!(
                    "key schema is {hash:?}/{range:?}, expected partition key `pk` and sort key `sk`"
                ),
            });
        }
        let mut active = desc.table_status() == Some(&TableStatus::Active);
        for want in [GSI1, GSI2, GSI3] {
            let Some(index) = desc
                .global_secondary_indexes()
                .iter()
                .find(|g| g.index_name() == Some(want))
            else {
                if want == GSI3 {
                    // Tables made before gsi3 get it from `ensure_contact_index`.
                    active = false;
                    continue;
                }
                return Err(StoreError::Table {
                    table,
                    reason: format!("global secondary index `{want}` is missing"),
                });
            };
            // Engines that do not report an index status (moto) have it ready at once.
            if index
                .index_status()
                .is_some_and(|s| s != &IndexStatus::Active)
            {
                active = false;
            }
        }
        Ok(Some(active))
    }

    async fn ensure_ttl(&self) {
        let current = self
            .client
            .describe_time_to_live()
            .table_name(self.table.as_ref())
            .send()
            .await;
        if let Ok(out) = &current {
            let status = out
                .time_to_live_description()
                .and_then(|d| d.time_to_live_status());
            if matches!(
                status,
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            ) {
                return;
            }
        }
        let spec = match TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(TTL)
            .build()
        {
            Ok(spec) => spec,
            Err(e) => {
                warn!(error = %e, "TTL specification not built");
                return;
            }
        };
        if let Err(e) = self
            .client
            .update_time_to_live()
            .table_name(self.table.as_ref())
            .time_to_live_specification(spec)
            .send()
            .await
        {
            warn!(
                error = %aws_sdk_dynamodb::error::DisplayErrorContext(&e),
                "TTL not enabled on `ttl` (engine may not support it)"
            );
        }
    }

    /// Store (replace) the integration of `i.workspace_id`. It also carries the sparse `gsi2`
    /// attributes so [`Store::list_integrations`] finds it.
    ///
    /// Errors: invalid workspace id; request failures.
    #[instrument(skip_all, fields(workspace = %i.workspace_id))]
    pub async fn put_integration(&self, i: &Integration) -> Result<(), StoreError> {
        let ws = i.workspace_id.as_str();
        keys::validate_workspace(ws)?;
        let (pk, sk) = (keys::pk(ws), keys::SK_INTEGRATION.to_owned());
        let mut item: Item = serde_dynamo::to_item(i).map_err(|e| StoreError::Codec {
            workspace: ws.to_owned(),
            key: keys::display(&pk, &sk),
            direction: "encode",
            what: "integration",
            source: Box::new(e),
        })?;
        item.extend(keys::key(&pk, &sk));
        item.insert(keys::ENTITY.into(), s("integration"));
        item.insert(GSI2_PK.into(), s(keys::GSI2_INTEGRATIONS));
        item.insert(GSI2_SK.into(), s(ws));
        self.put_plain(ws, &pk, &sk, item).await
    }

    /// The integration of `workspace`, if any (strongly consistent read).
    #[instrument(skip_all, fields(workspace = %workspace))]
    pub async fn get_integration(
        &self,
        workspace: &str,
    ) -> Result<Option<Integration>, StoreError> {
        keys::validate_workspace(workspace)?;
        let (pk, sk) = (keys::pk(workspace), keys::SK_INTEGRATION.to_owned());
        self.get_item(workspace, &pk, &sk)
            .await?
            .map(|item| decode(workspace, &pk, &sk, "integration", item))
            .transpose()
    }

    /// Delete every item of `workspace` (its integration, feed progress, leases, contacts and
    /// their links, opportunities, note claims: all items under partition key `WS#<workspace>`).
    /// Other workspaces are not touched. For local resets (`stsync demo --fresh`) and tests; a
    /// production offboarding would run it too. Reads keys a page at a time (Query on the table,
    /// strongly consistent, keys only) and deletes them 25 per BatchWriteItem, sending unprocessed
    /// items again with a short growing pause; the integration item goes first, so an interrupted
    /// delete leaves a disconnected remainder. Returns the number of items deleted.
    ///
    /// Errors: the id check's error for an invalid workspace id; [`StoreError::Dynamo`] when a
    /// Query or BatchWriteItem fails; [`StoreError::Unprocessed`] when deletes stay unprocessed
    /// after 10 tries (items deleted before stay deleted; calling it again finishes the job).
    #[instrument(skip_all, fields(workspace = %workspace))]
    pub async fn delete_workspace(&self, workspace: &str) -> Result<u64, StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        keys::validate_workspace(workspace)?;
        let pk = keys::pk(workspace);
        let mut deleted = 0u64;
        // The integration first: a delete that stops half-way leaves a workspace that is no
        // longer connected (nothing syncs into the remains), not a connected, broken one.
        self.count_write_request();
        let integration = self
            .client
            .delete_item()
            .table_name(self.table.as_ref())
            .set_key(Some(keys::key(&pk, keys::SK_INTEGRATION)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| {
                StoreError::sdk(
                    "DeleteItem",
                    Some(workspace),
                    keys::display(&pk, keys::SK_INTEGRATION),
                    e,
                )
            })?;
        if integration.attributes.is_some_and(|a| !a.is_empty()) {
            self.count_items_written(1);
            deleted += 1;
        }
        let mut start: Option<Item> = None;
        loop {
            self.count_read();
            let out = self
                .client
                .query()
                .table_name(self.table.as_ref())
                .key_condition_expression("#h = :h")
                .expression_attribute_names("#h", PK)
                .expression_attribute_names("#s", SK)
                .expression_attribute_values(":h", s(&pk))
                .projection_expression("#h, #s")
                .consistent_read(true)
                .limit(QUERY_PAGE_ITEMS)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StoreError::sdk("Query", Some(workspace), format!("{pk}/*"), e))?;
            let keys: Vec<Item> = out.items.unwrap_or_default();
            for chunk in keys.chunks(25) {
                let mut pending: Vec<WriteRequest> = chunk
                    .iter()
                    .map(|key| {
                        let delete = DeleteRequest::builder()
                            .set_key(Some(key.clone()))
                            .build()
                            .map_err(StoreError::build("BatchWriteItem"))?;
                        Ok(WriteRequest::builder().delete_request(delete).build())
                    })
                    .collect::<Result<_, StoreError>>()?;
                let mut tries = 0u32;
                while !pending.is_empty() {
                    tries += 1;
                    if tries > 1 {
                        tokio::time::sleep(Duration::from_millis(50 * u64::from(tries))).await;
                    }
                    let sent = pending.len() as u64;
                    self.count_write_request();
                    let out = self
                        .client
                        .batch_write_item()
                        .request_items(self.table.as_ref(), std::mem::take(&mut pending))
                        .send()
                        .await
                        .map_err(|e| {
                            StoreError::sdk("BatchWriteItem", Some(workspace), format!("{pk}/*"), e)
                        })?;
                    pending = out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(self.table.as_ref()))
                        .unwrap_or_default();
                    let done = sent - pending.len() as u64;
                    self.count_items_written(done);
                    deleted += done;
                    if !pending.is_empty() && tries >= 10 {
                        return Err(StoreError::Unprocessed {
                            operation: "BatchWriteItem",
                            workspace: workspace.to_owned(),
                            count: pending.len(),
                        });
                    }
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        info!(deleted, "workspace deleted");
        Ok(deleted)
    }

    /// Every workspace's integration, ordered by workspace id, through the sparse index `gsi2`
    /// (a Query, never a Scan; eventually consistent like every GSI read). Paginated internally.
    #[instrument(skip_all)]
    pub async fn list_integrations(&self) -> Result<Vec<Integration>, StoreError> {
        let items = self
            .query_all(
                None,
                Some(GSI2),
                GSI2_PK,
                keys::GSI2_INTEGRATIONS,
                None,
                GSI2_SK,
            )
            .await?;
        items
            .into_iter()
            .map(|item| {
                let pk = keys::get_s(&item, PK).unwrap_or_default().to_owned();
                let ws = pk.strip_prefix("WS#").unwrap_or(&pk).to_owned();
                decode(&ws, &pk, keys::SK_INTEGRATION, "integration", item)
            })
            .collect()
    }

    /// The saved progress of `feed` in `workspace`, if any (strongly consistent read).
    #[instrument(skip_all, fields(workspace = %workspace, feed = %feed))]
    pub async fn get_progress(
        &self,
        workspace: &str,
        feed: &str,
    ) -> Result<Option<FeedProgress>, StoreError> {
        keys::validate_id(workspace, "feed", feed)?;
        self.get_doc(workspace, &keys::sk_progress(feed), "feed progress")
            .await
    }

    /// Every feed's saved progress in `workspace` (a Query on its partition,
    /// `begins_with(sk, "PROGRESS#")`, strongly consistent), ordered by feed name.
    ///
    /// Errors: [`StoreError`] for an invalid workspace, DynamoDB failures or undecodable items.
    #[instrument(skip_all, fields(workspace = %workspace))]
    pub async fn list_progress(&self, workspace: &str) -> Result<Vec<FeedProgress>, StoreError> {
        self.list_docs(workspace, "PROGRESS#", "feed progress")
            .await
    }

    /// Save (replace) the progress of `p.feed` in `workspace` (item `PROGRESS#<feed>`).
    #[instrument(skip_all, fields(workspace = %workspace, feed = %p.feed))]
    pub async fn put_progress(&self, workspace: &str, p: &FeedProgress) -> Result<(), StoreError> {
        keys::validate_id(workspace, "feed", &p.feed)?;
        self.put_doc(
            workspace,
            &keys::sk_progress(&p.feed),
            "progress",
            "feed progress",
            p,
        )
        .await
    }

    /// The item `sk` of `workspace`'s partition decoded as `T` (`what` names it in errors);
    /// strongly consistent.
    pub(crate) async fn get_doc<T: serde::de::DeserializeOwned>(
        &self,
        workspace: &str,
        sk: &str,
        what: &'static str,
    ) -> Result<Option<T>, StoreError> {
        keys::validate_workspace(workspace)?;
        let pk = keys::pk(workspace);
        self.get_item(workspace, &pk, sk)
            .await?
            .map(|item| decode(workspace, &pk, sk, what, item))
            .transpose()
    }

    /// Every item of `workspace`'s partition whose sort key starts with `prefix`, decoded as `T`,
    /// in sort-key order (strongly consistent).
    pub(crate) async fn list_docs<T: serde::de::DeserializeOwned>(
        &self,
        workspace: &str,
        prefix: &str,
        what: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        keys::validate_workspace(workspace)?;
        let pk = keys::pk(workspace);
        let items = self
            .query_all(Some(workspace), None, keys::PK, &pk, Some(prefix), keys::SK)
            .await?;
        items
            .into_iter()
            .map(|item| {
                let sk = keys::get_s(&item, keys::SK).unwrap_or_default().to_owned();
                decode(workspace, &pk, &sk, what, item)
            })
            .collect()
    }

    /// Replace item `sk` of `workspace`'s partition with `value` (tagged `entity`).
    pub(crate) async fn put_doc<T: serde::Serialize>(
        &self,
        workspace: &str,
        sk: &str,
        entity: &'static str,
        what: &'static str,
        value: &T,
    ) -> Result<(), StoreError> {
        keys::validate_workspace(workspace)?;
        let pk = keys::pk(workspace);
        let mut item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::Codec {
            workspace: workspace.to_owned(),
            key: keys::display(&pk, sk),
            direction: "encode",
            what,
            source: Box::new(e),
        })?;
        item.extend(keys::key(&pk, sk));
        item.insert(keys::ENTITY.into(), s(entity));
        self.put_plain(workspace, &pk, sk, item).await
    }

    /// Unconditional PutItem.
    pub(crate) async fn put_plain(
        &self,
        workspace: &str,
        pk: &str,
        sk: &str,
        item: Item,
    ) -> Result<(), StoreError> {
        self.count_write_request();
        self.client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::sdk("PutItem", Some(workspace), keys::display(pk, sk), e))?;
        self.count_items_written(1);
        Ok(())
    }

    /// Strongly consistent GetItem.
    pub(crate) async fn get_item(
        &self,
        workspace: &str,
        pk: &str,
        sk: &str,
    ) -> Result<Option<Item>, StoreError> {
        self.count_read();
        let out = self
            .client
            .get_item()
            .table_name(self.table.as_ref())
            .set_key(Some(keys::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::sdk("GetItem", Some(workspace), keys::display(pk, sk), e))?;
        Ok(out.item)
    }

    /// Query every page of `hash_attr = hash [AND begins_with(range_attr, prefix)]`, on the table
    /// (strongly consistent) or on an index.
    pub(crate) async fn query_all(
        &self,
        workspace: Option<&str>,
        index: Option<&str>,
        hash_attr: &str,
        hash: &str,
        prefix: Option<&str>,
        range_attr: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        let condition = if prefix.is_some() {
            "#h = :h AND begins_with(#r, :p)"
        } else {
            "#h = :h"
        };
        loop {
            let mut req = self
                .client
                .query()
                .table_name(self.table.as_ref())
                .limit(QUERY_PAGE_ITEMS)
                .key_condition_expression(condition)
                .expression_attribute_names("#h", hash_attr)
                .expression_attribute_values(":h", s(hash))
                .set_exclusive_start_key(start.take());
            if let Some(p) = prefix {
                req = req
                    .expression_attribute_names("#r", range_attr)
                    .expression_attribute_values(":p", s(p));
            }
            req = match index {
                Some(index) => req.index_name(index),
                None => req.consistent_read(true),
            };
            self.count_read();
            let out = req.send().await.map_err(|e| {
                StoreError::sdk(
                    "Query",
                    workspace,
                    format!(
                        "{}{hash}{}",
                        index.map(|i| format!("{i}:")).unwrap_or_default(),
                        prefix.map(|p| format!("/{p}*")).unwrap_or_default()
                    ),
                    e,
                )
            })?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }
}

/// The SDK client production uses: `aws_config::defaults(BehaviorVersion::latest())`, so region,
/// credentials and endpoint come from the environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, the
/// Lambda role). Tests and local runs reach moto by exporting `AWS_ENDPOINT_URL`; there is no
/// test-only constructor.
pub async fn aws_client() -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Client::new(&config)
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Decode an item with serde_dynamo (unknown attributes such as keys are ignored).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    workspace: &str,
    pk: &str,
    sk: &str,
    what: &'static str,
    item: Item,
) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Codec {
        workspace: workspace.to_owned(),
        key: keys::display(pk, sk),
        direction: "decode",
        what,
        source: Box::new(e),
    })
}

fn key_schema(hash: &str, range: &str) -> Result<Vec<KeySchemaElement>, StoreError> {
    [(hash, KeyType::Hash), (range, KeyType::Range)]
        .into_iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::build("CreateTable"))
}

fn gsi(
    name: &str,
    hash: &str,
    range: &str,
    projection: ProjectionType,
) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(key_schema(hash, range)?))
        .projection(Projection::builder().projection_type(projection).build())
        .build()
        .map_err(StoreError::build("CreateTable"))
}
