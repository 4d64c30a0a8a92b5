//! Connecting an integration as a new user would (issue 7): invalid settings, a wrong client
//! secret, the wrong environment, a tenant not connected to the app, an app version missing
//! scopes, then the right credentials; each failure says what to do and writes nothing. Then the
//! scheduled sync runs and opportunities appear. Every stored item and every captured log line is
//! scanned for the secret values. Runs on dynoxide with in-memory secrets, and on the moto server
//! (DynamoDB and Secrets Manager) when `AWS_ENDPOINT_URL` is set.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use e2e::{store_on, Engine};
use opportunity::{Environment, Integration, IntegrationStatus, Model, Resource};
use secrecy::{ExposeSecret, SecretString};
use secrets::{
    integration_secret_id, parse_integration_secret, SecretSink, SecretSource, SecretsManager,
    StaticSecrets,
};
use st_sandbox::{Dataset, RunningSandbox, Sandbox, SandboxConfig, DEFAULT_GRANTED_SCOPES};
use sync::activate::{
    activate, configure, disconnect, ActivateError, ActivationPlatform, Credentials,
    EnvironmentHosts, Hosts,
};
use sync::runner::{run_scheduled, Platform, Run, Shard};
use sync::SyncOptions;

/// Distinctive values, so a scan finds them anywhere they leak.
const CLIENT_SECRET: &str = "cs1.e2e-connect-S3CRET-7f2c91d04b";
const WRONG_SECRET: &str = "cs1.e2e-connect-WR0NG-0c8e55a1f3";
const PROD_SECRET: &str = "cs1.e2e-connect-PR0D-93b1d7e6aa";
const SIGNING_KEY: &str = "whk-e2e-connect-SIGNING-4d9e0b7c1a2f3e4d5c6b7a8f";
const APP_KEY: &str = "ak1.e2e-connect-appkey-55aa";

/// Log lines of the whole test binary (TRACE), captured once.
fn log_buffer() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let writer = {
                let buffer = buffer.clone();
                move || BufferWriter(buffer.clone())
            };
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
                .with_writer(writer)
                .with_ansi(false)
                .init();
            buffer
        })
        .clone()
}

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn sandbox_config(now: DateTime<Utc>) -> SandboxConfig {
    SandboxConfig {
        seed: 11,
        jobs: 120,
        customers: 60,
        now,
        rate_limit_per_sec: None,
        app_key: APP_KEY.into(),
        client_id: "cid.e2e-integration".into(),
        client_secret: CLIENT_SECRET.into(),
        ..SandboxConfig::default()
    }
}

async fn start(cfg: &SandboxConfig, data: &Dataset) -> RunningSandbox {
    Sandbox::start(cfg.clone(), data.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts")
}

fn hosts(production: &RunningSandbox, integration: &RunningSandbox) -> Hosts {
    let at = |s: &RunningSandbox| EnvironmentHosts {
        api: s.base_url(),
        token_url: s.token_url(),
    };
    Hosts {
        production: at(production),
        integration: at(integration),
    }
}

fn settings(workspace: &str, cfg: &SandboxConfig) -> Integration {
    Integration {
        workspace_id: workspace.into(),
        environment: Environment::Integration,
        tenant_id: cfg.tenant_id,
        client_id: cfg.client_id.clone(),
        secret_id: String::new(),
        models: vec![Model::Job],
        placeholder_emails: vec!["noemail@*".into()],
        phone_region: "US".into(),
        poll_interval_minutes: 15,
        status: IntegrationStatus::Disconnected,
        activated_at: DateTime::<Utc>::MIN_UTC,
        push: opportunity::PushSettings::default(),
        resources: Default::default(),
    }
}

fn credentials(secret: &str) -> Credentials {
    Credentials {
        client_secret: SecretString::from(secret.to_owned()),
        webhook_signing_key: Some(SecretString::from(SIGNING_KEY.to_owned())),
    }
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [
        CLIENT_SECRET,
        WRONG_SECRET,
        PROD_SECRET,
        SIGNING_KEY,
        APP_KEY,
    ] {
        assert!(!text.contains(secret), "{what} contains a secret value");
    }
}

/// Every item of the table, as text (Debug of the attribute maps).
async fn scan_all(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        out.extend(page.items().iter().map(|i| format!("{i:?}")));
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

async fn connect_flow<S>(engine: Engine, secrets: S)
where
    S: SecretSink + SecretSource,
{
    let logs = log_buffer();
    let Some((store, embedded)) = store_on(engine).await else {
        return;
    };
    let dynamo = match &embedded {
        Some(e) => e.client().await,
        None => aws_sdk_dynamodb::Client::new(
            &aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
        ),
    };
    let workspace = format!("ws-connect-{}", uuid::Uuid::new_v4().simple());
    let now = Utc::now();
    let cfg = sandbox_config(now);
    let data = Dataset::generate(&cfg);
    // The tenant's integration environment, first with an app version missing two scopes.
    let few = SandboxConfig {
        granted_scopes: DEFAULT_GRANTED_SCOPES
            .iter()
            .filter(|s| **s != "tn.sls.estimates:r" && **s != "tn.acc.invoices:r")
            .map(|s| (*s).to_owned())
            .collect(),
        ..cfg.clone()
    };
    // Production: other credentials for the same tenant (credentials are per environment).
    let prod = SandboxConfig {
        client_id: "cid.e2e-production".into(),
        client_secret: PROD_SECRET.into(),
        ..cfg.clone()
    };
    let (few_sb, prod_sb, full_sb) = (
        start(&few, &data).await,
        start(&prod, &data).await,
        start(&cfg, &data).await,
    );
    let mut platform = ActivationPlatform {
        app_key: SecretString::from(APP_KEY.to_owned()),
        hosts: hosts(&prod_sb, &few_sb),
    };
    let mut errors = Vec::new();
    let mut expect_err = |result: Result<sync::activate::Activated, ActivateError>| {
        let e = result.expect_err("activation must fail");
        errors.push(e.to_string());
        e
    };

    // 0. Invalid settings: every problem at once, nothing contacted.
    let mut bad = settings(&workspace, &cfg);
    bad.poll_interval_minutes = 0;
    bad.resources.job = [Resource::AppointmentAssignments].into();
    let e = expect_err(
        activate(
            &store,
            &secrets,
            &platform,
            bad,
            &credentials(CLIENT_SECRET),
            now,
        )
        .await,
    );
    let ActivateError::InvalidSettings { problems } = &e else {
        panic!("{e}")
    };
    assert_eq!(problems.len(), 2, "{e}");
    assert!(e.to_string().contains("pollIntervalMinutes"), "{e}");
    assert!(e
        .to_string()
        .contains("`appointmentAssignments` needs `appointments`"));

    // 1. A wrong client secret.
    let e = expect_err(
        activate(
            &store,
            &secrets,
            &platform,
            settings(&workspace, &cfg),
            &credentials(WRONG_SECRET),
            now,
        )
        .await,
    );
    assert!(matches!(e, ActivateError::WrongCredentials { .. }), "{e}");
    assert!(
        e.to_string().contains("Generate next to Client Secret"),
        "{e}"
    );

    // 2. Integration credentials, but production chosen.
    let mut wrong_env = settings(&workspace, &cfg);
    wrong_env.environment = Environment::Production;
    let e = expect_err(
        activate(
            &store,
            &secrets,
            &platform,
            wrong_env,
            &credentials(CLIENT_SECRET),
            now,
        )
        .await,
    );
    assert!(
        matches!(
            e,
            ActivateError::WrongEnvironment {
                works_in: "integration",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("--environment integration"), "{e}");

    // 3. A tenant these credentials are not connected to.
    let mut other_tenant = settings(&workspace, &cfg);
    other_tenant.tenant_id = cfg.tenant_id + 1;
    let e = expect_err(
        activate(
            &store,
            &secrets,
            &platform,
            other_tenant,
            &credentials(CLIENT_SECRET),
            now,
        )
        .await,
    );
    let ActivateError::TenantNotConnected {
        credentials_tenant, ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(*credentials_tenant, Some(cfg.tenant_id));
    assert!(e.to_string().contains("Application Details"), "{e}");

    // 4. The connected app version lacks two scopes the default job resources need.
    let e = expect_err(
        activate(
            &store,
            &secrets,
            &platform,
            settings(&workspace, &cfg),
            &credentials(CLIENT_SECRET),
            now,
        )
        .await,
    );
    let ActivateError::MissingScopes { missing } = &e else {
        panic!("{e}")
    };
    let names: Vec<&str> = missing.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        names,
        vec!["tn.acc.invoices:r", "tn.sls.estimates:r"],
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains("resources.job: invoices"), "{text}");
    assert!(
        text.contains("Settings → Integrations → API Application Access"),
        "{text}"
    );
    assert!(text.contains("upgrade version"), "{text}");

    // Nothing was stored by any failure.
    assert!(store.get_integration(&workspace).await.unwrap().is_none());
    assert!(secrets
        .get(&integration_secret_id(&workspace))
        .await
        .is_err());

    // 5. The app is upgraded: the same settings activate.
    platform.hosts = hosts(&prod_sb, &full_sb);
    let activated = activate(
        &store,
        &secrets,
        &platform,
        settings(&workspace, &cfg),
        &credentials(CLIENT_SECRET),
        now,
    )
    .await
    .expect("activation succeeds");
    let stored = store.get_integration(&workspace).await.unwrap().unwrap();
    assert_eq!(stored, activated.integration);
    assert_eq!(stored.status, IntegrationStatus::Active);
    assert_eq!(stored.activated_at, now);
    assert_eq!(stored.secret_id, integration_secret_id(&workspace));
    let text = secrets.get(&stored.secret_id).await.unwrap();
    let secret = parse_integration_secret(&stored.secret_id, text.expose_secret()).unwrap();
    assert_eq!(secret.client_secret, CLIENT_SECRET);
    assert_eq!(secret.webhook_signing_key.as_deref(), Some(SIGNING_KEY));
    assert!(activated.warnings.is_empty(), "{:?}", activated.warnings);

    // 6. The next scheduled run backfills the 90 days before activation.
    let run_platform = Platform {
        app_key: SecretString::from(APP_KEY.to_owned()),
        endpoint_override: Some((full_sb.base_url(), full_sb.token_url())),
        requests_per_second: 1000,
    };
    let run = |at: DateTime<Utc>| Run {
        model: Model::Job,
        shard: Shard::default(),
        owner: "connect-test",
        now: at,
    };
    let summary = run_scheduled(
        &store,
        &secrets,
        &run_platform,
        &run(Utc::now()),
        &SyncOptions::default(),
    )
    .await
    .expect("scheduled run");
    let outcome = summary
        .outcomes
        .iter()
        .find(|o| o.workspace_id == workspace)
        .expect("the new integration was synced");
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let opportunities = store
        .list_opportunities(&workspace, Some(Model::Job))
        .await
        .unwrap();
    let in_window = data.jobs_in_window((now - chrono::Duration::days(90)).date_naive());
    assert!(!opportunities.is_empty());
    assert!(opportunities.len() <= in_window.len());
    assert!(opportunities.iter().any(|o| o
        .opportunity
        .details
        .keys()
        .any(|k| k.starts_with("invoices:"))));

    // 7. A settings change is validated as a whole and stored; disconnect stops the syncing.
    let e = configure(
        &store,
        &workspace,
        &["pollIntervalMinutes=90".into(), "models=".into()],
    )
    .await
    .expect_err("invalid change");
    assert!(e.to_string().contains("pollIntervalMinutes"), "{e}");
    assert!(e.to_string().contains("models"), "{e}");
    assert_eq!(
        store.get_integration(&workspace).await.unwrap().unwrap(),
        stored
    );
    let changed = configure(&store, &workspace, &["resources.job=estimates".into()])
        .await
        .unwrap();
    assert_eq!(changed.resources.job, [Resource::Estimates].into());
    disconnect(&store, &workspace).await.unwrap();
    let after = run_scheduled(
        &store,
        &secrets,
        &run_platform,
        &run(Utc::now()),
        &SyncOptions::default(),
    )
    .await
    .expect("scheduled run");
    assert!(after.outcomes.iter().all(|o| o.workspace_id != workspace));
    assert_eq!(
        store
            .list_opportunities(&workspace, Some(Model::Job))
            .await
            .unwrap()
            .len(),
        opportunities.len(),
        "disconnect keeps the data"
    );

    // 8. The inbound_call model without a webhook signing key: activated, with a warning that
    // the webhook refuses its calls until a key is stored.
    let calls_workspace = format!("{workspace}-calls");
    let mut calls = settings(&calls_workspace, &cfg);
    calls.models.push(Model::InboundCall);
    let no_key = Credentials {
        webhook_signing_key: None,
        ..credentials(CLIENT_SECRET)
    };
    let activated = activate(&store, &secrets, &platform, calls, &no_key, now)
        .await
        .expect("activation without a signing key succeeds");
    let warnings: Vec<String> = activated.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("webhookSigningKey:") && w.contains("401")),
        "{warnings:?}"
    );
    disconnect(&store, &calls_workspace).await.unwrap();

    // No secret in any error message, any stored item, or any log line.
    for e in &errors {
        assert_no_secret("an error message", e);
    }
    let items = scan_all(&dynamo, store.table_name()).await;
    assert!(items.iter().any(|i| i.contains(&workspace)));
    for item in &items {
        assert_no_secret("a stored item", item);
    }
    // Details and sources are stored deflated (binary in the scan above): check their text too.
    let opportunities = store.list_opportunities(&workspace, None).await.unwrap();
    assert!(!opportunities.is_empty());
    for o in &opportunities {
        assert_no_secret(
            "stored details",
            &serde_json::to_string(&o.opportunity.details).unwrap(),
        );
        assert_no_secret("stored sources", o.sources.as_deref().unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(text.contains("integration activated"), "logs were captured");
    for line in text.lines() {
        assert_no_secret("a log line", line);
    }
    for s in [few_sb, prod_sb, full_sb] {
        s.shutdown().await;
    }
}

#[tokio::test]
async fn connect_like_a_new_user_on_dynoxide() {
    connect_flow(Engine::Dynoxide, StaticSecrets::default()).await;
}

#[tokio::test]
async fn connect_like_a_new_user_on_moto_with_secrets_manager() {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        assert!(
            std::env::var("STSYNC_REQUIRE_MOTO").is_err(),
            "STSYNC_REQUIRE_MOTO is set but AWS_ENDPOINT_URL is not"
        );
        eprintln!("skipped: moto (AWS_ENDPOINT_URL unset)");
        return;
    }
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&conf));
    connect_flow(Engine::Moto, secrets).await;
}

/// Secrets Manager round trip on moto: create, read, replace, read through a fresh adapter (no
/// cache), and a missing id is `NotFound`.
#[tokio::test]
async fn secrets_manager_round_trip_on_moto() {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        assert!(
            std::env::var("STSYNC_REQUIRE_MOTO").is_err(),
            "STSYNC_REQUIRE_MOTO is set but AWS_ENDPOINT_URL is not"
        );
        eprintln!("skipped: moto (AWS_ENDPOINT_URL unset)");
        return;
    }
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&conf);
    let id = integration_secret_id(&format!("rt-{}", uuid::Uuid::new_v4().simple()));
    let writer = SecretsManager::new(client.clone());
    writer
        .put(
            &id,
            &SecretString::from(r#"{"clientSecret":"one"}"#.to_owned()),
        )
        .await
        .expect("created");
    assert_eq!(
        writer.get(&id).await.unwrap().expose_secret(),
        r#"{"clientSecret":"one"}"#
    );
    writer
        .put(
            &id,
            &SecretString::from(r#"{"clientSecret":"two"}"#.to_owned()),
        )
        .await
        .expect("replaced");
    let fresh = SecretsManager::new(client);
    let text = fresh.get(&id).await.unwrap();
    assert_eq!(
        parse_integration_secret(&id, text.expose_secret())
            .unwrap()
            .client_secret,
        "two"
    );
    assert!(matches!(
        fresh.get(&format!("{id}-missing")).await,
        Err(secrets::SecretError::NotFound(_))
    ));
}

/// The scopes an all-on configuration needs are exactly ones the sandbox knows and grants by
/// default, and a sandbox granting only what a configuration needs serves its whole sync.
#[tokio::test]
async fn sandbox_grants_agree_with_needed_scopes() {
    let (models, resources, push) = opportunity::scopes::all_on();
    let needed = opportunity::scopes::needed_scopes(&models, &resources, &push);
    for scope in needed.keys() {
        assert!(
            DEFAULT_GRANTED_SCOPES.contains(scope),
            "{scope} is needed but the sandbox does not grant it by default"
        );
    }
    for granted in DEFAULT_GRANTED_SCOPES {
        assert!(
            opportunity::scopes::known(granted).is_some(),
            "the sandbox grants {granted}, unknown to opportunity::scopes"
        );
    }

    // A sandbox granting exactly what an all-resources job integration needs: the sync never
    // meets a 403, so the computed list covers every route the engine uses.
    let Some((store, _e)) = store_on(Engine::Dynoxide).await else {
        return;
    };
    let now = Utc::now();
    let mut probe = settings("ws-exact-scopes", &sandbox_config(now));
    probe.resources.job = resources.job.clone();
    let exact: Vec<String> = probe
        .needed_scopes()
        .keys()
        .map(|s| (*s).to_owned())
        .collect();
    let cfg = SandboxConfig {
        granted_scopes: exact,
        ..sandbox_config(now)
    };
    let data = Dataset::generate(&cfg);
    let sb = start(&cfg, &data).await;
    let secrets = StaticSecrets::default();
    activate(
        &store,
        &secrets,
        &ActivationPlatform {
            app_key: SecretString::from(APP_KEY.to_owned()),
            hosts: Hosts::both_at(sb.base_url(), sb.token_url()),
        },
        probe,
        &credentials(CLIENT_SECRET),
        now,
    )
    .await
    .expect("activates with exactly the needed scopes");
    let summary = run_scheduled(
        &store,
        &secrets,
        &Platform {
            app_key: SecretString::from(APP_KEY.to_owned()),
            endpoint_override: Some((sb.base_url(), sb.token_url())),
            requests_per_second: 1000,
        },
        &Run {
            model: Model::Job,
            shard: Shard::default(),
            owner: "scopes-test",
            now: Utc::now(),
        },
        &SyncOptions::default(),
    )
    .await
    .expect("run");
    assert_eq!(summary.failed, 0, "{:?}", summary.outcomes);
    assert!(!store
        .list_opportunities("ws-exact-scopes", Some(Model::Job))
        .await
        .unwrap()
        .is_empty());
    sb.shutdown().await;
}
