//! Contacts and contact resolution (SPEC.md §5).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use opportunity::ContactCandidate;
use serde::{Deserialize, Serialize};
use tracing::{debug, instrument, warn};

use crate::keys::{self, PK, SK};
use crate::opportunities::{item_size, value_size};
use crate::store::{decode, s, Item};
use crate::{Store, StoreError};

/// How many times resolution re-runs after losing a race to a concurrent writer.
const MAX_RESOLVE_ATTEMPTS: u32 = 6;

/// A contact of a workspace (SPEC.md §1): the person or company opportunities belong to.
/// Stored as item `CONTACT#<contact id>`; serialized camelCase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Our id (a UUID v4).
    pub contact_id: String,
    /// First name, from the opportunity that created the contact.
    pub first_name: Option<String>,
    /// Last name, from the opportunity that created the contact.
    pub last_name: Option<String>,
    /// Normalized e-mail the contact was created with.
    pub email: Option<String>,
    /// E.164 phone the contact was created with.
    pub phone: Option<String>,
    /// ServiceTitan customer ids linked to this contact (External Contact IDs), in link order.
    #[serde(default)]
    pub customer_ids: Vec<i64>,
    /// When the contact was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When a customer id was last linked (UTC).
    pub updated_at: DateTime<Utc>,
}

/// How [`Store::resolve_contact`] found the contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The customer id was already linked to the contact.
    CustomerId,
    /// The normalized e-mail matched.
    Email,
    /// The E.164 phone matched.
    Phone,
    /// No match: a new contact was created.
    New,
}

/// The outcome of contact resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactResolution {
    /// The resolved contact's id.
    pub contact_id: String,
    /// Whether this call created the contact.
    pub created: bool,
    /// How the contact was found.
    pub matched_by: MatchedBy,
}

/// A lookup item (`EMAIL#`, `PHONE#`, `CUST#`): its value points at a contact.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lookup {
    contact_id: String,
    created_at: DateTime<Utc>,
}

/// An e-mail or phone that becomes a lookup sort key (`EMAIL#…`, `PHONE#…`; DynamoDB allows
/// 1 024 bytes): at most [`keys::MAX_ID_LEN`] bytes, no control characters. Else
/// [`StoreError::InvalidInput`] with the value redacted (`…`): it is personal data.
fn check_lookup_value(workspace: &str, what: &'static str, value: &str) -> Result<(), StoreError> {
    let reason = if value.len() > keys::MAX_ID_LEN {
        "longer than 512 bytes"
    } else if value.chars().any(char::is_control) {
        "must not contain control characters"
    } else {
        return Ok(());
    };
    Err(StoreError::InvalidInput {
        workspace: workspace.to_owned(),
        what,
        value: "…".to_owned(),
        reason,
    })
}

/// [`StoreError::ContactTooLarge`] when a contact item is over
/// [`MAX_ITEM_BYTES`](crate::opportunities::MAX_ITEM_BYTES) (estimated as opportunities are),
/// naming its largest attribute.
fn check_contact_size(
    workspace: &str,
    customer_id: Option<i64>,
    item: &Item,
) -> Result<(), StoreError> {
    let limit = crate::opportunities::MAX_ITEM_BYTES;
    let bytes = item_size(item);
    if bytes <= limit {
        return Ok(());
    }
    let (field, field_bytes) = item
        .iter()
        .map(|(k, v)| (k.as_str(), k.len() + value_size(v)))
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .unwrap_or_default();
    Err(StoreError::ContactTooLarge {
        workspace: workspace.to_owned(),
        customer_id,
        field: field.to_owned(),
        field_bytes,
        bytes,
        limit,
    })
}

enum Attempt {
    Done(ContactResolution),
    /// A conditional write lost a race; resolve again.
    Raced,
}

impl Store {
    /// Resolve the contact of an opportunity (SPEC.md §5), in order:
    /// 1. the customer id's link (`CUST#<id>`) → that contact;
    /// 2. else the e-mail lookup (`EMAIL#<email>`; `candidate.email` is already normalized and
    ///    never a placeholder, `None` means no e-mail match) → that contact;
    /// 3. else the phone lookup (`PHONE#<e164>`) → that contact;
    /// 4. else a new contact, created in one transaction with its e-mail, phone and customer
    ///    lookups, each conditioned on not existing.
    ///
    /// A match by e-mail or phone links the customer id to the contact (a transaction: `CUST#`
    /// put if absent, the id appended to the contact's `customerIds`). A contact found through its
    /// customer id is not changed even when the candidate's e-mail, phone or name differ: the
    /// first values stay, and no new lookups are added for them. Resolution that finds an existing
    /// link writes nothing. A candidate without customer id, e-mail and phone always gets a new
    /// contact (callers keep the contact id of an already stored opportunity).
    ///
    /// When a conditional write loses a race (a concurrent writer created the same e-mail, phone
    /// or customer link), resolution runs again, so concurrent calls never make duplicates. All
    /// lookups are strongly consistent GetItems on the table, never scans. `now` is the UTC time
    /// written as `createdAt`/`updatedAt`.
    ///
    /// Errors: invalid workspace; request failures; [`StoreError::ResolutionContended`] (retryable)
    /// after six lost races. Permanent problems of this one candidate
    /// ([`StoreError::is_record_problem`]): an e-mail or phone that cannot be a lookup key
    /// ([`StoreError::InvalidInput`]: over 512 bytes or with control characters), and a new
    /// contact item over the size limit ([`StoreError::ContactTooLarge`], checked before any
    /// write; the mapping caps names so that it does not happen).
    #[instrument(skip_all, fields(workspace = %workspace, customer_id = ?candidate.customer_id))]
    pub async fn resolve_contact(
        &self,
        workspace: &str,
        candidate: &ContactCandidate,
        now: DateTime<Utc>,
    ) -> Result<ContactResolution, StoreError> {
        keys::validate_workspace(workspace)?;
        let email = candidate
            .email
            .as_deref()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty());
        let phone = candidate
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        // Both become lookup sort keys (DynamoDB: at most 1 024 bytes).
        if let Some(email) = &email {
            check_lookup_value(workspace, "email", email)?;
        }
        if let Some(phone) = phone {
            check_lookup_value(workspace, "phone", phone)?;
        }
        for attempt in 1..=MAX_RESOLVE_ATTEMPTS {
            match self
                .resolve_once(workspace, candidate, email.as_deref(), phone, now)
                .await?
            {
                Attempt::Done(resolution) => {
                    debug!(matched_by = ?resolution.matched_by, created = resolution.created, attempt, "contact resolved");
                    return Ok(resolution);
                }
                Attempt::Raced => debug!(attempt, "contact resolution raced; retrying"),
            }
        }
        Err(StoreError::ResolutionContended {
            workspace: workspace.to_owned(),
            attempts: MAX_RESOLVE_ATTEMPTS,
        })
    }

    async fn resolve_once(
        &self,
        workspace: &str,
        candidate: &ContactCandidate,
        email: Option<&str>,
        phone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Attempt, StoreError> {
        let pk = keys::pk(workspace);
        if let Some(customer_id) = candidate.customer_id {
            if let Some(contact_id) = self
                .lookup(workspace, &pk, &keys::sk_customer(customer_id))
                .await?
            {
                return Ok(Attempt::Done(ContactResolution {
                    contact_id,
                    created: false,
                    matched_by: MatchedBy::CustomerId,
                }));
            }
        }
        let by_value = [
            (email.map(keys::sk_email), MatchedBy::Email),
            (phone.map(keys::sk_phone), MatchedBy::Phone),
        ];
        for (sk, matched_by) in by_value {
            let Some(sk) = sk else { continue };
            if let Some(contact_id) = self.lookup(workspace, &pk, &sk).await? {
                if let Some(customer_id) = candidate.customer_id {
                    if !self
                        .link_customer(workspace, &contact_id, customer_id, now)
                        .await?
                    {
                        // Lost a race, or the lookup points at a contact that is gone (a
                        // workspace delete that stopped half-way): drop such a stale lookup so
                        // the next attempt creates the contact instead of failing six times.
                        if self
                            .get_item(workspace, &pk, &keys::sk_contact(&contact_id))
                            .await?
                            .is_none()
                        {
                            self.drop_stale_lookup(workspace, &pk, &sk, &contact_id)
                                .await?;
                        }
                        return Ok(Attempt::Raced);
                    }
                }
                return Ok(Attempt::Done(ContactResolution {
                    contact_id,
                    created: false,
                    matched_by,
                }));
            }
        }
        self.create_contact(workspace, candidate, email, phone, now)
            .await
    }

    /// The contact id a lookup item points at.
    /// The contacts linked to `customer_ids` (their `CUST#<id>` lookups), what step 1 of
    /// [`Store::resolve_contact`] finds, for many customers at once: strongly consistent
    /// BatchGetItem calls of up to 100 keys. Customer id → contact id; customers without a link
    /// are absent.
    ///
    /// Errors: invalid workspace; request failures; [`StoreError::Unprocessed`] when keys stay
    /// unprocessed; [`StoreError::Codec`] for a lookup item without a contact id.
    #[instrument(skip_all, fields(workspace = %workspace, customers = customer_ids.len()))]
    pub async fn customer_contacts(
        &self,
        workspace: &str,
        customer_ids: &[i64],
    ) -> Result<HashMap<i64, String>, StoreError> {
        keys::validate_workspace(workspace)?;
        let pk = keys::pk(workspace);
        let sks: Vec<String> = customer_ids
            .iter()
            .map(|id| keys::sk_customer(*id))
            .collect();
        let sk_refs: Vec<&str> = sks.iter().map(String::as_str).collect();
        let items = self.batch_get_all(workspace, &pk, &sk_refs, None).await?;
        let mut found = HashMap::with_capacity(items.len());
        for item in items {
            let sk = keys::get_s(&item, SK).unwrap_or_default().to_owned();
            let Some(id) = sk.strip_prefix("CUST#").and_then(|id| id.parse().ok()) else {
                continue;
            };
            let lookup: Lookup = decode(workspace, &pk, &sk, "lookup", item)?;
            found.insert(id, lookup.contact_id);
        }
        Ok(found)
    }

    async fn lookup(
        &self,
        workspace: &str,
        pk: &str,
        sk: &str,
    ) -> Result<Option<String>, StoreError> {
        self.get_item(workspace, pk, sk)
            .await?
            .map(|item| decode::<Lookup>(workspace, pk, sk, "lookup", item).map(|l| l.contact_id))
            .transpose()
    }

    /// Delete the lookup `sk` if it still points at `contact_id` (a contact that no longer
    /// exists); a lookup another writer re-pointed meanwhile is kept.
    async fn drop_stale_lookup(
        &self,
        workspace: &str,
        pk: &str,
        sk: &str,
        contact_id: &str,
    ) -> Result<(), StoreError> {
        self.count_write_request();
        let result = self
            .client
            .delete_item()
            .table_name(self.table.as_ref())
            .set_key(Some(keys::key(pk, sk)))
            .condition_expression("#c = :c")
            .expression_attribute_names("#c", "contactId")
            .expression_attribute_values(":c", s(contact_id))
            .send()
            .await;
        match result {
            Ok(_) => {
                self.count_items_written(1);
                warn!(lookup = %keys::display(pk, sk), "dropped a lookup of a contact that no longer exists");
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::sdk(
                "DeleteItem",
                Some(workspace),
                keys::display(pk, sk),
                e,
            )),
        }
    }

    /// Link `customer_id` to an existing contact. `false` when a concurrent writer linked the
    /// customer first (or the contact vanished).
    async fn link_customer(
        &self,
        workspace: &str,
        contact_id: &str,
        customer_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let pk = keys::pk(workspace);
        let link_sk = keys::sk_customer(customer_id);
        let link = self.put_if_absent(
            workspace,
            &pk,
            &link_sk,
            "customer link",
            &Lookup {
                contact_id: contact_id.to_owned(),
                created_at: now,
            },
        )?;
        let contact_sk = keys::sk_contact(contact_id);
        let update = Update::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(keys::key(&pk, &contact_sk)))
            .update_expression(
                "SET #ids = list_append(if_not_exists(#ids, :empty), :ids), #u = :now",
            )
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#ids", "customerIds")
            .expression_attribute_names("#u", "updatedAt")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(
                ":ids",
                AttributeValue::L(vec![AttributeValue::N(customer_id.to_string())]),
            )
            .expression_attribute_values(
                ":now",
                s(now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            )
            .build()
            .map_err(StoreError::build("TransactWriteItems"))?;
        self.transact(
            workspace,
            &keys::display(&pk, &link_sk),
            vec![link, TransactWriteItem::builder().update(update).build()],
        )
        .await
    }

    async fn create_contact(
        &self,
        workspace: &str,
        candidate: &ContactCandidate,
        email: Option<&str>,
        phone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Attempt, StoreError> {
        let pk = keys::pk(workspace);
        let contact_id = uuid::Uuid::new_v4().to_string();
        let contact = Contact {
            contact_id: contact_id.clone(),
            first_name: candidate.first_name.clone(),
            last_name: candidate.last_name.clone(),
            email: email.map(str::to_owned),
            phone: phone.map(str::to_owned),
            customer_ids: candidate.customer_id.into_iter().collect(),
            created_at: now,
            updated_at: now,
        };
        let contact_sk = keys::sk_contact(&contact_id);
        let lookup = Lookup {
            contact_id: contact_id.clone(),
            created_at: now,
        };
        let contact_put = self.put_if_absent(workspace, &pk, &contact_sk, "contact", &contact)?;
        if let Some(item) = contact_put.put().map(Put::item) {
            check_contact_size(workspace, candidate.customer_id, item)?;
        }
        let mut writes = vec![contact_put];
        for (sk, what) in [
            (email.map(keys::sk_email), "email lookup"),
            (phone.map(keys::sk_phone), "phone lookup"),
            (
                candidate.customer_id.map(keys::sk_customer),
                "customer link",
            ),
        ] {
            if let Some(sk) = sk {
                writes.push(self.put_if_absent(workspace, &pk, &sk, what, &lookup)?);
            }
        }
        if !self
            .transact(workspace, &keys::display(&pk, &contact_sk), writes)
            .await?
        {
            return Ok(Attempt::Raced);
        }
        Ok(Attempt::Done(ContactResolution {
            contact_id,
            created: true,
            matched_by: MatchedBy::New,
        }))
    }

    /// A transaction Put of `value` (plus keys and `entity`) conditioned on the key not existing.
    fn put_if_absent<T: Serialize>(
        &self,
        workspace: &str,
        pk: &str,
        sk: &str,
        what: &'static str,
        value: &T,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::Codec {
            workspace: workspace.to_owned(),
            key: keys::display(pk, sk),
            direction: "encode",
            what,
            source: Box::new(e),
        })?;
        item.extend(keys::key(pk, sk));
        let entity = if what == "contact" {
            "contact"
        } else {
            "lookup"
        };
        item.insert(keys::ENTITY.into(), s(entity));
        let put = Put::builder()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(StoreError::build("TransactWriteItems"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Run a transaction. `Ok(false)` when it was cancelled by a failed condition or a
    /// conflicting transaction (the caller re-resolves); other failures are errors.
    async fn transact(
        &self,
        workspace: &str,
        key: &str,
        items: Vec<TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        let n = items.len() as u64;
        self.count_write_request();
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => {
                self.count_items_written(n);
                Ok(true)
            }
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                    e.as_service_error()
                {
                    let raced = c.cancellation_reasons().iter().all(|r| {
                        matches!(
                            r.code(),
                            None | Some("None" | "ConditionalCheckFailed" | "TransactionConflict")
                        )
                    });
                    if raced {
                        return Ok(false);
                    }
                }
                Err(StoreError::sdk(
                    "TransactWriteItems",
                    Some(workspace),
                    key,
                    e,
                ))
            }
        }
    }

    /// One contact of `workspace` (strongly consistent read).
    #[instrument(skip_all, fields(workspace = %workspace))]
    pub async fn get_contact(
        &self,
        workspace: &str,
        contact_id: &str,
    ) -> Result<Option<Contact>, StoreError> {
        keys::validate_workspace(workspace)?;
        keys::validate_id(workspace, "contact id", contact_id)?;
        let (pk, sk) = (keys::pk(workspace), keys::sk_contact(contact_id));
        self.get_item(workspace, &pk, &sk)
            .await?
            .map(|item| decode(workspace, &pk, &sk, "contact", item))
            .transpose()
    }

    /// Every contact of `workspace` (a Query on its partition, `begins_with(sk, "CONTACT#")`,
    /// strongly consistent, paginated internally), ordered by contact id.
    #[instrument(skip_all, fields(workspace = %workspace))]
    pub async fn list_contacts(&self, workspace: &str) -> Result<Vec<Contact>, StoreError> {
        keys::validate_workspace(workspace)?;
        let pk = keys::pk(workspace);
        let items = self
            .query_all(
                Some(workspace),
                None,
                PK,
                &pk,
                Some(keys::SK_CONTACT),
                keys::SK,
            )
            .await?;
        items
            .into_iter()
            .map(|item| {
                let sk = keys::get_s(&item, keys::SK).unwrap_or_default().to_owned();
                decode(workspace, &pk, &sk, "contact", item)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_size_check_names_the_customer_and_the_largest_field() {
        let contact = |first: String| Contact {
            contact_id: "c-1".into(),
            first_name: Some(first),
            last_name: Some("A".into()),
            email: None,
            phone: None,
            customer_ids: vec![3_301_457],
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        let item: Item = serde_dynamo::to_item(contact("b".repeat(1_000))).unwrap();
        assert!(check_contact_size("ws", Some(3_301_457), &item).is_ok());
        let item: Item = serde_dynamo::to_item(contact("b".repeat(500_000))).unwrap();
        let err = check_contact_size("ws", Some(3_301_457), &item).unwrap_err();
        assert!(err.is_record_problem() && !err.is_retryable());
        let text = err.to_string();
        assert!(
            text.contains("customer 3301457") && text.contains("`firstName`"),
            "{text}"
        );
    }

    #[test]
    fn lookup_values_that_cannot_be_keys_are_refused_without_echoing_them() {
        assert!(check_lookup_value("ws", "email", "a@b.example").is_ok());
        let long = format!("{}@example.com", "a".repeat(600));
        let err = check_lookup_value("ws", "email", &long).unwrap_err();
        assert!(err.is_record_problem());
        assert!(!err.to_string().contains("aaaa"), "{err}");
    }
}

#[cfg(all(test, feature = "embedded"))]
mod stale_lookup_tests {
    use super::*;
    use crate::embedded::EmbeddedDynamo;
    use opportunity::ContactCandidate;

    fn candidate(customer_id: i64, email: &str) -> ContactCandidate {
        ContactCandidate {
            customer_id: Some(customer_id),
            email: Some(email.to_owned()),
            phone: None,
            first_name: Some("Avery".into()),
            last_name: None,
        }
    }

    /// A lookup left pointing at a contact that no longer exists (a workspace delete stopped
    /// half-way) is dropped and the contact made again, instead of six "lost races".
    #[tokio::test]
    async fn a_lookup_of_a_vanished_contact_is_replaced() {
        let engine = EmbeddedDynamo::start_memory().await.unwrap();
        let client = engine.client().await;
        let store = Store::new(client.clone(), "stsync-stale-lookup");
        store.ensure_table().await.unwrap();
        let now = Utc::now();
        let first = store
            .resolve_contact("ws", &candidate(1, "avery@fixture.test"), now)
            .await
            .unwrap();
        assert!(first.created);
        client
            .delete_item()
            .table_name("stsync-stale-lookup")
            .set_key(Some(keys::key(
                &keys::pk("ws"),
                &keys::sk_contact(&first.contact_id),
            )))
            .send()
            .await
            .unwrap();

        // Another customer with the same e-mail: the e-mail lookup points at the gone contact.
        let second = store
            .resolve_contact("ws", &candidate(2, "avery@fixture.test"), now)
            .await
            .unwrap();
        assert!(second.created, "{second:?}");
        assert_ne!(second.contact_id, first.contact_id);
        let contact = store
            .get_contact("ws", &second.contact_id)
            .await
            .unwrap()
            .expect("the new contact exists");
        assert_eq!(contact.email.as_deref(), Some("avery@fixture.test"));
        // The e-mail now leads to the new contact.
        let third = store
            .resolve_contact("ws", &candidate(3, "avery@fixture.test"), now)
            .await
            .unwrap();
        assert_eq!(
            (third.contact_id.as_str(), third.matched_by),
            (second.contact_id.as_str(), MatchedBy::Email)
        );
    }
}
