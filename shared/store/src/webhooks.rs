//! Webhook delivery claims (SPEC.md §6: duplicate deliveries are no-ops) and the customer-link
//! read the call webhook needs before deciding to ask ServiceTitan for a customer.
//!
//! Item: `pk = WS#<workspace>`, `sk = HOOK#<hex SHA-256 of "<source>\n<event id>">` (CloudEvents:
//! the same `source` and `id` is the same event; hashing keeps any id usable in a key), with
//! `source`, `eventId`, `eventType`, `state` (`pending` | `done`), `token` (the claimant's UUID),
//! `claimedAt`, `expiresAt` (epoch milliseconds, N: when a `pending` claim counts as abandoned),
//! `doneAt` and `outcome` once done, and `ttl` (epoch seconds, N; DynamoDB deletes the item
//! afterwards).
//!
//! - [`Store::claim_webhook_event`]: a PutItem conditioned on "absent, or pending and abandoned".
//!   Exactly one concurrent delivery wins; the others learn whether the event is done (a
//!   duplicate: answer 2xx) or still being handled (answer non-2xx so the sender retries).
//! - [`Store::complete_webhook_event`]: `pending` → `done`, conditioned on the token.
//! - [`Store::release_webhook_event`]: deletes the claim (conditioned on the token) when handling
//!   failed, so the sender's retry is processed instead of being taken for a duplicate.
//!
//! A claimant that crashes leaves a `pending` claim; once `expiresAt` passes, the next delivery
//! takes it over. Claim writes count in [`crate::StoreStats::item_writes`].

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tracing::debug;

use crate::keys::{self, PK};
use crate::store::{decode, s, Item};
use crate::{Store, StoreError};

/// How long a webhook claim is remembered (the item's `ttl`): ServiceTitan retries within about
/// 7 minutes (10, 30, 60, 300 s), and failed events can be replayed by hand from its developer
/// portal later; a week covers both.
pub const WEBHOOK_CLAIM_RETENTION: Duration = Duration::days(7);

/// Rounds of claim → read when the claim item vanishes in between (a concurrent release).
const CLAIM_ATTEMPTS: u32 = 3;

const STATE_PENDING: &str = "pending";
const STATE_DONE: &str = "done";

/// A claim this caller holds; pass it to [`Store::complete_webhook_event`] or
/// [`Store::release_webhook_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookClaim {
    /// Workspace.
    pub workspace: String,
    /// The claim's sort key (`HOOK#<hash>`).
    pub sk: String,
    /// This claimant's token (UUID v4).
    pub token: String,
}

/// What [`Store::claim_webhook_event`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This caller owns the event now.
    Claimed(WebhookClaim),
    /// The event was already handled: a duplicate delivery.
    Done {
        /// The outcome recorded when it was handled (e.g. `created`).
        outcome: Option<String>,
    },
    /// Another delivery of the event holds an unexpired claim and is being handled now.
    InProgress,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimRead {
    state: String,
    #[serde(default)]
    outcome: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkRead {
    contact_id: String,
}

/// The claim sort key of an event: `HOOK#` + hex SHA-256 of `"<source>\n<event id>"`.
pub fn sk_webhook(source: &str, event_id: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(source.as_bytes());
    hash.update(b"\n");
    hash.update(event_id.as_bytes());
    format!("HOOK#{}", hex::encode(hash.finalize()))
}

impl Store {
    /// Claim the webhook event `(source, event_id)` of `workspace` for handling. The claim is
    /// `pending` until [`Store::complete_webhook_event`]; another delivery may take it over once
    /// `now + hold` has passed (the claimant is presumed dead: choose `hold` longer than the
    /// handler's timeout). The item expires [`WEBHOOK_CLAIM_RETENTION`] after `now`.
    ///
    /// Errors: invalid workspace, event id or source (empty, over 512 bytes, control characters),
    /// DynamoDB failures.
    pub async fn claim_webhook_event(
        &self,
        workspace: &str,
        source: &str,
        event_id: &str,
        event_type: &str,
        now: DateTime<Utc>,
        hold: Duration,
    ) -> Result<ClaimOutcome, StoreError> {
        keys::validate_workspace(workspace)?;
        keys::validate_id(workspace, "event id", event_id)?;
        keys::validate_id(workspace, "event source", source)?;
        let (pk, sk) = (keys::pk(workspace), sk_webhook(source, event_id));
        for attempt in 1..=CLAIM_ATTEMPTS {
            let token = uuid::Uuid::new_v4().to_string();
            let mut item: Item = keys::key(&pk, &sk);
            for (name, value) in [
                (keys::ENTITY, "webhook"),
                ("source", source),
                ("eventId", event_id),
                ("eventType", event_type),
                ("state", STATE_PENDING),
                ("token", token.as_str()),
            ] {
                item.insert(name.into(), s(value));
            }
            item.insert(
                "claimedAt".into(),
                s(now.to_rfc3339_opts(SecondsFormat::Millis, true)),
            );
            item.insert(
                "expiresAt".into(),
                AttributeValue::N((now + hold).timestamp_millis().to_string()),
            );
            item.insert(
                keys::TTL.into(),
                AttributeValue::N((now + WEBHOOK_CLAIM_RETENTION).timestamp().to_string()),
            );
            self.count_write_request();
            let result = self
                .client
                .put_item()
                .table_name(self.table.as_ref())
                .set_item(Some(item))
                .condition_expression(
                    "attribute_not_exists(#pk) OR (#state = :pending AND #exp < :now)",
                )
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#exp", "expiresAt")
                .expression_attribute_values(":pending", s(STATE_PENDING))
                .expression_attribute_values(
                    ":now",
                    AttributeValue::N(now.timestamp_millis().to_string()),
                )
                .send()
                .await;
            match result {
                Ok(_) => {
                    self.count_items_written(1);
                    return Ok(ClaimOutcome::Claimed(WebhookClaim {
                        workspace: workspace.to_owned(),
                        sk,
                        token,
                    }));
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
                Err(e) => {
                    return Err(StoreError::sdk(
                        "PutItem",
                        Some(workspace),
                        keys::display(&pk, &sk),
                        e,
                    ))
                }
            }
            match self.get_item(workspace, &pk, &sk).await? {
                Some(item) => {
                    let read: ClaimRead = decode(workspace, &pk, &sk, "webhook claim", item)?;
                    return Ok(if read.state == STATE_DONE {
                        ClaimOutcome::Done {
                            outcome: read.outcome,
                        }
                    } else {
                        ClaimOutcome::InProgress
                    });
                }
                // Released (or expired) between the put and the read: try again.
                None => debug!(workspace, attempt, "webhook claim vanished; claiming again"),
            }
        }
        Ok(ClaimOutcome::InProgress)
    }

    /// Mark a claimed event handled with `outcome` (e.g. `created`, `duplicate`). `Ok(false)`
    /// when the claim is no longer this caller's (it was abandoned and taken over): the other
    /// delivery finishes the job, and since handling is idempotent nothing is lost.
    ///
    /// Errors: DynamoDB failures.
    pub async fn complete_webhook_event(
        &self,
        claim: &WebhookClaim,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let pk = keys::pk(&claim.workspace);
        self.count_write_request();
        let result = self
            .client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(keys::key(&pk, &claim.sk)))
            .update_expression("SET #state = :done, #outcome = :outcome, #doneAt = :now")
            .condition_expression("#token = :token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#outcome", "outcome")
            .expression_attribute_names("#doneAt", "doneAt")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":done", s(STATE_DONE))
            .expression_attribute_values(":outcome", s(outcome))
            .expression_attribute_values(
                ":now",
                s(now.to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
            .expression_attribute_values(":token", s(claim.token.clone()))
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
                "UpdateItem",
                Some(&claim.workspace),
                keys::display(&pk, &claim.sk),
                e,
            )),
        }
    }

    /// Give a claim back after handling failed, so the next delivery of the event is handled
    /// rather than taken for a duplicate. Releasing a claim that was taken over changes nothing.
    ///
    /// Errors: DynamoDB failures.
    pub async fn release_webhook_event(&self, claim: &WebhookClaim) -> Result<(), StoreError> {
        let pk = keys::pk(&claim.workspace);
        self.count_write_request();
        let result = self
            .client
            .delete_item()
            .table_name(self.table.as_ref())
            .set_key(Some(keys::key(&pk, &claim.sk)))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(claim.token.clone()))
            .send()
            .await;
        match result {
            Ok(_) => {
                self.count_items_written(1);
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
                Some(&claim.workspace),
                keys::display(&pk, &claim.sk),
                e,
            )),
        }
    }

    /// The contact a ServiceTitan customer id is linked to in `workspace` (item `CUST#<id>`), if
    /// any. A strongly consistent GetItem; writes nothing. The call webhook uses it to decide
    /// whether the customer's record must be fetched from ServiceTitan before contact resolution.
    ///
    /// Errors: invalid workspace, DynamoDB failures, a corrupt link item.
    pub async fn linked_contact(
        &self,
        workspace: &str,
        customer_id: i64,
    ) -> Result<Option<String>, StoreError> {
        keys::validate_workspace(workspace)?;
        let (pk, sk) = (keys::pk(workspace), keys::sk_customer(customer_id));
        self.get_item(workspace, &pk, &sk)
            .await?
            .map(|item| {
                decode::<LinkRead>(workspace, &pk, &sk, "customer link", item).map(|l| l.contact_id)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_keys_depend_on_source_and_id() {
        let a = sk_webhook("https://webhooks.servicetitan.io", "e-1");
        assert!(a.starts_with("HOOK#") && a.len() == 5 + 64, "{a}");
        assert_eq!(a, sk_webhook("https://webhooks.servicetitan.io", "e-1"));
        assert_ne!(a, sk_webhook("https://webhooks.servicetitan.io", "e-2"));
        assert_ne!(a, sk_webhook("https://other.example", "e-1"));
        // the separator keeps ("ab", "c") and ("a", "bc") apart
        assert_ne!(sk_webhook("ab", "c"), sk_webhook("a", "bc"));
    }
}
