//! `stsync demo` and `stsync sandbox`.
//!
//! The demo pins the sandbox's generated data to the first run (seed, sizes and "now" are saved
//! in `<data-dir>/demo.json`), so a second run on the same folder sees the same tenant and is
//! incremental: it reads the jobs feed from the saved token and writes nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use opportunity::{Environment, Integration, IntegrationStatus, Model};
use secrecy::SecretString;
use secrets::StaticSecrets;
use serde::{Deserialize, Serialize};
use st_sandbox::{Dataset, Sandbox, SandboxConfig};
use sync::runner::{run_scheduled, Platform, Run, Shard};
use sync::SyncOptions;

use crate::output;

/// The workspace id the demo registers.
pub const DEMO_WORKSPACE: &str = "demo";
const DEMO_SECRET_ID: &str = "demo/servicetitan";

/// `stsync demo` options.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Jobs the sandbox generates.
    #[arg(long, default_value_t = 600)]
    jobs: usize,
    /// Customers the sandbox generates.
    #[arg(long, default_value_t = 250)]
    customers: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Load these ServiceTitan records instead of generating data
    /// ({"jobs":[...],"customers":[...],"contacts":[...],...}).
    #[arg(long)]
    fixture: Option<PathBuf>,
    /// Forget the previous runs (store and pinned sandbox data) first.
    #[arg(long)]
    fresh: bool,
    /// Print one JSON object instead of the readable summary.
    #[arg(long)]
    json: bool,
}

/// `stsync sandbox` options.
#[derive(clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on (loopback).
    #[arg(long, default_value = "127.0.0.1:8085")]
    listen: SocketAddr,
    /// Jobs to generate.
    #[arg(long, default_value_t = 600)]
    jobs: usize,
    /// Customers to generate.
    #[arg(long, default_value_t = 250)]
    customers: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Load these ServiceTitan records instead of generating data.
    #[arg(long)]
    fixture: Option<PathBuf>,
    /// Requests per second per app and tenant before 429 (0 = no limit).
    #[arg(long, default_value_t = 60)]
    rate_limit: u32,
    /// Write the data as a fixture file (the `--fixture` format) and exit instead of serving.
    #[arg(long, value_name = "FILE")]
    dump_fixture: Option<PathBuf>,
    /// Grant only these scopes (comma-separated, e.g. `tn.jpm.jobs:r,tn.crm.customers:r`) to
    /// issued tokens, to try `stsync connect` with missing scopes; default: every scope the
    /// sandbox knows (`stsync scopes --all`).
    #[arg(long, value_delimiter = ',', value_name = "SCOPES")]
    grant: Option<Vec<String>>,
}

/// What pins the demo's sandbox between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DemoState {
    seed: u64,
    jobs: usize,
    customers: usize,
    fixture: Option<PathBuf>,
    now: DateTime<Utc>,
}

fn load_dataset(cfg: &SandboxConfig, fixture: Option<&Path>) -> Result<Dataset> {
    match fixture {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading fixture {}", path.display()))?;
            Dataset::from_fixture_json(&text).with_context(|| format!("fixture {}", path.display()))
        }
        None => Ok(Dataset::generate(cfg)),
    }
}

/// The demo's JSON summary (`stsync demo --json`).
#[derive(Debug, Serialize)]
struct DemoSummary {
    workspace: String,
    sandbox_jobs: usize,
    jobs_in_window: usize,
    opportunities: usize,
    contacts: usize,
    api_calls: u64,
    store_writes: u64,
    opportunities_written: u64,
    opportunities_unchanged: u64,
    opportunities_refused: u64,
    contacts_created: u64,
    bad_records: u64,
    bad_record_samples: Vec<String>,
    incremental: bool,
    sample: Vec<serde_json::Value>,
    notes: crate::demo_notes::DemoNotes,
    inbound_call: crate::demo_calls::CallDemo,
    /// Per model (`job`, `membership`): stored opportunities and this run's counts; the
    /// top-level counts are the totals.
    by_model: std::collections::BTreeMap<String, ModelSummary>,
}

/// One model's part of the demo summary.
#[derive(Debug, Serialize)]
struct ModelSummary {
    opportunities: usize,
    opportunities_written: u64,
    opportunities_unchanged: u64,
    api_calls: u64,
    store_writes: u64,
    bad_records: u64,
}

/// Add one model's run report to the totals.
fn add_report(total: &mut sync::SyncReport, r: &sync::SyncReport) {
    total.pages += r.pages;
    total.records_read += r.records_read;
    total.opportunities_written += r.opportunities_written;
    total.opportunities_unchanged += r.opportunities_unchanged;
    total.opportunities_refused += r.opportunities_refused;
    total.contacts_created += r.contacts_created;
    total.bad_records += r.bad_records;
    total
        .bad_record_samples
        .extend(r.bad_record_samples.iter().cloned());
    total.api_calls += r.api_calls;
    total.throttled += r.throttled;
    total.store_writes += r.store_writes;
}

pub async fn run_demo(
    data_dir: &Path,
    endpoint: Option<&str>,
    table: &str,
    args: DemoArgs,
) -> Result<()> {
    // A fixture is read and checked before anything is reset, so a typo never costs the store.
    if let Some(path) = &args.fixture {
        load_dataset(&SandboxConfig::default(), Some(path))?;
    }
    if args.fresh && data_dir.exists() {
        std::fs::remove_dir_all(data_dir)
            .with_context(|| format!("removing {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let state_path = data_dir.join("demo.json");
    let wanted = DemoState {
        seed: args.seed,
        jobs: args.jobs,
        customers: args.customers,
        fixture: args.fixture.clone(),
        now: Utc::now(),
    };
    let previous: Option<DemoState> = std::fs::read_to_string(&state_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let state = match previous {
        Some(p)
            if p.seed == wanted.seed
                && p.jobs == wanted.jobs
                && p.customers == wanted.customers
                && p.fixture == wanted.fixture =>
        {
            p
        }
        Some(_) => {
            if !args.json {
                eprintln!("sandbox parameters changed since the last demo: starting fresh");
            }
            std::fs::remove_dir_all(data_dir).ok();
            std::fs::create_dir_all(data_dir)?;
            wanted
        }
        None => wanted,
    };
    std::fs::write(&state_path, serde_json::to_string_pretty(&state)?)?;

    let progress = |msg: &str| {
        if !args.json {
            eprintln!("· {msg}");
        }
    };
    let cfg = SandboxConfig {
        seed: state.seed,
        jobs: state.jobs,
        customers: state.customers,
        now: state.now,
        ..SandboxConfig::default()
    };
    let data = load_dataset(&cfg, state.fixture.as_deref())?;
    let sandbox_jobs = data.jobs.len();
    progress(&format!(
        "starting the ServiceTitan sandbox ({sandbox_jobs} jobs)"
    ));
    let sandbox = Sandbox::start(cfg.clone(), data.clone(), "127.0.0.1:0".parse()?)
        .await
        .context("starting the sandbox")?;

    progress("opening the store");
    let open = crate::open_store(data_dir, endpoint, table).await?;
    let store = &open.store;
    let existing = store.get_integration(DEMO_WORKSPACE).await?;
    let incremental = existing.is_some();
    let integration = match existing {
        // Demo data from before the membership model: turn it on (its backfill runs now).
        Some(mut i) if !i.models.contains(&Model::Membership) => {
            i.models.push(Model::Membership);
            store.put_integration(&i).await?;
            i
        }
        Some(i) => i,
        None => {
            let i = Integration {
                workspace_id: DEMO_WORKSPACE.into(),
                environment: Environment::Integration,
                tenant_id: cfg.tenant_id,
                client_id: cfg.client_id.clone(),
                secret_id: DEMO_SECRET_ID.into(),
                // Both polled models, to show both (SPEC.md §2 warns that one is usually enough).
                models: vec![Model::Job, Model::Membership],
                placeholder_emails: vec![],
                phone_region: "US".into(),
                poll_interval_minutes: 15,
                status: IntegrationStatus::Active,
                activated_at: state.now,
                push: crate::demo_notes::demo_push_settings(),
                resources: Default::default(),
            };
            store.put_integration(&i).await?;
            i
        }
    };
    let window_start = integration.activated_at - Duration::days(90);
    let jobs_in_window = data.jobs_in_window(window_start.date_naive()).len();

    let mut secrets = StaticSecrets::default();
    secrets.insert(
        DEMO_SECRET_ID,
        serde_json::json!({ "clientSecret": cfg.client_secret, "webhookSigningKey": crate::demo_calls::DEMO_SIGNING_KEY }).to_string(),
    );
    let platform = Platform {
        app_key: SecretString::from(cfg.app_key.clone()),
        endpoint_override: Some((sandbox.base_url(), sandbox.token_url())),
        requests_per_second: 20,
    };
    let run_id = format!(
        "stsync-demo-{}-{}",
        std::process::id(),
        Utc::now().timestamp_millis()
    );
    let mut report = sync::SyncReport::default();
    let mut by_model = std::collections::BTreeMap::new();
    for model in [Model::Job, Model::Membership] {
        let lambda = if model == Model::Job {
            "poll-jobs"
        } else {
            "poll-memberships"
        };
        progress(&if incremental {
            format!("running an incremental {model} sync (same engine as {lambda})")
        } else {
            format!("running the first {model} sync: 90-day backfill (same engine as {lambda})")
        });
        let summary = run_scheduled(
            store,
            &secrets,
            &platform,
            &Run {
                model,
                shard: Shard::default(),
                owner: &run_id,
                now: Utc::now(),
            },
            &SyncOptions::default(),
        )
        .await?;
        let outcome = summary
            .outcomes
            .into_iter()
            .find(|o| o.workspace_id == DEMO_WORKSPACE)
            .context("the demo integration was not synced")?;
        if let Some(err) = outcome.error {
            anyhow::bail!("the {model} sync failed: {err}");
        }
        let r = outcome.report.unwrap_or_default();
        let stored = store
            .list_opportunities(DEMO_WORKSPACE, Some(model))
            .await?
            .len();
        add_report(&mut report, &r);
        by_model.insert(
            model.to_string(),
            ModelSummary {
                opportunities: stored,
                opportunities_written: r.opportunities_written,
                opportunities_unchanged: r.opportunities_unchanged,
                api_calls: r.api_calls,
                store_writes: r.store_writes,
                bad_records: r.bad_records,
            },
        );
    }

    progress("firing a completed inbound call at the call-webhook handler");
    let inbound_call = crate::demo_calls::fire_completed_call(
        store,
        &integration,
        &secrets,
        &platform,
        &cfg,
        &data,
    )
    .await?;
    let opportunities = store.list_opportunities(DEMO_WORKSPACE, None).await?;
    let contacts = store.list_contacts(DEMO_WORKSPACE).await?;
    let sample: Vec<serde_json::Value> = opportunities
        .iter()
        .take(3)
        .map(output::summary_json)
        .collect();
    let notes = crate::demo_notes::run(store, &sandbox, &secrets, &platform).await?;
    let out = DemoSummary {
        workspace: DEMO_WORKSPACE.into(),
        sandbox_jobs,
        jobs_in_window,
        opportunities: opportunities.len(),
        contacts: contacts.len(),
        api_calls: report.api_calls,
        store_writes: report.store_writes,
        opportunities_written: report.opportunities_written,
        opportunities_unchanged: report.opportunities_unchanged,
        opportunities_refused: report.opportunities_refused,
        contacts_created: report.contacts_created,
        bad_records: report.bad_records,
        bad_record_samples: report.bad_record_samples.clone(),
        incremental,
        sample,
        notes,
        by_model,
        inbound_call,
    };
    sandbox.shutdown().await;
    open.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!();
        println!("servicetitan-sync demo — workspace `{}`", out.workspace);
        println!(
            "  sandbox tenant: {} jobs, {} of them (or their appointments, estimates, invoices) modified in the 90-day window",
            out.sandbox_jobs, out.jobs_in_window
        );
        if out.jobs_in_window == 0 {
            println!(
                "  note: nothing was modified in the 90 days before activation, so the backfill has nothing to sync (records older than that are outside the window)"
            );
        }
        println!(
            "  this run ({}): {} API calls, {} store writes, {} opportunities written, {} unchanged, {} refused, {} contacts created, {} bad records skipped",
            if incremental { "incremental" } else { "backfill" },
            out.api_calls,
            out.store_writes,
            out.opportunities_written,
            out.opportunities_unchanged,
            out.opportunities_refused,
            out.contacts_created,
            out.bad_records
        );
        for s in &out.bad_record_samples {
            println!("    skipped: {s}");
        }
        println!(
            "  store now holds {} opportunities ({}) and {} contacts",
            out.opportunities,
            out.by_model
                .iter()
                .map(|(m, s)| format!("{} {m}", s.opportunities))
                .chain(std::iter::once(format!(
                    "{} inbound call",
                    out.opportunities
                        - out
                            .by_model
                            .values()
                            .map(|s| s.opportunities)
                            .sum::<usize>()
                )))
                .collect::<Vec<_>>()
                .join(", "),
            out.contacts
        );
        if out.opportunities_written as usize > out.opportunities {
            println!(
                "  (a backfill may write a job twice: a later feed of the same run, e.g. estimates, adds records its first build could not know)"
            );
        }
        println!();
        output::print_opportunities(&opportunities[..opportunities.len().min(5)]);
        println!();
        crate::demo_calls::print(&out.inbound_call);
        println!();
        if !out.notes.events.is_empty() {
            out.notes.print();
            println!();
        }
        if !incremental {
            println!("Run it again: the second run is incremental and writes nothing.");
        }
        println!("Inspect the store (data in {}):", data_dir.display());
        println!("  cargo run --release -p stsync -- opportunities [--json]");
        println!("  cargo run --release -p stsync -- contacts [--json]");
    }
    Ok(())
}

pub async fn run_sandbox(args: SandboxArgs) -> Result<()> {
    let cfg = SandboxConfig {
        seed: args.seed,
        jobs: args.jobs,
        customers: args.customers,
        rate_limit_per_sec: (args.rate_limit > 0).then_some(args.rate_limit),
        ..SandboxConfig::default()
    };
    let cfg = match &args.grant {
        Some(scopes) => SandboxConfig {
            granted_scopes: scopes.iter().map(|s| s.trim().to_owned()).collect(),
            ..cfg
        },
        None => cfg,
    };
    let data = load_dataset(&cfg, args.fixture.as_deref())?;
    if let Some(path) = &args.dump_fixture {
        let text = serde_json::to_string_pretty(&data.to_fixture_json())?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "wrote {} jobs and their records to {}",
            data.jobs.len(),
            path.display()
        );
        return Ok(());
    }
    let sandbox = Sandbox::start(cfg.clone(), data, args.listen)
        .await
        .context("starting the sandbox")?;
    println!("ServiceTitan sandbox listening on {}", sandbox.base_url());
    println!("  token URL:     {}", sandbox.token_url());
    println!("  tenant id:     {}", cfg.tenant_id);
    println!("  client id:     {}", cfg.client_id);
    println!("  client secret: {}", cfg.client_secret);
    println!("  ST-App-Key:    {}", cfg.app_key);
    println!("  admin:         {}/__admin/requests", sandbox.base_url());
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c().await.ok();
    sandbox.shutdown().await;
    Ok(())
}
