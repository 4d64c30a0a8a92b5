//! `sync::lambda::init_logging`'s panic hook: a panic becomes one JSON `error` line on stdout
//! (the Lambda bootstraps abort on panic, so this line is what CloudWatch keeps of it).
//!
//! The logging setup is process-global (a global subscriber, the panic hook), so the test runs
//! itself again as a child process that sets it up and panics; the parent reads the child's
//! stdout.
#![cfg(feature = "lambda")]

use std::process::Command;

const CHILD: &str = "STSYNC_PANIC_LOG_CHILD";

#[test]
fn a_panic_is_logged_as_one_json_error_line() {
    if std::env::var_os(CHILD).is_some() {
        sync::lambda::init_logging();
        let caught = std::panic::catch_unwind(|| panic!("record {} broke the mapping", 42));
        assert!(caught.is_err());
        return;
    }
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "a_panic_is_logged_as_one_json_error_line",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("RUST_LOG", "info")
        .output()
        .expect("the child test runs");
    assert!(out.status.success(), "child failed: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        // libtest prints `test <name> ... ` on the same line before the test's own output
        .filter_map(|l| l.find('{').and_then(|i| serde_json::from_str(&l[i..]).ok()))
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "panicked")
        .collect();
    assert_eq!(lines.len(), 1, "one panic line in {stdout}");
    let line = &lines[0];
    assert_eq!(line["level"], "ERROR");
    let panic = line["fields"]["panic"].as_str().expect("a panic field");
    assert!(
        panic.contains("record 42 broke the mapping"),
        "message in {panic}"
    );
    assert!(panic.contains("panic_log.rs"), "location in {panic}");
    // The standard hook still runs after it (its text goes to stderr).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("record 42 broke the mapping"),
        "standard hook output in {stderr}"
    );
}
