//! The poll-jobs handler fed with `events/poll-jobs.*.json`, against the sandbox and dynoxide.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use e2e::{store_on, Engine, World};
use lambda_runtime::{Context, LambdaEvent};
use opportunity::Model;
use poll_jobs::{handle, App};

fn context(remaining: Duration) -> Context {
    let mut ctx = Context::default();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    ctx.deadline = now_ms + remaining.as_millis() as u64;
    ctx.request_id = "test-request".into();
    ctx
}

fn event(name: &str) -> serde_json::Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("event JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_events_sync_the_shard() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.unwrap();
    let now = Utc::now();
    let world = World::start(60, 25, 11, now).await;
    store
        .put_integration(&world.integration("ws-lambda", now))
        .await
        .unwrap();
    let app = App {
        store: store.clone(),
        secrets: world.secrets.clone(),
        platform: world.platform.clone(),
        deadline_margin: Duration::from_secs(5),
    };

    for name in ["poll-jobs.schedule.json", "poll-jobs.scheduled-event.json"] {
        let summary = handle(
            &app,
            LambdaEvent::new(event(name), context(Duration::from_secs(900))),
        )
        .await
        .unwrap();
        assert_eq!(summary.integrations, 1, "{name}");
        assert_eq!(summary.failed, 0, "{name}: {:?}", summary.outcomes);
    }
    let stored = store
        .list_opportunities("ws-lambda", Some(Model::Job))
        .await
        .unwrap();
    assert!(!stored.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_deadline_takes_no_page_and_commits_nothing() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.unwrap();
    let now = Utc::now();
    let world = World::start(30, 10, 5, now).await;
    store
        .put_integration(&world.integration("ws-late", now))
        .await
        .unwrap();
    let app = App {
        store: store.clone(),
        secrets: world.secrets.clone(),
        platform: world.platform.clone(),
        deadline_margin: Duration::from_secs(30),
    };
    // 10 s left, 30 s margin: the soft deadline has passed before the first page.
    let summary = handle(
        &app,
        LambdaEvent::new(
            event("poll-jobs.schedule.json"),
            context(Duration::from_secs(10)),
        ),
    )
    .await
    .unwrap();
    let report = summary.outcomes[0].report.as_ref().unwrap();
    assert_eq!(report.pages, 0);
    assert!(!report.caught_up);
    assert!(store
        .get_progress("ws-late", sync::JOBS_FEED)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn bad_schedule_input_is_rejected_with_the_field() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.unwrap();
    let world = World::start(1, 1, 1, Utc::now()).await;
    let app = App {
        store,
        secrets: world.secrets.clone(),
        platform: world.platform.clone(),
        deadline_margin: Duration::from_secs(5),
    };
    let err = handle(
        &app,
        LambdaEvent::new(
            serde_json::json!({"shard": 4, "of": 2}),
            context(Duration::from_secs(60)),
        ),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("shard"), "{err}");
}
