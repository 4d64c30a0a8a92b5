//! The poll-memberships handler fed with `events/poll-memberships.*.json`, against the sandbox
//! and dynoxide: it syncs the Membership model only (the same engine as poll-jobs).

use std::time::Duration;

use chrono::Utc;
use e2e::{lambda_context as context, sample_event as event, store_on, Engine, World};
use lambda_runtime::LambdaEvent;
use opportunity::Model;
use poll_memberships::{handle, App};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_events_sync_the_memberships_of_the_shard() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.unwrap();
    let now = Utc::now();
    let world = World::start(80, 120, 12, now).await;
    let mut membership_only = world.integration("ws-members", now);
    membership_only.models = vec![Model::Membership];
    store.put_integration(&membership_only).await.unwrap();
    store
        .put_integration(&world.integration("ws-jobs-only", now))
        .await
        .unwrap();
    let app = App {
        store: store.clone(),
        secrets: world.secrets.clone(),
        platform: world.platform.clone(),
        deadline_margin: Duration::from_secs(5),
        continuation: None,
    };
    for name in [
        "poll-memberships.schedule.json",
        "poll-memberships.scheduled-event.json",
    ] {
        let summary = handle(
            &app,
            LambdaEvent::new(event(name), context(Duration::from_secs(900))),
        )
        .await
        .unwrap();
        assert_eq!(
            summary.integrations, 1,
            "{name}: only the membership integration"
        );
        assert_eq!(summary.failed, 0, "{name}: {:?}", summary.outcomes);
    }
    let memberships = store
        .list_opportunities("ws-members", Some(Model::Membership))
        .await
        .unwrap();
    assert!(!memberships.is_empty());
    assert!(memberships
        .iter()
        .all(|o| o.opportunity.details.contains_key("membershipType:name")));
    assert!(store
        .list_opportunities("ws-members", Some(Model::Job))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_opportunities("ws-jobs-only", None)
        .await
        .unwrap()
        .is_empty());
}
