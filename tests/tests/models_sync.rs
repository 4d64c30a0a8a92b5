//! Every resource of the Job and Membership models end to end (issue 3): sandbox over HTTP →
//! engine → dynoxide. Request counters prove there is no N+1, unselected resources are never
//! requested, related changes rebuild their opportunity, and the field catalog covers every key
//! the real sync writes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use e2e::{store_on, Engine, World};
use opportunity::{catalog, Integration, Model, Resource};

fn all_resources(mut i: Integration) -> Integration {
    i.models = vec![Model::Job, Model::Membership];
    i.resources.job = Resource::optional_for(Model::Job).iter().copied().collect();
    i.resources.membership = Resource::optional_for(Model::Membership)
        .iter()
        .copied()
        .collect();
    i
}

/// `GET` counts of one run, by route template.
fn counts_of(world: &World) -> BTreeMap<String, u64> {
    world
        .sandbox
        .request_counts()
        .into_iter()
        .filter(|(k, _)| k.starts_with("GET "))
        .collect()
}

async fn job_backfill_calls(
    jobs: usize,
    now: DateTime<Utc>,
) -> (u64, BTreeMap<String, u64>, usize) {
    let (store, _engine) = store_on(Engine::Dynoxide).await.expect("dynoxide");
    let world = World::start(jobs, jobs * 2 / 5, 11, now).await;
    let integration = all_resources(world.integration("ws-n1", now));
    store.put_integration(&integration).await.unwrap();
    world.sandbox.reset_counts();
    let report = world
        .sync_once(&store, Model::Job, "models-sync-test")
        .await;
    assert!(report.caught_up);
    let synced = store
        .list_opportunities("ws-n1", Some(Model::Job))
        .await
        .unwrap()
        .len();
    (world.sandbox.total_requests(), counts_of(&world), synced)
}

/// Syncing N jobs costs a number of calls that grows with N/50, not with N: every related
/// resource comes through `ids=` / `appointmentIds=` / `customerIds=` batches of 50 and the
/// reference lists are read once per run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncing_n_jobs_costs_batches_not_records() {
    let now = Utc::now();
    let (small_total, small, small_synced) = job_backfill_calls(100, now).await;
    let (large_total, large, large_synced) = job_backfill_calls(400, now).await;
    println!("100 jobs: {small_total} calls for {small_synced} opportunities: {small:#?}");
    println!("400 jobs: {large_total} calls for {large_synced} opportunities: {large:#?}");
    assert!(
        large_synced > 3 * small_synced,
        "{small_synced} vs {large_synced}"
    );
    // Reference data: one call per list per run, whatever N.
    for path in [
        "/settings/v2/tenant/{tenant}/business-units",
        "/jpm/v2/tenant/{tenant}/job-types",
        "/marketing/v2/tenant/{tenant}/campaigns",
        "/settings/v2/tenant/{tenant}/tag-types",
        "/dispatch/v2/tenant/{tenant}/zones",
        "/settings/v2/tenant/{tenant}/employees",
        "/settings/v2/tenant/{tenant}/technicians",
        "/jpm/v2/tenant/{tenant}/job-cancel-reasons",
    ] {
        let key = format!("GET {path}");
        assert_eq!(small.get(&key), Some(&1), "{key}");
        assert_eq!(large.get(&key), Some(&1), "{key}");
    }
    // Related records: each batched endpoint is called about once per 50 affected records and
    // per feed page, never once per record. 6 feeds; ⌈N/50⌉ + 1 batches per page at most.
    let feeds = 6u64;
    let bound = |n: u64| feeds * (n.div_ceil(50) + 1);
    for (key, calls) in &large {
        if key.contains("/export/") || key.ends_with("/estimates/export") {
            continue;
        }
        assert!(
            *calls <= bound(large_synced as u64),
            "{key}: {calls} calls for {large_synced} jobs"
        );
    }
    // Four times the jobs costs far less than four times 1 call per job more: the growth per
    // extra job is a fraction of a call (an N+1 would cost several calls per job).
    let extra_jobs = (large_synced - small_synced) as f64;
    let extra_calls = large_total.saturating_sub(small_total) as f64;
    assert!(
        extra_calls / extra_jobs < 0.5,
        "{extra_calls} more calls for {extra_jobs} more jobs"
    );
    assert!(
        large_total < large_synced as u64,
        "{large_total} calls for {large_synced} jobs"
    );
}

fn assert_cataloged(model: Model, opportunities: &[store::StoredOpportunity]) {
    let known: BTreeSet<String> = catalog::catalog(model)
        .into_iter()
        .map(|f| f.name)
        .collect();
    let mut missing = BTreeSet::new();
    for o in opportunities {
        for key in o.opportunity.details.keys() {
            let name = catalog::normalize_key(key);
            if !catalog::is_omitted_marker(key) && !known.contains(&name) {
                missing.insert(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{model} fields missing from the catalog: {missing:?}"
    );
}

/// Both models with every resource: the membership model syncs from its feeds, every detail key
/// the real sync writes is in the catalog, related records show up under their names, and a
/// second run writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_models_with_every_resource() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.expect("dynoxide");
    let now = Utc::now();
    let world = World::start(300, 150, 5, now).await;
    let integration = all_resources(world.integration("ws-all", now));
    store.put_integration(&integration).await.unwrap();

    let jobs = world
        .sync_once(&store, Model::Job, "models-sync-test")
        .await;
    let memberships = world
        .sync_once(&store, Model::Membership, "models-sync-test")
        .await;
    assert!(jobs.caught_up && memberships.caught_up);
    assert_eq!(jobs.bad_records, 0, "{:?}", jobs.bad_record_samples);
    assert_eq!(
        memberships.bad_records, 0,
        "{:?}",
        memberships.bad_record_samples
    );

    let job_opps = store
        .list_opportunities("ws-all", Some(Model::Job))
        .await
        .unwrap();
    let membership_opps = store
        .list_opportunities("ws-all", Some(Model::Membership))
        .await
        .unwrap();
    assert!(!membership_opps.is_empty());
    assert_cataloged(Model::Job, &job_opps);
    assert_cataloged(Model::Membership, &membership_opps);

    // every membership modified in the window has its opportunity, with its standard fields
    let window = (integration.activated_at - chrono::Duration::days(90)).date_naive();
    let expected: BTreeSet<String> = world
        .data
        .memberships
        .iter()
        .filter(|m| m.modified_on.date_naive() >= window)
        .map(|m| m.id.to_string())
        .collect();
    let got: BTreeSet<String> = membership_opps
        .iter()
        .map(|o| o.opportunity.external_id.clone())
        .collect();
    assert!(
        expected.is_subset(&got),
        "missing: {:?}",
        expected.difference(&got)
    );
    for o in &membership_opps {
        let m = world
            .data
            .memberships
            .iter()
            .find(|m| m.id.to_string() == o.opportunity.external_id)
            .expect("a sandbox membership");
        assert_eq!(o.opportunity.standard.external_updated_at, m.modified_on);
        assert_eq!(
            o.opportunity.external_contact_id,
            Some(m.customer_id.to_string())
        );
        assert!(o.opportunity.details.contains_key("membershipType:name"));
    }
    let has = |opps: &[store::StoredOpportunity], prefix: &str| {
        opps.iter()
            .any(|o| o.opportunity.details.keys().any(|k| k.starts_with(prefix)))
    };
    for prefix in [
        "appointments:0:assignments:0:technicianName",
        "estimates:0:soldBy:name",
        "estimates:0:status:name",
        "invoices:0:balance",
        "cancelReason:name",
        "jobCanceledLogs:0:reasonId",
        "campaign:name",
        "zone:name",
        "tagTypes:0:name",
        "soldBy:name",
    ] {
        assert!(has(&job_opps, prefix), "no job has {prefix}");
    }
    for prefix in [
        "recurringServices:0:name",
        "recurringServices:0:campaign:name",
        "recurringServiceEvents:0:status",
        "invoices:0:balance",
        "soldBy:name",
    ] {
        assert!(has(&membership_opps, prefix), "no membership has {prefix}");
    }
    // lists are newest first
    for o in &job_opps {
        let d = &o.opportunity.details;
        for list in ["appointments", "estimates", "invoices"] {
            let times: Vec<&str> = (0..)
                .map_while(|i| d.get(&format!("{list}:{i}:createdOn")))
                .filter_map(|v| v.as_str())
                .collect();
            let parsed: Vec<DateTime<Utc>> =
                times.iter().map(|t| t.parse().expect("datetime")).collect();
            assert!(parsed.windows(2).all(|w| w[0] >= w[1]), "{list}: {times:?}");
        }
    }

    let again_jobs = world
        .sync_once(&store, Model::Job, "models-sync-test")
        .await;
    let again_memberships = world
        .sync_once(&store, Model::Membership, "models-sync-test")
        .await;
    assert_eq!(again_jobs.store_writes, 0, "{again_jobs:?}");
    assert_eq!(again_memberships.store_writes, 0, "{again_memberships:?}");
}

/// A job's estimate changes (and nothing else): the estimates feed brings it, only that job is
/// rebuilt, and its External Updated At moves to the estimate's modifiedOn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_related_change_rebuilds_its_job() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.expect("dynoxide");
    let now = Utc::now();
    let world = World::start(150, 60, 8, now).await;
    let integration = world.integration("ws-rel", now);
    store.put_integration(&integration).await.unwrap();
    world
        .sync_once(&store, Model::Job, "models-sync-test")
        .await;

    let opps = store
        .list_opportunities("ws-rel", Some(Model::Job))
        .await
        .unwrap();
    let (job_id, estimate_id) = opps
        .iter()
        .find_map(|o| {
            let e = o.opportunity.details.get("estimates:0:id")?.as_i64()?;
            Some((o.opportunity.external_id.clone(), e))
        })
        .expect("a job with an estimate");
    let changed_at = Utc::now();
    world.sandbox.with_data(|d| {
        let e = d
            .estimates
            .iter_mut()
            .find(|e| e.id == estimate_id)
            .unwrap();
        e.name = Some("Revised proposal".into());
        e.modified_on = changed_at;
    });
    let report = world
        .sync_once(&store, Model::Job, "models-sync-test")
        .await;
    assert_eq!(report.opportunities_written, 1, "{report:?}");
    let stored = store
        .get_opportunity("ws-rel", Model::Job, &job_id)
        .await
        .unwrap()
        .unwrap();
    let d = &stored.opportunity.details;
    let i = (0..)
        .find(|i| d.get(&format!("estimates:{i}:id")).and_then(|v| v.as_i64()) == Some(estimate_id))
        .unwrap();
    assert_eq!(d[&format!("estimates:{i}:name")], "Revised proposal");
    assert_eq!(stored.opportunity.standard.external_updated_at, changed_at);
}

/// A related row naming a job ServiceTitan does not return by id (deleted, inactive or never
/// there) rebuilds nothing, fails nothing, and is counted as `missing_bases`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn related_rows_of_missing_jobs_are_counted_and_skipped() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.expect("dynoxide");
    let now = Utc::now();
    let world = World::start(150, 60, 8, now).await;
    store
        .put_integration(&world.integration("ws-orphans", now))
        .await
        .unwrap();
    let first = world
        .sync_once(&store, Model::Job, "models-sync-test")
        .await;
    assert_eq!(first.missing_bases, 0, "{first:?}");
    let before = store
        .list_opportunities("ws-orphans", Some(Model::Job))
        .await
        .unwrap();

    const NO_SUCH_JOB: i64 = 987_654_321;
    world.sandbox.with_data(|d| {
        let template = d.appointments[0].clone();
        let next_id = d.appointments.iter().map(|a| a.id).max().unwrap() + 1;
        d.appointments.push(servicetitan::Appointment {
            id: next_id,
            job_id: NO_SUCH_JOB,
            modified_on: Utc::now(),
            ..template
        });
    });
    let report = world
        .sync_once(&store, Model::Job, "models-sync-test")
        .await;
    assert_eq!(report.missing_bases, 1, "{report:?}");
    assert_eq!(report.bad_records, 0, "{report:?}");
    assert_eq!(report.opportunities_written, 0, "{report:?}");
    assert!(report.caught_up, "{report:?}");
    let after = store
        .list_opportunities("ws-orphans", Some(Model::Job))
        .await
        .unwrap();
    assert_eq!(after.len(), before.len(), "no opportunity made or lost");
    assert!(after
        .iter()
        .all(|o| o.opportunity.external_id != NO_SUCH_JOB.to_string()));
}

/// With no optional resource selected, none is requested and none leaves details.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unselected_resources_are_not_requested() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.expect("dynoxide");
    let now = Utc::now();
    let world = World::start(120, 50, 4, now).await;
    let mut integration = world.integration("ws-min", now);
    integration.resources.job.clear();
    store.put_integration(&integration).await.unwrap();
    world.sandbox.reset_counts();
    world
        .sync_once(&store, Model::Job, "models-sync-test")
        .await;
    let counts = counts_of(&world);
    for key in counts.keys() {
        for resource in [
            "appointments",
            "appointment-assignments",
            "estimates",
            "invoices",
            "job-canceled-logs",
            "job-cancel-reasons",
            "campaigns",
            "tag-types",
            "zones",
            "employees",
            "technicians",
        ] {
            assert!(
                !key.contains(&format!("/{resource}")),
                "{key} requested: {counts:?}"
            );
        }
    }
    let opps = store
        .list_opportunities("ws-min", Some(Model::Job))
        .await
        .unwrap();
    assert!(!opps.is_empty());
    for o in &opps {
        for prefix in [
            "appointments:",
            "estimates:",
            "invoices:",
            "jobCanceledLogs:",
            "cancelReason:",
            "campaign:",
            "tagTypes:",
            "zone:",
            "soldBy:",
        ] {
            assert!(
                !o.opportunity.details.keys().any(|k| k.starts_with(prefix)),
                "{prefix} without the resource"
            );
        }
    }
}
