//! `stsync lambda-seed`: prepare what the four Lambdas need under `cargo lambda watch` on this
//! machine (README "Local Lambda workflow", `scripts/lambda-local.sh setup`).
//!
//! It writes the ServiceTitan sandbox's data (generated records plus the records the sample
//! events in `events/` name: customer 3301457 of the sample call, job 61234567 of the sample
//! note), creates the table in the DynamoDB endpoint of the standard AWS configuration (a moto
//! server through `AWS_ENDPOINT_URL`), registers the two sample workspaces (`acme-hvac` for the
//! call webhook, `ws-acme` for the note pusher; both are polled), stores their secrets and the
//! platform app key in Secrets Manager, and writes the functions' environment file.
//!
//! It refuses to run unless `AWS_ENDPOINT_URL` is a loopback address: the secrets it stores are
//! the sandbox's and the documented test signing key, never for a real account. What does not
//! belong here: serving the sandbox (`stsync sandbox --fixture`), the functions themselves.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use serde_json::{json, Value};
use st_sandbox::{Dataset, SandboxConfig};
use store::Store;

/// The documented test signing key of the sample webhook events (events/README.md).
pub const TEST_SIGNING_KEY: &str = "stsync-test-signing-key-0123456789abcdef";
/// The call-webhook samples' workspace.
pub const WEBHOOK_WORKSPACE: &str = "acme-hvac";
/// The note-pusher samples' workspace.
pub const NOTES_WORKSPACE: &str = "ws-acme";
/// The platform app key's secret id (as in infra/template.yaml's default).
pub const APP_KEY_SECRET_ID: &str = "servicetitan-sync/app-key";
/// The customer of the sample call (`events/call-webhook.valid.json`).
const SAMPLE_CUSTOMER: i64 = 3_301_457;
/// The job the sample campaign text names (`events/note-pusher.campaign-sms.json`).
const SAMPLE_JOB: i64 = 61_234_567;

/// Arguments of `stsync lambda-seed`.
#[derive(clap::Args)]
pub struct LambdaSeedArgs {
    /// Where the sandbox will listen (`stsync sandbox --listen`), as a base URL.
    #[arg(long, default_value = "http://127.0.0.1:8085")]
    sandbox_url: String,
    /// Write the sandbox's records here (serve them with `stsync sandbox --fixture FILE`).
    #[arg(long, value_name = "FILE")]
    fixture_out: PathBuf,
    /// Write the functions' environment here (`cargo lambda watch --env-file FILE`).
    #[arg(long, value_name = "FILE")]
    env_out: PathBuf,
    /// Jobs to generate.
    #[arg(long, default_value_t = 120)]
    jobs: usize,
    /// Customers to generate.
    #[arg(long, default_value_t = 60)]
    customers: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// `stsync lambda-seed` (see the module docs).
pub async fn run(table: &str, args: LambdaSeedArgs) -> Result<()> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if !is_loopback_url(&endpoint) {
        bail!(
            "AWS_ENDPOINT_URL must point at a local server (http://127.0.0.1:PORT, a moto server); got `{endpoint}`"
        );
    }
    let sandbox_url = args.sandbox_url.trim_end_matches('/').to_owned();
    let cfg = SandboxConfig {
        seed: args.seed,
        jobs: args.jobs,
        customers: args.customers,
        ..SandboxConfig::default()
    };
    let fixture = sample_fixture(&cfg)?;
    write(&args.fixture_out, &serde_json::to_string(&fixture)?)?;

    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table);
    store
        .ensure_table()
        .await
        .with_context(|| format!("creating table `{table}` at {endpoint}"))?;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    put_secret(&secrets, APP_KEY_SECRET_ID, &cfg.app_key).await?;
    let now = Utc::now();
    for (workspace, models) in [
        (
            WEBHOOK_WORKSPACE,
            json!(["job", "membership", "inbound_call"]),
        ),
        (NOTES_WORKSPACE, json!(["job"])),
    ] {
        let secret_id = format!("servicetitan-sync/integrations/{workspace}");
        put_secret(
            &secrets,
            &secret_id,
            &json!({"clientSecret": cfg.client_secret, "webhookSigningKey": TEST_SIGNING_KEY})
                .to_string(),
        )
        .await?;
        let integration: opportunity::Integration = serde_json::from_value(json!({
            "workspaceId": workspace,
            "environment": "integration",
            "tenantId": cfg.tenant_id,
            "clientId": cfg.client_id,
            "secretId": secret_id,
            "models": models,
            "status": "active",
            "activatedAt": now,
            // every schedule is due (sync::runner::poll_slot): invoke-all polls back to back
            "pollIntervalMinutes": 1,
        }))
        .context("building the sample integration")?;
        let integration = opportunity::Integration {
            push: crate::demo_notes::demo_push_settings(),
            ..integration
        };
        store
            .put_integration(&integration)
            .await
            .with_context(|| format!("registering workspace `{workspace}`"))?;
    }

    let get = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let env = format!(
        "# Written by `stsync lambda-seed` (scripts/lambda-local.sh setup): the environment of the\n\
         # four functions under `cargo lambda watch --env-file`. Local servers and test values only.\n\
         AWS_ENDPOINT_URL={endpoint}\n\
         AWS_REGION={region}\n\
         AWS_DEFAULT_REGION={region}\n\
         AWS_ACCESS_KEY_ID={key}\n\
         AWS_SECRET_ACCESS_KEY={secret}\n\
         TABLE_NAME={table}\n\
         ST_APP_KEY_SECRET_ID={APP_KEY_SECRET_ID}\n\
         ST_API_BASE_URL={sandbox_url}\n\
         ST_TOKEN_URL={sandbox_url}/connect/token\n\
         RUST_LOG=info\n",
        region = get("AWS_REGION", "us-east-1"),
        key = get("AWS_ACCESS_KEY_ID", "test"),
        secret = get("AWS_SECRET_ACCESS_KEY", "test"),
    );
    write(&args.env_out, &env)?;
    println!(
        "seeded {endpoint}: table `{table}`, workspaces `{WEBHOOK_WORKSPACE}` (job, membership, inbound_call) and `{NOTES_WORKSPACE}` (job), their secrets and `{APP_KEY_SECRET_ID}`"
    );
    println!(
        "wrote {} ({} jobs) and {}",
        args.fixture_out.display(),
        fixture["jobs"].as_array().map_or(0, Vec::len),
        args.env_out.display()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `http://127.0.0.1:…`, `http://localhost:…` or `http://[::1]:…`.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    ["127.0.0.1", "localhost", "[::1]"].iter().any(|host| {
        rest == *host
            || rest.starts_with(&format!("{host}:"))
            || rest.starts_with(&format!("{host}/"))
    })
}

/// Create the secret, or give it a new current value when it exists.
async fn put_secret(client: &aws_sdk_secretsmanager::Client, id: &str, value: &str) -> Result<()> {
    let created = client
        .create_secret()
        .name(id)
        .secret_string(value)
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_exists_exception()) =>
        {
            client
                .put_secret_value()
                .secret_id(id)
                .secret_string(value)
                .send()
                .await
                .with_context(|| format!("updating secret `{id}`"))?;
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("creating secret `{id}`"))),
    }
}

/// The generated records plus those the sample events name: customer 3301457 (Avery Testwell,
/// with an e-mail and a mobile number) and job 61234567 (a copy of the most recently modified
/// generated job, without appointments or invoice, at the same customer and location).
///
/// Errors: the ids are taken, or the result is not a valid fixture.
fn sample_fixture(cfg: &SandboxConfig) -> Result<Value> {
    let mut doc = Dataset::generate(cfg).to_fixture_json();
    let max_id = |doc: &Value, key: &str| {
        doc[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_i64())
            .max()
            .unwrap_or(0)
    };
    let taken = |doc: &Value, key: &str, id: i64| {
        doc[key]
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["id"].as_i64() == Some(id)))
    };
    if taken(&doc, "customers", SAMPLE_CUSTOMER) || taken(&doc, "jobs", SAMPLE_JOB) {
        bail!("the generated data already uses customer {SAMPLE_CUSTOMER} or job {SAMPLE_JOB}; generate fewer records");
    }

    let mut customer = doc["customers"][0].clone();
    customer["id"] = json!(SAMPLE_CUSTOMER);
    customer["name"] = json!("Avery Testwell");
    let contact_id = max_id(&doc, "contacts");
    let mut contacts = Vec::new();
    for (offset, kind, value, phone) in [
        (1, "Email", "Avery.Testwell@Example.com", ""),
        (2, "MobilePhone", "(217) 555-0142", "2175550142"),
    ] {
        let mut c = doc["contacts"][0].clone();
        c["id"] = json!(contact_id + offset);
        c["customerId"] = json!(SAMPLE_CUSTOMER);
        c["type"] = json!(kind);
        c["value"] = json!(value);
        c["phoneSettings"] = json!({"doNotText": false, "phoneNumber": phone});
        contacts.push(c);
    }

    let newest = doc["jobs"]
        .as_array()
        .and_then(|jobs| {
            jobs.iter()
                .max_by(|a, b| a["modifiedOn"].as_str().cmp(&b["modifiedOn"].as_str()))
        })
        .cloned()
        .context("the generated data has no job")?;
    let mut job = newest;
    job["id"] = json!(SAMPLE_JOB);
    job["jobNumber"] = json!(SAMPLE_JOB.to_string());
    for field in [
        "firstAppointmentId",
        "lastAppointmentId",
        "invoiceId",
        "leadCallId",
        "membershipId",
        "recallForId",
    ] {
        job[field] = Value::Null;
    }
    job["appointmentCount"] = json!(0);

    let push = |doc: &mut Value, key: &str, records: Vec<Value>| {
        if let Some(list) = doc[key].as_array_mut() {
            list.extend(records);
        }
    };
    push(&mut doc, "customers", vec![customer]);
    push(&mut doc, "contacts", contacts);
    push(&mut doc, "jobs", vec![job]);
    Dataset::from_fixture_json(&doc.to_string()).context("the sample fixture")?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_holds_the_sample_events_records() {
        let cfg = SandboxConfig {
            jobs: 20,
            customers: 8,
            ..SandboxConfig::default()
        };
        let doc = sample_fixture(&cfg).unwrap();
        let data = Dataset::from_fixture_json(&doc.to_string()).unwrap();
        assert!(data.jobs.iter().any(|j| j.id == SAMPLE_JOB));
        assert!(data.customers.iter().any(|c| c.id == SAMPLE_CUSTOMER));
        let theirs = data
            .contacts
            .iter()
            .filter(|c| c.customer_id == Some(SAMPLE_CUSTOMER))
            .count();
        assert_eq!(theirs, 2);
        let ids: std::collections::HashSet<i64> = data.contacts.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), data.contacts.len(), "contact ids stay unique");
    }

    #[test]
    fn only_loopback_endpoints_are_seeded() {
        for ok in [
            "http://127.0.0.1:5000",
            "http://localhost:4566/",
            "http://[::1]:5000",
        ] {
            assert!(is_loopback_url(ok), "{ok}");
        }
        for bad in [
            "",
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://127.0.0.1.evil.example:5000",
            "http://10.0.0.5:5000",
        ] {
            assert!(!is_loopback_url(bad), "{bad}");
        }
    }
}
