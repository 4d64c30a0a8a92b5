//! The store conformance suite: each function takes a ready [`Store`] (table created) and checks
//! one behaviour. `tests/conformance.rs` runs every function against dynoxide in-process and,
//! when `AWS_ENDPOINT_URL` is set, against that server (moto in CI).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use opportunity::{
    ContactCandidate, Details, Environment, Integration, IntegrationStatus, Model, Opportunity,
    StandardFields,
};
use serde_json::json;
use store::{BackfillState, FeedProgress, MatchedBy, Store, StoreError};

mod lease;
pub use lease::*;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

pub fn integration(workspace: &str) -> Integration {
    Integration {
        workspace_id: workspace.to_owned(),
        environment: Environment::Integration,
        tenant_id: 1_234_567,
        client_id: format!("cid.{workspace}"),
        secret_id: format!("stsync/{workspace}/client-secret"),
        models: vec![Model::Job],
        placeholder_emails: vec!["noemail@*".into()],
        phone_region: "US".into(),
        poll_interval_minutes: 15,
        status: IntegrationStatus::Active,
        activated_at: t0() + Duration::nanoseconds(123_456_789),
        push: opportunity::PushSettings::default(),
        resources: Default::default(),
    }
}

pub fn opp(model: Model, id: &str, updated: DateTime<Utc>, customer: Option<&str>) -> Opportunity {
    let details: Details = BTreeMap::from([
        ("id".to_owned(), json!(id.parse::<i64>().unwrap_or(0))),
        ("jobNumber".to_owned(), json!(format!("J-{id}"))),
        ("jobStatus".to_owned(), json!("Completed")),
        ("invoices:0:balance".to_owned(), json!(0.0)),
        ("invoices:0:total".to_owned(), json!(125.37)),
        ("customer:name".to_owned(), json!("Zoë O'Brien, LLC")),
        ("tagTypes".to_owned(), json!(["VIP", "Ünicode"])),
        ("active".to_owned(), json!(true)),
        ("zone:name".to_owned(), serde_json::Value::Null),
        ("customFields:Empty".to_owned(), json!("")),
        ("modifiedOn".to_owned(), json!("2024-05-01T12:00:00.5Z")),
    ]);
    Opportunity {
        model,
        external_id: id.to_owned(),
        external_contact_id: customer.map(str::to_owned),
        standard: StandardFields {
            email: Some("zoe@obrien.example".into()),
            phone: Some("+12175550142".into()),
            phone_extension: Some("12".into()),
            first_name: Some("Zoë".into()),
            last_name: None,
            external_created_at: t0() - Duration::days(3),
            external_updated_at: updated,
        },
        details,
    }
}

fn candidate(customer: Option<i64>, email: Option<&str>, phone: Option<&str>) -> ContactCandidate {
    ContactCandidate {
        customer_id: customer,
        email: email.map(str::to_owned),
        phone: phone.map(str::to_owned),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
    }
}

pub async fn table_creation_is_idempotent(store: &Store) {
    store.ensure_table().await.expect("second ensure_table");
    store.ensure_table().await.expect("third ensure_table");
    store
        .put_progress(
            "ws-a",
            &FeedProgress {
                feed: "jobs".into(),
                token: None,
                updated_at: t0(),
                records_read: 0,
                done: true,
            },
        )
        .await
        .expect("usable after ensure_table");
}

pub async fn integrations_put_get_list(store: &Store) {
    assert_eq!(store.get_integration("ws-a").await.unwrap(), None);
    let a = integration("ws-a");
    let mut b = integration("ws-b");
    b.models = vec![Model::Job, Model::Membership];
    store.put_integration(&b).await.unwrap();
    store.put_integration(&a).await.unwrap();
    assert_eq!(
        store.get_integration("ws-a").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store.get_integration("ws-b").await.unwrap(),
        Some(b.clone())
    );

    b.status = IntegrationStatus::Disconnected;
    store.put_integration(&b).await.unwrap();
    let listed = store.list_integrations().await.unwrap();
    assert_eq!(
        listed,
        vec![a, b],
        "both workspaces, ordered, replaced in place"
    );
}

pub async fn workspace_isolation(store: &Store) {
    let o = opp(Model::Job, "1", t0(), Some("7"));
    let r = store
        .resolve_contact("ws-a", &ContactCandidate::from_opportunity(&o), t0())
        .await
        .unwrap();
    store
        .upsert_opportunities("ws-a", &[(o.clone(), r.contact_id.clone())], t0())
        .await
        .unwrap();
    assert_eq!(
        store.list_opportunities("ws-a", None).await.unwrap().len(),
        1
    );
    assert_eq!(store.list_contacts("ws-a").await.unwrap().len(), 1);

    assert!(store
        .list_opportunities("ws-b", None)
        .await
        .unwrap()
        .is_empty());
    assert!(store.list_contacts("ws-b").await.unwrap().is_empty());
    assert_eq!(
        store
            .get_opportunity("ws-b", Model::Job, "1")
            .await
            .unwrap(),
        None
    );
    assert!(store
        .opportunities_for_customer("ws-b", "7")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.get_contact("ws-b", &r.contact_id).await.unwrap(),
        None
    );
    // The same customer in another workspace is another contact.
    let rb = store
        .resolve_contact("ws-b", &ContactCandidate::from_opportunity(&o), t0())
        .await
        .unwrap();
    assert!(rb.created);
    assert_ne!(rb.contact_id, r.contact_id);

    for bad in ["", "ws#a", "ws a", &"x".repeat(200)] {
        let err = store.list_contacts(bad).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidWorkspace { .. }),
            "{bad:?}: {err}"
        );
        assert!(!err.is_retryable());
    }
}

pub async fn progress_put_get(store: &Store) {
    assert_eq!(store.get_progress("ws-a", "jobs").await.unwrap(), None);
    let mut p = FeedProgress {
        feed: "jobs".into(),
        token: Some("eyJjb250aW51ZUZyb20iOiIxMjMifQ==".into()),
        updated_at: t0(),
        records_read: 250,
        done: false,
    };
    store.put_progress("ws-a", &p).await.unwrap();
    let backfill = FeedProgress {
        feed: "backfill:jobs".into(),
        token: None,
        updated_at: t0(),
        records_read: 0,
        done: true,
    };
    store.put_progress("ws-a", &backfill).await.unwrap();
    assert_eq!(
        store.get_progress("ws-a", "jobs").await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        store.get_progress("ws-a", "backfill:jobs").await.unwrap(),
        Some(backfill)
    );
    assert_eq!(store.get_progress("ws-b", "jobs").await.unwrap(), None);

    p.token = Some("next".into());
    p.records_read = 300;
    p.updated_at = t0() + Duration::minutes(15);
    store.put_progress("ws-a", &p).await.unwrap();
    assert_eq!(
        store.get_progress("ws-a", "jobs").await.unwrap(),
        Some(p.clone())
    );
    assert!(store.get_progress("ws-a", "").await.is_err());

    // Listing: every feed of the workspace, by name, and nothing of another workspace.
    let mut estimates = p.clone();
    estimates.feed = "estimates".into();
    store.put_progress("ws-a", &estimates).await.unwrap();
    store.put_progress("ws-b", &estimates).await.unwrap();
    let feeds: Vec<String> = store
        .list_progress("ws-a")
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.feed)
        .collect();
    assert_eq!(feeds, ["backfill:jobs", "estimates", "jobs"]);
    assert_eq!(store.list_progress("ws-c").await.unwrap(), vec![]);
}

pub async fn backfill_state_put_get_list(store: &Store) {
    assert_eq!(store.get_backfill("ws-a", "job").await.unwrap(), None);
    let mut job = BackfillState {
        model: "job".into(),
        selection: "appointments,estimates".into(),
        window_from: t0() - Duration::days(90),
        window_to: t0(),
        started_at: t0(),
        finished_at: None,
        related_from: Some(t0() - Duration::days(400)),
    };
    store.put_backfill("ws-a", &job).await.unwrap();
    let membership = BackfillState {
        model: "membership".into(),
        selection: String::new(),
        ..job.clone()
    };
    store.put_backfill("ws-a", &membership).await.unwrap();
    assert_eq!(
        store.get_backfill("ws-a", "job").await.unwrap(),
        Some(job.clone())
    );
    job.finished_at = Some(t0() + Duration::minutes(7));
    store.put_backfill("ws-a", &job).await.unwrap();
    assert_eq!(
        store.list_backfills("ws-a").await.unwrap(),
        vec![job.clone(), membership]
    );
    assert_eq!(store.get_backfill("ws-b", "job").await.unwrap(), None);
    // Backfill states are not feed progress.
    assert!(store
        .list_progress("ws-a")
        .await
        .unwrap()
        .iter()
        .all(|p| !p.feed.starts_with("BACKFILL")));
}

pub async fn contact_resolution_order(store: &Store) {
    let ws = "ws-a";
    let e1 = "ada@lovelace.example";
    let p1 = "+12175550142";
    let first = store
        .resolve_contact(ws, &candidate(Some(1), Some(e1), Some(p1)), t0())
        .await
        .unwrap();
    assert!(first.created);
    assert_eq!(first.matched_by, MatchedBy::New);
    let id = first.contact_id.clone();

    // Customer id link wins, even when e-mail and phone differ; nothing is rewritten.
    let before = store.stats().item_writes;
    let by_customer = store
        .resolve_contact(
            ws,
            &candidate(Some(1), Some("other@x.example"), Some("+13125550000")),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        (by_customer.contact_id.as_str(), by_customer.matched_by),
        (id.as_str(), MatchedBy::CustomerId)
    );
    assert!(!by_customer.created);
    assert_eq!(
        store.stats().item_writes,
        before,
        "a found link writes nothing"
    );
    let contact = store.get_contact(ws, &id).await.unwrap().unwrap();
    assert_eq!(
        contact.email.as_deref(),
        Some(e1),
        "no overwrite on customer-id match"
    );
    assert_eq!(contact.phone.as_deref(), Some(p1));

    // E-mail match links customer 2.
    let by_email = store
        .resolve_contact(
            ws,
            &candidate(Some(2), Some(e1), None),
            t0() + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (by_email.contact_id.as_str(), by_email.matched_by),
        (id.as_str(), MatchedBy::Email)
    );
    let linked = store
        .resolve_contact(ws, &candidate(Some(2), None, None), t0())
        .await
        .unwrap();
    assert_eq!(
        (linked.contact_id.as_str(), linked.matched_by),
        (id.as_str(), MatchedBy::CustomerId)
    );

    // Phone match (no e-mail) links customer 3.
    let by_phone = store
        .resolve_contact(ws, &candidate(Some(3), None, Some(p1)), t0())
        .await
        .unwrap();
    assert_eq!(
        (by_phone.contact_id.as_str(), by_phone.matched_by),
        (id.as_str(), MatchedBy::Phone)
    );
    // E-mail is tried before phone: an unknown e-mail with a known phone still matches by phone.
    let unknown_email = store
        .resolve_contact(ws, &candidate(None, Some("new@x.example"), Some(p1)), t0())
        .await
        .unwrap();
    assert_eq!(unknown_email.matched_by, MatchedBy::Phone);
    // A match without a customer id writes nothing.
    let before = store.stats().item_writes;
    let again = store
        .resolve_contact(ws, &candidate(None, Some(e1), None), t0())
        .await
        .unwrap();
    assert_eq!(again.matched_by, MatchedBy::Email);
    assert_eq!(store.stats().item_writes, before);

    let contact = store.get_contact(ws, &id).await.unwrap().unwrap();
    assert_eq!(contact.customer_ids, vec![1, 2, 3]);
    assert_eq!(contact.first_name.as_deref(), Some("Ada"));
    assert_eq!(contact.created_at, t0());
    assert_eq!(
        contact.updated_at,
        t0(),
        "last link at t0 (the phone match)"
    );

    // Nothing in common: a new contact.
    let other = store
        .resolve_contact(
            ws,
            &candidate(Some(4), Some("bob@x.example"), Some("+13125550001")),
            t0(),
        )
        .await
        .unwrap();
    assert!(other.created);
    assert_ne!(other.contact_id, id);
    assert_eq!(store.list_contacts(ws).await.unwrap().len(), 2);
}

pub async fn candidates_without_email_and_different_phones_make_two_contacts(store: &Store) {
    // Placeholder e-mails never reach the store: the mapping leaves `email` None.
    let a = store
        .resolve_contact("ws-a", &candidate(None, None, Some("+12175550100")), t0())
        .await
        .unwrap();
    let b = store
        .resolve_contact("ws-a", &candidate(None, None, Some("+12175550101")), t0())
        .await
        .unwrap();
    assert!(a.created && b.created);
    assert_ne!(a.contact_id, b.contact_id);
    let mut contacts = store.list_contacts("ws-a").await.unwrap();
    contacts.sort_by(|x, y| x.phone.cmp(&y.phone));
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0].email, None);
    assert_eq!(contacts[0].phone.as_deref(), Some("+12175550100"));
    assert!(contacts[0].customer_ids.is_empty());
}

pub async fn concurrent_resolution_of_one_email_makes_one_contact(store: &Store) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let c = candidate(Some(100 + i), Some("race@x.example"), None);
                store.resolve_contact("ws-a", &c, t0()).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task").expect("resolution"));
    }
    assert_eq!(results.iter().filter(|r| r.created).count(), 1);
    assert!(results
        .iter()
        .all(|r| r.contact_id == results[0].contact_id));
    let contacts = store.list_contacts("ws-a").await.unwrap();
    assert_eq!(contacts.len(), 1);
    let mut ids = contacts[0].customer_ids.clone();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (100..108).collect::<Vec<_>>(),
        "every customer linked once"
    );

    // The same customer from 8 tasks: one contact, one link.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let c = candidate(Some(500), None, Some("+12175550199"));
                store.resolve_contact("ws-a", &c, t0()).await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        created += usize::from(t.await.expect("task").expect("resolution").created);
    }
    assert_eq!(created, 1);
    assert_eq!(store.list_contacts("ws-a").await.unwrap().len(), 2);
}

pub async fn upsert_create_unchanged_changed_refused(store: &Store) {
    let ws = "ws-a";
    let o1 = opp(Model::Job, "1001", t0(), Some("7"));
    let o2 = opp(Model::Membership, "2002", t0(), None);
    let report = store
        .upsert_opportunities(
            ws,
            &[(o1.clone(), "c-1".into()), (o2.clone(), "c-2".into())],
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        (report.written, report.unchanged, report.refused),
        (2, 0, 0)
    );
    assert!(report.failed.is_empty());

    // Identical rebuild: nothing written.
    let writes = store.stats().item_writes;
    let report = store
        .upsert_opportunities(
            ws,
            &[(o1.clone(), "c-1".into()), (o2.clone(), "c-2".into())],
            t0() + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (report.written, report.unchanged, report.refused),
        (0, 2, 0)
    );
    assert_eq!(
        store.stats().item_writes,
        writes,
        "identical rebuild writes nothing"
    );

    // Round trip.
    let stored = store
        .get_opportunity(ws, Model::Job, "1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.opportunity, o1);
    assert_eq!(stored.contact_id, "c-1");
    assert_eq!(stored.workspace_id, ws);
    assert_eq!(stored.synced_at, t0());
    assert_eq!(stored.content_hash, store::content_hash(&o1, "c-1"));
    let all = store.list_opportunities(ws, None).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|s| s.opportunity.clone())
            .collect::<Vec<_>>(),
        vec![o1.clone(), o2.clone()],
        "ordered by model then external id"
    );
    let jobs = store
        .list_opportunities(ws, Some(Model::Job))
        .await
        .unwrap();
    assert_eq!(jobs, vec![stored]);
    assert!(store
        .list_opportunities(ws, Some(Model::InboundCall))
        .await
        .unwrap()
        .is_empty());

    // Changed content, newer: written. Changed contact only: written.
    let mut newer = opp(Model::Job, "1001", t0() + Duration::minutes(5), Some("7"));
    newer.details.insert("jobStatus".into(), json!("Canceled"));
    let report = store
        .upsert_opportunities(
            ws,
            &[(newer.clone(), "c-1".into()), (o2.clone(), "c-9".into())],
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        (report.written, report.unchanged, report.refused),
        (2, 0, 0)
    );

    // Older External Updated At: refused, stored stays newer.
    let mut older = opp(Model::Job, "1001", t0() + Duration::minutes(4), Some("7"));
    older.details.insert("jobStatus".into(), json!("Scheduled"));
    let writes = store.stats().item_writes;
    let report = store
        .upsert_opportunities(ws, &[(older, "c-1".into())], t0())
        .await
        .unwrap();
    assert_eq!(
        (report.written, report.unchanged, report.refused),
        (0, 0, 1)
    );
    assert_eq!(store.stats().item_writes, writes);
    let stored = store
        .get_opportunity(ws, Model::Job, "1001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.opportunity, newer);

    // A sub-second difference is compared correctly (fixed-width times).
    let mut finer = newer.clone();
    finer.standard.external_updated_at =
        newer.standard.external_updated_at + Duration::milliseconds(1);
    finer.details.insert("jobStatus".into(), json!("Hold"));
    let report = store
        .upsert_opportunities(ws, &[(finer.clone(), "c-1".into())], t0())
        .await
        .unwrap();
    assert_eq!(report.written, 1);
    let mut coarser = newer.clone();
    coarser
        .details
        .insert("jobStatus".into(), json!("Dispatched"));
    let report = store
        .upsert_opportunities(ws, &[(coarser, "c-1".into())], t0())
        .await
        .unwrap();
    assert_eq!(report.refused, 1);

    // The same key twice in one call: the newest occurrence counts.
    let mut a = opp(Model::Job, "3003", t0() + Duration::minutes(2), None);
    a.details.insert("jobStatus".into(), json!("Second"));
    let b = opp(Model::Job, "3003", t0() + Duration::minutes(1), None);
    let report = store
        .upsert_opportunities(ws, &[(a.clone(), "c-3".into()), (b, "c-3".into())], t0())
        .await
        .unwrap();
    assert_eq!((report.written, report.superseded), (1, 1));
    let stored = store
        .get_opportunity(ws, Model::Job, "3003")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.opportunity, a);
}

pub async fn concurrent_upserts_keep_the_newest(store: &Store) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut o = opp(Model::Job, "42", t0() + Duration::seconds(i), None);
                o.details.insert("version".into(), json!(i));
                store
                    .upsert_opportunities("ws-a", &[(o, "c".into())], t0())
                    .await
            })
        })
        .collect();
    let mut written = 0;
    let mut refused = 0;
    for t in tasks {
        let r = t.await.expect("task").expect("upsert");
        written += r.written;
        refused += r.refused;
    }
    assert_eq!(written + refused, 8);
    let stored = store
        .get_opportunity("ws-a", Model::Job, "42")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.opportunity.details["version"], json!(7));
}

pub async fn oversized_opportunity_is_trimmed_to_fit(store: &Store) {
    let mut big = opp(Model::Job, "9", t0(), None);
    big.details.insert(
        "summary".into(),
        json!(st_sandbox::incompressible_text(600_000, 9)),
    );
    let small = opp(Model::Job, "10", t0(), None);
    let report = store
        .upsert_opportunities(
            "ws-a",
            &[(big.clone(), "c".into()), (small, "c".into())],
            t0(),
        )
        .await
        .unwrap();
    assert_eq!((report.written, report.failed.len()), (2, 0));
    let stored = store
        .get_opportunity("ws-a", Model::Job, "9")
        .await
        .unwrap()
        .unwrap();
    let summary = stored.opportunity.details["summary"].as_str().unwrap();
    assert!(summary.len() < 600_000);
    assert!(summary.ends_with(opportunity::details::TRUNCATION_MARKER));
    assert_eq!(
        stored.opportunity.details[opportunity::details::DETAILS_TRUNCATED],
        json!(["summary"])
    );
    // The other details and the standard fields are kept as they were.
    assert_eq!(stored.opportunity.standard, big.standard);
    // Rebuilding the same oversized record writes nothing.
    let again = store
        .upsert_opportunities("ws-a", &[(big.clone(), "c".into())], t0())
        .await
        .unwrap();
    assert_eq!((again.written, again.unchanged), (0, 1));

    // An item that can never be stored (an unusable external id) is reported, the rest written.
    let mut bad = opp(Model::Job, "11", t0(), None);
    bad.external_id = "x".repeat(2_000);
    let report = store
        .upsert_opportunities(
            "ws-a",
            &[
                (bad, "c".into()),
                (opp(Model::Job, "12", t0(), None), "c".into()),
            ],
            t0(),
        )
        .await
        .unwrap();
    assert_eq!((report.written, report.failed.len()), (1, 1));
    assert_eq!(report.failed[0].model, Model::Job);
    assert!(!report.failed[0].error.is_retryable());
}

pub async fn customer_index_finds_opportunities(store: &Store) {
    let items = vec![
        (opp(Model::Job, "1", t0(), Some("77")), "c".to_owned()),
        (
            opp(Model::Membership, "2", t0(), Some("77")),
            "c".to_owned(),
        ),
        (opp(Model::Job, "3", t0(), Some("78")), "c".to_owned()),
        (opp(Model::Job, "4", t0(), None), "c".to_owned()),
    ];
    store
        .upsert_opportunities("ws-a", &items, t0())
        .await
        .unwrap();
    store
        .upsert_opportunities("ws-b", &items, t0())
        .await
        .unwrap();
    let mut found = store
        .opportunities_for_customer("ws-a", "77")
        .await
        .unwrap();
    found.sort();
    assert_eq!(
        found,
        vec![
            (Model::Job, "1".to_owned()),
            (Model::Membership, "2".to_owned())
        ]
    );
    assert_eq!(
        store
            .opportunities_for_customer("ws-a", "78")
            .await
            .unwrap(),
        vec![(Model::Job, "3".to_owned())]
    );
    assert!(store
        .opportunities_for_customer("ws-a", "79")
        .await
        .unwrap()
        .is_empty());
}

pub async fn listing_paginates(store: &Store) {
    // ~1.4 MB of opportunities (details deflated): more than one 1 MB Query page.
    let items: Vec<_> = (0..120)
        .map(|i| {
            let mut o = opp(Model::Job, &format!("{}", 10_000 + i), t0(), None);
            let summary = st_sandbox::incompressible_text(16_000, i);
            o.details.insert("summary".into(), json!(summary));
            (o, "c".to_owned())
        })
        .collect();
    let report = store
        .upsert_opportunities("ws-a", &items, t0())
        .await
        .unwrap();
    assert_eq!(report.written, 120);
    let reads = store.stats().read_requests;
    assert_eq!(
        store.list_opportunities("ws-a", None).await.unwrap().len(),
        120
    );
    assert!(
        store.stats().read_requests - reads >= 2,
        "more than one page"
    );
    // A rebuild of all 120 reads their hashes in two BatchGetItem calls and writes nothing.
    let report = store
        .upsert_opportunities("ws-a", &items, t0())
        .await
        .unwrap();
    assert_eq!(report.unchanged, 120);

    // Small items: more than one page of QUERY_PAGE_ITEMS, listed whole and deleted whole.
    let n = store::QUERY_PAGE_ITEMS as usize + 50;
    let small: Vec<_> = (0..n)
        .map(|i| (opp(Model::Job, &i.to_string(), t0(), None), "c".to_owned()))
        .collect();
    store
        .upsert_opportunities("ws-b", &small, t0())
        .await
        .unwrap();
    let reads = store.stats().read_requests;
    assert_eq!(
        store.list_opportunities("ws-b", None).await.unwrap().len(),
        n
    );
    assert!(
        store.stats().read_requests - reads >= 2,
        "more than one page"
    );
    assert!(store.delete_workspace("ws-b").await.unwrap() >= n as u64);
    assert!(store
        .list_opportunities("ws-b", None)
        .await
        .unwrap()
        .is_empty());
}

/// Source records are stored with their opportunity, read back as written and part of the
/// content hash; an item too large with them is stored without them rather than failed.
pub async fn source_records_are_kept_and_dropped_when_too_large(store: &Store) {
    fn upsert<'a>(sources: Option<&'a str>, o: &'a Opportunity) -> store::Upsert<'a> {
        store::Upsert {
            opportunity: o,
            contact_id: "c-1",
            sources,
        }
    }
    let o = &opp(Model::Job, "31", t0(), None);
    let sources = r#"{"job":{"id":31},"appointments":[{"id":7}]}"#;
    let first = store
        .upsert("ws-a", &[upsert(Some(sources), o)], t0())
        .await
        .unwrap();
    assert_eq!(first.written, 1);
    let stored = store
        .get_opportunity("ws-a", Model::Job, "31")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.sources.as_deref(), Some(sources));
    assert_eq!(
        stored.content_hash,
        store::content_hash_with_sources(o, "c-1", Some(sources))
    );
    assert_ne!(stored.content_hash, store::content_hash(o, "c-1"));
    // The same details with other sources are a change: written, so sources never go stale.
    let again = store
        .upsert("ws-a", &[upsert(Some(sources), o)], t0())
        .await
        .unwrap();
    assert_eq!((again.written, again.unchanged), (0, 1));
    let other = r#"{"job":{"id":31}}"#;
    let changed = store
        .upsert("ws-a", &[upsert(Some(other), o)], t0())
        .await
        .unwrap();
    assert_eq!(changed.written, 1);

    let huge: &'static str = Box::leak(
        format!(
            r#"{{"note":"{}"}}"#,
            st_sandbox::incompressible_text(600_000, 31)
        )
        .into_boxed_str(),
    );
    let fits = store
        .upsert("ws-a", &[upsert(Some(huge), o)], t0())
        .await
        .unwrap();
    assert_eq!((fits.written, fits.failed.len()), (1, 0));
    let stored = store
        .get_opportunity("ws-a", Model::Job, "31")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.sources, None);
    assert_eq!(stored.opportunity, *o);
}

/// Items written before details and sources were packed held both as JSON text in string
/// attributes. Such an item still reads the same, and an identical rebuild of it is `unchanged`
/// (the content hash is over the text, not over the stored bytes).
pub async fn items_written_before_packing_still_read(store: &Store) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let ws = "ws-a";
    let o = opp(Model::Job, "41", t0(), Some("7"));
    let sources = r#"{"job":{"id":41},"appointments":[{"id":7}]}"#;
    let upsert = store::Upsert {
        opportunity: &o,
        contact_id: "c-1",
        sources: Some(sources),
    };
    store.upsert(ws, &[upsert], t0()).await.unwrap();
    let key = store::keys::key(&store::keys::pk(ws), &store::keys::sk_opp(Model::Job, "41"));
    let mut item = store
        .client()
        .get_item()
        .table_name(store.table_name())
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the item just written");
    assert!(
        matches!(item.get("details"), Some(AttributeValue::B(_))),
        "details are packed now"
    );
    // The older form: the same texts as plain strings.
    let details_text = serde_json::to_string(&o.details).unwrap();
    item.insert("details".into(), AttributeValue::S(details_text));
    item.insert("sources".into(), AttributeValue::S(sources.into()));
    store
        .client()
        .put_item()
        .table_name(store.table_name())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();

    let stored = store
        .get_opportunity(ws, Model::Job, "41")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.opportunity, o);
    assert_eq!(stored.sources.as_deref(), Some(sources));
    let listed = store
        .list_opportunities(ws, Some(Model::Job))
        .await
        .unwrap();
    assert_eq!(listed, vec![stored]);
    let writes = store.stats().item_writes;
    let again = store
        .upsert(ws, &[upsert], t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!((again.written, again.unchanged), (0, 1));
    assert_eq!(store.stats().item_writes, writes);
}

pub async fn deleting_a_workspace_keeps_the_others(store: &Store) {
    store.put_integration(&integration("ws-a")).await.unwrap();
    store.put_integration(&integration("ws-b")).await.unwrap();
    // More opportunities than one BatchWriteItem (25) deletes, plus a contact and its links.
    let mut upserts = Vec::new();
    for i in 0..30 {
        let o = opp(Model::Job, &i.to_string(), t0(), Some("7"));
        let r = store
            .resolve_contact("ws-a", &ContactCandidate::from_opportunity(&o), t0())
            .await
            .unwrap();
        upserts.push((o, r.contact_id));
    }
    store
        .upsert_opportunities("ws-a", &upserts, t0())
        .await
        .unwrap();
    let kept = opp(Model::Job, "1", t0(), Some("7"));
    let rb = store
        .resolve_contact("ws-b", &ContactCandidate::from_opportunity(&kept), t0())
        .await
        .unwrap();
    store
        .upsert_opportunities("ws-b", &[(kept.clone(), rb.contact_id.clone())], t0())
        .await
        .unwrap();

    let deleted = store.delete_workspace("ws-a").await.unwrap();
    // The integration, 30 opportunities, the contact and at least its customer link.
    assert!(deleted >= 33, "{deleted} items deleted");
    assert_eq!(store.get_integration("ws-a").await.unwrap(), None);
    assert!(store
        .list_opportunities("ws-a", None)
        .await
        .unwrap()
        .is_empty());
    assert!(store.list_contacts("ws-a").await.unwrap().is_empty());
    assert_eq!(store.delete_workspace("ws-a").await.unwrap(), 0);

    assert!(store.get_integration("ws-b").await.unwrap().is_some());
    let b = store.list_opportunities("ws-b", None).await.unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].opportunity, kept);
    assert_eq!(store.list_contacts("ws-b").await.unwrap().len(), 1);
    assert!(store.delete_workspace("ws#b").await.is_err());
}
