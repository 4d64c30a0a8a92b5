//! Harness for the end-to-end tests in `tests/tests/`: a sandbox over real HTTP, a store on
//! dynoxide (in-process) or on the moto server named by `AWS_ENDPOINT_URL`, and an integration
//! registered the way production has it (settings in the table, secret behind a `SecretSource`).

pub mod oracle;

use chrono::{DateTime, Utc};
use opportunity::{Environment, Integration, IntegrationStatus, Model};
use secrecy::SecretString;
use secrets::StaticSecrets;
use st_sandbox::{Dataset, RunningSandbox, Sandbox, SandboxConfig};
use store::embedded::EmbeddedDynamo;
use store::Store;
use sync::runner::{run_scheduled, Platform, Run, RunSummary, Shard};
use sync::{SyncOptions, SyncReport};

/// Which DynamoDB engine a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// dynoxide-rs in this process (always available).
    Dynoxide,
    /// The moto server at `AWS_ENDPOINT_URL` (CI).
    Moto,
}

/// A store on the chosen engine with a fresh table; `None` when moto is not configured (and
/// `STSYNC_REQUIRE_MOTO` is not set, in which case a missing moto fails the test).
pub async fn store_on(engine: Engine) -> Option<(Store, Option<EmbeddedDynamo>)> {
    let table = format!("e2e-{}", uuid::Uuid::new_v4().simple());
    let (store, embedded) = match engine {
        Engine::Dynoxide => {
            let e = EmbeddedDynamo::start_memory()
                .await
                .expect("dynoxide starts");
            (Store::new(e.client().await, table), Some(e))
        }
        Engine::Moto => {
            if std::env::var("AWS_ENDPOINT_URL").is_err() {
                assert!(
                    std::env::var("STSYNC_REQUIRE_MOTO").is_err(),
                    "STSYNC_REQUIRE_MOTO is set but AWS_ENDPOINT_URL is not"
                );
                eprintln!("skipped: moto (AWS_ENDPOINT_URL unset)");
                return None;
            }
            let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            (
                Store::new(aws_sdk_dynamodb::Client::new(&conf), table),
                None,
            )
        }
    };
    store.ensure_table().await.expect("table created");
    Some((store, embedded))
}

/// A running sandbox plus what an integration needs to reach it.
pub struct World {
    /// The sandbox.
    pub sandbox: RunningSandbox,
    /// Its configuration (credentials, tenant).
    pub config: SandboxConfig,
    /// The data it serves at start.
    pub data: Dataset,
    /// The client secret behind the integration's secret id.
    pub secrets: StaticSecrets,
    /// App key and the sandbox endpoints.
    pub platform: Platform,
}

/// Secret id the test integrations use.
pub const SECRET_ID: &str = "e2e/servicetitan";

impl World {
    /// Start a sandbox with generated data (`jobs`, `customers`, seed) pinned at `now`, and no
    /// rate limit unless given.
    pub async fn start(jobs: usize, customers: usize, seed: u64, now: DateTime<Utc>) -> World {
        let config = SandboxConfig {
            seed,
            jobs,
            customers,
            now,
            rate_limit_per_sec: None,
            ..SandboxConfig::default()
        };
        let data = Dataset::generate(&config);
        World::with_data(config, data).await
    }

    /// Start a sandbox over the given data.
    pub async fn with_data(config: SandboxConfig, data: Dataset) -> World {
        let sandbox = Sandbox::start(config.clone(), data.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("sandbox starts");
        let mut secrets = StaticSecrets::default();
        secrets.insert(
            SECRET_ID,
            serde_json::json!({ "clientSecret": config.client_secret }).to_string(),
        );
        let platform = Platform {
            app_key: SecretString::from(config.app_key.clone()),
            endpoint_override: Some((sandbox.base_url(), sandbox.token_url())),
            requests_per_second: 1000,
        };
        World {
            sandbox,
            config,
            data,
            secrets,
            platform,
        }
    }

    /// One scheduled run of `model` at `now` (every integration in `store`, default shard and
    /// options, `owner` as the lease holder), as the poll Lambdas make it; panics when the run
    /// itself fails (the integrations cannot be listed).
    pub async fn scheduled_run(
        &self,
        store: &Store,
        model: Model,
        owner: &str,
        now: DateTime<Utc>,
    ) -> RunSummary {
        self.scheduled_run_with(store, model, owner, now, &SyncOptions::default())
            .await
    }

    /// [`World::scheduled_run`] with the given options (a deadline, a shorter backoff).
    pub async fn scheduled_run_with(
        &self,
        store: &Store,
        model: Model,
        owner: &str,
        now: DateTime<Utc>,
        opts: &SyncOptions,
    ) -> RunSummary {
        run_scheduled(
            store,
            &self.secrets,
            &self.platform,
            &Run {
                model,
                shard: Shard::default(),
                owner,
                now,
            },
            opts,
        )
        .await
        .expect("scheduled run")
    }

    /// [`World::scheduled_run`] at `now` that must succeed for every integration: returns the
    /// first integration's report.
    pub async fn sync_at(
        &self,
        store: &Store,
        model: Model,
        owner: &str,
        now: DateTime<Utc>,
    ) -> SyncReport {
        let summary = self.scheduled_run(store, model, owner, now).await;
        assert_eq!(summary.failed, 0, "{:?}", summary.outcomes);
        summary
            .outcomes
            .into_iter()
            .next()
            .and_then(|o| o.report)
            .expect("one report")
    }

    /// [`World::sync_at`] now.
    pub async fn sync_once(&self, store: &Store, model: Model, owner: &str) -> SyncReport {
        self.sync_at(store, model, owner, Utc::now()).await
    }

    /// An active job integration for `workspace` on this sandbox's tenant, activated at `at`,
    /// polled on every scheduled run (a 1-minute poll interval).
    pub fn integration(&self, workspace: &str, at: DateTime<Utc>) -> Integration {
        Integration {
            workspace_id: workspace.into(),
            environment: Environment::Integration,
            tenant_id: self.config.tenant_id,
            client_id: self.config.client_id.clone(),
            secret_id: SECRET_ID.into(),
            models: vec![Model::Job],
            placeholder_emails: vec![],
            phone_region: "US".into(),
            // Every scheduled run is due (runner::poll_slot): tests poll back to back.
            poll_interval_minutes: 1,
            status: IntegrationStatus::Active,
            activated_at: at,
            push: opportunity::PushSettings::default(),
            resources: Default::default(),
        }
    }
}

/// A Lambda context whose deadline is `remaining` from now (request id `test-request`), as the
/// runtime hands it to a handler.
pub fn lambda_context(remaining: std::time::Duration) -> lambda_runtime::Context {
    let mut ctx = lambda_runtime::Context::default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    ctx.deadline = now_ms + remaining.as_millis() as u64;
    ctx.request_id = "test-request".into();
    ctx
}

/// The sample event `events/<name>` (JSON).
pub fn sample_event(name: &str) -> serde_json::Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("event JSON")
}
