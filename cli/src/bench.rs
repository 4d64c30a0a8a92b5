//! `stsync bench sync`: the cost of a full 90-day backfill and of the idle poll after it, against
//! their physical limits (issue #9, README "Performance").
//!
//! A sandbox with generated data (`--jobs`, default 100 000, created over the 90 days before
//! now) serves one integration with both polled models (job, membership) and the default
//! resource selection (job: appointments, estimates, invoices, campaigns; membership: recurring
//! services). Both models are synced through [`sync::runner::run_scheduled`], the path the poll
//! Lambdas take, until caught up, into the embedded store (dynoxide in this process, on a
//! temporary file) or the DynamoDB at `--dynamodb-endpoint`. Then one idle poll of each model.
//!
//! # `min_api_calls`
//!
//! The fewest ServiceTitan calls any engine following SPEC.md §3 needs for this backfill,
//! computed from the sandbox's data (`P` = the export page size, 500; `B` = 50 ids per `ids=`
//! call; `L` = the list page size, 500), summed over the two models:
//!
//! ```text
//! min_api_calls = Σ_backfill feeds f  ⌈max(1, rows_f) / P⌉      rows_f: rows of f's export modified on or after the
//!                                                                window's start date (and before activation)
//!               + Σ_incremental feeds 1                          one call each finds nothing after activation
//!               + Σ_reference lists ⌈n / L⌉                      business units, job/membership types, campaigns
//!               + ⌈C / B⌉ + Σ_hops ⌈S_h / B⌉                     customers of the base records by ids, merge survivors
//!               + ⌈C' / B⌉                                       their contacts by customerIds (one page per 50 customers)
//!               + ⌈Lo / B⌉                                       their locations by ids
//!               + ⌈J_out / B⌉                                    base records outside the window whose related rows are inside
//!               + Σ_related r ⌈R_r,out / B⌉                      related records of the base records modified before the
//!                                                                window (no window feed carries them): appointments,
//!                                                                estimates, invoices by ids, recurring services by
//!                                                                membershipIds (⌈memberships having one / B⌉)
//! ```
//!
//! where the base records are those the backfill makes opportunities of: modified in the window,
//! or active with a selected related row modified in it. Everything else a feed can carry, so an
//! engine at the minimum reads each row once and looks each missing id up once, in full batches.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveTime, Utc};
use opportunity::{
    Environment, Integration, IntegrationStatus, Model, Resource, ResourceSelection,
};
use secrecy::SecretString;
use secrets::StaticSecrets;
use serde::Serialize;
use servicetitan::Id;
use st_sandbox::{Dataset, Sandbox, SandboxConfig, MAX_IDS_PER_REQUEST};
use store::embedded::EmbeddedDynamo;
use store::Store;
use sync::runner::{run_scheduled, Platform, Run, Shard};
use sync::{Feed, SyncOptions, SyncReport};

const WORKSPACE: &str = "bench";
const SECRET_ID: &str = "bench/servicetitan";
/// Days of the activation backfill (SPEC.md §3) and of the generated history.
const WINDOW_DAYS: i64 = 90;

/// `stsync bench` commands.
#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Full 90-day backfill of a generated tenant (job + membership models) through the poll
    /// Lambdas' code path, then an idle poll; prints the costs (`--json`: one object).
    Sync(SyncBenchArgs),
}

/// `stsync bench sync` options.
#[derive(clap::Args)]
pub struct SyncBenchArgs {
    /// Jobs the sandbox generates (over the 90 days before now; at most 10 000 000).
    #[arg(long, default_value_t = 100_000, value_parser = crate::demo::generated_size())]
    jobs: usize,
    /// Customers the sandbox generates (default: 2 per 5 jobs, the demo's ratio; about one in
    /// six active customers holds a membership; at most 10 000 000, at least 1 with jobs).
    #[arg(long, value_parser = crate::demo::generated_size())]
    customers: Option<usize>,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The sandbox's rate limit, requests per second per app and tenant (ServiceTitan: 60); the
    /// client's budget is set to the same. Without it neither side limits.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Rows per export-feed page the sandbox serves (1 to 5000, ServiceTitan's largest page).
    #[arg(long, default_value_t = 500, value_parser = export_page_size())]
    export_page_size: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// What `stsync bench sync --json` prints.
#[derive(Debug, Serialize)]
struct SyncBench {
    jobs: usize,
    customers: usize,
    memberships: usize,
    /// Opportunities stored after the backfill (both models).
    opportunities: u64,
    /// ServiceTitan calls of the backfill (every try; token requests excluded).
    api_calls: u64,
    /// The formula in the module docs.
    min_api_calls: u64,
    /// `min_api_calls` by term.
    min_api_calls_by_part: BTreeMap<String, u64>,
    /// Calls per endpoint as the sandbox counted them (backfill and idle poll; with tokens).
    sandbox_requests: BTreeMap<String, u64>,
    throttled: u64,
    wall_s: f64,
    /// VmHWM of this process (sandbox, store and engine all in it).
    peak_rss_mb: f64,
    /// VmRSS once the sandbox (with its generated tenant) and the store are up, before the
    /// first sync run: mostly the sandbox's data.
    rss_before_sync_mb: f64,
    /// `peak_rss_mb − rss_before_sync_mb`: what the syncs (engine and embedded store) added.
    sync_rss_mb: f64,
    store_writes: u64,
    opportunities_written: u64,
    opps_per_s: f64,
    by_model: BTreeMap<String, ModelBench>,
    idle_api_calls: u64,
    idle_store_writes: u64,
    /// One per incremental feed: what an idle poll should cost.
    idle_min_api_calls: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_bound_s: Option<f64>,
    store: &'static str,
    export_page_size: usize,
}

/// One model's part of the backfill.
#[derive(Debug, Serialize)]
struct ModelBench {
    runs: u32,
    api_calls: u64,
    min_api_calls: u64,
    pages: u64,
    records_read: u64,
    opportunities_written: u64,
    opportunities_unchanged: u64,
    store_writes: u64,
    bad_records: u64,
    wall_s: f64,
    idle_api_calls: u64,
    idle_store_writes: u64,
}

/// The value parser of `--export-page-size`: 1 to ServiceTitan's largest page size
/// (API-NOTES §5.1, [`st_sandbox::MAX_PAGE_SIZE`]).
fn export_page_size() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=st_sandbox::MAX_PAGE_SIZE as u64)
}

/// Run `stsync bench <command>`.
pub async fn run(endpoint: Option<&str>, table: &str, command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Sync(args) => run_sync(endpoint, table, args).await,
    }
}

/// Progress goes to stderr in both modes; `--json` keeps stdout to the one object.
fn say(msg: &str) {
    eprintln!("· {msg}");
}

async fn run_sync(endpoint: Option<&str>, table: &str, args: SyncBenchArgs) -> Result<()> {
    let now = Utc::now();
    let customers = args.customers.unwrap_or((args.jobs * 2 / 5).max(10));
    crate::demo::check_sizes(args.jobs, customers)?;
    let cfg = SandboxConfig {
        seed: args.seed,
        jobs: args.jobs,
        customers,
        history_days: WINDOW_DAYS,
        now,
        rate_limit_per_sec: args.rate_limit.filter(|r| *r > 0),
        export_page_size: args.export_page_size,
        ..SandboxConfig::default()
    };
    say(&format!(
        "generating {} jobs, {customers} customers over {WINDOW_DAYS} days",
        args.jobs
    ));
    let data = Dataset::generate(&cfg);
    let memberships = data.memberships.len();
    let selection = ResourceSelection::default();
    let integration = Integration {
        workspace_id: WORKSPACE.into(),
        environment: Environment::Integration,
        tenant_id: cfg.tenant_id,
        client_id: cfg.client_id.clone(),
        secret_id: SECRET_ID.into(),
        models: vec![Model::Job, Model::Membership],
        placeholder_emails: vec![],
        phone_region: "US".into(),
        // Each run_scheduled call is due (sync::runner::poll_slot): the bench polls back to back.
        poll_interval_minutes: 1,
        status: IntegrationStatus::Active,
        activated_at: now,
        push: Default::default(),
        resources: selection.clone(),
    };
    let window_start = (now - chrono::Duration::days(WINDOW_DAYS))
        .date_naive()
        .and_time(NaiveTime::MIN)
        .and_utc();
    let mut min_parts = BTreeMap::new();
    let mut min_by_model = BTreeMap::new();
    for model in [Model::Job, Model::Membership] {
        let parts = min_api_calls(
            &data,
            model,
            &selection,
            window_start,
            now,
            args.export_page_size,
        );
        min_by_model.insert(model, parts.values().sum::<u64>());
        for (k, v) in parts {
            min_parts.insert(format!("{model}.{k}"), v);
        }
    }
    let min_total: u64 = min_parts.values().sum();
    let idle_min: u64 = [Model::Job, Model::Membership]
        .iter()
        .map(|m| Feed::for_model(*m, &selection).len() as u64)
        .sum();

    say("starting the sandbox");
    let sandbox = Sandbox::start(cfg.clone(), data, "127.0.0.1:0".parse()?)
        .await
        .context("starting the sandbox")?;

    // The store: a fresh table on the given endpoint, or dynoxide on a temporary file (memory
    // stays the page cache's, as for a real DynamoDB behind the network).
    let db_dir = std::env::temp_dir().join(format!("stsync-bench-{}", std::process::id()));
    let (store, ddb, table, embedded, store_kind) = match endpoint {
        Some(url) => {
            let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(url)
                .load()
                .await;
            let table = format!("{table}-bench-{}", now.timestamp_millis());
            let ddb = aws_sdk_dynamodb::Client::new(&conf);
            (
                Store::new(ddb.clone(), table.clone()),
                ddb,
                table,
                None,
                "dynamodb-endpoint",
            )
        }
        None => {
            std::fs::create_dir_all(&db_dir)
                .with_context(|| format!("creating {}", db_dir.display()))?;
            let e = EmbeddedDynamo::start_file(&db_dir.join("store.db"))
                .await
                .context("starting the embedded DynamoDB")?;
            let ddb = e.client().await;
            (
                Store::new(ddb.clone(), table),
                ddb,
                table.to_owned(),
                Some(e),
                "embedded-dynoxide-file",
            )
        }
    };
    let result = bench_with(
        &args,
        (&store, &ddb, &table),
        &sandbox,
        &cfg,
        integration,
        BenchInputs {
            customers,
            memberships,
            min_total,
            min_parts,
            min_by_model,
            idle_min,
            store_kind,
        },
    )
    .await;
    sandbox.shutdown().await;
    if let Some(e) = embedded {
        e.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(&db_dir);
    let out = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_text(&out);
    }
    Ok(())
}

struct BenchInputs {
    customers: usize,
    memberships: usize,
    min_total: u64,
    min_parts: BTreeMap<String, u64>,
    min_by_model: BTreeMap<Model, u64>,
    idle_min: u64,
    store_kind: &'static str,
}

async fn bench_with(
    args: &SyncBenchArgs,
    (store, ddb, table): (&Store, &aws_sdk_dynamodb::Client, &str),
    sandbox: &st_sandbox::RunningSandbox,
    cfg: &SandboxConfig,
    integration: Integration,
    inputs: BenchInputs,
) -> Result<SyncBench> {
    store.ensure_table().await.context("creating the table")?;
    store.put_integration(&integration).await?;
    let mut secrets = StaticSecrets::default();
    secrets.insert(
        SECRET_ID,
        serde_json::json!({ "clientSecret": cfg.client_secret }).to_string(),
    );
    let platform = Platform {
        app_key: SecretString::from(cfg.app_key.clone()),
        endpoint_override: Some((sandbox.base_url(), sandbox.token_url())),
        // No limit on either side unless asked: the figure is then the engine's own speed.
        requests_per_second: args.rate_limit.filter(|r| *r > 0).unwrap_or(1_000_000),
    };
    let opts = SyncOptions::default();

    let rss_before_sync_mb = proc_status_mb("VmRSS:").unwrap_or(f64::NAN);
    let started = Instant::now();
    let backfill = async {
        let mut by_model = BTreeMap::new();
        let mut total = SyncReport::default();
        for model in [Model::Job, Model::Membership] {
            say(&format!(
                "backfilling the {model} model (run_scheduled, as the poll Lambda)"
            ));
            let t = Instant::now();
            let mut r = SyncReport::default();
            let mut runs = 0;
            loop {
                runs += 1;
                let one = run_once(store, &secrets, &platform, model, &opts).await?;
                r.add(&one);
                if one.caught_up {
                    break;
                }
                anyhow::ensure!(
                    runs < 100,
                    "the {model} backfill did not catch up in 100 runs"
                );
            }
            total.add(&r);
            by_model.insert(
                model.to_string(),
                ModelBench {
                    runs,
                    api_calls: r.api_calls,
                    min_api_calls: inputs.min_by_model.get(&model).copied().unwrap_or(0),
                    pages: r.pages,
                    records_read: r.records_read,
                    opportunities_written: r.opportunities_written,
                    opportunities_unchanged: r.opportunities_unchanged,
                    store_writes: r.store_writes,
                    bad_records: r.bad_records,
                    wall_s: t.elapsed().as_secs_f64(),
                    idle_api_calls: 0,
                    idle_store_writes: 0,
                },
            );
        }
        Ok::<_, anyhow::Error>((by_model, total))
    };
    // Progress every 10 s on stderr: requests the sandbox answered, items written so far, and
    // the process's resident memory (so a run cut short still shows its memory over time).
    tokio::pin!(backfill);
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    let (mut by_model, total) = loop {
        tokio::select! {
            r = &mut backfill => break r?,
            _ = tick.tick() => eprintln!(
                "  … {:>5.0} s: {} ServiceTitan requests, {} store writes, RSS {:.0} MB",
                started.elapsed().as_secs_f64(),
                sandbox.total_requests(),
                store.stats().item_writes,
                proc_status_mb("VmRSS:").unwrap_or(f64::NAN)
            ),
        }
    };
    let wall_s = started.elapsed().as_secs_f64();

    say("idle poll of both models");
    let (mut idle_api_calls, mut idle_store_writes) = (0, 0);
    for model in [Model::Job, Model::Membership] {
        let r = run_once(store, &secrets, &platform, model, &opts).await?;
        idle_api_calls += r.api_calls;
        idle_store_writes += r.store_writes;
        if let Some(m) = by_model.get_mut(model.as_str()) {
            m.idle_api_calls = r.api_calls;
            m.idle_store_writes = r.store_writes;
        }
    }
    let peak_rss_mb = proc_status_mb("VmHWM:").unwrap_or(f64::NAN);
    let opportunities = count_opportunities(ddb, table).await?;
    let rate_limit = args.rate_limit.filter(|r| *r > 0);
    Ok(SyncBench {
        jobs: args.jobs,
        customers: inputs.customers,
        memberships: inputs.memberships,
        opportunities,
        api_calls: total.api_calls,
        min_api_calls: inputs.min_total,
        min_api_calls_by_part: inputs.min_parts,
        sandbox_requests: sandbox.request_counts(),
        throttled: total.throttled,
        wall_s: round3(wall_s),
        peak_rss_mb: round3(peak_rss_mb),
        rss_before_sync_mb: round3(rss_before_sync_mb),
        sync_rss_mb: round3(peak_rss_mb - rss_before_sync_mb),
        store_writes: total.store_writes,
        opportunities_written: total.opportunities_written,
        opps_per_s: round3(opportunities as f64 / wall_s.max(1e-9)),
        by_model,
        idle_api_calls,
        idle_store_writes,
        idle_min_api_calls: inputs.idle_min,
        rate_limit,
        rate_bound_s: rate_limit.map(|n| round3(total.api_calls as f64 / f64::from(n))),
        store: inputs.store_kind,
        export_page_size: args.export_page_size,
    })
}

async fn run_once(
    store: &Store,
    secrets: &StaticSecrets,
    platform: &Platform,
    model: Model,
    opts: &SyncOptions,
) -> Result<SyncReport> {
    let owner = format!("stsync-bench-{}", Utc::now().timestamp_micros());
    let summary = run_scheduled(
        store,
        secrets,
        platform,
        &Run {
            model,
            shard: Shard::default(),
            owner: &owner,
            now: Utc::now(),
        },
        opts,
    )
    .await?;
    let outcome = summary
        .outcomes
        .into_iter()
        .find(|o| o.workspace_id == WORKSPACE)
        .context("the bench integration was not synced")?;
    if let Some(err) = outcome.error {
        anyhow::bail!("the {model} sync failed: {err}");
    }
    outcome.report.context("no report")
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A memory figure of this process from `/proc/self/status` (`key`: `"VmHWM:"` = peak resident
/// set size, `"VmRSS:"` = current), in MiB; `None` off Linux.
fn proc_status_mb(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Opportunities of the bench workspace: `Select=COUNT` queries on its partition (no item is
/// read into memory).
async fn count_opportunities(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Result<u64> {
    use aws_sdk_dynamodb::types::{AttributeValue, Select};
    let mut total = 0u64;
    let mut start = None;
    loop {
        let out = ddb
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :opp)")
            .expression_attribute_names("#pk", store::keys::PK)
            .expression_attribute_names("#sk", store::keys::SK)
            .expression_attribute_values(":pk", AttributeValue::S(store::keys::pk(WORKSPACE)))
            .expression_attribute_values(":opp", AttributeValue::S(store::keys::SK_OPP.to_owned()))
            .select(Select::Count)
            // Pages of 1 000: dynoxide reads the whole rest of the partition for a page without
            // a limit, which made this count quadratic (15 min and more at 100 000 jobs).
            .limit(1000)
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("counting the stored opportunities")?;
        total += out.count() as u64;
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(total);
        }
    }
}

fn ceil_div(n: usize, d: usize) -> u64 {
    n.div_ceil(d.max(1)) as u64
}

/// The terms of `min_api_calls` (module docs) for one model.
fn min_api_calls(
    data: &Dataset,
    model: Model,
    selection: &ResourceSelection,
    window_start: DateTime<Utc>,
    activation: DateTime<Utc>,
    page: usize,
) -> BTreeMap<&'static str, u64> {
    const B: usize = MAX_IDS_PER_REQUEST;
    const L: usize = 500;
    let inside = |t: DateTime<Utc>| t >= window_start && t < activation;
    let uses = |r| selection.uses(model, r);
    let mut parts = BTreeMap::new();
    let mut feed_pages = 0;
    for feed in Feed::backfill_for_model(model, selection) {
        let rows = match feed {
            Feed::Jobs => data.jobs.iter().filter(|r| inside(r.modified_on)).count(),
            Feed::Appointments => data
                .appointments
                .iter()
                .filter(|r| inside(r.modified_on))
                .count(),
            Feed::AppointmentAssignments => data
                .appointment_assignments
                .iter()
                .filter(|r| inside(r.modified_on))
                .count(),
            Feed::Estimates => data
                .estimates
                .iter()
                .filter(|r| inside(r.modified_on))
                .count(),
            Feed::JobInvoices | Feed::MembershipInvoices => data
                .invoices
                .iter()
                .filter(|r| inside(r.last_modified()))
                .count(),
            Feed::JobCanceledLogs => data
                .job_canceled_logs
                .iter()
                .filter(|r| inside(r.created_on))
                .count(),
            Feed::Memberships => data
                .memberships
                .iter()
                .filter(|r| inside(r.modified_on))
                .count(),
            Feed::RecurringServices => data
                .recurring_services
                .iter()
                .filter(|r| inside(r.modified_on))
                .count(),
            Feed::RecurringServiceEvents => data
                .recurring_service_events
                .iter()
                .filter(|r| inside(r.modified_on))
                .count(),
            Feed::Customers | Feed::CustomerContacts | Feed::Locations => 0,
        };
        feed_pages += ceil_div(rows.max(1), page);
    }
    parts.insert("feed_pages", feed_pages);
    parts.insert(
        "incremental_feeds",
        Feed::for_model(model, selection).len() as u64,
    );

    // Base records of the backfill, their customers and locations, and the related records no
    // window feed carries.
    let mut customers: BTreeSet<Id> = BTreeSet::new();
    let mut locations: BTreeSet<Id> = BTreeSet::new();
    let mut out_of_window_bases = 0usize;
    let mut reference = ceil_div(data.business_units.len(), L);
    match model {
        Model::Job => {
            reference += ceil_div(data.job_types.len(), L);
            let mut related_in: BTreeSet<Id> = BTreeSet::new();
            if uses(Resource::Appointments) {
                related_in.extend(
                    data.appointments
                        .iter()
                        .filter(|a| inside(a.modified_on))
                        .map(|a| a.job_id),
                );
            }
            if uses(Resource::Estimates) {
                related_in.extend(
                    data.estimates
                        .iter()
                        .filter(|e| inside(e.modified_on))
                        .filter_map(|e| e.job_id),
                );
            }
            if uses(Resource::Invoices) {
                related_in.extend(
                    data.invoices
                        .iter()
                        .filter(|i| inside(i.last_modified()))
                        .filter_map(|i| i.job.as_ref().map(|j| j.id)),
                );
            }
            let mut bases: BTreeSet<Id> = BTreeSet::new();
            for j in &data.jobs {
                let own = inside(j.modified_on);
                let by_related = j.active != Some(false) && related_in.contains(&j.id);
                if own || by_related {
                    bases.insert(j.id);
                    customers.insert(j.customer_id);
                    locations.insert(j.location_id);
                    if !own {
                        out_of_window_bases += 1;
                    }
                }
            }
            let old = |t: DateTime<Utc>| t < window_start;
            let mut related_out = 0;
            if uses(Resource::Appointments) {
                related_out += ceil_div(
                    data.appointments
                        .iter()
                        .filter(|a| bases.contains(&a.job_id) && old(a.modified_on))
                        .filter(|a| a.active != Some(false))
                        .count(),
                    B,
                );
            }
            if uses(Resource::Estimates) {
                related_out += ceil_div(
                    data.estimates
                        .iter()
                        .filter(|e| e.job_id.is_some_and(|j| bases.contains(&j)))
                        .filter(|e| old(e.modified_on) && e.active)
                        .count(),
                    B,
                );
            }
            if uses(Resource::Invoices) {
                related_out += ceil_div(
                    data.invoices
                        .iter()
                        .filter(|i| i.job.as_ref().is_some_and(|j| bases.contains(&j.id)))
                        .filter(|i| old(i.last_modified()) && i.active)
                        .count(),
                    B,
                );
            }
            parts.insert("related_by_ids", related_out);
        }
        Model::Membership => {
            reference += ceil_div(data.membership_types.len(), L);
            let mut related_in: BTreeSet<Id> = BTreeSet::new();
            if uses(Resource::RecurringServices) {
                related_in.extend(
                    data.recurring_services
                        .iter()
                        .filter(|s| inside(s.modified_on))
                        .filter_map(|s| s.membership_id),
                );
            }
            if uses(Resource::RecurringServiceEvents) {
                related_in.extend(
                    data.recurring_service_events
                        .iter()
                        .filter(|e| inside(e.modified_on))
                        .filter_map(|e| e.membership_id),
                );
            }
            if uses(Resource::Invoices) {
                related_in.extend(
                    data.invoices
                        .iter()
                        .filter(|i| inside(i.last_modified()))
                        .filter_map(|i| i.membership_id),
                );
            }
            let mut bases: BTreeSet<Id> = BTreeSet::new();
            for m in &data.memberships {
                let own = inside(m.modified_on);
                if own || related_in.contains(&m.id) {
                    bases.insert(m.id);
                    customers.insert(m.customer_id);
                    locations.extend(m.location_id);
                    if !own {
                        out_of_window_bases += 1;
                    }
                }
            }
            let old = |t: DateTime<Utc>| t < window_start;
            let mut related_out = 0;
            if uses(Resource::RecurringServices) {
                // By membershipIds: one id per membership that has a service outside the window.
                let owners: BTreeSet<Id> = data
                    .recurring_services
                    .iter()
                    .filter(|s| s.membership_id.is_some_and(|m| bases.contains(&m)))
                    .filter(|s| old(s.modified_on) && s.active)
                    .filter_map(|s| s.membership_id)
                    .collect();
                related_out += ceil_div(owners.len(), B);
            }
            if uses(Resource::Invoices) {
                related_out += ceil_div(
                    data.invoices
                        .iter()
                        .filter(|i| i.membership_id.is_some_and(|m| bases.contains(&m)))
                        .filter(|i| old(i.last_modified()) && i.active)
                        .count(),
                    B,
                );
            }
            parts.insert("related_by_ids", related_out);
        }
        Model::InboundCall => {}
    }
    if uses(Resource::Campaigns) {
        reference += ceil_div(data.campaigns.len(), L);
    }
    if uses(Resource::TagTypes) {
        reference += ceil_div(data.tag_types.len(), L);
    }
    if model == Model::Job && uses(Resource::Zones) {
        reference += ceil_div(data.zones.len(), L);
    }
    if model == Model::Job && uses(Resource::CancelReasons) {
        reference += ceil_div(data.cancel_reasons.len(), L);
    }
    if uses(Resource::EmployeesTechnicians) {
        reference += ceil_div(data.employees.len(), L) + ceil_div(data.technicians.len(), L);
    }
    parts.insert("reference_lists", reference);
    parts.insert("bases_by_ids", ceil_div(out_of_window_bases, B));

    // Customers by ids, then each merge hop's survivors; contacts of the survivors.
    let by_id: BTreeMap<Id, &servicetitan::Customer> =
        data.customers.iter().map(|c| (c.id, c)).collect();
    let mut customer_calls = ceil_div(customers.len(), B);
    let mut known: BTreeSet<Id> = customers.clone();
    let mut frontier: BTreeSet<Id> = customers.clone();
    for _ in 0..sync_merge_hops() {
        let next: BTreeSet<Id> = frontier
            .iter()
            .filter_map(|id| by_id.get(id).and_then(|c| c.merged_to_id))
            .filter(|id| !known.contains(id) && by_id.contains_key(id))
            .collect();
        if next.is_empty() {
            break;
        }
        customer_calls += ceil_div(next.len(), B);
        known.extend(next.iter().copied());
        frontier = next;
    }
    let survivors: BTreeSet<Id> = customers
        .iter()
        .map(|id| {
            let mut cur = *id;
            for _ in 0..sync_merge_hops() {
                match by_id.get(&cur).and_then(|c| c.merged_to_id) {
                    Some(n) if by_id.contains_key(&n) && n != *id => cur = n,
                    _ => break,
                }
            }
            cur
        })
        .collect();
    parts.insert("customers_by_ids", customer_calls);
    parts.insert("contacts_by_customer_ids", ceil_div(survivors.len(), B));
    parts.insert("locations_by_ids", ceil_div(locations.len(), B));
    parts
}

/// The most merge hops the engine follows (`MAX_MERGE_HOPS` of the engine, SPEC.md §5).
fn sync_merge_hops() -> usize {
    10
}

fn print_text(b: &SyncBench) {
    println!();
    println!(
        "stsync bench sync — {} jobs, {} customers, {} memberships; store: {}",
        b.jobs, b.customers, b.memberships, b.store
    );
    println!(
        "  backfill: {} opportunities in {:.1} s ({:.0}/s), {} API calls (minimum {}, ×{:.3}), {} store writes, peak RSS {:.0} MB ({:.0} MB before the syncs)",
        b.opportunities,
        b.wall_s,
        b.opps_per_s,
        b.api_calls,
        b.min_api_calls,
        b.api_calls as f64 / b.min_api_calls.max(1) as f64,
        b.store_writes,
        b.peak_rss_mb,
        b.rss_before_sync_mb
    );
    if let (Some(n), Some(bound)) = (b.rate_limit, b.rate_bound_s) {
        println!(
            "  rate limit {n}/s: bound {bound:.1} s, wall/bound ×{:.2}, {} throttled",
            b.wall_s / bound.max(1e-9),
            b.throttled
        );
    }
    println!(
        "  idle poll: {} API calls (one per feed: {}), {} store writes",
        b.idle_api_calls, b.idle_min_api_calls, b.idle_store_writes
    );
    for (m, s) in &b.by_model {
        println!(
            "  {m:<10} {} API calls (min {}), {} pages, {} written, {} unchanged, {} store writes, {:.1} s",
            s.api_calls, s.min_api_calls, s.pages, s.opportunities_written, s.opportunities_unchanged, s.store_writes, s.wall_s
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_api_calls_counts_pages_and_batches() {
        let now = Utc::now();
        let cfg = SandboxConfig {
            jobs: 300,
            customers: 120,
            history_days: WINDOW_DAYS,
            now,
            ..SandboxConfig::default()
        };
        let data = Dataset::generate(&cfg);
        let start = (now - chrono::Duration::days(WINDOW_DAYS))
            .date_naive()
            .and_time(NaiveTime::MIN)
            .and_utc();
        let sel = ResourceSelection::default();
        let job = min_api_calls(&data, Model::Job, &sel, start, now, 500);
        // jobs, appointments, estimates, invoices: one page each at 300 jobs
        assert_eq!(job["feed_pages"], 4);
        assert_eq!(job["incremental_feeds"], 7);
        assert!(job["customers_by_ids"] >= 2, "{job:?}");
        let small = min_api_calls(&data, Model::Job, &sel, start, now, 100);
        assert!(small["feed_pages"] > job["feed_pages"]);
        let m = min_api_calls(&data, Model::Membership, &sel, start, now, 500);
        assert_eq!(m["incremental_feeds"], 5);
    }

    #[derive(clap::Parser)]
    struct BenchCli {
        #[command(subcommand)]
        command: BenchCommand,
    }

    fn parse(args: &[&str]) -> Result<SyncBenchArgs, String> {
        use clap::Parser;
        let argv = ["bench", "sync"].iter().chain(args);
        match BenchCli::try_parse_from(argv) {
            Ok(BenchCli {
                command: BenchCommand::Sync(a),
            }) => Ok(a),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn bench_flags_are_range_checked() {
        for (flag, value) in [
            ("--export-page-size", "0"),
            ("--export-page-size", "5001"),
            ("--jobs", "18446744073709551615"),
            ("--customers", "10000001"),
        ] {
            let err = parse(&[flag, value]).err().unwrap_or_default();
            assert!(err.contains(flag), "{flag} {value}: {err}");
        }
        let a = parse(&["--export-page-size", "5000", "--jobs", "50"]).unwrap();
        assert_eq!((a.export_page_size, a.jobs), (5000, 50));
        assert_eq!(
            parse(&["--export-page-size", "1"])
                .unwrap()
                .export_page_size,
            1
        );
    }

    #[tokio::test]
    async fn jobs_without_customers_are_refused_before_generating() {
        let args = parse(&["--jobs", "50", "--customers", "0"]).unwrap();
        let err = run_sync(None, "unused", args)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--customers 0") && err.contains("--jobs 50"),
            "{err}"
        );
    }

    #[test]
    fn peak_rss_is_read() {
        // RSS first: other tests' threads allocate meanwhile, and the peak read afterwards is
        // at least any earlier resident size.
        let earlier = proc_status_mb("VmRSS:").expect("VmRSS on Linux");
        let peak = proc_status_mb("VmHWM:").expect("VmHWM on Linux");
        assert!(
            earlier > 0.0 && peak >= earlier,
            "peak {peak} MiB, earlier {earlier} MiB"
        );
    }
}
