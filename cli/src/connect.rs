//! `stsync connect`, `stsync config show|set`, `stsync disconnect`, `stsync scopes`
//! (docs/connect.md). The rules live in the libraries (`opportunity::settings_edit`,
//! `opportunity::scopes`, `sync::activate`); this module reads flags, environment variables and
//! prompts, picks where secrets go, and prints.
//!
//! Where secrets go: AWS Secrets Manager whenever AWS is configured for this run (`--dynamodb-
//! endpoint` / `STSYNC_STORE=aws`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`, or
//! `STSYNC_SECRETS=aws`); otherwise (the embedded store, no AWS at all) the file
//! `<data-dir>/secrets.json`, created with mode 0600 and used for nothing else.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use opportunity::scopes::{known, needed_scopes, KNOWN_SCOPES};
use opportunity::{Environment, Integration, IntegrationStatus, Model};
use secrecy::{ExposeSecret, SecretString};
use secrets::{SecretError, SecretSink, SecretSource, SecretsManager, APP_KEY_SECRET_ID};
use sync::activate::{ActivateError, ActivationPlatform, Credentials, Hosts};

use crate::output;

/// Workspace selection shared by the commands here.
#[derive(clap::Args)]
pub struct WorkspaceArg {
    /// Workspace id.
    #[arg(long, env = "STSYNC_WORKSPACE", default_value = crate::demo::DEMO_WORKSPACE)]
    workspace: String,
}

/// `stsync connect` options. Every value can come from a flag or an environment variable (for
/// scripts); when stdin is a terminal, missing required values are asked for.
#[derive(clap::Args)]
pub struct ConnectArgs {
    /// Workspace id to connect (required; asked for when missing on a terminal).
    #[arg(long, env = "STSYNC_WORKSPACE")]
    workspace: Option<String>,
    /// ServiceTitan environment: production or integration.
    #[arg(long, env = "ST_ENVIRONMENT")]
    environment: Option<String>,
    /// ServiceTitan Tenant ID (Settings → Integrations → API Application Access).
    #[arg(long, env = "ST_TENANT_ID")]
    tenant_id: Option<i64>,
    /// Client ID from the app's Application Details screen.
    #[arg(long, env = "ST_CLIENT_ID")]
    client_id: Option<String>,
    /// Client Secret (prefer the environment variable: flags stay in shell history).
    #[arg(long, env = "ST_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Webhook HMAC signing key (32–64 characters), when the inbound call webhook is used.
    #[arg(long, env = "ST_WEBHOOK_SIGNING_KEY", hide_env_values = true)]
    webhook_signing_key: Option<String>,
    /// Models to sync: job, membership, inbound_call (comma-separated; default: as stored, else job).
    #[arg(long)]
    models: Option<String>,
    /// Any other setting, `key=value` (repeatable; keys as in `stsync config set`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[command(flatten)]
    platform: PlatformArgs,
    /// Never prompt, even on a terminal.
    #[arg(long)]
    no_input: bool,
}

/// `stsync config` subcommands.
#[derive(clap::Subcommand)]
pub enum ConfigCommand {
    /// Print the integration's settings (secrets masked).
    Show {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change settings: `stsync config set pollIntervalMinutes=5 resources.job=estimates,invoices`.
    /// All problems are reported at once and nothing is written when there is any; changes take
    /// effect on the next run.
    Set {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// `key=value` assignments (keys: `stsync config keys`).
        #[arg(required = true, value_name = "KEY=VALUE")]
        assignments: Vec<String>,
    },
    /// List the settings `config set` takes.
    Keys,
}

/// `stsync scopes` options.
#[derive(clap::Args)]
pub struct ScopesArgs {
    #[command(flatten)]
    workspace: WorkspaceArg,
    /// Compute for these models instead of the stored settings (comma-separated).
    #[arg(long)]
    models: Option<String>,
    /// Settings for the computation instead of the stored ones (`key=value`, repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Also list the scopes of the article's FAQ no setting needs.
    #[arg(long)]
    all: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The platform's ST-App-Key: `flag` (`--app-key` / `ST_APP_KEY`) when given, else the secret
/// named by `ST_APP_KEY_SECRET_ID` (default [`APP_KEY_SECRET_ID`]) in `secrets`.
///
/// Errors: neither is available (the message says both ways and where secrets were looked up).
pub(crate) async fn app_key(
    flag: Option<String>,
    secrets: &SecretsBackend,
) -> Result<SecretString> {
    if let Some(k) = flag {
        return Ok(SecretString::from(k));
    }
    let id = std::env::var("ST_APP_KEY_SECRET_ID").unwrap_or_else(|_| APP_KEY_SECRET_ID.into());
    secrets.get(&id).await.with_context(|| {
        format!(
            "the platform ST-App-Key: pass --app-key / ST_APP_KEY, or store it as secret `{id}` in {}",
            secrets.describe()
        )
    })
}

/// The platform side of reaching ServiceTitan (`connect`, `sync`): the app key and, for a
/// sandbox, the hosts.
#[derive(clap::Args)]
pub struct PlatformArgs {
    /// The platform's ST-App-Key; default: the secret named by ST_APP_KEY_SECRET_ID
    /// (`servicetitan-sync/app-key`) in the secrets backend.
    #[arg(long, env = "ST_APP_KEY", hide_env_values = true)]
    pub app_key: Option<String>,
    /// ServiceTitan API root for both environments (a sandbox, e.g. http://127.0.0.1:8085);
    /// default: the real hosts.
    #[arg(long, env = "STSYNC_ST_API_URL", requires = "st_token_url")]
    pub st_api_url: Option<String>,
    /// ServiceTitan token URL for both environments (a sandbox's /connect/token).
    #[arg(long, env = "STSYNC_ST_TOKEN_URL", requires = "st_api_url")]
    pub st_token_url: Option<String>,
}

/// Where this run keeps secrets.
pub(crate) enum SecretsBackend {
    /// AWS Secrets Manager (standard AWS configuration; `AWS_ENDPOINT_URL` applies).
    Aws(SecretsManager),
    /// `<data-dir>/secrets.json`, mode 0600 (embedded store, no AWS).
    File(FileSecrets),
}

impl SecretsBackend {
    pub(crate) async fn open(data_dir: &Path, dynamodb_endpoint: Option<&str>) -> Result<Self> {
        let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        let aws = dynamodb_endpoint.is_some()
            || std::env::var("STSYNC_STORE").is_ok_and(|v| v == "aws")
            || std::env::var("STSYNC_SECRETS").is_ok_and(|v| v == "aws")
            || set("AWS_ENDPOINT_URL")
            || set("AWS_ENDPOINT_URL_SECRETS_MANAGER");
        Ok(if aws {
            let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            SecretsBackend::Aws(SecretsManager::new(aws_sdk_secretsmanager::Client::new(
                &conf,
            )))
        } else {
            SecretsBackend::File(FileSecrets::new(data_dir.join("secrets.json")))
        })
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            SecretsBackend::Aws(_) => "AWS Secrets Manager".into(),
            SecretsBackend::File(f) => format!("local file {} (0600)", f.path.display()),
        }
    }
}

impl SecretSource for SecretsBackend {
    async fn get(&self, id: &str) -> Result<SecretString, SecretError> {
        match self {
            SecretsBackend::Aws(s) => s.get(id).await,
            SecretsBackend::File(s) => s.get(id).await,
        }
    }
}

impl SecretSink for SecretsBackend {
    async fn put(&self, id: &str, value: &SecretString) -> Result<(), SecretError> {
        match self {
            SecretsBackend::Aws(s) => s.put(id, value).await,
            SecretsBackend::File(s) => s.put(id, value).await,
        }
    }
}

/// Secrets in one JSON file `{"<secret id>": "<secret text>"}`, written with mode 0600 (owner
/// only) through a temporary file and a rename. Only for local runs without AWS.
pub struct FileSecrets {
    path: PathBuf,
}

impl FileSecrets {
    /// Secrets kept in `path`.
    pub fn new(path: PathBuf) -> Self {
        FileSecrets { path }
    }

    fn read_all(&self, id: &str) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| SecretError::Malformed {
                id: id.to_owned(),
                reason: format!(
                    "{} is not a JSON object of strings: {e}",
                    self.path.display()
                ),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(SecretError::Service {
                id: id.to_owned(),
                message: format!("reading {}: {e}", self.path.display()),
            }),
        }
    }
}

impl SecretSource for FileSecrets {
    async fn get(&self, id: &str) -> Result<SecretString, SecretError> {
        self.read_all(id)?
            .remove(id)
            .map(SecretString::from)
            .ok_or_else(|| SecretError::NotFound(id.to_owned()))
    }
}

impl SecretSink for FileSecrets {
    async fn put(&self, id: &str, value: &SecretString) -> Result<(), SecretError> {
        let write_err = |what: &str, e: std::io::Error| SecretError::Write {
            id: id.to_owned(),
            message: format!("{what} {}: {e}", self.path.display()),
        };
        let mut all = self.read_all(id)?;
        all.insert(id.to_owned(), value.expose_secret().to_owned());
        let text = serde_json::to_string_pretty(&all).unwrap_or_default();
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| write_err("creating the folder of", e))?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(|e| write_err("opening", e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| write_err("writing", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| write_err("replacing", e))?;
        Ok(())
    }
}

fn parse_environment(s: &str) -> Result<Environment> {
    match s.trim().to_ascii_lowercase().as_str() {
        "production" | "prod" => Ok(Environment::Production),
        "integration" | "int" | "sandbox" => Ok(Environment::Integration),
        other => bail!("environment `{other}`: expected production or integration"),
    }
}

fn env_name(e: Environment) -> &'static str {
    match e {
        Environment::Production => "production",
        Environment::Integration => "integration",
    }
}

/// Ask on stderr, read one line from stdin (trimmed); `None` when stdin is not a terminal or
/// prompts are off.
fn ask(interactive: bool, question: &str) -> Result<Option<String>> {
    if !interactive {
        return Ok(None);
    }
    eprint!("{question}: ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim().to_owned();
    Ok((!line.is_empty()).then_some(line))
}

fn ask_secret(interactive: bool, question: &str) -> Result<Option<String>> {
    if !interactive {
        return Ok(None);
    }
    let value = rpassword::prompt_password(format!("{question} (input hidden): "))
        .context("reading the secret from the terminal")?;
    let value = value.trim().to_owned();
    Ok((!value.is_empty()).then_some(value))
}

fn required<T>(value: Option<T>, what: &str, flag: &str, env: &str) -> Result<T> {
    value.with_context(|| format!("{what} is required: pass {flag} or set {env}"))
}

/// `stsync connect`.
pub async fn run_connect(
    data_dir: &Path,
    endpoint: Option<&str>,
    table: &str,
    args: ConnectArgs,
) -> Result<()> {
    let interactive = !args.no_input && std::io::stdin().is_terminal();
    let workspace = match args.workspace {
        Some(w) => Some(w),
        None => ask(interactive, "Workspace id")?,
    };
    let workspace = required(
        workspace,
        "the workspace id",
        "--workspace",
        "STSYNC_WORKSPACE",
    )?;
    if workspace == crate::demo::DEMO_WORKSPACE {
        bail!(
            "the workspace id `{workspace}` is reserved for `stsync demo`, which resets that \
             workspace whenever its parameters change; choose another id"
        );
    }
    let environment = match args.environment {
        Some(e) => Some(e),
        None => ask(
            interactive,
            "ServiceTitan environment (production/integration)",
        )?,
    };
    let environment = parse_environment(&required(
        environment,
        "the environment",
        "--environment",
        "ST_ENVIRONMENT",
    )?)?;
    let tenant_id = match args.tenant_id {
        Some(t) => Some(t),
        None => ask(
            interactive,
            "Tenant ID (Settings → Integrations → API Application Access)",
        )?
        .map(|t| {
            t.parse::<i64>()
                .with_context(|| format!("tenant id `{t}` is not a number"))
        })
        .transpose()?,
    };
    let tenant_id = required(tenant_id, "the tenant id", "--tenant-id", "ST_TENANT_ID")?;
    let client_id = match args.client_id {
        Some(c) => Some(c),
        None => ask(interactive, "Client ID (Application Details screen)")?,
    };
    let client_id = required(client_id, "the client id", "--client-id", "ST_CLIENT_ID")?;
    let client_secret = match args.client_secret {
        Some(c) => Some(c),
        None => ask_secret(interactive, "Client Secret")?,
    };
    let client_secret = required(
        client_secret,
        "the client secret",
        "--client-secret",
        "ST_CLIENT_SECRET",
    )?;

    let open = crate::open_store(data_dir, endpoint, table).await?;
    let store = &open.store;
    let secrets = SecretsBackend::open(data_dir, endpoint).await?;
    let app_key = app_key(args.platform.app_key, &secrets).await?;
    let hosts = match (args.platform.st_api_url, args.platform.st_token_url) {
        (Some(api), Some(token)) => Hosts::both_at(api, token),
        _ => Hosts::servicetitan(),
    };

    // Start from the stored settings (reconnecting keeps them), else the defaults.
    let existing = store.get_integration(&workspace).await?;
    let mut settings = existing.clone().unwrap_or_else(|| Integration {
        workspace_id: workspace.clone(),
        environment,
        tenant_id,
        client_id: client_id.clone(),
        secret_id: secrets::integration_secret_id(&workspace),
        models: vec![Model::Job],
        placeholder_emails: vec![],
        phone_region: "US".into(),
        poll_interval_minutes: 15,
        status: IntegrationStatus::Disconnected,
        activated_at: Utc::now(),
        push: Default::default(),
        resources: Default::default(),
    });
    settings.environment = environment;
    settings.tenant_id = tenant_id;
    settings.client_id = client_id;
    let mut assignments = Vec::new();
    if let Some(models) = args.models {
        assignments.push(format!("models={models}"));
    }
    assignments.extend(args.set);
    let settings = opportunity::settings_edit::apply_all(&settings, &assignments)
        .map_err(|problems| ActivateError::InvalidSettings { problems })?;

    eprintln!(
        "· checking the credentials with ServiceTitan ({} environment, tenant {tenant_id})",
        env_name(environment)
    );
    let result = sync::activate::activate(
        store,
        &secrets,
        &ActivationPlatform { app_key, hosts },
        settings,
        &Credentials {
            client_secret: SecretString::from(client_secret),
            webhook_signing_key: args.webhook_signing_key.map(SecretString::from),
        },
        Utc::now(),
    )
    .await;
    let secrets_where = secrets.describe();
    open.close().await;
    let activated = result?;
    let i = &activated.integration;
    println!(
        "connected workspace `{}` to ServiceTitan tenant {} ({} environment)",
        i.workspace_id,
        i.tenant_id,
        env_name(i.environment)
    );
    println!(
        "  models: {}; {} scopes needed, all granted",
        i.models
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        i.needed_scopes().len()
    );
    println!(
        "  credentials stored in {secrets_where} as `{}`",
        i.secret_id
    );
    println!(
        "  the next scheduled run starts the backfill of records modified since {} (90 days), then polls every {} minutes",
        (i.activated_at - chrono::Duration::days(90)).format("%Y-%m-%d"),
        i.poll_interval_minutes
    );
    for w in &activated.warnings {
        println!("  note: {w}");
    }
    Ok(())
}

/// `stsync config ...`.
pub async fn run_config(
    data_dir: &Path,
    endpoint: Option<&str>,
    table: &str,
    command: ConfigCommand,
) -> Result<()> {
    match command {
        ConfigCommand::Keys => {
            let mut text = String::new();
            for (key, what) in opportunity::settings_edit::KEYS {
                text.push_str(&format!("{key:<40} {what}\n"));
            }
            output::emit(&text)?;
            Ok(())
        }
        ConfigCommand::Show { workspace, json } => {
            let workspace = workspace.workspace;
            let open = crate::open_existing_store(data_dir, endpoint, table).await?;
            let integration = open.store.get_integration(&workspace).await?;
            open.close().await;
            let Some(i) = integration else {
                bail!("workspace `{workspace}` has no integration: connect it first (`stsync connect`)");
            };
            let secrets = SecretsBackend::open(data_dir, endpoint).await?;
            let (client_secret, signing_key) = match secrets.get(&i.secret_id).await {
                Ok(text) => {
                    match secrets::parse_integration_secret(&i.secret_id, text.expose_secret()) {
                        Ok(s) => (
                            "******** (stored)".to_owned(),
                            if s.webhook_signing_key.is_some() {
                                "******** (stored)".to_owned()
                            } else {
                                "not set".to_owned()
                            },
                        ),
                        Err(e) => (format!("unreadable: {e}"), "unknown".to_owned()),
                    }
                }
                Err(SecretError::NotFound(_)) => ("missing".to_owned(), "missing".to_owned()),
                Err(e) => (format!("unavailable: {e}"), "unknown".to_owned()),
            };
            let mut doc = serde_json::to_value(&i)?;
            doc["clientSecret"] = client_secret.clone().into();
            doc["webhookSigningKey"] = signing_key.clone().into();
            doc["secretsBackend"] = secrets.describe().into();
            if json {
                output::emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
                return Ok(());
            }
            let mut text = format!("workspace `{}`\n", i.workspace_id);
            let line = |k: &str, v: String| format!("  {k:<38} {v}\n");
            text.push_str(&line("status", format!("{:?}", i.status).to_lowercase()));
            text.push_str(&line("environment", env_name(i.environment).into()));
            text.push_str(&line("tenantId", i.tenant_id.to_string()));
            text.push_str(&line("clientId", i.client_id.clone()));
            text.push_str(&line("clientSecret", client_secret));
            text.push_str(&line("webhookSigningKey", signing_key));
            text.push_str(&line(
                "secretId",
                format!("{} ({})", i.secret_id, secrets.describe()),
            ));
            text.push_str(&line(
                "activatedAt",
                i.activated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            ));
            text.push_str(&line(
                "models",
                i.models
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ));
            let join = |set: &std::collections::BTreeSet<opportunity::Resource>| {
                set.iter().map(|r| r.name()).collect::<Vec<_>>().join(",")
            };
            text.push_str(&line("resources.job", join(&i.resources.job)));
            text.push_str(&line("resources.membership", join(&i.resources.membership)));
            text.push_str(&line("placeholderEmails", i.placeholder_emails.join(",")));
            text.push_str(&line("phoneRegion", i.phone_region.clone()));
            text.push_str(&line(
                "pollIntervalMinutes",
                i.poll_interval_minutes.to_string(),
            ));
            for (name, class) in [
                ("outgoingCampaign", i.push.outgoing_campaign),
                ("incoming", i.push.incoming),
                ("outgoingManual", i.push.outgoing_manual),
            ] {
                text.push_str(&line(
                    &format!("push.{name}.destination"),
                    class.destination.as_str().into(),
                ));
                text.push_str(&line(
                    &format!("push.{name}.includeContent"),
                    class.include_content.to_string(),
                ));
            }
            let e = i.push.campaign_events;
            text.push_str(&line(
                "push.campaignEvents.destination",
                e.destination.as_str().into(),
            ));
            for (name, on) in [
                ("launched", e.launched),
                ("firstMessageSent", e.first_message_sent),
                ("removed", e.removed),
                ("completed", e.completed),
            ] {
                text.push_str(&line(
                    &format!("push.campaignEvents.{name}"),
                    on.to_string(),
                ));
            }
            for w in i.warnings() {
                text.push_str(&format!("  note: {w}\n"));
            }
            output::emit(&text)?;
            Ok(())
        }
        ConfigCommand::Set {
            workspace,
            assignments,
        } => {
            let workspace = workspace.workspace;
            let open = crate::open_existing_store(data_dir, endpoint, table).await?;
            let before = open.store.get_integration(&workspace).await?;
            let result = sync::activate::configure(&open.store, &workspace, &assignments).await;
            open.close().await;
            let after = result?;
            println!(
                "saved the settings of workspace `{workspace}`; they take effect on the next run"
            );
            if let Some(before) = before {
                let old = before.needed_scopes();
                let new: Vec<&str> = after
                    .needed_scopes()
                    .keys()
                    .filter(|s| !old.contains_key(*s))
                    .copied()
                    .collect();
                if !new.is_empty() {
                    println!(
                        "  these settings need scopes the old ones did not: {}. If the connected app version lacks them, the sync fails with 403; `stsync connect` checks them (and `stsync scopes` lists them)",
                        new.join(", ")
                    );
                }
            }
            for w in after.warnings() {
                println!("  note: {w}");
            }
            Ok(())
        }
    }
}

/// `stsync disconnect`.
pub async fn run_disconnect(
    data_dir: &Path,
    endpoint: Option<&str>,
    table: &str,
    workspace: WorkspaceArg,
) -> Result<()> {
    let workspace = workspace.workspace;
    let open = crate::open_existing_store(data_dir, endpoint, table).await?;
    let result = sync::activate::disconnect(&open.store, &workspace).await;
    open.close().await;
    result?;
    println!(
        "disconnected workspace `{workspace}`: syncing and pushing stopped; its opportunities, contacts and sync progress are kept (`stsync connect` resumes)"
    );
    Ok(())
}

/// `stsync scopes`.
pub async fn run_scopes(
    data_dir: &Path,
    endpoint: Option<&str>,
    table: &str,
    args: ScopesArgs,
) -> Result<()> {
    let workspace = args.workspace.workspace;
    let from_flags = args.models.is_some() || !args.set.is_empty();
    let (settings, source) = if from_flags {
        let mut base: Integration = serde_json::from_value(serde_json::json!({
            "workspaceId": workspace, "environment": "integration", "tenantId": 1,
            "clientId": "-", "secretId": "-", "models": ["job"], "status": "disconnected",
            "activatedAt": Utc::now(),
        }))?;
        let mut assignments = Vec::new();
        if let Some(m) = &args.models {
            assignments.push(format!("models={m}"));
        }
        assignments.extend(args.set.iter().cloned());
        base = opportunity::settings_edit::apply_all(&base, &assignments)
            .map_err(|problems| ActivateError::InvalidSettings { problems })?;
        (base, "the given settings".to_owned())
    } else {
        let open = crate::open_existing_store(data_dir, endpoint, table).await?;
        let stored = open.store.get_integration(&workspace).await?;
        open.close().await;
        let Some(i) = stored else {
            bail!("workspace `{workspace}` has no integration; pass --models / --set to compute scopes for settings");
        };
        (i, format!("the stored settings of workspace `{workspace}`"))
    };
    let needed = needed_scopes(&settings.models, &settings.resources, &settings.push);
    if args.json {
        let list: Vec<serde_json::Value> = needed
            .iter()
            .map(|(scope, why)| {
                let k = known(scope);
                serde_json::json!({
                    "scope": scope,
                    "module": k.map(|k| k.module),
                    "resource": k.map(|k| k.resource),
                    "access": k.map(|k| k.access()),
                    "neededBy": why,
                })
            })
            .collect();
        output::emit(&format!("{}\n", serde_json::to_string_pretty(&list)?))?;
        return Ok(());
    }
    let mut text = format!("ServiceTitan scopes needed by {source}:\n");
    for (scope, why) in &needed {
        let label = known(scope)
            .map(|k| format!("{}: {} ({})", k.module, k.resource, k.access()))
            .unwrap_or_default();
        text.push_str(&format!(
            "  {scope:<34} {label:<58} {}\n",
            why.iter().cloned().collect::<Vec<_>>().join("; ")
        ));
    }
    if args.all {
        text.push_str("Requested by the official app, not needed by these settings:\n");
        for k in KNOWN_SCOPES.iter().filter(|k| !needed.contains_key(k.name)) {
            text.push_str(&format!(
                "  {:<34} {}: {} ({})\n",
                k.name,
                k.module,
                k.resource,
                k.access()
            ));
        }
    }
    output::emit(&text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_secrets_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let f = FileSecrets::new(dir.path().join("secrets.json"));
        assert!(matches!(f.get("a").await, Err(SecretError::NotFound(_))));
        f.put("a", &SecretString::from("one".to_owned()))
            .await
            .unwrap();
        f.put("b", &SecretString::from("two".to_owned()))
            .await
            .unwrap();
        f.put("a", &SecretString::from("three".to_owned()))
            .await
            .unwrap();
        assert_eq!(f.get("a").await.unwrap().expose_secret(), "three");
        assert_eq!(f.get("b").await.unwrap().expose_secret(), "two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn environments_parse() {
        assert_eq!(
            parse_environment("Production").unwrap(),
            Environment::Production
        );
        assert_eq!(
            parse_environment("integration").unwrap(),
            Environment::Integration
        );
        assert!(parse_environment("staging").is_err());
    }
}
