//! The activation backfill's state per model (SPEC.md §3 "Backfill and incremental progress are
//! separate, durable and resumable"): item `BACKFILL#<model>` in the workspace's partition.
//!
//! The backfill covers `[window_from, window_to)` by `modifiedOn`: the 90 days before activation,
//! or before the last change of the model's resource selection (a newly selected resource is
//! filled in for the same 90 days). Its feeds keep their own tokens (`PROGRESS#backfill:<model>:
//! <resource>`), apart from the incremental ones (`PROGRESS#<model>:<resource>`), which start at
//! `window_to`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use crate::keys;
use crate::{Store, StoreError};

/// One model's backfill: its window, the resource selection it was started for, and whether it
/// finished. Serialized camelCase; times UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackfillState {
    /// The model (`job`, `membership`); part of the sort key (`BACKFILL#<model>`).
    pub model: String,
    /// The model's selected optional resources when the backfill started, comma-separated and
    /// sorted (`appointments,estimates,invoices`); a different selection starts a new backfill.
    pub selection: String,
    /// Start of the window (inclusive): `window_to` minus the backfill days.
    pub window_from: DateTime<Utc>,
    /// End of the window (exclusive): activation, or the selection change; the incremental feeds
    /// start here.
    pub window_to: DateTime<Utc>,
    /// When this backfill started.
    pub started_at: DateTime<Utc>,
    /// When its last feed reached `window_to`; `None` while it runs.
    pub finished_at: Option<DateTime<Utc>>,
    /// The oldest `createdOn` of the base records (jobs, memberships) the backfill has read, when
    /// older than `window_from`: the related feeds' backfill starts there, so an estimate or
    /// appointment last changed before the window still reaches its in-window job. Absent in
    /// older items.
    #[serde(default)]
    pub related_from: Option<DateTime<Utc>>,
}

fn sk_backfill(model: &str) -> String {
    format!("BACKFILL#{model}")
}

impl Store {
    /// The backfill state of `model` in `workspace`, if one was started (strongly consistent).
    ///
    /// Errors: [`StoreError`] for an invalid workspace or model name, DynamoDB failures or an
    /// undecodable item.
    #[instrument(skip_all, fields(workspace = %workspace, model = %model))]
    pub async fn get_backfill(
        &self,
        workspace: &str,
        model: &str,
    ) -> Result<Option<BackfillState>, StoreError> {
        keys::validate_id(workspace, "model", model)?;
        self.get_doc(workspace, &sk_backfill(model), "backfill state")
            .await
    }

    /// Every model's backfill state in `workspace` (one Query, `begins_with(sk, "BACKFILL#")`),
    /// ordered by model.
    ///
    /// Errors: as [`Store::get_backfill`].
    #[instrument(skip_all, fields(workspace = %workspace))]
    pub async fn list_backfills(&self, workspace: &str) -> Result<Vec<BackfillState>, StoreError> {
        self.list_docs(workspace, "BACKFILL#", "backfill state")
            .await
    }

    /// Save (replace) the backfill state of `b.model` in `workspace`.
    ///
    /// Errors: as [`Store::get_backfill`].
    #[instrument(skip_all, fields(workspace = %workspace, model = %b.model))]
    pub async fn put_backfill(&self, workspace: &str, b: &BackfillState) -> Result<(), StoreError> {
        keys::validate_id(workspace, "model", &b.model)?;
        self.put_doc(
            workspace,
            &sk_backfill(&b.model),
            "backfill",
            "backfill state",
            b,
        )
        .await
    }
}
