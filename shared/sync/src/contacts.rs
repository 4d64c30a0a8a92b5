//! Contact resolution for the opportunities of one write (SPEC.md §5 "Contacts"), without one
//! round trip per record.
//!
//! - A customer id's link (`CUST#<id>` → contact) does not change once written: the store puts
//!   it if absent and only a workspace deletion removes it. So the run remembers every customer
//!   it resolved; a job rebuilt by several feeds, or a customer with many jobs, is asked once
//!   per run.
//! - The links of the customers the run has not seen yet are read together
//!   ([`Store::customer_contacts`], 100 per BatchGetItem) instead of one GetItem each.
//! - Only the candidates left (customers without a link: the e-mail / phone match or a new
//!   contact, both writes) go through [`Store::resolve_contact`], one after another in page
//!   order, exactly as before: which record creates a shared contact never depends on timing,
//!   and no two of this run's transactions compete for one contact item.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use opportunity::ContactCandidate;
use servicetitan::Id;
use store::{ContactResolution, MatchedBy, Store, StoreError};

/// The contacts of the customers a run has resolved: customer id → contact id.
#[derive(Debug, Default)]
pub(crate) struct KnownContacts(HashMap<Id, String>);

impl KnownContacts {
    /// Resolve every candidate; result `i` is candidate `i`'s. A linked customer (known to the
    /// run, or found by the batched read) comes back as `created: false, matched_by:
    /// CustomerId`, what the store answers for it; the e-mail and phone checks of
    /// [`Store::resolve_contact`] are then not made (the engine's candidates come from the
    /// mapping, which normalizes both). Inner errors are the per-record problems
    /// ([`StoreError::is_record_problem`]) of single candidates.
    ///
    /// Errors: any other store error (request failures, throttling, lost races), at the first
    /// one: candidates after it are not attempted.
    pub(crate) async fn resolve_all(
        &mut self,
        store: &Store,
        workspace: &str,
        candidates: &[ContactCandidate],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<ContactResolution, StoreError>>, StoreError> {
        let unseen: BTreeSet<Id> = candidates
            .iter()
            .filter_map(|c| c.customer_id)
            .filter(|id| !self.0.contains_key(id))
            .collect();
        if !unseen.is_empty() {
            let ids: Vec<Id> = unseen.into_iter().collect();
            self.0
                .extend(store.customer_contacts(workspace, &ids).await?);
        }
        let mut results = Vec::with_capacity(candidates.len());
        for c in candidates {
            if let Some(contact_id) = c.customer_id.and_then(|id| self.0.get(&id)) {
                results.push(Ok(linked(contact_id.clone())));
                continue;
            }
            match store.resolve_contact(workspace, c, now).await {
                Ok(r) => {
                    // After any successful resolution the customer's link exists (linked by
                    // e-mail or phone, or created with the contact).
                    if let Some(id) = c.customer_id {
                        self.0.insert(id, r.contact_id.clone());
                    }
                    results.push(Ok(r));
                }
                Err(e) if e.is_record_problem() => results.push(Err(e)),
                Err(e) => return Err(e),
            }
        }
        Ok(results)
    }
}

/// What the store answers for a customer whose link exists.
fn linked(contact_id: String) -> ContactResolution {
    ContactResolution {
        contact_id,
        created: false,
        matched_by: MatchedBy::CustomerId,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(
        customer: Option<Id>,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> ContactCandidate {
        ContactCandidate {
            customer_id: customer,
            email: email.map(str::to_owned),
            phone: phone.map(str::to_owned),
            first_name: None,
            last_name: None,
        }
    }

    /// Against dynoxide: results come back in candidate order, a shared e-mail makes one
    /// contact created by the first candidate in page order, the links of customers seen before
    /// are read in one batch, and a customer met again is answered without a request.
    #[tokio::test]
    async fn resolutions_keep_page_order_and_each_customer_is_asked_once() {
        let engine = store::embedded::EmbeddedDynamo::start_memory()
            .await
            .expect("dynoxide");
        let store = Store::new(engine.client().await, "stsync-test");
        store.ensure_table().await.expect("table");
        let now = chrono::Utc::now();
        let c = [
            candidate(Some(1), Some("a@x.com"), None),
            candidate(Some(2), None, Some("+12175550100")),
            candidate(Some(3), Some("a@x.com"), None),
            candidate(Some(1), Some("a@x.com"), None),
            // An e-mail that cannot be a lookup key: a problem of this record only.
            candidate(Some(4), Some(&"b".repeat(600)), None),
            candidate(Some(5), None, None),
        ];
        let mut known = KnownContacts::default();
        let r = known
            .resolve_all(&store, "ws-1", &c, now)
            .await
            .expect("no request failed");
        let ok: Vec<&ContactResolution> = r.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(ok.len(), 5);
        let err = r[4].as_ref().expect_err("the long e-mail is refused");
        assert!(err.is_record_problem(), "{err}");
        assert!(
            r[0].as_ref().unwrap().created,
            "the first with the e-mail creates it"
        );
        let third = r[2].as_ref().unwrap();
        assert_eq!(third.matched_by, MatchedBy::Email);
        assert_eq!(third.contact_id, r[0].as_ref().unwrap().contact_id);
        assert_eq!(r[3].as_ref().unwrap().contact_id, third.contact_id);
        assert_eq!(r[3].as_ref().unwrap().matched_by, MatchedBy::CustomerId);
        assert!(r[1].as_ref().unwrap().created);
        assert_ne!(r[1].as_ref().unwrap().contact_id, third.contact_id);

        // A new run: the links of customers 1, 2, 3 and 5 are read in one batch, nothing is
        // written, and the same contacts come back.
        let mut next_run = KnownContacts::default();
        let before = store.stats();
        let again = next_run
            .resolve_all(
                &store,
                "ws-1",
                &[c[2].clone(), c[1].clone(), c[5].clone()],
                now,
            )
            .await
            .expect("resolved");
        let ids: Vec<String> = again
            .into_iter()
            .map(|r| r.expect("linked").contact_id)
            .collect();
        assert_eq!(
            ids,
            vec![
                third.contact_id.clone(),
                r[1].as_ref().unwrap().contact_id.clone(),
                r[5].as_ref().unwrap().contact_id.clone()
            ]
        );
        let after = store.stats();
        assert_eq!(after.read_requests - before.read_requests, 1);
        assert_eq!(after.write_requests, before.write_requests);

        // The same run again: known customers cost no request at all.
        let before = store.stats();
        next_run
            .resolve_all(&store, "ws-1", &[c[1].clone()], now)
            .await
            .expect("resolved");
        let after = store.stats();
        assert_eq!(after.read_requests, before.read_requests);
        engine.shutdown().await;
    }
}
