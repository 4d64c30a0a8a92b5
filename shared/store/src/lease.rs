//! Per-integration leases (SPEC.md §3 "Concurrency"): one sync of an integration's model at a
//! time, with an expiry so a crashed invocation never blocks the next one for long.
//!
//! Item: `pk = WS#<workspace>`, `sk = LEASE#<name>`, attributes `owner` (the invocation's id),
//! `expiresAt` (epoch milliseconds, N) and `ttl` (epoch seconds, N; DynamoDB deletes stale
//! leases). Acquire is a PutItem conditioned on "absent, expired, or already mine"; release is a
//! DeleteItem conditioned on "mine". Lease writes are counted apart from data writes
//! ([`crate::StoreStats::lease_writes`]): they are bookkeeping of the invocation, not synced data.

use std::sync::atomic::Ordering;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use tracing::debug;

use crate::{keys, Store, StoreError};

/// A held lease; pass it back to [`Store::release_lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Workspace.
    pub workspace: String,
    /// Lease name, e.g. `sync:job`.
    pub name: String,
    /// Who holds it (an invocation / request id).
    pub owner: String,
    /// When it expires unless renewed (UTC).
    pub expires_at: DateTime<Utc>,
}

fn sk_lease(name: &str) -> String {
    format!("LEASE#{name}")
}

impl Store {
    /// Take the lease `name` of `workspace` for `owner` until `now + duration`, if nobody else
    /// holds an unexpired one. Taking a lease one already holds renews it.
    ///
    /// Returns `Ok(None)` when another owner holds it. Errors: [`StoreError`] for invalid input
    /// or DynamoDB failures.
    pub async fn acquire_lease(
        &self,
        workspace: &str,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        duration: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        keys::validate_workspace(workspace)?;
        keys::validate_id(workspace, "lease name", name)?;
        keys::validate_id(workspace, "lease owner", owner)?;
        let (pk, sk) = (keys::pk(workspace), sk_lease(name));
        let expires_at = now + duration;
        let mut item = keys::key(&pk, &sk);
        item.insert("owner".into(), AttributeValue::S(owner.to_owned()));
        item.insert(
            "expiresAt".into(),
            AttributeValue::N(expires_at.timestamp_millis().to_string()),
        );
        item.insert(
            keys::TTL.into(),
            AttributeValue::N((expires_at + Duration::days(1)).timestamp().to_string()),
        );
        item.insert(keys::ENTITY.into(), AttributeValue::S("lease".into()));
        self.count_write_request();
        let result = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR expiresAt < :now OR #owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(
                ":now",
                AttributeValue::N(now.timestamp_millis().to_string()),
            )
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => {
                self.counters.lease_writes.fetch_add(1, Ordering::Relaxed);
                Ok(Some(Lease {
                    workspace: workspace.to_owned(),
                    name: name.to_owned(),
                    owner: owner.to_owned(),
                    expires_at,
                }))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                debug!(workspace, lease = name, "lease held by another invocation");
                Ok(None)
            }
            Err(e) => Err(StoreError::sdk(
                "PutItem",
                Some(workspace),
                keys::display(&pk, &sk),
                e,
            )),
        }
    }

    /// Give a lease back. Releasing a lease that expired and was taken by someone else changes
    /// nothing (their lease stays).
    ///
    /// Errors: [`StoreError`] for DynamoDB failures.
    pub async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        let (pk, sk) = (keys::pk(&lease.workspace), sk_lease(&lease.name));
        self.count_write_request();
        let result = self
            .client
            .delete_item()
            .table_name(self.table.as_ref())
            .set_key(Some(keys::key(&pk, &sk)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(lease.owner.clone()))
            .send()
            .await;
        match result {
            Ok(_) => {
                self.counters.lease_writes.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::sdk(
                "DeleteItem",
                Some(&lease.workspace),
                keys::display(&pk, &sk),
                e,
            )),
        }
    }
}
