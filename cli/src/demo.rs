//! `stsync demo` and `stsync sandbox`.
//!
//! The demo pins the sandbox's generated data to the first run (seed, sizes or the fixture, and
//! "now" are saved in `<data-dir>/demo.json`), so a second run on the same folder sees the same
//! tenant and is incremental: it reads the jobs feed from the saved token and writes nothing.
//! When the parameters change, or with `--fresh`, only the demo workspace is reset (its items are
//! deleted from the store, `Store::delete_workspace`); other workspaces, `secrets.json` and the
//! rest of the data folder are never touched.

use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use opportunity::{Environment, Integration, IntegrationStatus, Model};
use secrecy::SecretString;
use secrets::StaticSecrets;
use serde::{Deserialize, Serialize};
use st_sandbox::{Dataset, Sandbox, SandboxConfig};
use sync::runner::{run_continuation, Platform, Run, Shard};
use sync::SyncOptions;

use crate::output;

/// The workspace id the demo registers.
pub const DEMO_WORKSPACE: &str = "demo";
const DEMO_SECRET_ID: &str = "demo/servicetitan";

/// `stsync demo` options.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Jobs the sandbox generates (at most 10 000 000).
    #[arg(long, default_value_t = 600, value_parser = generated_size())]
    jobs: usize,
    /// Customers the sandbox generates (at most 10 000 000; at least 1 when there are jobs).
    #[arg(long, default_value_t = 250, value_parser = generated_size())]
    customers: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Load these ServiceTitan records instead of generating data
    /// ({"jobs":[...],"customers":[...],"contacts":[...],...}).
    #[arg(long)]
    fixture: Option<PathBuf>,
    /// Forget the previous runs first: reset the demo workspace (its items in the store and the
    /// pinned sandbox data); other workspaces and the rest of the data folder are not touched.
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
    /// Jobs to generate (at most 10 000 000).
    #[arg(long, default_value_t = 600, value_parser = generated_size())]
    jobs: usize,
    /// Customers to generate (at most 10 000 000; at least 1 when there are jobs).
    #[arg(long, default_value_t = 250, value_parser = generated_size())]
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

/// Most jobs or customers a `--jobs` / `--customers` flag may ask the sandbox to generate: ten
/// million records already take several GB of memory.
pub(crate) const MAX_GENERATED: u64 = 10_000_000;

/// The value parser of `--jobs` and `--customers` (sandbox, demo, bench): 0 to
/// [`MAX_GENERATED`].
pub(crate) fn generated_size() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(0..=MAX_GENERATED)
}

/// Check generated sizes together: jobs need customers to belong to (with `--customers 0` the
/// generator would silently make no jobs).
pub(crate) fn check_sizes(jobs: usize, customers: usize) -> Result<()> {
    if jobs > 0 && customers == 0 {
        anyhow::bail!(
            "--customers 0 with --jobs {jobs}: every generated job belongs to a customer; give --customers 1 or more (or --jobs 0)"
        );
    }
    Ok(())
}

/// What pins the demo's sandbox between runs (`<data-dir>/demo.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DemoState {
    seed: u64,
    jobs: usize,
    customers: usize,
    fixture: Option<FixtureId>,
    now: DateTime<Utc>,
}

/// A fixture file as the demo pins it: the same file (canonical path) with the same content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FixtureId {
    /// Canonical path (so `f.json` and `./f.json` are the same file).
    path: PathBuf,
    /// Size in bytes.
    len: u64,
    /// SHA-256 of the content, hex.
    sha256: String,
}

impl FixtureId {
    fn of(path: &Path) -> Result<FixtureId> {
        let canonical = std::fs::canonicalize(path)
            .with_context(|| format!("resolving fixture path {}", path.display()))?;
        let bytes = std::fs::read(&canonical)
            .with_context(|| format!("reading fixture {}", canonical.display()))?;
        Ok(FixtureId {
            path: canonical,
            len: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
        })
    }
}

impl DemoState {
    /// How `wanted` differs from `self` in what shapes the sandbox's data (the seed and sizes of
    /// generated data, or the fixture file and its content); empty when it is the same tenant.
    fn changes(&self, wanted: &DemoState) -> Vec<String> {
        let mut out = Vec::new();
        match (&self.fixture, &wanted.fixture) {
            (None, None) => {
                if self.seed != wanted.seed {
                    out.push(format!("--seed {} → {}", self.seed, wanted.seed));
                }
                if self.jobs != wanted.jobs {
                    out.push(format!("--jobs {} → {}", self.jobs, wanted.jobs));
                }
                if self.customers != wanted.customers {
                    out.push(format!(
                        "--customers {} → {}",
                        self.customers, wanted.customers
                    ));
                }
            }
            (Some(a), Some(b)) if a.path != b.path => out.push(format!(
                "--fixture {} → {}",
                a.path.display(),
                b.path.display()
            )),
            (Some(a), Some(b)) if a != b => {
                out.push(format!("fixture {} changed since", b.path.display()))
            }
            (Some(_), Some(_)) => {}
            (None, Some(b)) => out.push(format!("generated data → --fixture {}", b.path.display())),
            (Some(a), None) => out.push(format!("--fixture {} → generated data", a.path.display())),
        }
        out
    }
}

/// The demo's pinned parameters from `<data_dir>/demo.json`: the pinned ones when they describe
/// the same tenant as `wanted`, else `wanted`; and, when the demo workspace must be reset
/// (`fresh`, changed parameters, an unreadable or missing file), why. Reads only: the caller
/// resets the demo workspace in the store, then saves the state ([`save_state`]), so a reset
/// that fails or is interrupted is done again by the next run.
fn prepare_state(
    data_dir: &Path,
    wanted: DemoState,
    fresh: bool,
) -> Result<(DemoState, Option<String>)> {
    let state_path = data_dir.join("demo.json");
    let previous = match std::fs::read_to_string(&state_path) {
        Ok(text) => Some(serde_json::from_str::<DemoState>(&text).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "reading the demo's pinned sandbox parameters {}",
                    state_path.display()
                )
            })
        }
    };
    let reason = match &previous {
        _ if fresh => Some("--fresh".to_owned()),
        Some(Some(p)) => {
            let changes = p.changes(&wanted);
            (!changes.is_empty()).then(|| {
                format!(
                    "sandbox parameters changed since the last demo: {}",
                    changes.join(", ")
                )
            })
        }
        Some(None) => Some(format!(
            "its pinned sandbox parameters {} cannot be read",
            state_path.display()
        )),
        // Demo data without its parameters cannot be continued (a first run finds nothing).
        None => Some(format!(
            "no pinned sandbox parameters ({})",
            state_path.display()
        )),
    };
    let state = match (&reason, previous) {
        (None, Some(Some(p))) => p,
        _ => wanted,
    };
    Ok((state, reason))
}

/// Never reset or sync a `demo` workspace `stsync demo` did not make (a table shared with a
/// deployment through `--dynamodb-endpoint`): the demo's integration is the one whose secret is
/// the demo's own. `location` names the store in the error.
async fn ensure_demo_owned(store: &store::Store, location: &str) -> Result<()> {
    if let Some(existing) = store.get_integration(DEMO_WORKSPACE).await? {
        if existing.secret_id != DEMO_SECRET_ID {
            anyhow::bail!(
                "workspace `{DEMO_WORKSPACE}` in {location} was not made by `stsync demo` (its \
                 secret is `{}`); the demo leaves it alone: give another --data-dir, --table or \
                 --dynamodb-endpoint",
                existing.secret_id
            );
        }
    }
    Ok(())
}

/// Pin `state` in `<data_dir>/demo.json` (after the demo workspace was reset, if it had to be).
fn save_state(data_dir: &Path, state: &DemoState) -> Result<()> {
    let state_path = data_dir.join("demo.json");
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data folder {}", data_dir.display()))?;
    let text = serde_json::to_string_pretty(state)?;
    std::fs::write(&state_path, text).with_context(|| {
        format!(
            "saving the demo's sandbox parameters to {}",
            state_path.display()
        )
    })
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
    /// The completed call fired at the webhook; `null` when the sandbox data has no active
    /// customer to make it.
    inbound_call: Option<crate::demo_calls::CallDemo>,
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
    /// The sync did not run: another run held the integration's lease for this model.
    skipped: bool,
    /// When skipped: the latest the other run's lease can expire (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_expires_by: Option<DateTime<Utc>>,
}

/// The demo workspace's integration with the sandbox of `cfg`, activated at `now`.
fn demo_integration(cfg: &SandboxConfig, now: DateTime<Utc>) -> Integration {
    Integration {
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
        activated_at: now,
        push: crate::demo_notes::demo_push_settings(),
        resources: Default::default(),
    }
}

/// What one model's sync did in the demo.
#[derive(Debug)]
enum DemoSync {
    /// It ran: its report.
    Ran(sync::SyncReport),
    /// Another run holds the integration's lease for the model, so it was skipped; the lease
    /// expires at the latest at this time (UTC).
    Skipped(DateTime<Utc>),
}

/// One model's sync in the demo, through the scheduled runner (the poll Lambdas' path).
async fn sync_demo_model(
    store: &store::Store,
    secrets: &StaticSecrets,
    platform: &Platform,
    model: Model,
    run_id: &str,
) -> Result<DemoSync> {
    let now = Utc::now();
    // The demo workspace only: other workspaces connected in the same store are left alone.
    let summary = run_continuation(
        store,
        secrets,
        platform,
        &Run {
            model,
            shard: Shard::default(),
            owner: run_id,
            now,
        },
        DEMO_WORKSPACE,
        &SyncOptions::default(),
    )
    .await?;
    let outcome = summary
        .outcomes
        .into_iter()
        .find(|o| o.workspace_id == DEMO_WORKSPACE)
        .context("the demo integration was not synced")?;
    if outcome.skipped {
        // The holder took its lease at the latest now, for LEASE_DURATION (the store does not
        // say when exactly).
        return Ok(DemoSync::Skipped(now + sync::runner::LEASE_DURATION));
    }
    if let Some(err) = outcome.error {
        anyhow::bail!("the {model} sync failed: {err}");
    }
    Ok(DemoSync::Ran(outcome.report.unwrap_or_default()))
}

/// The warning for a model whose sync was skipped because another run holds its lease.
fn skipped_warning(model: Model, lease_expires_by: DateTime<Utc>) -> String {
    format!(
        "warning: {model} sync skipped: another run holds the lease until {} at the latest (a previous run was interrupted or is still running; a lease lasts {} minutes); rerun after that, or use --fresh to reset the demo workspace `{DEMO_WORKSPACE}`",
        lease_expires_by.format("%Y-%m-%d %H:%M:%S UTC"),
        sync::runner::LEASE_DURATION.num_minutes()
    )
}

pub async fn run_demo(
    data_dir: &Path,
    endpoint: Option<&str>,
    table: &str,
    args: DemoArgs,
) -> Result<()> {
    // A fixture is read and checked before anything is reset, so a typo never costs the store.
    let fixture = match &args.fixture {
        Some(path) => {
            load_dataset(&SandboxConfig::default(), Some(path))?;
            Some(FixtureId::of(path)?)
        }
        None => {
            check_sizes(args.jobs, args.customers)?;
            None
        }
    };
    let wanted = DemoState {
        seed: args.seed,
        jobs: args.jobs,
        customers: args.customers,
        fixture,
        now: Utc::now(),
    };
    let (state, reset) = prepare_state(data_dir, wanted, args.fresh)?;

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
    let data = load_dataset(&cfg, state.fixture.as_ref().map(|f| f.path.as_path()))?;
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
    ensure_demo_owned(store, &open.location).await?;
    if let Some(reason) = reset {
        let deleted = store
            .delete_workspace(DEMO_WORKSPACE)
            .await
            .with_context(|| format!("resetting the demo workspace `{DEMO_WORKSPACE}`"))?;
        if deleted > 0 {
            eprintln!(
                "{reason}: reset the demo workspace `{DEMO_WORKSPACE}` ({deleted} items deleted); other workspaces are kept"
            );
        }
    }
    save_state(data_dir, &state)?;
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
            let i = demo_integration(&cfg, state.now);
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
        let (r, lease_expires_by) =
            match sync_demo_model(store, &secrets, &platform, model, &run_id).await? {
                DemoSync::Ran(r) => (r, None),
                DemoSync::Skipped(until) => {
                    eprintln!("{}", skipped_warning(model, until));
                    (sync::SyncReport::default(), Some(until))
                }
            };
        let stored = store
            .list_opportunities(DEMO_WORKSPACE, Some(model))
            .await?
            .len();
        report.add(&r);
        by_model.insert(
            model.to_string(),
            ModelSummary {
                opportunities: stored,
                opportunities_written: r.opportunities_written,
                opportunities_unchanged: r.opportunities_unchanged,
                api_calls: r.api_calls,
                store_writes: r.store_writes,
                bad_records: r.bad_records,
                skipped: lease_expires_by.is_some(),
                lease_expires_by,
            },
        );
    }

    // The demo's call is made by the sandbox's first active customer; a fixture without one
    // skips this step (and says so) instead of failing the run.
    let inbound_call = if data.customers.iter().any(|c| c.active) {
        progress("firing a completed inbound call at the call-webhook handler");
        Some(
            crate::demo_calls::fire_completed_call(
                store,
                &integration,
                &secrets,
                &platform,
                &cfg,
                &data,
            )
            .await?,
        )
    } else {
        progress("no completed inbound call: the sandbox data has no active customer to make one");
        None
    };
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
        for (m, s) in &out.by_model {
            if let Some(until) = s.lease_expires_by {
                println!(
                    "  the {m} sync was skipped: another run holds its lease (until {} at the latest)",
                    until.format("%Y-%m-%d %H:%M:%S UTC")
                );
            }
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
                "  (a backfill may write a job several times: each later feed of the same run, e.g. estimates, adds records its first build could not know)"
            );
        }
        println!();
        output::print_opportunities(&opportunities[..opportunities.len().min(5)]);
        println!();
        match &out.inbound_call {
            Some(call) => crate::demo_calls::print(call),
            None => println!("Inbound call: skipped (the sandbox data has no active customer)"),
        }
        println!();
        if !out.notes.events.is_empty() {
            out.notes.print();
            println!();
        }
        if !incremental {
            println!("Run it again: the second run is incremental and writes nothing.");
        }
        println!("Inspect the store:");
        println!("  cargo run --release -p stsync -- opportunities [--json]");
        println!("  cargo run --release -p stsync -- contacts [--json]");
        println!("  cargo run --release -p stsync -- status [--json]");
    }
    Ok(())
}

pub async fn run_sandbox(args: SandboxArgs) -> Result<()> {
    if args.fixture.is_none() {
        check_sizes(args.jobs, args.customers)?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct SandboxCli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[derive(Parser)]
    struct DemoCli {
        #[command(flatten)]
        args: DemoArgs,
    }

    #[test]
    fn generated_sizes_are_range_checked() {
        for flag in ["--jobs", "--customers"] {
            for too_big in ["18446744073709551615", "10000001"] {
                let err = SandboxCli::try_parse_from(["sandbox", flag, too_big])
                    .err()
                    .unwrap_or_else(|| panic!("{flag} {too_big} is refused"))
                    .to_string();
                assert!(err.contains(flag) && err.contains("10000000"), "{err}");
                assert!(DemoCli::try_parse_from(["demo", flag, too_big]).is_err());
            }
        }
        let ok = SandboxCli::try_parse_from(["sandbox", "--jobs", "10000000"]).unwrap();
        assert_eq!(ok.args.jobs, 10_000_000);
        assert!(SandboxCli::try_parse_from(["sandbox", "--jobs", "-1"]).is_err());
    }

    #[test]
    fn jobs_without_customers_are_refused() {
        let err = check_sizes(10, 0).unwrap_err().to_string();
        assert!(
            err.contains("--customers 0") && err.contains("--jobs 10"),
            "{err}"
        );
        check_sizes(0, 0).expect("an empty tenant is fine");
        check_sizes(10, 1).expect("one customer is enough");
    }

    fn state(jobs: usize, fixture: Option<FixtureId>) -> DemoState {
        DemoState {
            seed: 42,
            jobs,
            customers: 40,
            fixture,
            now: Utc::now(),
        }
    }

    #[test]
    fn a_fixture_is_the_same_file_with_the_same_content() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fixture.json");
        std::fs::write(&file, r#"{"jobs":[]}"#).unwrap();
        let a = FixtureId::of(&file).unwrap();
        let b = FixtureId::of(&dir.path().join(".").join("fixture.json")).unwrap();
        assert_eq!(a, b);
        assert!(state(1, Some(a.clone()))
            .changes(&state(2, Some(b)))
            .is_empty());
        std::fs::write(&file, r#"{"jobs":[] }"#).unwrap();
        let edited = FixtureId::of(&file).unwrap();
        assert_ne!(a, edited);
        let changes = state(1, Some(a.clone())).changes(&state(1, Some(edited)));
        assert_eq!(changes.len(), 1);
        assert!(changes[0].contains("changed"), "{changes:?}");
        let other = dir.path().join("other.json");
        std::fs::write(&other, r#"{"jobs":[]}"#).unwrap();
        let changes = state(1, Some(a)).changes(&state(1, Some(FixtureId::of(&other).unwrap())));
        assert!(changes[0].contains("other.json"), "{changes:?}");
        assert!(FixtureId::of(&dir.path().join("missing.json")).is_err());
    }

    #[test]
    fn the_pinned_tenant_is_kept_until_its_parameters_change() {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("secrets.json"), "{}").unwrap();

        // nothing pinned yet: reset (a no-op on an empty store), then pin
        let (first, reset) = prepare_state(data.path(), state(60, None), false).unwrap();
        assert!(reset.unwrap().contains("no pinned sandbox parameters"));
        save_state(data.path(), &first).unwrap();

        // same parameters: the pinned state (and its clock) is kept
        let mut later = state(60, None);
        later.now = first.now + chrono::Duration::hours(1);
        let (again, reset) = prepare_state(data.path(), later, false).unwrap();
        assert_eq!(reset, None);
        assert_eq!(again, first);

        // changed parameters: the new ones, and why the demo workspace is reset; nothing is
        // pinned before the caller saves (an interrupted reset is redone by the next run)
        let (changed, reset) = prepare_state(data.path(), state(61, None), false).unwrap();
        assert_eq!(changed.jobs, 61);
        assert!(reset.unwrap().contains("--jobs 60 → 61"));
        let (_, reset) = prepare_state(data.path(), state(61, None), false).unwrap();
        assert!(reset.is_some(), "still to be reset until saved");
        save_state(data.path(), &changed).unwrap();
        let pinned: DemoState =
            serde_json::from_str(&std::fs::read_to_string(data.path().join("demo.json")).unwrap())
                .unwrap();
        assert_eq!(pinned, changed);

        // --fresh and an unreadable file reset too; nothing else in the folder is touched
        let (_, reset) = prepare_state(data.path(), state(61, None), true).unwrap();
        assert_eq!(reset.as_deref(), Some("--fresh"));
        std::fs::write(data.path().join("demo.json"), "{").unwrap();
        let (_, reset) = prepare_state(data.path(), state(61, None), false).unwrap();
        assert!(reset.unwrap().contains("cannot be read"));
        assert_eq!(
            std::fs::read_to_string(data.path().join("secrets.json")).unwrap(),
            "{}"
        );
    }

    #[tokio::test]
    async fn a_demo_workspace_the_demo_did_not_make_is_left_alone() {
        let engine = store::embedded::EmbeddedDynamo::start_memory()
            .await
            .unwrap();
        let store = store::Store::new(engine.client().await, "stsync-demo-owner");
        store.ensure_table().await.unwrap();
        // none yet, then the demo's own: fine
        ensure_demo_owned(&store, "here").await.unwrap();
        let mut mine = demo_integration(&SandboxConfig::default(), Utc::now());
        store.put_integration(&mine).await.unwrap();
        ensure_demo_owned(&store, "here").await.unwrap();
        // a connected workspace that happens to be called `demo`: refused, nothing deleted
        mine.secret_id = "servicetitan-sync/integrations/demo".into();
        store.put_integration(&mine).await.unwrap();
        let err = ensure_demo_owned(&store, "table T").await.unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("in table T was not made by `stsync demo`")
                && message.contains("servicetitan-sync/integrations/demo"),
            "{message}"
        );
        assert!(store
            .get_integration(DEMO_WORKSPACE)
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn a_held_lease_is_reported_as_skipped() {
        let engine = store::embedded::EmbeddedDynamo::start_memory()
            .await
            .unwrap();
        let store = store::Store::new(engine.client().await, "stsync-demo-test");
        store.ensure_table().await.unwrap();
        let now = Utc::now();
        store
            .put_integration(&demo_integration(&SandboxConfig::default(), now))
            .await
            .unwrap();
        // an interrupted run left its lease behind
        let held = store
            .acquire_lease(
                DEMO_WORKSPACE,
                "sync:job",
                "interrupted-run",
                now,
                sync::runner::LEASE_DURATION,
            )
            .await
            .unwrap()
            .expect("lease taken");
        let platform = Platform {
            app_key: SecretString::from("unused".to_owned()),
            endpoint_override: Some((
                "http://127.0.0.1:9".into(),
                "http://127.0.0.1:9/token".into(),
            )),
            requests_per_second: 20,
        };
        let secrets = StaticSecrets::default();
        let outcome = sync_demo_model(&store, &secrets, &platform, Model::Job, "rerun")
            .await
            .unwrap();
        let DemoSync::Skipped(until) = outcome else {
            panic!("skipped expected, got {outcome:?}");
        };
        assert!(until >= held.expires_at, "{until} < {}", held.expires_at);
        let warning = skipped_warning(Model::Job, until);
        assert!(
            warning.starts_with("warning: job sync skipped: another run holds the lease until")
                && warning.contains(" UTC at the latest")
                && warning.contains("--fresh"),
            "{warning}"
        );
        let summary = ModelSummary {
            opportunities: 0,
            opportunities_written: 0,
            opportunities_unchanged: 0,
            api_calls: 0,
            store_writes: 0,
            bad_records: 0,
            skipped: true,
            lease_expires_by: Some(until),
        };
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["skipped"], true);
        assert!(json["lease_expires_by"].is_string());
        engine.shutdown().await;
    }
}
