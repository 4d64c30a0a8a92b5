//! Webhook delivery claims and the customer-link read (SPEC.md §6), against dynoxide in-process
//! and, when `AWS_ENDPOINT_URL` is set, against that server (moto in CI). The concurrency test
//! runs on dynoxide only (moto's conditional writes are not atomic under concurrent requests;
//! see `tests/conformance.rs`).
#![cfg(feature = "embedded")]

use chrono::{DateTime, Duration, TimeZone, Utc};
use opportunity::ContactCandidate;
use store::embedded::EmbeddedDynamo;
use store::{ClaimOutcome, Store};

const SOURCE: &str = "https://webhooks.servicetitan.io";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 16, 5, 19).unwrap()
}

async fn dynoxide() -> (EmbeddedDynamo, Store) {
    let engine = EmbeddedDynamo::start_memory().await.expect("dynoxide");
    let store = Store::new(engine.client().await, "stsync-claims");
    store.ensure_table().await.expect("table");
    (engine, store)
}

async fn moto() -> Option<Store> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        assert!(
            std::env::var("STSYNC_REQUIRE_MOTO").as_deref() != Ok("1"),
            "STSYNC_REQUIRE_MOTO=1 but AWS_ENDPOINT_URL is unset"
        );
        eprintln!("skipped: moto (AWS_ENDPOINT_URL unset)");
        return None;
    }
    let store = Store::from_env(format!("stsync-claims-{}", uuid::Uuid::new_v4().simple())).await;
    store.ensure_table().await.expect("table on moto");
    Some(store)
}

async fn claim(store: &Store, ws: &str, id: &str, now: DateTime<Utc>) -> ClaimOutcome {
    store
        .claim_webhook_event(
            ws,
            SOURCE,
            id,
            "tn.tlc.call-completed",
            now,
            Duration::seconds(60),
        )
        .await
        .expect("claim")
}

/// Claim, duplicate while pending, complete, duplicate when done, other workspace independent.
async fn lifecycle(store: &Store) {
    let ClaimOutcome::Claimed(first) = claim(store, "ws-a", "evt-1", t0()).await else {
        panic!("the first delivery claims the event");
    };
    assert_eq!(
        claim(store, "ws-a", "evt-1", t0() + Duration::seconds(10)).await,
        ClaimOutcome::InProgress,
        "a second delivery while the first is handled"
    );
    assert!(
        matches!(
            claim(store, "ws-b", "evt-1", t0()).await,
            ClaimOutcome::Claimed(_)
        ),
        "claims are per workspace"
    );
    assert!(
        matches!(
            claim(store, "ws-a", "evt-2", t0()).await,
            ClaimOutcome::Claimed(_)
        ),
        "another event id is another claim"
    );
    assert!(store
        .complete_webhook_event(&first, "created", t0() + Duration::seconds(1))
        .await
        .unwrap());
    assert_eq!(
        claim(store, "ws-a", "evt-1", t0() + Duration::seconds(30)).await,
        ClaimOutcome::Done {
            outcome: Some("created".into())
        }
    );
    // Long after the hold, a done claim stays done (only pending claims can be taken over).
    assert_eq!(
        claim(store, "ws-a", "evt-1", t0() + Duration::hours(2)).await,
        ClaimOutcome::Done {
            outcome: Some("created".into())
        }
    );
}

/// A released claim (handling failed) lets the retry in; an abandoned one is taken over after
/// the hold, and the old claimant can then neither complete nor release it.
async fn release_and_takeover(store: &Store) {
    let ClaimOutcome::Claimed(failed) = claim(store, "ws-a", "evt-r", t0()).await else {
        panic!("claimed");
    };
    store.release_webhook_event(&failed).await.unwrap();
    let ClaimOutcome::Claimed(crashed) = claim(store, "ws-a", "evt-r", t0()).await else {
        panic!("a released event is claimed again at once");
    };
    assert_eq!(
        claim(store, "ws-a", "evt-r", t0() + Duration::seconds(59)).await,
        ClaimOutcome::InProgress
    );
    let ClaimOutcome::Claimed(retry) =
        claim(store, "ws-a", "evt-r", t0() + Duration::seconds(61)).await
    else {
        panic!("an abandoned claim is taken over after the hold");
    };
    assert!(
        !store
            .complete_webhook_event(&crashed, "created", t0())
            .await
            .unwrap(),
        "the old claimant no longer owns it"
    );
    store.release_webhook_event(&crashed).await.unwrap();
    assert_eq!(
        claim(store, "ws-a", "evt-r", t0() + Duration::seconds(62)).await,
        ClaimOutcome::InProgress,
        "a stale release does not drop the new claim"
    );
    assert!(store
        .complete_webhook_event(&retry, "duplicate", t0())
        .await
        .unwrap());
}

async fn bad_input_is_refused(store: &Store) {
    for (ws, id) in [("ws a", "e"), ("ws-a", ""), ("ws-a", "a\nb")] {
        let err = store
            .claim_webhook_event(ws, SOURCE, id, "t", t0(), Duration::seconds(1))
            .await
            .expect_err("invalid input");
        assert!(!err.is_retryable(), "{err}");
    }
}

async fn linked_contact_reads_the_customer_link(store: &Store) {
    assert_eq!(store.linked_contact("ws-l", 3301457).await.unwrap(), None);
    let resolution = store
        .resolve_contact(
            "ws-l",
            &ContactCandidate {
                customer_id: Some(3301457),
                email: None,
                phone: Some("+12175550142".into()),
                first_name: Some("Avery".into()),
                last_name: None,
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.linked_contact("ws-l", 3301457).await.unwrap(),
        Some(resolution.contact_id)
    );
    assert_eq!(
        store.linked_contact("ws-other", 3301457).await.unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynoxide_claims() {
    let (engine, store) = dynoxide().await;
    lifecycle(&store).await;
    release_and_takeover(&store).await;
    bad_input_is_refused(&store).await;
    linked_contact_reads_the_customer_link(&store).await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_claims() {
    let Some(store) = moto().await else { return };
    lifecycle(&store).await;
    release_and_takeover(&store).await;
    bad_input_is_refused(&store).await;
    linked_contact_reads_the_customer_link(&store).await;
}

/// Eight concurrent deliveries of one event: exactly one claims it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynoxide_concurrent_deliveries_make_one_claim() {
    let (engine, store) = dynoxide().await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { claim(&store, "ws-c", "evt-race", t0()).await })
        })
        .collect();
    let mut claimed = 0;
    for task in tasks {
        match task.await.unwrap() {
            ClaimOutcome::Claimed(_) => claimed += 1,
            ClaimOutcome::InProgress => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(claimed, 1);
    engine.shutdown().await;
}
