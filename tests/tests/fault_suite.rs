//! The fault suite (issue 4 item 9): property-style, seeded scenarios that interleave sandbox
//! changes, injected faults (5xx bursts, 429 storms, token expiry mid-run, slow responses,
//! repeated feed rows, changes between pages) and sync invocations, some of them killed at a
//! chosen request (the run future is dropped while the sandbox holds that request) or stopped by
//! the soft deadline; then the faults are cleared and the sync converges, and the store is
//! compared with an oracle computed from the sandbox's data ([`e2e::oracle`]):
//!
//! 1. every sandbox record in the window equals its opportunity (external contact id, standard
//!    fields, details);
//! 2. no duplicate opportunities or contacts, every opportunity's contact exists and is linked
//!    to its External Contact ID, no more contacts than customers;
//! 3. a final idle run writes nothing.
//!
//! Knobs: `STSYNC_FAULT_SCENARIOS` (default 200, dynoxide), `STSYNC_FAULT_SCENARIOS_MOTO`
//! (default [`DEFAULT_MOTO_SCENARIOS`]), `STSYNC_FAULT_SEED=<n>` replays one scenario (its plan
//! and outcome are printed; add `-- --nocapture`), `STSYNC_FAULT_VERBOSE=1` prints every
//! scenario's plan, `STSYNC_FAULT_CALM=1` plays the same scenarios without faults or
//! interrupted runs (a control), `STSYNC_FAULT_PARALLEL` (default 2) scenarios run at once (each has its own
//! sandbox and table). Every failing seed is printed with its replay command; the test fails after
//! all scenarios ran.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use e2e::oracle::{differences, expected_jobs, expected_memberships, Expected};
use e2e::{Engine, World};
use opportunity::{Integration, Model, Resource};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use st_sandbox::{Changes, Dataset, Fault, SandboxConfig};
use store::embedded::EmbeddedDynamo;
use store::Store;
use sync::runner::{run_scheduled, Run, RunSummary, Shard};
use sync::SyncOptions;

/// Customer, customer-contact and location changes (direct and between pages) and customer
/// merges are made only when this is true: the engine does not read those feeds yet (issue 4
/// item 1). Generated merged customers are always there (the oracle follows `mergedToId`).
const CUSTOMER_FEEDS_READY: bool = true;

/// Scenarios per run on dynoxide unless `STSYNC_FAULT_SCENARIOS` says otherwise.
const DEFAULT_SCENARIOS: u64 = 200;
/// Scenarios per run on moto unless `STSYNC_FAULT_SCENARIOS_MOTO` says otherwise.
const DEFAULT_MOTO_SCENARIOS: u64 = 30;
/// Most runs per model while converging.
const CONVERGE_RUNS: usize = 12;
/// The data's "now" and the integration's activation: fixed, so a seed always makes the same
/// data. Sandbox changes made by the scenario are stamped with the real clock (later).
const DATA_NOW: &str = "2025-06-01T12:00:00Z";
const WORKSPACE: &str = "ws-fault";

const JOB_FEEDS: &[(&str, &str)] = &[
    ("jobs", "GET /jpm/v2/tenant/{tenant}/export/jobs"),
    (
        "appointments",
        "GET /jpm/v2/tenant/{tenant}/export/appointments",
    ),
    (
        "appointmentAssignments",
        "GET /dispatch/v2/tenant/{tenant}/export/appointment-assignments",
    ),
    (
        "estimates",
        "GET /sales/v2/tenant/{tenant}/estimates/export",
    ),
    (
        "invoices",
        "GET /accounting/v2/tenant/{tenant}/export/invoices",
    ),
    (
        "jobCanceledLogs",
        "GET /jpm/v2/tenant/{tenant}/export/job-canceled-logs",
    ),
    ("customers", "GET /crm/v2/tenant/{tenant}/export/customers"),
    (
        "contacts",
        "GET /crm/v2/tenant/{tenant}/export/customers/contacts",
    ),
    ("locations", "GET /crm/v2/tenant/{tenant}/export/locations"),
];
const MEMBERSHIP_FEEDS: &[(&str, &str)] = &[
    (
        "memberships",
        "GET /memberships/v2/tenant/{tenant}/export/memberships",
    ),
    (
        "recurringServices",
        "GET /memberships/v2/tenant/{tenant}/export/recurring-services",
    ),
    (
        "recurringServiceEvents",
        "GET /memberships/v2/tenant/{tenant}/export/recurring-service-events",
    ),
];
const LIST_ENDPOINTS: &[&str] = &[
    "GET /jpm/v2/tenant/{tenant}/jobs",
    "GET /jpm/v2/tenant/{tenant}/appointments",
    "GET /sales/v2/tenant/{tenant}/estimates",
    "GET /accounting/v2/tenant/{tenant}/invoices",
    "GET /crm/v2/tenant/{tenant}/customers",
    "GET /crm/v2/tenant/{tenant}/customers/contacts",
    "GET /crm/v2/tenant/{tenant}/locations",
    "GET /memberships/v2/tenant/{tenant}/memberships",
    "GET /memberships/v2/tenant/{tenant}/recurring-services",
    "GET /settings/v2/tenant/{tenant}/business-units",
];
/// Resources a scenario changes (always / only with [`CUSTOMER_FEEDS_READY`]).
const CHANGED: &[&str] = &[
    "jobs",
    "appointments",
    "appointmentAssignments",
    "estimates",
    "invoices",
    "memberships",
    "recurringServices",
    "recurringServiceEvents",
];
const CHANGED_CUSTOMER_SIDE: &[&str] = &["customers", "contacts", "locations"];

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
    )
}

/// `STSYNC_FAULT_CALM=1`: the same scenarios (data, selection, changes) without faults or
/// interrupted runs: a control that tells engine bugs from fault handling bugs.
fn calm() -> bool {
    std::env::var("STSYNC_FAULT_CALM").is_ok_and(|v| v == "1")
}

/// Sync options with a 5 ms first retry delay: the injected 5xx bursts are retried as in
/// production, only sooner.
fn fast_retries() -> SyncOptions {
    SyncOptions {
        retry_min_backoff: Some(StdDuration::from_millis(5)),
        ..SyncOptions::default()
    }
}

fn data_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(DATA_NOW)
        .expect("time")
        .with_timezone(&Utc)
}

/// Now, at ServiceTitan's 100 ns precision, strictly after `previous`.
fn stamp(previous: DateTime<Utc>) -> DateTime<Utc> {
    let now = Utc::now();
    let now = now - Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos() % 100));
    if now > previous {
        now
    } else {
        previous + Duration::microseconds(1)
    }
}

/// Where the stores of one suite run live: one engine, a fresh table per scenario.
struct Backend {
    client: aws_sdk_dynamodb::Client,
    _embedded: Option<EmbeddedDynamo>,
}

impl Backend {
    async fn on(engine: Engine) -> Option<Backend> {
        match engine {
            Engine::Dynoxide => {
                let e = EmbeddedDynamo::start_memory()
                    .await
                    .expect("dynoxide starts");
                Some(Backend {
                    client: e.client().await,
                    _embedded: Some(e),
                })
            }
            Engine::Moto => {
                if std::env::var("AWS_ENDPOINT_URL").is_err() {
                    assert!(
                        std::env::var("STSYNC_REQUIRE_MOTO").is_err(),
                        "STSYNC_REQUIRE_MOTO is set but AWS_ENDPOINT_URL is not"
                    );
                    println!("skipped: moto fault suite (AWS_ENDPOINT_URL unset)");
                    return None;
                }
                let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                Some(Backend {
                    client: aws_sdk_dynamodb::Client::new(&conf),
                    _embedded: None,
                })
            }
        }
    }

    async fn fresh_store(&self, seed: u64) -> Store {
        let table = format!(
            "fault-{seed}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let store = Store::new(self.client.clone(), table);
        store.ensure_table().await.expect("table created");
        store
    }
}

/// How one invocation ends early, if it does.
#[derive(Debug, Clone, Copy)]
enum Interrupt {
    None,
    /// Killed while the sandbox holds the request after `after` API requests.
    Kill {
        after: u32,
    },
    /// Soft deadline this many milliseconds after the start.
    Deadline {
        ms: u64,
    },
}

struct Scenario {
    rng: StdRng,
    world: World,
    store: Store,
    integration: Integration,
    window: NaiveDate,
    /// The runs' clock: moves 1 minute per run, 16 after a killed one (past its lease).
    clock: DateTime<Utc>,
    trace: Vec<String>,
    next_id: i64,
}

impl Scenario {
    async fn new(seed: u64, backend: &Backend) -> Scenario {
        let mut rng = StdRng::seed_from_u64(seed);
        let now = data_now();
        let config = SandboxConfig {
            seed,
            customers: rng.random_range(4..=8),
            jobs: rng.random_range(10..=22),
            history_days: rng.random_range(60..=130),
            now,
            rate_limit_per_sec: None,
            export_page_size: rng.random_range(4..=6),
            ..SandboxConfig::default()
        };
        let data = Dataset::generate(&config);
        let mut trace = vec![format!(
            "data: {} customers, {} jobs, {} memberships, history {} days, export page {}",
            data.customers.len(),
            data.jobs.len(),
            data.memberships.len(),
            config.history_days,
            config.export_page_size
        )];
        let world = World::with_data(config, data).await;
        let mut integration = world.integration(WORKSPACE, now);
        integration.models = vec![Model::Job, Model::Membership];
        let pick = |model: Model, rng: &mut StdRng| -> BTreeSet<Resource> {
            let mut chosen: BTreeSet<Resource> = Resource::optional_for(model)
                .iter()
                .copied()
                .filter(|_| rng.random_bool(0.6))
                .collect();
            if !chosen.contains(&Resource::Appointments) {
                chosen.remove(&Resource::AppointmentAssignments);
            }
            chosen
        };
        integration.resources.job = pick(Model::Job, &mut rng).into_iter().collect();
        integration.resources.membership = pick(Model::Membership, &mut rng).into_iter().collect();
        trace.push(format!(
            "resources: job {:?}, membership {:?}",
            integration.resources.job, integration.resources.membership
        ));
        let store = backend.fresh_store(seed).await;
        store
            .put_integration(&integration)
            .await
            .expect("integration stored");
        let window = (now - Duration::days(SyncOptions::default().backfill_days)).date_naive();
        Scenario {
            rng,
            world,
            store,
            integration,
            window,
            clock: Utc::now(),
            trace,
            next_id: 90_000_000,
        }
    }

    fn changeable(&self) -> Vec<&'static str> {
        let mut r: Vec<&'static str> = CHANGED.to_vec();
        if CUSTOMER_FEEDS_READY {
            r.extend(CHANGED_CUSTOMER_SIDE);
        }
        r
    }

    /// One random change made directly in the sandbox's data.
    fn change(&mut self) {
        let kinds = self.changeable();
        let kind = *kinds.choose(&mut self.rng).expect("kinds");
        let roll: u32 = self.rng.random_range(0..100);
        let pick = self.rng.random_range(0..10_000usize);
        let other = self.rng.random_range(0..10_000usize);
        let n = self.trace.len();
        self.next_id += 1;
        let new_id = self.next_id;
        let text = format!("changed by step {n}");
        let done: Option<String> = self.world.sandbox.with_data(|d| {
            let at = |v: usize, len: usize| if len == 0 { None } else { Some(v % len) };
            match kind {
                "jobs" => {
                    let i = at(pick, d.jobs.len())?;
                    let customers = d.customers.len();
                    let locations: Vec<(i64, i64)> =
                        d.locations.iter().map(|l| (l.id, l.customer_id)).collect();
                    let j = &mut d.jobs[i];
                    j.modified_on = stamp(j.modified_on);
                    let what = if roll < 10 {
                        j.active = Some(false);
                        "deleted".to_owned()
                    } else if roll < 20 && customers > 0 && !locations.is_empty() {
                        let (loc, cust) = locations[other % locations.len()];
                        j.customer_id = cust;
                        j.location_id = loc;
                        format!("moved to customer {cust}")
                    } else if roll < 30 {
                        let mut copy = j.clone();
                        copy.id = new_id;
                        copy.job_number = Some(new_id.to_string());
                        copy.created_on = copy.modified_on;
                        copy.first_appointment_id = None;
                        copy.last_appointment_id = None;
                        copy.invoice_id = None;
                        copy.active = Some(true);
                        let from = j.id;
                        d.jobs.push(copy);
                        format!("created job {new_id} (copy of {from})")
                    } else {
                        j.job_status = ["Scheduled", "Dispatched", "Hold", "Completed", "Canceled"]
                            [(roll % 5) as usize]
                            .to_owned();
                        j.summary = Some(text);
                        "status/summary".to_owned()
                    };
                    Some(format!("job {}: {what}", d.jobs[i].id))
                }
                "appointments" => {
                    let i = at(pick, d.appointments.len())?;
                    let a = &mut d.appointments[i];
                    a.modified_on = stamp(a.modified_on);
                    let id = a.id;
                    if roll < 15 {
                        a.active = Some(false);
                        Some(format!("appointment {id}: deleted"))
                    } else if roll < 35 && !d.jobs.is_empty() {
                        let job = &d.jobs[other % d.jobs.len()];
                        let mut copy = a.clone();
                        copy.id = new_id;
                        copy.job_id = job.id;
                        copy.customer_id = job.customer_id;
                        copy.created_on = copy.modified_on;
                        copy.active = Some(true);
                        let job = job.id;
                        d.appointments.push(copy);
                        Some(format!("appointment {new_id}: created for job {job}"))
                    } else {
                        a.special_instructions = Some(text);
                        a.start += Duration::hours(1);
                        Some(format!("appointment {id}: moved an hour"))
                    }
                }
                "appointmentAssignments" => {
                    let i = at(pick, d.appointment_assignments.len())?;
                    let a = &mut d.appointment_assignments[i];
                    a.modified_on = stamp(a.modified_on);
                    if roll < 20 {
                        a.active = false;
                    } else {
                        a.technician_name = text;
                    }
                    Some(format!("assignment {}: active {}", a.id, a.active))
                }
                "estimates" => {
                    let i = at(pick, d.estimates.len())?;
                    let e = &mut d.estimates[i];
                    e.modified_on = stamp(e.modified_on);
                    if roll < 15 {
                        e.active = false;
                    } else {
                        e.summary = Some(text);
                    }
                    Some(format!("estimate {}: active {}", e.id, e.active))
                }
                "invoices" => {
                    let i = at(pick, d.invoices.len())?;
                    let inv = &mut d.invoices[i];
                    inv.modified_on = Some(stamp(inv.last_modified()));
                    if roll < 10 {
                        inv.active = false;
                    } else {
                        inv.balance = Some(format!("{}.{:02}", roll, other % 100));
                    }
                    Some(format!("invoice {}: active {}", inv.id, inv.active))
                }
                "memberships" => {
                    let i = at(pick, d.memberships.len())?;
                    let m = &mut d.memberships[i];
                    m.modified_on = stamp(m.modified_on);
                    m.memo = Some(text);
                    if roll < 15 {
                        m.status = "Canceled".to_owned();
                        m.active = false;
                    }
                    Some(format!("membership {}: memo, active {}", m.id, m.active))
                }
                "recurringServices" => {
                    let i = at(pick, d.recurring_services.len())?;
                    let r = &mut d.recurring_services[i];
                    r.modified_on = stamp(r.modified_on);
                    if roll < 15 {
                        r.active = false;
                    } else {
                        r.memo = Some(text);
                    }
                    Some(format!("recurring service {}: active {}", r.id, r.active))
                }
                "recurringServiceEvents" => {
                    let i = at(pick, d.recurring_service_events.len())?;
                    let e = &mut d.recurring_service_events[i];
                    e.modified_on = stamp(e.modified_on);
                    if roll < 15 {
                        e.active = Some(false);
                    } else {
                        e.status = ["Completed", "NotCompleted"][(roll % 2) as usize].to_owned();
                    }
                    Some(format!("recurring service event {}: {}", e.id, e.status))
                }
                "customers" => {
                    let i = at(pick, d.customers.len())?;
                    let j = at(other, d.customers.len())?;
                    let target = d.customers[j].id;
                    let c = &mut d.customers[i];
                    c.modified_on = stamp(c.modified_on);
                    if roll < 20 && c.id != target {
                        c.merged_to_id = Some(target);
                        c.active = false;
                        Some(format!("customer {}: merged into {target}", c.id))
                    } else {
                        c.name = format!("{} {}", c.name, n);
                        Some(format!("customer {}: renamed", c.id))
                    }
                }
                "contacts" => {
                    let i = at(pick, d.contacts.len())?;
                    let c = &mut d.contacts[i];
                    c.modified_on = stamp(c.modified_on);
                    let id = c.id;
                    if roll < 15 {
                        c.active = Some(false);
                        Some(format!("contact {id}: deleted"))
                    } else if roll < 35 {
                        let mut copy = c.clone();
                        copy.id = new_id;
                        copy.kind = "Email".to_owned();
                        copy.value = format!("fault.{n}@example.org");
                        copy.created_on = copy.modified_on;
                        copy.active = Some(true);
                        d.contacts.push(copy);
                        Some(format!("contact {new_id}: created"))
                    } else {
                        c.value = format!("({}) 555-01{:02}", 200 + roll, other % 100);
                        c.kind = "MobilePhone".to_owned();
                        Some(format!("contact {id}: new mobile"))
                    }
                }
                "locations" => {
                    let i = at(pick, d.locations.len())?;
                    let l = &mut d.locations[i];
                    l.modified_on = stamp(l.modified_on);
                    l.name = text;
                    Some(format!("location {}: renamed", l.id))
                }
                _ => None,
            }
        });
        self.trace.push(format!(
            "change {}",
            done.unwrap_or_else(|| format!("{kind}: none to change"))
        ));
    }

    /// Export endpoints of the feeds a model may read (the customer side only when ready).
    fn feed_endpoints(&self, model: Model) -> Vec<(&'static str, &'static str)> {
        let feeds = if model == Model::Job {
            JOB_FEEDS
        } else {
            MEMBERSHIP_FEEDS
        };
        let mut v: Vec<(&'static str, &'static str)> = feeds
            .iter()
            .copied()
            .filter(|(r, _)| CUSTOMER_FEEDS_READY || !CHANGED_CUSTOMER_SIDE.contains(r))
            .collect();
        if model == Model::Membership {
            v.push(("invoices", JOB_FEEDS[4].1));
        }
        v
    }

    /// Zero to three random faults for the next run of `model`.
    fn faults(&mut self, model: Model) -> Vec<Fault> {
        let count = self.rng.random_range(0..=3);
        let feeds = self.feed_endpoints(model);
        let changeable = self.changeable();
        let mut out = Vec::new();
        for _ in 0..count {
            let endpoint = |rng: &mut StdRng| -> Option<String> {
                match rng.random_range(0..3) {
                    0 => None,
                    1 => feeds.choose(rng).map(|(_, e)| (*e).to_owned()),
                    _ => LIST_ENDPOINTS.choose(rng).map(|e| (*e).to_owned()),
                }
            };
            let skip = self.rng.random_range(0..12);
            let fault = match self.rng.random_range(0..6) {
                0 => Fault {
                    status: Some(*[500, 502, 503, 504].choose(&mut self.rng).expect("5xx")),
                    times: self.rng.random_range(1..=2),
                    skip,
                    endpoint: endpoint(&mut self.rng),
                    ..Fault::default()
                },
                1 => Fault {
                    status: Some(429),
                    times: self.rng.random_range(1..=4),
                    skip,
                    retry_after_secs: Some(u64::from(self.rng.random_bool(0.05))),
                    retry_after_http_date: self.rng.random_bool(0.2),
                    endpoint: endpoint(&mut self.rng),
                    ..Fault::default()
                },
                2 => Fault {
                    expire_tokens: true,
                    skip: self.rng.random_range(0..20),
                    ..Fault::default()
                },
                3 => Fault {
                    latency_ms: self.rng.random_range(5..=40),
                    times: self.rng.random_range(1..=3),
                    skip,
                    endpoint: endpoint(&mut self.rng),
                    ..Fault::default()
                },
                4 => {
                    let (_, feed) = *feeds.choose(&mut self.rng).expect("feeds");
                    Fault {
                        endpoint: Some(feed.to_owned()),
                        skip: self.rng.random_range(0..4),
                        times: self.rng.random_range(1..=3),
                        changes: Some(Changes {
                            resource: (*changeable.choose(&mut self.rng).expect("resources"))
                                .to_owned(),
                            count: self.rng.random_range(1..=3),
                            ids: None,
                            patch: None,
                            seed: self.rng.random(),
                        }),
                        ..Fault::default()
                    }
                }
                _ => Fault {
                    endpoint: if self.rng.random_bool(0.5) {
                        None
                    } else {
                        feeds.choose(&mut self.rng).map(|(_, e)| (*e).to_owned())
                    },
                    times: self.rng.random_range(1..=30),
                    repeat_rows: self.rng.random_range(0..=3),
                    duplicate_rows: self.rng.random_range(0..=2),
                    ..Fault::default()
                },
            };
            out.push(fault);
        }
        out
    }

    /// One invocation of `model` (faults queued before it, cleared after it).
    async fn run(&mut self, model: Model, faults: Vec<Fault>, interrupt: Interrupt) {
        let sandbox = &self.world.sandbox;
        let mut line = format!("run {model}");
        for f in &faults {
            line.push_str(&format!(
                " [fault {}]",
                serde_json::to_string(f).unwrap_or_default()
            ));
            sandbox.add_fault(f.clone()).expect("fault queued");
        }
        let mut opts = fast_retries();
        match interrupt {
            Interrupt::None => {}
            Interrupt::Kill { after } => {
                line.push_str(&format!(" [killed after {after} requests]"));
                sandbox
                    .add_fault(Fault {
                        hang: true,
                        skip: after,
                        ..Fault::default()
                    })
                    .expect("hang queued");
            }
            Interrupt::Deadline { ms } => {
                line.push_str(&format!(" [deadline {ms} ms]"));
                opts.deadline = Some(Instant::now() + StdDuration::from_millis(ms));
            }
        }
        let owner = format!("fault-run-{}", self.trace.len());
        let run = Run {
            model,
            shard: Shard::default(),
            owner: &owner,
            now: self.clock,
        };
        let fut = run_scheduled(
            &self.store,
            &self.world.secrets,
            &self.world.platform,
            &run,
            &opts,
        );
        tokio::pin!(fut);
        let started = Instant::now();
        let hangs_before = sandbox.hangs_started();
        let outcome = loop {
            tokio::select! {
                r = &mut fut => break Some(r),
                () = tokio::time::sleep(StdDuration::from_millis(1)) => {
                    if sandbox.hangs_started() > hangs_before {
                        break None;
                    }
                }
            }
        };
        sandbox.clear_faults();
        match outcome {
            None => {
                line.push_str(" → killed");
                self.clock += Duration::minutes(16);
            }
            Some(Err(e)) => {
                line.push_str(&format!(" → error {e}"));
                self.clock += Duration::minutes(1);
            }
            Some(Ok(summary)) => {
                line.push_str(&format!(" → {}", brief(&summary)));
                self.clock += Duration::minutes(1);
            }
        }
        line.push_str(&format!(" ({} ms)", started.elapsed().as_millis()));
        self.trace.push(line);
    }

    /// Runs `model` without faults until caught up; `Err` says why it did not converge.
    async fn converge(&mut self, model: Model) -> Result<(), String> {
        for _ in 0..CONVERGE_RUNS {
            let started = Instant::now();
            let summary = self.plain_run(model).await?;
            self.trace.push(format!(
                "converge {model} → {} ({} ms)",
                brief(&summary),
                started.elapsed().as_millis()
            ));
            if summary.failed > 0 {
                return Err(format!(
                    "{model} run failed while converging: {:?}",
                    summary.outcomes.first().and_then(|o| o.error.clone())
                ));
            }
            if report_of(&summary).is_some_and(|r| r.caught_up) {
                return Ok(());
            }
        }
        Err(format!(
            "{model} not caught up after {CONVERGE_RUNS} runs without faults"
        ))
    }

    async fn plain_run(&mut self, model: Model) -> Result<RunSummary, String> {
        let owner = format!("fault-converge-{}", self.trace.len());
        let run = Run {
            model,
            shard: Shard::default(),
            owner: &owner,
            now: self.clock,
        };
        self.clock += Duration::minutes(1);
        run_scheduled(
            &self.store,
            &self.world.secrets,
            &self.world.platform,
            &run,
            &fast_retries(),
        )
        .await
        .map_err(|e| format!("{model} run: {e}"))
    }

    /// The random interleaving, then convergence and the checks; the problems found.
    async fn play(&mut self) -> Vec<String> {
        let steps = self.rng.random_range(3..=9);
        for _ in 0..steps {
            match self.rng.random_range(0..10) {
                0..=2 => {
                    for _ in 0..self.rng.random_range(1..=3) {
                        self.change();
                    }
                }
                roll => {
                    let model = if self.rng.random_bool(0.6) {
                        Model::Job
                    } else {
                        Model::Membership
                    };
                    let faults = self.faults(model);
                    let interrupt = match roll {
                        _ if calm() => Interrupt::None,
                        3..=5 => Interrupt::Kill {
                            after: self.rng.random_range(0..40),
                        },
                        6 => Interrupt::Deadline {
                            ms: self.rng.random_range(0..40),
                        },
                        _ => Interrupt::None,
                    };
                    let faults = if calm() { Vec::new() } else { faults };
                    self.run(model, faults, interrupt).await;
                }
            }
        }
        // Faults off; past any lease a killed run left; converge; then nothing more to do.
        self.world.sandbox.clear_faults();
        self.clock += Duration::minutes(16);
        let mut problems = Vec::new();
        for model in [Model::Job, Model::Membership] {
            if let Err(e) = self.converge(model).await {
                problems.push(e);
            }
        }
        if !problems.is_empty() {
            return problems;
        }
        for model in [Model::Job, Model::Membership] {
            match self.plain_run(model).await {
                Ok(summary) => {
                    self.trace
                        .push(format!("idle {model} → {}", brief(&summary)));
                    match report_of(&summary) {
                        Some(r) if r.store_writes == 0 && r.opportunities_written == 0 => {}
                        Some(r) => problems.push(format!(
                            "idle {model} run wrote: {} store writes, {} opportunities written",
                            r.store_writes, r.opportunities_written
                        )),
                        None => problems.push(format!("idle {model} run: no report {summary:?}")),
                    }
                }
                Err(e) => problems.push(e),
            }
        }
        problems.extend(self.check().await);
        problems
    }

    /// Store vs oracle (assertions 1 and 2).
    async fn check(&self) -> Vec<String> {
        let data = self.world.sandbox.with_data(|d| d.clone());
        let mut problems = Vec::new();
        let mut all_opportunities = Vec::new();
        for (model, mut expected, at_start) in [
            (
                Model::Job,
                expected_jobs(&data, &self.integration, self.window),
                expected_jobs(&self.world.data, &self.integration, self.window),
            ),
            (
                Model::Membership,
                expected_memberships(&data, &self.integration, self.window),
                expected_memberships(&self.world.data, &self.integration, self.window),
            ),
        ] {
            // A record that entered the window after activation (a later change) cannot have
            // related rows from before the window: ServiceTitan has no many-records lookup for
            // them and the backfill's history pass covered only the records in the window at
            // activation (README "Decisions"). Such records are compared on their own fields.
            for (id, note) in &expected.notes {
                let late =
                    !at_start.required.contains_key(id) && !at_start.optional.contains_key(id);
                if late && note.contains("before the window") {
                    expected.frozen.insert(id.clone());
                }
            }
            let stored = match self.store.list_opportunities(WORKSPACE, Some(model)).await {
                Ok(s) => s,
                Err(e) => {
                    problems.push(format!("listing {model} opportunities: {e}"));
                    continue;
                }
            };
            problems.extend(compare(model, &expected, &stored));
            all_opportunities.extend(stored);
        }
        let contacts = match self.store.list_contacts(WORKSPACE).await {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("listing contacts: {e}"));
                return problems;
            }
        };
        let mut linked: BTreeMap<i64, &str> = BTreeMap::new();
        let mut ids = BTreeSet::new();
        for c in &contacts {
            if !ids.insert(c.contact_id.as_str()) {
                problems.push(format!("contact {} listed twice", c.contact_id));
            }
            for customer in &c.customer_ids {
                if let Some(first) = linked.insert(*customer, c.contact_id.as_str()) {
                    if first != c.contact_id {
                        problems.push(format!(
                            "customer {customer} linked to two contacts ({first}, {})",
                            c.contact_id
                        ));
                    }
                }
            }
        }
        if contacts.len() > data.customers.len() {
            problems.push(format!(
                "{} contacts for {} customers",
                contacts.len(),
                data.customers.len()
            ));
        }
        for o in &all_opportunities {
            let Some(contact) = contacts.iter().find(|c| c.contact_id == o.contact_id) else {
                problems.push(format!(
                    "{} {}: contact {} does not exist",
                    o.opportunity.model, o.opportunity.external_id, o.contact_id
                ));
                continue;
            };
            let customer = o
                .opportunity
                .external_contact_id
                .as_deref()
                .and_then(|c| c.parse::<i64>().ok());
            if let Some(customer) = customer {
                if !contact.customer_ids.contains(&customer) {
                    problems.push(format!(
                        "{} {}: contact {} is not linked to customer {customer} (links {:?})",
                        o.opportunity.model,
                        o.opportunity.external_id,
                        o.contact_id,
                        contact.customer_ids
                    ));
                }
            }
        }
        problems
    }
}

fn report_of(summary: &RunSummary) -> Option<&sync::SyncReport> {
    summary.outcomes.first().and_then(|o| o.report.as_ref())
}

fn brief(summary: &RunSummary) -> String {
    let Some(o) = summary.outcomes.first() else {
        return "no integration".to_owned();
    };
    if o.skipped {
        return "skipped (lease held)".to_owned();
    }
    if let Some(e) = &o.error {
        return format!("failed: {e}");
    }
    match &o.report {
        Some(r) => format!(
            "pages {} rows {} written {} unchanged {} refused {} bad {} writes {} calls {} caught_up {}",
            r.pages,
            r.records_read,
            r.opportunities_written,
            r.opportunities_unchanged,
            r.opportunities_refused,
            r.bad_records,
            r.store_writes,
            r.api_calls,
            r.caught_up
        ),
        None => "no report".to_owned(),
    }
}

/// Assertion 1 and the duplicate check for one model.
fn compare(model: Model, expected: &Expected, stored: &[store::StoredOpportunity]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_id: BTreeMap<&str, &store::StoredOpportunity> = BTreeMap::new();
    for s in stored {
        if by_id
            .insert(s.opportunity.external_id.as_str(), s)
            .is_some()
        {
            problems.push(format!(
                "{model} {}: duplicate opportunity",
                s.opportunity.external_id
            ));
        }
    }
    let tag = |id: &str| {
        expected
            .notes
            .get(id)
            .map(|n| format!(" [{n}]"))
            .unwrap_or_default()
    };
    for (id, want) in &expected.required {
        let t = tag(id);
        match by_id.get(id.as_str()) {
            None => problems.push(format!("{model} {id}{t}: missing (in the window)")),
            Some(s) => {
                let diff = if expected.frozen.contains(id) {
                    differences(
                        &e2e::oracle::own_fields(want, want),
                        &e2e::oracle::own_fields(&s.opportunity, want),
                        12,
                    )
                } else {
                    differences(want, &s.opportunity, 12)
                };
                if !diff.is_empty() {
                    problems.push(format!(
                        "{model} {id}{t}: differs:\n      {}",
                        diff.join("\n      ")
                    ));
                }
            }
        }
    }
    for (id, s) in &by_id {
        if expected.required.contains_key(*id) || expected.unmappable.contains_key(*id) {
            continue;
        }
        let t = tag(id);
        match expected.optional.get(*id) {
            Some(want) => {
                let diff = if expected.frozen.contains(*id) {
                    differences(
                        &e2e::oracle::own_fields(want, want),
                        &e2e::oracle::own_fields(&s.opportunity, want),
                        12,
                    )
                } else {
                    differences(want, &s.opportunity, 12)
                };
                if !diff.is_empty() {
                    problems.push(format!(
                        "{model} {id}{t} (optional): differs:\n      {}",
                        diff.join("\n      ")
                    ));
                }
            }
            None => problems.push(format!("{model} {id}{t}: stored but not in the window")),
        }
    }
    problems
}

/// The kind of a problem line, for the summary (`job: details customer:name`).
fn kind_of(problem: &str) -> String {
    let mut words = problem.split_whitespace();
    let model = words.next().unwrap_or("?");
    let note = problem
        .split_once(" [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(n, _)| {
            // Ids vary per seed; keep the words.
            let words: Vec<&str> = n
                .split_whitespace()
                .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
                .collect();
            format!(" [{}]", words.join(" "))
        })
        .unwrap_or_default();
    let model = format!("{model}{note}");
    if let Some(rest) = problem.split_once("differs:\n") {
        let first = rest.1.trim_start();
        let mut w = first.split_whitespace();
        let what = w.next().unwrap_or("?");
        let field = w.next().unwrap_or("?").trim_end_matches(':');
        return format!(
            "{model}: {what} {}",
            opportunity::catalog::normalize_key(field)
        );
    }
    problem
        .split_once(": ")
        .map(|(_, tail)| {
            format!(
                "{model}: {}",
                tail.split(['(', '\n']).next().unwrap_or(tail)
            )
        })
        .unwrap_or_else(|| problem.to_owned())
}

async fn suite(engine: Engine, count_var: &str, default_count: u64) {
    let Some(backend) = Backend::on(engine).await else {
        return;
    };
    let replay = env_u64("STSYNC_FAULT_SEED");
    let seeds: Vec<u64> = match replay {
        Some(seed) => vec![seed],
        None => (1..=env_u64(count_var).unwrap_or(default_count)).collect(),
    };
    let verbose = replay.is_some() || std::env::var("STSYNC_FAULT_VERBOSE").is_ok();
    let test_name = match engine {
        Engine::Dynoxide => "dynoxide_fault_scenarios",
        Engine::Moto => "moto_fault_scenarios",
    };
    let started = Instant::now();
    let parallel = env_u64("STSYNC_FAULT_PARALLEL").unwrap_or(2).max(1) as usize;
    let backend = std::sync::Arc::new(backend);
    let mut outcomes: BTreeMap<u64, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut queue = seeds.iter().copied();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < parallel {
            let Some(seed) = queue.next() else { break };
            let backend = backend.clone();
            running.spawn(async move {
                let mut scenario = Scenario::new(seed, &backend).await;
                let problems = scenario.play().await;
                (seed, scenario.trace, problems)
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (seed, trace, problems) = done.expect("scenario task");
        outcomes.insert(seed, (trace, problems));
    }
    let mut failed: Vec<u64> = Vec::new();
    let mut kinds: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for (&seed, (trace, problems)) in &outcomes {
        if verbose || !problems.is_empty() {
            println!("--- scenario {seed} plan:");
            for line in trace {
                println!("    {line}");
            }
        }
        if !problems.is_empty() {
            println!(
                "FAILED seed {seed} ({engine:?}): replay with STSYNC_FAULT_SEED={seed} cargo test -p e2e --test fault_suite {test_name} -- --nocapture"
            );
            for p in problems.iter().take(15) {
                println!("  - {p}");
            }
            for p in problems {
                kinds.entry(kind_of(p)).or_default().insert(seed);
            }
            if problems.len() > 15 {
                println!("  ... {} more problems", problems.len() - 15);
            }
            failed.push(seed);
        }
    }
    let elapsed = started.elapsed();
    println!(
        "fault suite ({engine:?}): {} scenarios in {:.1} s ({:.2} s each), {} failed",
        seeds.len(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() / seeds.len().max(1) as f64,
        failed.len()
    );
    if !failed.is_empty() {
        println!("failures by kind (kind: seeds):");
        for (kind, seeds) in &kinds {
            let list: Vec<String> = seeds.iter().take(12).map(u64::to_string).collect();
            println!("  {kind}: {} [{}]", seeds.len(), list.join(", "));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} fault scenarios failed ({engine:?}); seeds {:?}",
        failed.len(),
        seeds.len(),
        failed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynoxide_fault_scenarios() {
    suite(
        Engine::Dynoxide,
        "STSYNC_FAULT_SCENARIOS",
        DEFAULT_SCENARIOS,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_fault_scenarios() {
    suite(
        Engine::Moto,
        "STSYNC_FAULT_SCENARIOS_MOTO",
        DEFAULT_MOTO_SCENARIOS,
    )
    .await;
}
