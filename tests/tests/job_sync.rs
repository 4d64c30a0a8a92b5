//! The walking skeleton end to end: sandbox over HTTP → sync engine → DynamoDB (dynoxide, and the
//! moto server in CI), through the same `run_scheduled` path the poll-jobs Lambda takes.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, Utc};
use e2e::{store_on, Engine, World};
use opportunity::Model;
use sync::runner::{run_scheduled, Run, Shard};
use sync::SyncOptions;

async fn backfill_then_incremental(engine: Engine) {
    let Some((store, _engine)) = store_on(engine).await else {
        return;
    };
    let now = Utc::now();
    let world = World::start(500, 200, 7, now).await;
    let integration = world.integration("ws-e2e", now);
    store.put_integration(&integration).await.unwrap();

    let window_start = (now - Duration::days(90)).date_naive();
    let in_window: BTreeSet<String> = world
        .data
        .jobs_in_window(window_start)
        .iter()
        .map(i64::to_string)
        .collect();
    assert!(
        in_window.len() < world.data.jobs.len(),
        "generated data reaches past the window"
    );

    let first = world.sync_once(&store, Model::Job, "test-run").await;
    assert!(first.caught_up);
    let opportunities = store
        .list_opportunities("ws-e2e", Some(Model::Job))
        .await
        .unwrap();
    let ids: BTreeSet<String> = opportunities
        .iter()
        .map(|o| o.opportunity.external_id.clone())
        .collect();
    assert_eq!(ids.len(), opportunities.len(), "no duplicate opportunities");
    let expected: BTreeSet<String> = in_window
        .iter()
        .filter(|id| {
            !first
                .bad_record_samples
                .iter()
                .any(|b| b.contains(id.as_str()))
        })
        .cloned()
        .collect();
    assert_eq!(ids, expected, "one opportunity per job in the sync window");
    // Every opportunity was written; a job is written again when a later feed of the same
    // backfill (e.g. estimates) adds records its first build could not know.
    assert!(first.opportunities_written as usize >= opportunities.len());

    let contacts = store.list_contacts("ws-e2e").await.unwrap();
    assert!(!contacts.is_empty());
    assert!(
        contacts.len() < opportunities.len(),
        "jobs of one customer share a contact"
    );
    // Every opportunity points at a stored contact, and linked customers agree.
    let by_id: HashMap<&str, _> = contacts
        .iter()
        .map(|c| (c.contact_id.as_str(), c))
        .collect();
    for o in &opportunities {
        let contact = by_id.get(o.contact_id.as_str()).expect("contact exists");
        let customer: i64 = o
            .opportunity
            .external_contact_id
            .as_deref()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            contact.customer_ids.contains(&customer),
            "customer {customer} linked"
        );
    }

    // Second run: nothing changed in ServiceTitan, so nothing is written.
    let second = world.sync_once(&store, Model::Job, "test-run").await;
    assert_eq!(second.store_writes, 0, "{second:?}");
    assert_eq!(second.opportunities_written, 0);
    assert!(second.api_calls >= 1);

    // A job changes in ServiceTitan: only its opportunity is rewritten.
    let changed_id = ids.iter().next().unwrap().parse::<i64>().unwrap();
    world.sandbox.with_data(|d| {
        let job = d.jobs.iter_mut().find(|j| j.id == changed_id).unwrap();
        job.job_status = "Hold".into();
        job.modified_on = Utc::now();
    });
    let third = world.sync_once(&store, Model::Job, "test-run").await;
    assert_eq!(third.opportunities_written, 1, "{third:?}");
    let stored = store
        .get_opportunity("ws-e2e", Model::Job, &changed_id.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.opportunity.details["jobStatus"], "Hold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynoxide_backfill_then_incremental() {
    backfill_then_incremental(Engine::Dynoxide).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_backfill_then_incremental() {
    backfill_then_incremental(Engine::Moto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_client_secret_fails_that_integration_only() {
    let Some((store, _engine)) = store_on(Engine::Dynoxide).await else {
        return;
    };
    let now = Utc::now();
    let mut world = World::start(40, 20, 3, now).await;
    store
        .put_integration(&world.integration("ws-good", now))
        .await
        .unwrap();
    let mut bad = world.integration("ws-bad", now);
    bad.secret_id = "e2e/wrong".into();
    world
        .secrets
        .insert("e2e/wrong", r#"{"clientSecret":"nope"}"#);
    store.put_integration(&bad).await.unwrap();

    let summary = world
        .scheduled_run(&store, Model::Job, "test-run", now)
        .await;
    assert_eq!(summary.integrations, 2);
    assert_eq!(summary.succeeded, 1);
    let failed = summary
        .outcomes
        .iter()
        .find(|o| o.workspace_id == "ws-bad")
        .unwrap();
    let message = failed.error.as_deref().unwrap();
    assert!(message.contains("invalid_client"), "{message}");
    assert!(
        !message.contains("nope"),
        "the secret never appears in errors"
    );
    assert!(store
        .list_opportunities("ws-bad", None)
        .await
        .unwrap()
        .is_empty());
    assert!(!store
        .list_opportunities("ws-good", None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integration_whose_lease_is_held_is_skipped_then_synced_after_release() {
    let Some((store, _engine)) = store_on(Engine::Dynoxide).await else {
        return;
    };
    let now = Utc::now();
    let world = World::start(30, 12, 9, now).await;
    store
        .put_integration(&world.integration("ws-leased", now))
        .await
        .unwrap();
    let held = store
        .acquire_lease(
            "ws-leased",
            "sync:job",
            "other-invocation",
            now,
            sync::runner::LEASE_DURATION,
        )
        .await
        .unwrap()
        .expect("lease free at first");

    let opts = SyncOptions::default();
    let this_run = Run {
        model: Model::Job,
        shard: Shard::default(),
        owner: "this-invocation",
        now,
    };
    let run = || run_scheduled(&store, &world.secrets, &world.platform, &this_run, &opts);
    let summary = run().await.unwrap();
    assert_eq!(
        (summary.skipped, summary.succeeded, summary.failed),
        (1, 0, 0)
    );
    assert!(summary.outcomes[0].skipped);
    assert!(store
        .list_opportunities("ws-leased", None)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        world.sandbox.total_requests(),
        0,
        "a skipped integration costs no API call"
    );

    store.release_lease(&held).await.unwrap();
    let summary = run().await.unwrap();
    assert_eq!((summary.skipped, summary.succeeded), (0, 1));
    assert!(!store
        .list_opportunities("ws-leased", None)
        .await
        .unwrap()
        .is_empty());
    // The run gave its own lease back: a third run is not skipped either.
    assert_eq!(run().await.unwrap().skipped, 0);
}
