//! What the CLI tests share: running the `stsync` binary against one test's data folder and
//! sandbox, with nothing taken from the developer's environment (AWS endpoints, store and
//! secrets choices, workspace).

use std::path::Path;
use std::process::{Command, Output};

use st_sandbox::{RunningSandbox, SandboxConfig};

/// `stsync <args>` with the data folder `<dir>/.stsync` (embedded store, secrets file), the
/// sandbox's API and token URLs and the sandbox's app key; waits for it and returns its output.
pub fn stsync(dir: &Path, sandbox: &RunningSandbox, args: &[&str]) -> Output {
    run(dir, sandbox, args, None)
}

/// `stsync connect --workspace <workspace>` to the sandbox of `cfg` with `secret` as the client
/// secret (`ST_CLIENT_SECRET`), without prompts.
pub fn connect(
    dir: &Path,
    sandbox: &RunningSandbox,
    cfg: &SandboxConfig,
    workspace: &str,
    secret: &str,
) -> Output {
    let tenant = cfg.tenant_id.to_string();
    let args = [
        "connect",
        "--workspace",
        workspace,
        "--environment",
        "integration",
        "--tenant-id",
        &tenant,
        "--client-id",
        &cfg.client_id,
        "--no-input",
    ];
    run(dir, sandbox, &args, Some(secret))
}

/// stdout then stderr, as text (for assertions on either).
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run(dir: &Path, sandbox: &RunningSandbox, args: &[&str], secret: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stsync"));
    c.args(args)
        .env("STSYNC_DATA_DIR", dir.join(".stsync"))
        .env("STSYNC_ST_API_URL", sandbox.base_url())
        .env("STSYNC_ST_TOKEN_URL", sandbox.token_url())
        .env("ST_APP_KEY", "ak1.sandbox")
        .env_remove("ST_CLIENT_SECRET")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        .env_remove("STSYNC_STORE")
        .env_remove("STSYNC_SECRETS")
        .env_remove("STSYNC_DYNAMODB_ENDPOINT")
        .env_remove("STSYNC_WORKSPACE");
    if let Some(secret) = secret {
        c.env("ST_CLIENT_SECRET", secret);
    }
    c.output().expect("stsync runs")
}
