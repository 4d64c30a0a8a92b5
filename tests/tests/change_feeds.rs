//! Issue #4 items 1, 2 and 6 end to end: customer, contact and location changes reach the
//! opportunities built from them (through the customer index), merged customers resolve to the
//! survivor, the backfill keeps its own progress apart from the incremental feeds, and a change
//! of the resource selection fills the new resource in on the next run. Sandbox over HTTP,
//! store on dynoxide (and moto in CI).

use chrono::{Duration, Utc};
use e2e::{store_on, Engine, World};
use opportunity::{Model, Resource};
use serde_json::json;
use servicetitan::Id;
use store::Store;

/// The stored job opportunity with the most recent job whose customer has an active email
/// contact; returns (job id, customer id, location id).
fn a_synced_job(world: &World) -> (Id, Id, Id) {
    world.sandbox.with_data(|d| {
        let mut jobs: Vec<_> = d.jobs.iter().collect();
        jobs.sort_by_key(|j| std::cmp::Reverse(j.modified_on));
        let job = jobs
            .into_iter()
            .find(|j| {
                d.customers
                    .iter()
                    .any(|c| c.id == j.customer_id && c.active && c.merged_to_id.is_none())
            })
            .expect("a job with an active customer");
        (job.id, job.customer_id, job.location_id)
    })
}

async fn opportunity(store: &Store, job: Id) -> opportunity::Opportunity {
    store
        .get_opportunity("ws-people", Model::Job, &job.to_string())
        .await
        .unwrap()
        .expect("job opportunity stored")
        .opportunity
}

async fn people_changes_reach_their_opportunities(engine: Engine) {
    let Some((store, _engine)) = store_on(engine).await else {
        return;
    };
    let now = Utc::now();
    let world = World::start(120, 40, 11, now - Duration::minutes(30)).await;
    store
        .put_integration(&world.integration("ws-people", now - Duration::minutes(20)))
        .await
        .unwrap();
    let first = world.sync_at(&store, Model::Job, "change-feeds", now).await;
    assert!(first.caught_up && first.backfill_done, "{first:?}");

    // Backfill and incremental progress are separate items.
    let backfill = store
        .get_backfill("ws-people", "job")
        .await
        .unwrap()
        .expect("backfill state");
    assert!(backfill.finished_at.is_some());
    assert_eq!(
        backfill.window_to - backfill.window_from,
        Duration::days(90)
    );
    let feeds: Vec<_> = store.list_progress("ws-people").await.unwrap();
    let names: Vec<&str> = feeds.iter().map(|f| f.feed.as_str()).collect();
    for key in [
        "backfill:job:jobs",
        "job:jobs",
        "job:customers",
        "job:customer-contacts",
        "job:locations",
    ] {
        assert!(names.contains(&key), "{key} missing from {names:?}");
    }
    assert!(feeds
        .iter()
        .filter(|f| f.feed.starts_with("backfill:"))
        .all(|f| f.done));

    let (job, customer, location) = a_synced_job(&world);
    let before = opportunity(&store, job).await;
    assert_eq!(
        before.external_contact_id.as_deref(),
        Some(customer.to_string().as_str())
    );

    // 1. The customer is renamed, gets a new e-mail contact, and the location moves: nothing
    //    about the job itself changes.
    let later = Utc::now() + Duration::seconds(1);
    world.sandbox.with_data(|d| {
        let c = d.customers.iter_mut().find(|c| c.id == customer).unwrap();
        c.name = "Renamed, Rita".into();
        c.modified_on = later;
        let mut contact = d
            .contacts
            .iter()
            .find(|k| k.customer_id == Some(customer))
            .cloned()
            .expect("the customer has a contact");
        contact.id = 990_000_001;
        contact.kind = "Email".into();
        contact.value = "rita.renamed@example.org".into();
        contact.created_on = later;
        contact.modified_on = later;
        contact.active = Some(true);
        d.contacts.push(contact);
        let l = d.locations.iter_mut().find(|l| l.id == location).unwrap();
        l.name = "Moved Location".into();
        l.modified_on = later;
    });
    let counts_before = world.sandbox.request_counts();
    let second = world
        .sync_at(&store, Model::Job, "change-feeds", Utc::now())
        .await;
    assert!(second.opportunities_written >= 1, "{second:?}");
    // The job is rebuilt from the source records kept with its opportunity: only the people
    // are looked up again, never the job, its appointments, estimates or invoices.
    let counts_after = world.sandbox.request_counts();
    let looked_up: Vec<&String> = counts_after
        .iter()
        .filter(|(route, n)| counts_before.get(*route) != Some(*n))
        .map(|(route, _)| route)
        .filter(|route| {
            [
                "GET /jpm/v2/tenant/{tenant}/jobs",
                "GET /jpm/v2/tenant/{tenant}/appointments",
                "GET /sales/v2/tenant/{tenant}/estimates",
                "GET /accounting/v2/tenant/{tenant}/invoices",
            ]
            .contains(&route.as_str())
        })
        .collect();
    assert!(
        looked_up.is_empty(),
        "a people change looked up {looked_up:?}"
    );
    let after = opportunity(&store, job).await;
    assert_eq!(after.standard.first_name.as_deref(), Some("Rita"));
    assert_eq!(after.standard.last_name.as_deref(), Some("Renamed"));
    assert_eq!(
        after.standard.email.as_deref(),
        Some("rita.renamed@example.org")
    );
    assert_eq!(
        after.details.get("location:name"),
        Some(&json!("Moved Location"))
    );

    // Idle: one call per feed, nothing written.
    let idle = world
        .sync_at(&store, Model::Job, "change-feeds", Utc::now())
        .await;
    assert_eq!(
        (idle.store_writes, idle.opportunities_written),
        (0, 0),
        "{idle:?}"
    );
    let feeds = sync::Feed::for_model(Model::Job, &Default::default()).len() as u64;
    assert_eq!(idle.api_calls, feeds, "{idle:?}");

    // 2. The customer is merged into another one (mergedToId): the opportunity now resolves to
    //    the survivor's contact.
    let survivor = world.sandbox.with_data(|d| {
        let survivor = d
            .customers
            .iter()
            .find(|c| c.id != customer && c.active && c.merged_to_id.is_none())
            .map(|c| c.id)
            .unwrap();
        let c = d.customers.iter_mut().find(|c| c.id == customer).unwrap();
        c.active = false;
        c.merged_to_id = Some(survivor);
        c.modified_on = Utc::now() + Duration::seconds(2);
        survivor
    });
    let third = world
        .sync_at(&store, Model::Job, "change-feeds", Utc::now())
        .await;
    assert!(third.opportunities_written >= 1, "{third:?}");
    let merged = opportunity(&store, job).await;
    assert_eq!(
        merged.external_contact_id.as_deref(),
        Some(survivor.to_string().as_str())
    );
    assert_eq!(merged.details.get("customerId"), Some(&json!(customer)));
    assert_eq!(merged.details.get("customer:id"), Some(&json!(survivor)));
    let survivors_opportunities = store
        .opportunities_for_customer("ws-people", &survivor.to_string())
        .await
        .unwrap();
    assert!(survivors_opportunities.contains(&(Model::Job, job.to_string())));
}

#[tokio::test]
async fn people_changes_reach_their_opportunities_dynoxide() {
    people_changes_reach_their_opportunities(Engine::Dynoxide).await;
}

#[tokio::test]
async fn people_changes_reach_their_opportunities_moto() {
    people_changes_reach_their_opportunities(Engine::Moto).await;
}

#[tokio::test]
async fn enabling_a_resource_backfills_it_on_the_next_run() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.unwrap();
    let now = Utc::now();
    let world = World::start(150, 50, 23, now - Duration::minutes(30)).await;
    let mut integration = world.integration("ws-people", now - Duration::minutes(20));
    integration.resources.job.remove(&Resource::Invoices);
    store.put_integration(&integration).await.unwrap();
    let first = world.sync_at(&store, Model::Job, "change-feeds", now).await;
    assert!(first.backfill_done);
    let has_invoices =
        |o: &opportunity::Opportunity| o.details.keys().any(|k| k.starts_with("invoices:"));
    let listed = store
        .list_opportunities("ws-people", Some(Model::Job))
        .await
        .unwrap();
    assert!(!listed.iter().any(|s| has_invoices(&s.opportunity)));

    integration.resources.job.insert(Resource::Invoices);
    store.put_integration(&integration).await.unwrap();
    let later = now + Duration::minutes(15);
    let second = world
        .sync_at(&store, Model::Job, "change-feeds", later)
        .await;
    assert!(second.backfill_done, "{second:?}");
    let backfill = store
        .get_backfill("ws-people", "job")
        .await
        .unwrap()
        .unwrap();
    assert!(backfill.selection.contains("invoices"));
    assert_eq!(backfill.window_to, later);
    let listed = store
        .list_opportunities("ws-people", Some(Model::Job))
        .await
        .unwrap();
    assert!(
        listed.iter().any(|s| has_invoices(&s.opportunity)),
        "invoices filled in after the selection changed"
    );
    // The next run is idle again.
    let idle = world
        .sync_at(
            &store,
            Model::Job,
            "change-feeds",
            later + Duration::minutes(15),
        )
        .await;
    assert_eq!(idle.store_writes, 0, "{idle:?}");
}

/// A store written before opportunities kept their source records (or items stored without
/// them because they were too large): a customer change rebuilds such jobs from lookups of the
/// ids their details list, losing none of their related records, and stores their sources.
#[tokio::test]
async fn opportunities_stored_without_sources_keep_their_related_records() {
    let engine = store::embedded::EmbeddedDynamo::start_memory()
        .await
        .expect("dynoxide starts");
    let ddb = engine.client().await;
    let store = Store::new(ddb.clone(), "e2e-legacy");
    store.ensure_table().await.unwrap();
    let now = Utc::now();
    let world = World::start(120, 40, 31, now - Duration::minutes(30)).await;
    store
        .put_integration(&world.integration("ws-people", now - Duration::minutes(20)))
        .await
        .unwrap();
    assert!(
        world
            .sync_at(&store, Model::Job, "change-feeds", now)
            .await
            .backfill_done
    );

    // Strip `sources` from every item, as an older version wrote them.
    let items: Vec<_> = ddb
        .scan()
        .table_name("e2e-legacy")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let mut stripped = 0;
    for item in items.iter().filter(|i| i.contains_key("sources")) {
        ddb.update_item()
            .table_name("e2e-legacy")
            .key("pk", item["pk"].clone())
            .key("sk", item["sk"].clone())
            .update_expression("REMOVE #s")
            .expression_attribute_names("#s", "sources")
            .send()
            .await
            .unwrap();
        stripped += 1;
    }
    let jobs = store
        .list_opportunities("ws-people", Some(Model::Job))
        .await
        .unwrap();
    assert_eq!(stripped, jobs.len(), "every job opportunity had sources");
    assert!(jobs.iter().all(|s| s.sources.is_none()));

    let (job, customer, _) = a_synced_job(&world);
    let before = opportunity(&store, job).await;
    let related = |o: &opportunity::Opportunity| -> Vec<(String, serde_json::Value)> {
        o.details
            .iter()
            .filter(|(k, _)| {
                ["appointments:", "estimates:", "invoices:"]
                    .iter()
                    .any(|p| k.starts_with(p))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert!(!related(&before).is_empty(), "the job has related records");
    world.sandbox.with_data(|d| {
        let c = d.customers.iter_mut().find(|c| c.id == customer).unwrap();
        c.name = "Legacy, Lee".into();
        c.modified_on = Utc::now() + Duration::seconds(1);
    });
    let second = world
        .sync_at(&store, Model::Job, "change-feeds", Utc::now())
        .await;
    assert!(second.opportunities_written >= 1, "{second:?}");
    let after = store
        .get_opportunity("ws-people", Model::Job, &job.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.opportunity.standard.first_name.as_deref(),
        Some("Lee")
    );
    assert_eq!(related(&after.opportunity), related(&before));
    assert!(after.sources.is_some(), "the rebuild stored its sources");
}
