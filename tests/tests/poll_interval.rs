//! The per-integration poll interval (SPEC.md §2, 1 to 60 minutes): a scheduled run leaves an
//! integration alone until its interval has passed since its last scheduled sync (less a minute
//! for the schedule's jitter); continuations are not gated; a failed sync does not hold the next
//! schedule back. Sandbox over HTTP, store on dynoxide.

use chrono::{DateTime, Duration, Utc};
use e2e::{store_on, Engine, World};
use opportunity::Model;
use store::Store;
use sync::runner::{run_continuation, Run, RunSummary, Shard};
use sync::SyncOptions;

/// A scheduled run at `now`; its lease owner is unique to it, as a Lambda request id is.
async fn scheduled(store: &Store, world: &World, now: DateTime<Utc>) -> RunSummary {
    let owner = format!("poll-interval-test-{}", now.timestamp_millis());
    world.scheduled_run(store, Model::Job, &owner, now).await
}

fn outcome<'a>(summary: &'a RunSummary, ws: &str) -> &'a sync::runner::IntegrationOutcome {
    summary
        .outcomes
        .iter()
        .find(|o| o.workspace_id == ws)
        .unwrap_or_else(|| panic!("no outcome for {ws}: {summary:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_runs_wait_for_each_integrations_poll_interval() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.expect("dynoxide");
    let t0 = Utc::now();
    let world = World::start(40, 20, 3, t0).await;
    let mut half_hourly = world.integration("ws-30", t0);
    half_hourly.poll_interval_minutes = 30;
    store.put_integration(&half_hourly).await.unwrap();
    let every_run = world.integration("ws-1", t0);
    assert_eq!(every_run.poll_interval_minutes, 1);
    store.put_integration(&every_run).await.unwrap();
    let mut broken = world.integration("ws-broken", t0);
    broken.poll_interval_minutes = 30;
    broken.secret_id = "e2e/no-such-secret".into();
    store.put_integration(&broken).await.unwrap();

    let first = scheduled(&store, &world, t0).await;
    assert_eq!(first.not_due, 0, "{first:?}");
    assert!(outcome(&first, "ws-30").report.is_some());
    assert!(outcome(&first, "ws-1").report.is_some());
    assert!(outcome(&first, "ws-broken").error.is_some());

    // A quarter of an hour later: ws-30 is not due; ws-1 is; ws-broken failed for good (its
    // secret is missing), so it waits for its interval too instead of failing every schedule.
    assert!(!outcome(&first, "ws-broken").retryable);
    let later = scheduled(&store, &world, t0 + Duration::minutes(15)).await;
    let o = outcome(&later, "ws-30");
    assert!(
        o.not_due && o.report.is_none() && o.error.is_none(),
        "{o:?}"
    );
    assert!(outcome(&later, "ws-broken").not_due, "{later:?}");
    assert_eq!(later.not_due, 2, "{later:?}");
    assert!(outcome(&later, "ws-1").report.is_some());

    // A continuation is not gated.
    let continued = run_continuation(
        &store,
        &world.secrets,
        &world.platform,
        &Run {
            model: Model::Job,
            shard: Shard::default(),
            owner: "poll-interval-continuation",
            now: t0 + Duration::minutes(15),
        },
        "ws-30",
        &SyncOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(continued.succeeded, 1, "{continued:?}");

    // The interval less the schedule's jitter allowance has passed: due again.
    let t1 = t0 + Duration::minutes(29) + Duration::seconds(1);
    let due = scheduled(&store, &world, t1).await;
    assert!(outcome(&due, "ws-30").report.is_some(), "{due:?}");

    // A changed interval applies on the next schedule, not when the old slot ends.
    half_hourly.poll_interval_minutes = 20;
    store.put_integration(&half_hourly).await.unwrap();
    let changed = scheduled(&store, &world, t1 + Duration::minutes(1)).await;
    assert!(outcome(&changed, "ws-30").report.is_some(), "{changed:?}");
    let after = scheduled(&store, &world, t1 + Duration::minutes(2)).await;
    assert!(outcome(&after, "ws-30").not_due, "{after:?}");

    // A run that did not catch up (here its deadline had passed before the first page) gives
    // its slot back: the next schedule goes on at once.
    let t2 = t1 + Duration::minutes(30);
    let cut = world
        .scheduled_run_with(
            &store,
            Model::Job,
            "poll-interval-cut",
            t2,
            &SyncOptions {
                deadline: Some(std::time::Instant::now()),
                ..SyncOptions::default()
            },
        )
        .await;
    let report = outcome(&cut, "ws-30").report.clone().expect("a report");
    assert!(!report.caught_up, "{report:?}");
    let next = scheduled(&store, &world, t2 + Duration::minutes(1)).await;
    let report = outcome(&next, "ws-30")
        .report
        .clone()
        .expect("synced, not gated");
    assert!(report.caught_up, "{report:?}");
}
