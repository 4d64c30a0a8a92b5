//! `stsync connect`, `config set`, `config show`, `scopes` and `disconnect` through the binary,
//! against an in-process sandbox and the embedded store (secrets in the 0600 file).

use st_sandbox::{Dataset, Sandbox, SandboxConfig};

mod common;
use common::{stsync, text};

const SECRET: &str = "cs1.cli-test-S3CRET-a81f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_then_config_set_reports_every_problem_and_writes_nothing() {
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
    let connect = |secret: &str| common::connect(dir.path(), &sandbox, &cfg, "acme", secret);

    let wrong = connect("cs1.wrong");
    assert!(!wrong.status.success());
    assert!(
        text(&wrong).contains("Generate next to Client Secret"),
        "{}",
        text(&wrong)
    );

    let ok = connect(SECRET);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("connected workspace `acme`"),
        "{}",
        text(&ok)
    );

    let bad = stsync(
        dir.path(),
        &sandbox,
        &[
            "config",
            "set",
            "--workspace",
            "acme",
            "pollIntervalMinutes=0",
            "models=membership",
            "push.incoming.destination=job",
            "resources.membership=zones",
            "clientId=other",
        ],
    );
    assert!(!bad.status.success());
    let out = text(&bad);
    for needle in [
        "pollIntervalMinutes: 0 is outside 1 to 60 minutes",
        "push.incoming.destination: `job` needs the job model",
        "resources.membership: `zones` is not a resource of the membership model",
        "clientId: is a credential setting",
    ] {
        assert!(out.contains(needle), "{needle} missing from {out}");
    }

    let show = stsync(
        dir.path(),
        &sandbox,
        &["config", "show", "--workspace", "acme", "--json"],
    );
    assert!(show.status.success(), "{}", text(&show));
    let doc: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(doc["pollIntervalMinutes"], 15, "nothing was written");
    assert_eq!(doc["models"], serde_json::json!(["job"]));
    assert_eq!(doc["clientSecret"], "******** (stored)");
    assert!(!text(&show).contains(SECRET));

    let good = stsync(
        dir.path(),
        &sandbox,
        &[
            "config",
            "set",
            "--workspace",
            "acme",
            "pollIntervalMinutes=5",
            "resources.job=estimates,invoices",
        ],
    );
    assert!(good.status.success(), "{}", text(&good));
    let show = stsync(
        dir.path(),
        &sandbox,
        &["config", "show", "--workspace", "acme", "--json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(doc["pollIntervalMinutes"], 5);

    let scopes = stsync(dir.path(), &sandbox, &["scopes", "--workspace", "acme"]);
    let out = text(&scopes);
    assert!(out.contains("tn.acc.invoices:r"), "{out}");
    assert!(!out.contains("tn.jpm.appointments:r"), "{out}");

    let off = stsync(dir.path(), &sandbox, &["disconnect", "--workspace", "acme"]);
    assert!(off.status.success(), "{}", text(&off));
    let show = stsync(
        dir.path(),
        &sandbox,
        &["config", "show", "--workspace", "acme", "--json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(doc["status"], "disconnected");
    sandbox.shutdown().await;
}
