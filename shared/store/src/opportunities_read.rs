//! Batched reads of stored opportunities by identity: the sync engine reads the previous build
//! of the opportunities a page affects to learn which related records (appointments, estimates,
//! invoices...) they were built from, so it can re-fetch them with `ids=` lookups instead of one
//! ServiceTitan request per record (SPEC.md §3).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use opportunity::Model;
use tracing::instrument;

use crate::keys::{self, SK};
use crate::opportunities::{decode_opportunity, StoredOpportunity};
use crate::store::Item;
use crate::{Store, StoreError};

/// Keys per BatchGetItem (the DynamoDB maximum).
const BATCH_GET_MAX: usize = 100;
/// BatchGetItem rounds for unprocessed keys before giving up.
const BATCH_GET_ROUNDS: u32 = 8;

impl Store {
    /// The stored opportunities of `model` among `external_ids` (missing ones are simply absent),
    /// keyed by external id. Strongly consistent BatchGetItem, 100 keys per request, unprocessed
    /// keys retried with backoff. Duplicates in `external_ids` are read once.
    ///
    /// Errors: invalid workspace or id; request failures; [`StoreError::Unprocessed`] when
    /// DynamoDB keeps returning unprocessed keys; [`StoreError::Codec`] for an unreadable item.
    #[instrument(skip_all, fields(workspace = %workspace, model = %model, ids = external_ids.len()))]
    pub async fn get_opportunities(
        &self,
        workspace: &str,
        model: Model,
        external_ids: &[String],
    ) -> Result<HashMap<String, StoredOpportunity>, StoreError> {
        keys::validate_workspace(workspace)?;
        let pk = keys::pk(workspace);
        let mut sks: Vec<String> = Vec::with_capacity(external_ids.len());
        for id in external_ids {
            keys::validate_id(workspace, "external id", id)?;
            sks.push(keys::sk_opp(model, id));
        }
        sks.sort();
        sks.dedup();
        let mut found = HashMap::new();
        for chunk in sks.chunks(BATCH_GET_MAX) {
            let mut pending: Vec<Item> = chunk.iter().map(|sk| keys::key(&pk, sk)).collect();
            let mut round = 0;
            while !pending.is_empty() {
                if round == BATCH_GET_ROUNDS {
                    return Err(StoreError::Unprocessed {
                        workspace: workspace.to_owned(),
                        count: pending.len(),
                    });
                }
                if round > 0 {
                    let ms = (25u64 << round.min(6)).min(1_000);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                round += 1;
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(StoreError::build("BatchGetItem"))?;
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
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(self.table.as_ref()))
                    .unwrap_or_default()
                {
                    let sk = keys::get_s(&item, SK).unwrap_or_default().to_owned();
                    let stored = decode_opportunity(workspace, &pk, &sk, item)?;
                    found.insert(stored.opportunity.external_id.clone(), stored);
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(self.table.as_ref()))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
        }
        Ok(found)
    }
}
