//! `stsync sync` (SPEC.md §9): run the poll Lambdas' sync for one connected workspace, now, from
//! a terminal or a script. The same library call the `poll-jobs` / `poll-memberships` functions
//! make for a continuation (`sync::runner::run_continuation`): the integration's lease, its
//! secrets, its watermarks. Nothing here decides what is synced.

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use opportunity::{IntegrationStatus, Model};
use sync::runner::{run_continuation, Platform, Run, RunSummary, Shard, LEASE_DURATION};
use sync::{is_polled, SyncOptions};

use crate::connect::{app_key, PlatformArgs, SecretsBackend};

/// `stsync sync` options.
#[derive(clap::Args)]
pub struct SyncArgs {
    /// Workspace id of a connected integration (`stsync connect`).
    #[arg(long, env = "STSYNC_WORKSPACE")]
    workspace: String,
    /// Only this model (`job` or `membership`), repeatable; default: every polled model the
    /// integration has enabled.
    #[arg(long = "model", value_parser = parse_polled_model)]
    models: Vec<Model>,
    #[command(flatten)]
    platform: PlatformArgs,
    /// Requests per second to ServiceTitan for this tenant (SPEC.md §3; ServiceTitan allows 60
    /// per app and tenant).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=60))]
    requests_per_second: u32,
    /// Print JSON (`{"job": <run summary>, "membership": …}`) instead of text.
    #[arg(long)]
    json: bool,
}

/// `--model` values: the polled models only (inbound calls arrive through the webhook).
fn parse_polled_model(s: &str) -> Result<Model, String> {
    let model: Model = s.parse()?;
    if !is_polled(model) {
        return Err(format!(
            "`{model}` is not polled (inbound calls arrive through the webhook); use job or membership"
        ));
    }
    Ok(model)
}

/// Run the sync of `args.workspace` for each selected model, one after the other, and print
/// what each did. Fails (non-zero exit) when the integration is missing or not active, a
/// selected model is not enabled, a model's sync failed, or another run holds its lease.
pub async fn run_sync(
    data_dir: &Path,
    endpoint: Option<&str>,
    table: &str,
    args: SyncArgs,
) -> Result<()> {
    let open = crate::open_existing_store(data_dir, endpoint, table).await?;
    let result = sync_with(&open.store, data_dir, endpoint, &args).await;
    open.close().await;
    let summaries = result?;

    if args.json {
        let object: serde_json::Map<String, serde_json::Value> = summaries
            .iter()
            .map(|(m, s)| Ok((m.to_string(), serde_json::to_value(s)?)))
            .collect::<Result<_, serde_json::Error>>()?;
        println!("{}", serde_json::to_string_pretty(&object)?);
    }
    let mut problems = Vec::new();
    for (model, summary) in &summaries {
        for o in &summary.outcomes {
            if o.skipped {
                problems.push(format!(
                    "{model}: skipped: another run holds the sync lease of workspace `{}` (a sync \
                     is running, or one was interrupted: its lease expires at most {} minutes \
                     after it started); try again later",
                    o.workspace_id,
                    LEASE_DURATION.num_minutes()
                ));
            } else if let Some(e) = &o.error {
                let again = if o.retryable {
                    " (may go away by itself: try again)"
                } else {
                    ""
                };
                problems.push(format!("{model}: the sync failed: {e}{again}"));
            } else if let (Some(r), false) = (&o.report, args.json) {
                println!(
                    "{model}: {} pages, {} records read; opportunities {} written, {} unchanged, \
                     {} refused (older than stored); {} contacts created; {} bad records; {} \
                     ServiceTitan calls ({} throttled); {} store writes; {}",
                    r.pages,
                    r.records_read,
                    r.opportunities_written,
                    r.opportunities_unchanged,
                    r.opportunities_refused,
                    r.contacts_created,
                    r.bad_records,
                    r.api_calls,
                    r.throttled,
                    r.store_writes,
                    if !r.backfill_done {
                        "backfill not finished: run again to continue"
                    } else if r.caught_up {
                        "caught up"
                    } else {
                        "more changes waiting: run again"
                    }
                );
                for sample in &r.bad_record_samples {
                    println!("  bad record: {sample}");
                }
                if r.missing_bases > 0 {
                    println!(
                        "  {} {model}s named by related rows or changed customers are not returned by ServiceTitan (deleted or inactive): skipped",
                        r.missing_bases
                    );
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(())
}

async fn sync_with(
    store: &store::Store,
    data_dir: &Path,
    endpoint: Option<&str>,
    args: &SyncArgs,
) -> Result<Vec<(Model, RunSummary)>> {
    let ws = args.workspace.as_str();
    let integration = store
        .get_integration(ws)
        .await?
        .with_context(|| format!("no integration for workspace `{ws}`: connect it first (stsync connect --workspace {ws})"))?;
    if integration.status != IntegrationStatus::Active {
        bail!(
            "workspace `{ws}` is {:?}, not active: `stsync connect --workspace {ws}` resumes it",
            integration.status
        );
    }
    let enabled: Vec<Model> = integration
        .models
        .iter()
        .copied()
        .filter(|m| is_polled(*m))
        .collect();
    let models = if args.models.is_empty() {
        enabled.clone()
    } else {
        for m in &args.models {
            if !enabled.contains(m) {
                bail!(
                    "workspace `{ws}` does not sync the {m} model (enabled: {}); `stsync config set --workspace {ws} models=…` changes that",
                    integration
                        .models
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        // Each model once, in the order given (`--model job --model job` syncs once).
        let mut once = Vec::new();
        for m in &args.models {
            if !once.contains(m) {
                once.push(*m);
            }
        }
        once
    };
    if models.is_empty() {
        bail!("workspace `{ws}` has no polled model enabled (job or membership)");
    }

    let secrets = SecretsBackend::open(data_dir, endpoint).await?;
    let platform = Platform {
        app_key: app_key(args.platform.app_key.clone(), &secrets).await?,
        endpoint_override: args
            .platform
            .st_api_url
            .clone()
            .zip(args.platform.st_token_url.clone()),
        requests_per_second: args.requests_per_second,
    };
    let owner = format!(
        "stsync-sync-{}-{}",
        std::process::id(),
        Utc::now().timestamp_millis()
    );
    let mut out = Vec::new();
    for model in models {
        if !args.json {
            eprintln!("· syncing {model}s of workspace `{ws}` (same engine as the poll Lambdas)");
        }
        let run = Run {
            model,
            shard: Shard::default(),
            owner: &owner,
            now: Utc::now(),
        };
        let summary = run_continuation(
            store,
            &secrets,
            &platform,
            &run,
            ws,
            &SyncOptions::default(),
        )
        .await
        .with_context(|| format!("the {model} sync of workspace `{ws}`"))?;
        out.push((model, summary));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_polled_models_are_accepted() {
        assert_eq!(parse_polled_model("job"), Ok(Model::Job));
        assert_eq!(parse_polled_model("membership"), Ok(Model::Membership));
        let err = parse_polled_model("inbound_call").unwrap_err();
        assert!(err.contains("webhook"), "{err}");
        assert!(parse_polled_model("jobs").is_err());
    }
}
