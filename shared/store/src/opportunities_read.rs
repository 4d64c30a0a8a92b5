//! Batched reads of stored opportunities by identity: the sync engine reads the previous build
//! of the opportunities a page affects to learn which related records (appointments, estimates,
//! invoices...) they were built from, so it can re-fetch them with `ids=` lookups instead of one
//! ServiceTitan request per record (SPEC.md §3).

use std::collections::HashMap;

use opportunity::Model;
use tracing::instrument;

use crate::keys::{self, SK};
use crate::opportunities::{decode_opportunity, StoredOpportunity};
use crate::{Store, StoreError};

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
        let sk_refs: Vec<&str> = sks.iter().map(String::as_str).collect();
        let mut found = HashMap::new();
        for item in self.batch_get_all(workspace, &pk, &sk_refs, None).await? {
            let sk = keys::get_s(&item, SK).unwrap_or_default().to_owned();
            let stored = decode_opportunity(workspace, &pk, &sk, item)?;
            found.insert(stored.opportunity.external_id.clone(), stored);
        }
        Ok(found)
    }
}
