//! Runs the conformance suite (`tests/suite`) against dynoxide in-process (always) and against
//! the server at `AWS_ENDPOINT_URL` (moto in CI). Without `AWS_ENDPOINT_URL` the second set prints
//! a skip note, unless `STSYNC_REQUIRE_MOTO=1`, which makes it fail instead.
#![cfg(feature = "embedded")]

mod suite;

use store::embedded::EmbeddedDynamo;
use store::Store;

async fn dynoxide_store() -> (EmbeddedDynamo, Store) {
    let engine = EmbeddedDynamo::start_memory()
        .await
        .expect("start dynoxide");
    let store = Store::new(engine.client().await, "stsync-test");
    store
        .ensure_table()
        .await
        .expect("ensure_table on dynoxide");
    (engine, store)
}

async fn moto_store() -> Option<Store> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        if std::env::var("STSYNC_REQUIRE_MOTO").as_deref() == Ok("1") {
            panic!("STSYNC_REQUIRE_MOTO=1 but AWS_ENDPOINT_URL is unset: start moto and export it");
        }
        eprintln!("skipped: moto (AWS_ENDPOINT_URL unset)");
        return None;
    }
    let table = format!("stsync-test-{}", uuid::Uuid::new_v4().simple());
    let store = Store::from_env(table).await;
    store
        .ensure_table()
        .await
        .expect("ensure_table on AWS_ENDPOINT_URL");
    Some(store)
}

macro_rules! conformance {
    (
        everywhere: [$($name:ident),* $(,)?],
        atomic_engines_only: [$($atomic:ident),* $(,)?] $(,)?
    ) => {
        mod dynoxide {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (engine, store) = super::dynoxide_store().await;
                    super::suite::$name(&store).await;
                    engine.shutdown().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $atomic() {
                    let (engine, store) = super::dynoxide_store().await;
                    super::suite::$atomic(&store).await;
                    engine.shutdown().await;
                }
            )*
        }
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(store) = super::moto_store().await else { return };
                    super::suite::$name(&store).await;
                }
            )*
            $(
                /// moto (5.2) handles requests on parallel threads without a lock around
                /// DynamoDB operations: a condition check and its write are not atomic, and a
                /// cancelled TransactWriteItems restores a snapshot of the whole table taken
                /// before it ran, erasing writes that other requests made meanwhile. Races are
                /// therefore only tested on engines that serialize writes (dynoxide, DynamoDB).
                #[tokio::test]
                async fn $atomic() {
                    eprintln!(
                        "skipped on moto: {} (moto's conditional writes and transactions are not \
                         atomic under concurrent requests)",
                        stringify!($atomic)
                    );
                }
            )*
        }
    };
}

conformance!(
    everywhere: [
        table_creation_is_idempotent,
        leases_exclude_other_owners_until_expiry,
        integrations_put_get_list,
        workspace_isolation,
        deleting_a_workspace_keeps_the_others,
        progress_put_get,
        backfill_state_put_get_list,
        contact_resolution_order,
        candidates_without_email_and_different_phones_make_two_contacts,
        upsert_create_unchanged_changed_refused,
        oversized_opportunity_is_trimmed_to_fit,
        source_records_are_kept_and_dropped_when_too_large,
        items_written_before_packing_still_read,
        customer_index_finds_opportunities,
        listing_paginates,
    ],
    atomic_engines_only: [
        concurrent_resolution_of_one_email_makes_one_contact,
        concurrent_upserts_keep_the_newest,
    ],
);

/// A file-backed engine keeps the data for the next run (the CLI's embedded default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynoxide_file_persists_across_restarts() {
    let dir = std::env::temp_dir().join(format!("stsync-store-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.db");

    let engine = EmbeddedDynamo::start_file(&path)
        .await
        .expect("start on file");
    let store = Store::new(engine.client().await, "stsync-local");
    store.ensure_table().await.unwrap();
    store
        .put_integration(&suite::integration("ws-a"))
        .await
        .unwrap();
    let o = suite::opp(opportunity::Model::Job, "1", suite::t0(), Some("7"));
    store
        .upsert_opportunities("ws-a", &[(o.clone(), "c-1".into())], suite::t0())
        .await
        .unwrap();
    engine.shutdown().await;

    let engine = EmbeddedDynamo::start_file(&path)
        .await
        .expect("reopen file");
    let store = Store::new(engine.client().await, "stsync-local");
    store
        .ensure_table()
        .await
        .expect("ensure_table on an existing table");
    assert_eq!(
        store.get_integration("ws-a").await.unwrap(),
        Some(suite::integration("ws-a"))
    );
    let stored = store
        .get_opportunity("ws-a", opportunity::Model::Job, "1")
        .await
        .unwrap()
        .expect("opportunity survives a restart");
    assert_eq!(stored.opportunity, o);
    let report = store
        .upsert_opportunities("ws-a", &[(o, "c-1".into())], suite::t0())
        .await
        .unwrap();
    assert_eq!(report.unchanged, 1, "a second run is incremental");
    engine.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// dynoxide validates like DynamoDB: a table name needs at least 3 characters.
#[tokio::test]
async fn dynoxide_rejects_short_table_names() {
    let engine = EmbeddedDynamo::start_memory().await.unwrap();
    let store = Store::new(engine.client().await, "t");
    let err = store.ensure_table().await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    engine.shutdown().await;
}
