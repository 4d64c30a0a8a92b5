//! The poll-jobs handler fed with `events/poll-jobs.*.json`, against the sandbox and dynoxide.

use std::time::Duration;

use chrono::Utc;
use e2e::{lambda_context as context, sample_event as event, store_on, Engine, World};
use lambda_runtime::LambdaEvent;
use opportunity::Model;
use poll_jobs::{handle, App};

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
        continuation: None,
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
        continuation: None,
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
        continuation: None,
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

/// SPEC.md §3 "Time budget": a backfill cut by the soft deadline queues a continuation message
/// (SQS on the moto server), and the function fed that message continues the same integration
/// to the end without waiting for the schedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_backfill_continues_through_the_queue_moto() {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        assert!(
            std::env::var("STSYNC_REQUIRE_MOTO").is_err(),
            "STSYNC_REQUIRE_MOTO is set but AWS_ENDPOINT_URL is not"
        );
        eprintln!("skipped: moto (AWS_ENDPOINT_URL unset)");
        return;
    }
    let (store, _engine) = store_on(Engine::Dynoxide).await.unwrap();
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("continue-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let now = Utc::now();
    let world = World::start(300, 100, 5, now).await;
    store
        .put_integration(&world.integration("ws-continue", now))
        .await
        .unwrap();
    let app = App {
        store: store.clone(),
        secrets: world.secrets.clone(),
        platform: world.platform.clone(),
        deadline_margin: Duration::from_secs(10),
        continuation: Some(sync::lambda::Continuation {
            client: sqs.clone(),
            queue_url: queue_url.clone(),
        }),
    };
    // Every sandbox answer takes 250 ms and the soft deadline comes 2 s in (12 s left, 10 s
    // margin; the calls in flight may run until 5 s before the end): the backfill cannot finish.
    let slow = reqwest::Client::new()
        .post(format!("{}/__admin/faults", world.sandbox.base_url()))
        .body(r#"{"latencyMs": 250, "times": 100000}"#)
        .send()
        .await
        .unwrap();
    assert!(slow.status().is_success());
    let first = handle(
        &app,
        LambdaEvent::new(
            event("poll-jobs.schedule.json"),
            context(Duration::from_secs(12)),
        ),
    )
    .await
    .unwrap();
    let report = first.outcomes[0].report.as_ref().unwrap();
    assert!(report.pages > 0 && !report.caught_up, "{report:?}");
    assert!(!report.backfill_done);

    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1, "one continuation message");
    let body = messages[0].body.clone().unwrap();
    let message: sync::lambda::ContinueSync = serde_json::from_str(&body).unwrap();
    assert_eq!(message.workspace_id, "ws-continue");
    assert_eq!(message.model, Model::Job);

    // The continuation, as Lambda's SQS trigger delivers it, finishes the backfill.
    let clear = reqwest::Client::new()
        .delete(format!("{}/__admin/faults", world.sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert!(clear.status().is_success());
    let sqs_event = serde_json::json!({"Records": [{
        "messageId": messages[0].message_id, "eventSource": "aws:sqs", "body": body
    }]});
    let second = handle(
        &app,
        LambdaEvent::new(sqs_event, context(Duration::from_secs(300))),
    )
    .await
    .unwrap();
    assert_eq!(second.integrations, 1);
    let report = second.outcomes[0].report.as_ref().unwrap();
    assert!(report.caught_up && report.backfill_done, "{report:?}");
    let state = store
        .get_backfill("ws-continue", "job")
        .await
        .unwrap()
        .unwrap();
    assert!(state.finished_at.is_some());
    // Nothing more to continue.
    let after = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(after.messages.unwrap_or_default().is_empty());
}
