//! `stsync sync` through the binary: a workspace connected with `stsync connect` against an
//! in-process sandbox is backfilled, then polled with nothing new; the errors name the workspace
//! and the way out.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use st_sandbox::{Dataset, Sandbox, SandboxConfig};

mod common;
use common::{stsync, text};

const SECRET: &str = "cs1.sync-cli-S3CRET-77c2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_backfills_a_connected_workspace_then_polls_idle() {
    let cfg = SandboxConfig {
        jobs: 40,
        customers: 20,
        client_secret: SECRET.into(),
        ..SandboxConfig::default()
    };
    let data = Dataset::generate(&cfg);
    let expected: BTreeSet<String> = data
        .jobs_in_window((Utc::now() - Duration::days(90)).date_naive())
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    assert!(
        !expected.is_empty(),
        "the generated tenant has jobs to sync"
    );
    let sandbox = Sandbox::start(cfg.clone(), data, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Commands on a stored workspace need the store: none there, they say so and create nothing.
    for command in ["sync", "scopes"] {
        let none = stsync(dir.path(), &sandbox, &[command, "--workspace", "acme"]);
        assert!(!none.status.success(), "{command}");
        assert!(
            text(&none).contains("no store at"),
            "{command}: {}",
            text(&none)
        );
        assert!(
            !dir.path().join(".stsync").exists(),
            "{command} created the data folder"
        );
    }

    let connected = common::connect(dir.path(), &sandbox, &cfg, "acme", SECRET);
    assert!(connected.status.success(), "{}", text(&connected));

    let other = stsync(dir.path(), &sandbox, &["sync", "--workspace", "other"]);
    assert!(!other.status.success());
    assert!(
        text(&other).contains("no integration for workspace `other`"),
        "{}",
        text(&other)
    );

    let first = stsync(
        dir.path(),
        &sandbox,
        &["sync", "--workspace", "acme", "--json"],
    );
    assert!(first.status.success(), "{}", text(&first));
    let doc: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let job = &doc["job"]["outcomes"][0]["report"];
    assert_eq!(doc["job"]["succeeded"], 1, "{doc}");
    assert!(doc.get("membership").is_none(), "not enabled: {doc}");
    // A backfill may write a job more than once (once per feed that touches it).
    assert!(
        job["opportunitiesWritten"].as_u64().unwrap() >= expected.len() as u64,
        "{doc}"
    );
    assert_eq!(job["backfillDone"], true, "{doc}");

    let listed = stsync(
        dir.path(),
        &sandbox,
        &["opportunities", "--workspace", "acme", "--json"],
    );
    assert!(listed.status.success(), "{}", text(&listed));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let stored: BTreeSet<String> = list
        .iter()
        .map(|o| o["externalId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, expected);

    let again = stsync(dir.path(), &sandbox, &["sync", "--workspace", "acme"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("opportunities 0 written"),
        "{}",
        text(&again)
    );

    let membership = stsync(
        dir.path(),
        &sandbox,
        &["sync", "--workspace", "acme", "--model", "membership"],
    );
    assert!(!membership.status.success());
    assert!(
        text(&membership).contains("does not sync the membership model (enabled: job)"),
        "{}",
        text(&membership)
    );

    let off = stsync(dir.path(), &sandbox, &["disconnect", "--workspace", "acme"]);
    assert!(off.status.success(), "{}", text(&off));
    let stopped = stsync(dir.path(), &sandbox, &["sync", "--workspace", "acme"]);
    assert!(!stopped.status.success());
    assert!(text(&stopped).contains("not active"), "{}", text(&stopped));
    sandbox.shutdown().await;
}

/// The demo resets only its own workspace when its parameters change: a workspace connected in
/// the same data folder, and its secret, are kept (a reset used to delete the whole folder).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_reset_keeps_other_workspaces() {
    let cfg = SandboxConfig {
        jobs: 20,
        customers: 10,
        client_secret: SECRET.into(),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(
        cfg.clone(),
        Dataset::generate(&cfg),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let demo = |jobs: &str, extra: &[&str]| {
        let mut args = vec!["demo", "--json", "--jobs", jobs, "--customers", "12"];
        args.extend_from_slice(extra);
        stsync(dir.path(), &sandbox, &args)
    };

    let first = demo("30", &[]);
    assert!(first.status.success(), "{}", text(&first));
    let connected = common::connect(dir.path(), &sandbox, &cfg, "acme", SECRET);
    assert!(connected.status.success(), "{}", text(&connected));

    let reserved = common::connect(dir.path(), &sandbox, &cfg, "demo", SECRET);
    assert!(!reserved.status.success());
    assert!(
        text(&reserved).contains("reserved for `stsync demo`"),
        "{}",
        text(&reserved)
    );

    let changed = demo("31", &[]);
    assert!(changed.status.success(), "{}", text(&changed));
    assert!(
        text(&changed).contains("--jobs 30 → 31: reset the demo workspace `demo`"),
        "{}",
        text(&changed)
    );
    let doc: serde_json::Value = serde_json::from_slice(&changed.stdout).unwrap();
    assert_eq!(doc["incremental"], false, "a fresh backfill: {doc}");
    assert_eq!(doc["sandbox_jobs"], 31, "{doc}");

    let show = stsync(
        dir.path(),
        &sandbox,
        &["config", "show", "--workspace", "acme", "--json"],
    );
    assert!(show.status.success(), "{}", text(&show));
    let acme: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(acme["status"], "active");
    assert_eq!(acme["clientSecret"], "******** (stored)");

    // A fixture without customers: the syncs run, the call step is skipped, not failed.
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let no_call = demo("31", &["--fixture", empty.to_str().unwrap()]);
    assert!(no_call.status.success(), "{}", text(&no_call));
    let doc: serde_json::Value = serde_json::from_slice(&no_call.stdout).unwrap();
    assert_eq!(doc["inbound_call"], serde_json::Value::Null, "{doc}");
    assert_eq!(doc["opportunities"], 0, "{doc}");
    sandbox.shutdown().await;
}
