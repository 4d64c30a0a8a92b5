//! Logs never carry secrets, tokens, e-mails, phone numbers or message content (SPEC.md §9).
//!
//! Runs the whole `stsync demo` (job and membership syncs, the call webhook with a forged
//! delivery, the note pusher) over a fixture whose personal data the test knows, with every
//! project crate logging at TRACE, twice (backfill, then incremental), and scans everything
//! logged (stderr) for those values. stdout is not scanned: the demo's tables show the operator
//! their own data on purpose.

use std::collections::BTreeSet;
use std::process::Command;

use st_sandbox::{Dataset, SandboxConfig};

/// The digits of a phone-ish value, when it has enough of them to be a phone number.
fn digits(v: &str) -> Option<String> {
    let d: String = v.chars().filter(char::is_ascii_digit).collect();
    (d.len() >= 10).then_some(d)
}

#[test]
fn a_full_demo_logs_no_secret_or_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SandboxConfig {
        jobs: 150,
        customers: 60,
        seed: 5,
        ..SandboxConfig::default()
    };
    let data = Dataset::generate(&cfg);
    let fixture = dir.path().join("fixture.json");
    std::fs::write(&fixture, data.to_fixture_json().to_string()).unwrap();

    let mut forbidden: BTreeSet<String> = BTreeSet::new();
    for c in &data.contacts {
        let value = c.value.trim();
        if value.contains('@') && value.len() > 5 {
            forbidden.insert(value.to_lowercase());
        } else if let Some(d) = digits(value) {
            // The national number (last 10 digits) catches raw, formatted-away and E.164 forms.
            forbidden.insert(d[d.len() - 10..].to_owned());
        }
    }
    assert!(
        forbidden.len() > 50,
        "the fixture has personal data to look for"
    );
    let secrets = [
        cfg.client_secret.as_str(),
        cfg.app_key.as_str(),
        "demo-webhook-signing-key-0123456789abcdef",
        "Bearer ",
        "Your yearly tune-up is due",
    ];

    let mut logs = String::new();
    for run in 1..=2 {
        let out = Command::new(env!("CARGO_BIN_EXE_stsync"))
            .args(["--data-dir"])
            .arg(dir.path().join("data"))
            .args(["demo", "--json", "--fixture"])
            .arg(&fixture)
            .env(
                "STSYNC_LOG",
                "trace,dynoxide=warn,hyper=warn,hyper_util=warn,reqwest=warn,h2=warn,aws=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,aws_config=warn,tower=warn,st_sandbox=warn",
            )
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("stsync runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "run {run} failed: {stderr}");
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(summary["opportunities"].as_u64().unwrap() > 0);
        logs.push_str(&stderr);
    }
    assert!(
        logs.lines().count() > 100,
        "TRACE logging produced lines to scan"
    );
    let lowered = logs.to_lowercase();
    let mut leaks: Vec<&str> = forbidden
        .iter()
        .filter(|v| lowered.contains(v.as_str()))
        .map(String::as_str)
        .collect();
    leaks.extend(secrets.iter().filter(|s| logs.contains(*s)));
    assert!(leaks.is_empty(), "logged: {leaks:?}");
}
