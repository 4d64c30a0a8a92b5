//! Note claims, outcomes and the contact index (`gsi3`), against dynoxide in-process and the
//! server at `AWS_ENDPOINT_URL` (moto in CI; a skip note without it unless
//! `STSYNC_REQUIRE_MOTO=1`).
#![cfg(feature = "embedded")]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use opportunity::{Model, Opportunity, StandardFields};
use servicetitan::notes::NoteTarget;
use store::embedded::EmbeddedDynamo;
use store::{NoteClaimOutcome, NoteState, Store};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

async fn dynoxide() -> (EmbeddedDynamo, Store) {
    let engine = EmbeddedDynamo::start_memory().await.expect("dynoxide");
    let store = Store::new(engine.client().await, "stsync-notes");
    store.ensure_table().await.expect("ensure_table");
    (engine, store)
}

async fn moto() -> Option<Store> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        if std::env::var("STSYNC_REQUIRE_MOTO").as_deref() == Ok("1") {
            panic!("STSYNC_REQUIRE_MOTO=1 but AWS_ENDPOINT_URL is unset");
        }
        eprintln!("skipped: moto (AWS_ENDPOINT_URL unset)");
        return None;
    }
    let table = format!("stsync-notes-{}", uuid::Uuid::new_v4().simple());
    let store = Store::from_env(table).await;
    store.ensure_table().await.expect("ensure_table on moto");
    Some(store)
}

fn opp(model: Model, id: &str, updated: DateTime<Utc>) -> Opportunity {
    Opportunity {
        model,
        external_id: id.into(),
        external_contact_id: Some("77".into()),
        standard: StandardFields {
            email: None,
            phone: None,
            phone_extension: None,
            first_name: None,
            last_name: None,
            external_created_at: t0(),
            external_updated_at: updated,
        },
        details: BTreeMap::new(),
    }
}

async fn claim_protocol(store: &Store) {
    let lease = Duration::minutes(5);
    let job = NoteTarget::Job(11);
    let first = match store
        .claim_note("ws-a", "e1", job, t0(), lease)
        .await
        .unwrap()
    {
        NoteClaimOutcome::Claimed(c) => c,
        other => panic!("{other:?}"),
    };
    assert!(!first.takeover);
    assert_eq!(first.attempts, 1);
    // A live claim: busy, for anyone.
    let busy = store
        .claim_note("ws-a", "e1", job, t0() + Duration::minutes(1), lease)
        .await
        .unwrap();
    assert_eq!(
        busy,
        NoteClaimOutcome::Busy {
            lease_until: t0() + lease
        }
    );
    // A permanent outcome never overwrites a live claim.
    assert!(!store
        .skip_note("ws-a", "e1", "not_pushed", "x", t0() + Duration::minutes(1))
        .await
        .unwrap());
    // Expired: taken over, with the first claim's target, not the new one.
    let later = t0() + Duration::minutes(10);
    let second = match store
        .claim_note("ws-a", "e1", NoteTarget::Customer(99), later, lease)
        .await
        .unwrap()
    {
        NoteClaimOutcome::Claimed(c) => c,
        other => panic!("{other:?}"),
    };
    assert!(second.takeover);
    assert_eq!(second.target, job);
    assert_eq!(second.attempts, 2);
    // The first holder lost it: its "done" writes nothing.
    assert!(!store.complete_note(&first, Some(5), later).await.unwrap());
    assert!(store.complete_note(&second, Some(6), later).await.unwrap());
    let record = store.get_note_record("ws-a", "e1").await.unwrap().unwrap();
    assert_eq!(record.state, NoteState::Done);
    assert_eq!(record.note_id, Some(6));
    assert_eq!(record.lease_until, None);
    // Done is final: a claim reports it, a skip does not overwrite it.
    match store
        .claim_note("ws-a", "e1", job, later + Duration::days(1), lease)
        .await
        .unwrap()
    {
        NoteClaimOutcome::Finished(r) => assert_eq!(r.state, NoteState::Done),
        other => panic!("{other:?}"),
    }
    assert!(!store
        .skip_note("ws-a", "e1", "not_pushed", "x", later)
        .await
        .unwrap());

    // Released after an uncertain failure: the next claim takes it at once and sees the flag.
    let c = match store
        .claim_note("ws-a", "e2", job, t0(), lease)
        .await
        .unwrap()
    {
        NoteClaimOutcome::Claimed(c) => c,
        other => panic!("{other:?}"),
    };
    assert!(store.release_note(&c, true, t0()).await.unwrap());
    let c2 = match store
        .claim_note("ws-a", "e2", job, t0() + Duration::seconds(1), lease)
        .await
        .unwrap()
    {
        NoteClaimOutcome::Claimed(c) => c,
        other => panic!("{other:?}"),
    };
    assert!(c2.takeover && c2.uncertain);
    assert!(store
        .skip_claimed_note(&c2, "record_not_found", "job 11: HTTP 404", t0())
        .await
        .unwrap());

    // A permanent outcome of an unclaimed event.
    assert!(store
        .skip_note("ws-a", "e3", "no_servicetitan_record", "none", t0())
        .await
        .unwrap());
    let all = store.list_note_records("ws-a").await.unwrap();
    let states: Vec<(&str, NoteState, Option<&str>)> = all
        .iter()
        .map(|r| (r.event_id.as_str(), r.state, r.reason.as_deref()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("e1", NoteState::Done, None),
            ("e2", NoteState::Skipped, Some("record_not_found")),
            ("e3", NoteState::Skipped, Some("no_servicetitan_record")),
        ]
    );
    // Another workspace sees none of it.
    assert!(store.list_note_records("ws-b").await.unwrap().is_empty());
    assert!(store.get_note_record("ws-b", "e1").await.unwrap().is_none());
}

async fn contact_index(store: &Store) {
    let items = vec![
        (opp(Model::Job, "1", t0()), "c-1".to_owned()),
        (
            opp(Model::Membership, "2", t0() + Duration::hours(2)),
            "c-1".to_owned(),
        ),
        (
            opp(Model::Job, "3", t0() + Duration::hours(1)),
            "c-1".to_owned(),
        ),
        (
            opp(Model::Job, "4", t0() + Duration::hours(5)),
            "c-2".to_owned(),
        ),
    ];
    store
        .upsert_opportunities("ws-a", &items, t0())
        .await
        .unwrap();
    // The same contact id in another workspace must not leak in.
    store
        .upsert_opportunities(
            "ws-b",
            &[(
                opp(Model::Job, "9", t0() + Duration::days(1)),
                "c-1".to_owned(),
            )],
            t0(),
        )
        .await
        .unwrap();
    let got = store
        .contact_opportunities("ws-a", "c-1", 10)
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            (Model::Membership, "2".to_owned()),
            (Model::Job, "3".to_owned()),
            (Model::Job, "1".to_owned()),
        ]
    );
    assert_eq!(
        store
            .contact_opportunities("ws-a", "c-1", 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .contact_opportunities("ws-a", "nobody", 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynoxide_claim_protocol() {
    let (engine, store) = dynoxide().await;
    claim_protocol(&store).await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynoxide_contact_index() {
    let (engine, store) = dynoxide().await;
    contact_index(&store).await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_claim_protocol() {
    let Some(store) = moto().await else { return };
    claim_protocol(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_contact_index() {
    let Some(store) = moto().await else { return };
    contact_index(&store).await;
}

/// A table made before `gsi3` existed gets it from `ensure_table`, and the opportunities already
/// stored are found through it (the index is built on attributes they have).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_table_adds_the_contact_index_to_an_older_table() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
        ProjectionType, ScalarAttributeType,
    };
    let engine = EmbeddedDynamo::start_memory().await.unwrap();
    let client = engine.client().await;
    let key = |n: &str, k: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(k)
            .build()
            .unwrap()
    };
    let gsi = |name: &str, h: &str, r: &str, p: ProjectionType| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(h, KeyType::Hash))
            .key_schema(key(r, KeyType::Range))
            .projection(Projection::builder().projection_type(p).build())
            .build()
            .unwrap()
    };
    let mut create = client
        .create_table()
        .table_name("stsync-old")
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(gsi("gsi1", "gsi1pk", "gsi1sk", ProjectionType::KeysOnly))
        .global_secondary_indexes(gsi("gsi2", "gsi2pk", "gsi2sk", ProjectionType::All));
    for a in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        );
    }
    create.send().await.unwrap();
    let store = Store::new(client, "stsync-old");
    store
        .upsert_opportunities(
            "ws-a",
            &[(opp(Model::Job, "1", t0()), "c-1".to_owned())],
            t0(),
        )
        .await
        .unwrap();

    store.ensure_table().await.expect("adds gsi3");
    assert_eq!(
        store.contact_opportunities("ws-a", "c-1", 5).await.unwrap(),
        vec![(Model::Job, "1".to_owned())]
    );
    store.ensure_table().await.expect("idempotent");
    engine.shutdown().await;
}
