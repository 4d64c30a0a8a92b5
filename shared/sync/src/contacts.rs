//! Contact resolution for the opportunities of one write (SPEC.md §5 "Contacts"): what the run
//! already knows is not asked again, and the rest is resolved concurrently without making the
//! outcome depend on timing.
//!
//! - A customer id's link (`CUST#<id>` → contact) never changes once written (the store puts it
//!   if absent and nothing rewrites it), so the run remembers every customer it resolved: a job
//!   rebuilt by several feeds, or a customer with many jobs, costs one lookup per run.
//! - Candidates that share a customer id, an e-mail or a phone form one group and are resolved
//!   one after another in page order, so the first of them creates the shared contact exactly
//!   as a sequential run would. Groups share no lookup key, so they run concurrently
//!   ([`RESOLVE_CONCURRENCY`] at a time): the latency of a lookup is paid once per wave, not
//!   once per record.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use opportunity::ContactCandidate;
use servicetitan::Id;
use store::{ContactResolution, MatchedBy, Store, StoreError};

/// Groups of candidates resolved at the same time (each group is sequential).
pub(crate) const RESOLVE_CONCURRENCY: usize = 16;

/// The contacts of the customers a run has resolved: customer id → contact id.
#[derive(Debug, Default)]
pub(crate) struct KnownContacts(HashMap<Id, String>);

impl KnownContacts {
    /// Resolve every candidate (result `i` is candidate `i`'s), asking the store only for
    /// customers this run has not resolved yet. A customer found here comes back as
    /// `created: false, matched_by: CustomerId`, exactly what the store answers for a linked
    /// customer. Each result is the one [`Store::resolve_contact`] gives (its errors included).
    pub(crate) async fn resolve_all(
        &mut self,
        store: &Store,
        workspace: &str,
        candidates: &[ContactCandidate],
        now: DateTime<Utc>,
    ) -> Vec<Result<ContactResolution, StoreError>> {
        let mut results: Vec<Option<Result<ContactResolution, StoreError>>> =
            candidates.iter().map(|c| self.known(c).map(Ok)).collect();
        let open: Vec<usize> = (0..candidates.len())
            .filter(|i| results[*i].is_none())
            .collect();
        let groups = independent_groups(candidates, &open);
        let resolved: Vec<Vec<(usize, Result<ContactResolution, StoreError>)>> =
            futures::stream::iter(groups)
                .map(|group| async move {
                    // In a group, a customer resolved by an earlier member is not asked again.
                    let mut local: HashMap<Id, String> = HashMap::new();
                    let mut out = Vec::with_capacity(group.len());
                    for i in group {
                        let c = &candidates[i];
                        if let Some(contact_id) = c.customer_id.and_then(|id| local.get(&id)) {
                            out.push((i, Ok(linked(contact_id.clone()))));
                            continue;
                        }
                        let r = store.resolve_contact(workspace, c, now).await;
                        if let (Some(id), Ok(res)) = (c.customer_id, &r) {
                            local.insert(id, res.contact_id.clone());
                        }
                        out.push((i, r));
                    }
                    out
                })
                .buffer_unordered(RESOLVE_CONCURRENCY)
                .collect()
                .await;
        for (i, r) in resolved.into_iter().flatten() {
            // After any successful resolution the customer's link exists (found, linked by
            // e-mail or phone, or created with the contact).
            if let (Some(id), Ok(res)) = (candidates[i].customer_id, &r) {
                self.0.insert(id, res.contact_id.clone());
            }
            results[i] = Some(r);
        }
        results
            .into_iter()
            .map(|r| r.expect("every candidate is known or resolved"))
            .collect()
    }

    fn known(&self, c: &ContactCandidate) -> Option<ContactResolution> {
        let id = c.customer_id?;
        self.0.get(&id).map(|contact_id| linked(contact_id.clone()))
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

/// The candidates `open` (indexes into `candidates`) split into groups that share no customer
/// id, e-mail or phone with another group (connected components over those keys; a candidate
/// with none of them is a group of its own). Each group keeps page order, and the groups are in
/// the order of their first member.
fn independent_groups(candidates: &[ContactCandidate], open: &[usize]) -> Vec<Vec<usize>> {
    // Union-find over the positions in `open`.
    let mut parent: Vec<usize> = (0..open.len()).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut owner: HashMap<(u8, &str), usize> = HashMap::new();
    let mut customer_owner: HashMap<Id, usize> = HashMap::new();
    for (pos, &i) in open.iter().enumerate() {
        let c = &candidates[i];
        let mut others: Vec<usize> = Vec::new();
        if let Some(id) = c.customer_id {
            others.extend(customer_owner.insert(id, pos));
        }
        let keys = [(b'e', c.email.as_deref()), (b'p', c.phone.as_deref())];
        for (kind, value) in keys {
            if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
                others.extend(owner.insert((kind, v), pos));
            }
        }
        for other in others {
            let (a, b) = (root(&mut parent, pos), root(&mut parent, other));
            if a != b {
                // The earlier member stays the root: groups are ordered by their first member.
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for (pos, &i) in open.iter().enumerate() {
        let r = root(&mut parent, pos);
        let g = *group_of.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
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

    #[test]
    fn candidates_sharing_a_key_are_one_group_in_page_order() {
        let c = [
            candidate(Some(1), Some("a@x.com"), None),      // 0
            candidate(Some(2), None, Some("+12175550100")), // 1
            candidate(Some(3), Some("a@x.com"), None),      // 2: e-mail of 0
            candidate(None, None, None),                    // 3: alone
            candidate(Some(2), None, None),                 // 4: customer of 1
            candidate(Some(5), Some("b@x.com"), Some("+12175550100")), // 5: phone of 1
            candidate(Some(6), Some("b@x.com"), None),      // 6: e-mail of 5
            candidate(None, None, None),                    // 7: alone
        ];
        let open: Vec<usize> = (0..c.len()).collect();
        assert_eq!(
            independent_groups(&c, &open),
            vec![vec![0, 2], vec![1, 4, 5, 6], vec![3], vec![7]]
        );
    }

    #[test]
    fn a_later_candidate_can_join_two_groups() {
        let c = [
            candidate(Some(1), Some("a@x.com"), None),
            candidate(Some(2), None, Some("+12175550100")),
            candidate(Some(3), Some("c@x.com"), None),
            // Shares the e-mail of 0 and the phone of 1: 0, 1 and 3 become one group.
            candidate(Some(4), Some("a@x.com"), Some("+12175550100")),
        ];
        let open = [0, 1, 2, 3];
        assert_eq!(independent_groups(&c, &open), vec![vec![0, 1, 3], vec![2]]);
    }

    #[test]
    fn only_open_candidates_are_grouped() {
        let c = [
            candidate(Some(1), Some("a@x.com"), None),
            candidate(Some(2), Some("a@x.com"), None),
            candidate(Some(3), None, None),
        ];
        assert_eq!(independent_groups(&c, &[1, 2]), vec![vec![1], vec![2]]);
    }

    /// Against dynoxide: results come back in candidate order; a shared e-mail makes one
    /// contact, created by the first candidate in page order; a customer met again (in the same
    /// call or a later one) is answered from memory, without another store request.
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
        ];
        let mut known = KnownContacts::default();
        let r: Vec<ContactResolution> = known
            .resolve_all(&store, "ws-1", &c, now)
            .await
            .into_iter()
            .map(|r| r.expect("resolved"))
            .collect();
        assert!(
            r[0].created,
            "the first with the e-mail creates the contact"
        );
        assert_eq!(r[2].matched_by, MatchedBy::Email);
        assert_eq!(r[2].contact_id, r[0].contact_id);
        assert_eq!(r[3].contact_id, r[0].contact_id);
        assert!(r[1].created);
        assert_ne!(r[1].contact_id, r[0].contact_id);

        let before = store.stats();
        let again = known
            .resolve_all(&store, "ws-1", &[c[2].clone(), c[1].clone()], now)
            .await;
        let ids: Vec<String> = again
            .into_iter()
            .map(|r| r.expect("known").contact_id)
            .collect();
        assert_eq!(ids, vec![r[2].contact_id.clone(), r[1].contact_id.clone()]);
        let after = store.stats();
        assert_eq!(after.read_requests, before.read_requests);
        assert_eq!(after.write_requests, before.write_requests);
        engine.shutdown().await;
    }
}
