//! `stsync`: run servicetitan-sync outside Lambda with the same engine (SPEC.md §9).
//!
//! Commands: `demo` (sandbox + embedded DynamoDB, the whole flow, a readable summary), `sandbox`
//! (serve the ServiceTitan sandbox), `map` (a JSON bundle of ServiceTitan records → the
//! opportunity JSON), `catalog`, `opportunities`, `contacts` and `status` (inspect the store),
//! `connect`, `config show|set|keys`, `disconnect` and `scopes` (issue #7), `bench sync`
//! (issue #9) and the local Lambda seeding used by `scripts/lambda-local.sh`. By default the store is dynoxide-rs embedded in this process and kept in
//! `<data-dir>/store.db`; `--dynamodb-endpoint` (or `STSYNC_STORE=aws`) uses a real DynamoDB
//! endpoint through the standard AWS configuration instead.

mod bench;
mod connect;
mod demo;
mod demo_calls;
mod demo_notes;
mod lambda_seed;
mod output;
mod sync_cmd;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use opportunity::{map_job, JobBundle, MappingConfig, MembershipBundle, Model};
use store::embedded::EmbeddedDynamo;
use store::Store;

/// Command-line interface of servicetitan-sync.
#[derive(Parser)]
#[command(
    name = "stsync",
    version,
    about = "ServiceTitan → opportunities sync, run locally"
)]
struct Cli {
    /// Folder of the embedded store. `demo` and `connect` create it when missing; the other
    /// commands that read or change stored workspaces need a store already there.
    #[arg(
        long,
        global = true,
        env = "STSYNC_DATA_DIR",
        default_value = ".stsync"
    )]
    data_dir: PathBuf,
    /// Use this DynamoDB endpoint (e.g. a moto server) instead of the embedded store; AWS
    /// credentials and region come from the usual AWS environment.
    #[arg(long, global = true, env = "STSYNC_DYNAMODB_ENDPOINT")]
    dynamodb_endpoint: Option<String>,
    /// DynamoDB table name.
    #[arg(
        long,
        global = true,
        env = "TABLE_NAME",
        default_value = "servicetitan-sync"
    )]
    table: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a sandbox, register a demo integration, run the job and membership syncs, fire a
    /// completed call at the webhook handler, push a few notes, print a summary.
    Demo(demo::DemoArgs),
    /// Connect a workspace to a ServiceTitan tenant: check the credentials, the granted scopes
    /// and the tenant, store the secret and the integration (docs/connect.md). Flags or
    /// environment variables for scripts; prompts for what is missing on a terminal.
    Connect(connect::ConnectArgs),
    /// Show or change an integration's settings.
    Config {
        #[command(subcommand)]
        command: connect::ConfigCommand,
    },
    /// Stop syncing a workspace (its data is kept; `connect` resumes).
    Disconnect(connect::WorkspaceArg),
    /// The ServiceTitan scopes an integration needs, from its stored settings or from flags.
    Scopes(connect::ScopesArgs),
    /// Sync one connected workspace now: the poll Lambdas' code (lease, secrets, watermarks) for
    /// its job and/or membership model; prints what each did.
    Sync(sync_cmd::SyncArgs),
    /// Serve the ServiceTitan sandbox until Ctrl-C.
    Sandbox(demo::SandboxArgs),
    /// Benchmarks: `bench sync` backfills a generated tenant and prints its cost (README
    /// "Performance").
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Prepare the local Lambda workflow (scripts/lambda-local.sh): write the sandbox's records
    /// for the sample events, seed the table, integrations and secrets at `AWS_ENDPOINT_URL` (a
    /// moto server), write the functions' environment file.
    LambdaSeed(lambda_seed::LambdaSeedArgs),
    /// Map one JSON bundle of ServiceTitan records (file, or - for stdin) to the opportunity JSON.
    Map {
        /// The bundle: {"model":"job","job":{...},"customer":{...},"contacts":[...],
        /// "appointments":[...],"estimates":[...],...} or {"model":"membership","membership":{...},...}
        /// (see tests/fixtures/job-bundle.json and membership-bundle.json).
        file: PathBuf,
        /// Extra placeholder e-mail patterns (e.g. '*@example.com'), repeatable.
        #[arg(long = "placeholder")]
        placeholders: Vec<String>,
        /// Default phone region (ISO 3166 alpha-2).
        #[arg(long, default_value = "US")]
        region: String,
    },
    /// Print the field catalog (docs/fields.md): every details field per model, with its
    /// resource and data type, generated from the mapping code.
    Catalog {
        /// Print JSON (`{"job": [...], "membership": [...], "inbound_call": [...]}`) instead of
        /// Markdown.
        #[arg(long)]
        json: bool,
    },
    /// List the stored opportunities of a workspace.
    Opportunities {
        /// Workspace id.
        #[arg(long, default_value = demo::DEMO_WORKSPACE)]
        workspace: String,
        /// Only this model (job, membership, inbound_call).
        #[arg(long)]
        model: Option<Model>,
        /// Print JSON (an array) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a workspace's integration and the sync progress of each feed (tokens, last run).
    Status {
        /// Workspace id.
        #[arg(long, default_value = demo::DEMO_WORKSPACE)]
        workspace: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the stored contacts of a workspace.
    Contacts {
        /// Workspace id.
        #[arg(long, default_value = demo::DEMO_WORKSPACE)]
        workspace: String,
        /// Print JSON (an array) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// The store the command works on, and the embedded engine keeping it alive (if any).
pub(crate) struct OpenStore {
    pub store: Store,
    embedded: Option<EmbeddedDynamo>,
    /// Where the store is, for messages: `the embedded store .stsync/store.db` or `table T of
    /// the DynamoDB at <endpoint>`.
    pub location: String,
}

impl OpenStore {
    pub(crate) async fn close(self) {
        if let Some(e) = self.embedded {
            e.shutdown().await;
        }
    }
}

/// [`open_store`] for commands that only work on what is already stored (inspection, `sync`,
/// `config`, `disconnect`): with the embedded store, a data folder without `store.db` is an
/// error naming it, and nothing is created.
pub(crate) async fn open_existing_store(
    cli_data_dir: &std::path::Path,
    endpoint: Option<&str>,
    table: &str,
) -> Result<OpenStore> {
    let path = cli_data_dir.join("store.db");
    if !uses_aws(endpoint) && !path.exists() {
        anyhow::bail!(
            "no store at {}: nothing has been stored in this data folder yet (run `stsync demo` or \
             `stsync connect` first, or give --data-dir / --dynamodb-endpoint)",
            path.display()
        );
    }
    open_store(cli_data_dir, endpoint, table).await
}

/// Whether the store is DynamoDB (an endpoint, or `STSYNC_STORE=aws`) rather than embedded.
fn uses_aws(endpoint: Option<&str>) -> bool {
    endpoint.is_some() || std::env::var("STSYNC_STORE").is_ok_and(|v| v == "aws")
}

pub(crate) async fn open_store(
    cli_data_dir: &std::path::Path,
    endpoint: Option<&str>,
    table: &str,
) -> Result<OpenStore> {
    let use_aws = uses_aws(endpoint);
    let (store, embedded) = if use_aws {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(url) = endpoint {
            loader = loader.endpoint_url(url);
        }
        let conf = loader.load().await;
        (
            Store::new(aws_sdk_dynamodb::Client::new(&conf), table),
            None,
        )
    } else {
        std::fs::create_dir_all(cli_data_dir)
            .with_context(|| format!("creating data folder {}", cli_data_dir.display()))?;
        let path = cli_data_dir.join("store.db");
        let engine = EmbeddedDynamo::start_file(&path)
            .await
            .with_context(|| format!("starting the embedded DynamoDB on {}", path.display()))?;
        let store = Store::new(engine.client().await, table);
        (store, Some(engine))
    };
    store.ensure_table().await.context("creating the table")?;
    let location = match (&embedded, endpoint) {
        (Some(_), _) => format!(
            "the embedded store {}",
            cli_data_dir.join("store.db").display()
        ),
        (None, Some(url)) => format!("table {table} of the DynamoDB at {url}"),
        (None, None) => format!("table {table} of the AWS account's DynamoDB"),
    };
    Ok(OpenStore {
        store,
        embedded,
        location,
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STSYNC_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,dynoxide=error,call_webhook=error")
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut cli = Cli::parse();
    cli.dynamodb_endpoint = dynamodb_endpoint(cli.dynamodb_endpoint.take())?;
    match cli.command {
        Command::Demo(args) => {
            demo::run_demo(
                &cli.data_dir,
                cli.dynamodb_endpoint.as_deref(),
                &cli.table,
                args,
            )
            .await
        }
        Command::Sandbox(args) => demo::run_sandbox(args).await,
        Command::Bench { command } => {
            bench::run(cli.dynamodb_endpoint.as_deref(), &cli.table, command).await
        }
        Command::LambdaSeed(args) => lambda_seed::run(&cli.table, args).await,
        Command::Connect(args) => {
            let endpoint = cli.dynamodb_endpoint.as_deref();
            connect::run_connect(&cli.data_dir, endpoint, &cli.table, args).await
        }
        Command::Config { command } => {
            let endpoint = cli.dynamodb_endpoint.as_deref();
            connect::run_config(&cli.data_dir, endpoint, &cli.table, command).await
        }
        Command::Disconnect(workspace) => {
            let endpoint = cli.dynamodb_endpoint.as_deref();
            connect::run_disconnect(&cli.data_dir, endpoint, &cli.table, workspace).await
        }
        Command::Sync(args) => {
            let endpoint = cli.dynamodb_endpoint.as_deref();
            sync_cmd::run_sync(&cli.data_dir, endpoint, &cli.table, args).await
        }
        Command::Scopes(args) => {
            let endpoint = cli.dynamodb_endpoint.as_deref();
            connect::run_scopes(&cli.data_dir, endpoint, &cli.table, args).await
        }
        Command::Catalog { json } => {
            if json {
                let doc = serde_json::json!({
                    "job": opportunity::catalog::catalog(Model::Job),
                    "membership": opportunity::catalog::catalog(Model::Membership),
                    "inbound_call": opportunity::catalog::catalog(Model::InboundCall),
                });
                output::emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
            } else {
                output::emit(&opportunity::catalog::render_markdown())?;
            }
            Ok(())
        }
        Command::Map {
            file,
            placeholders,
            region,
        } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading stdin")?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            let opportunity = map_text(&text, &placeholders, &region)?;
            output::emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&opportunity)?
            ))?;
            Ok(())
        }
        Command::Opportunities {
            workspace,
            model,
            json,
        } => {
            let open =
                open_existing_store(&cli.data_dir, cli.dynamodb_endpoint.as_deref(), &cli.table)
                    .await?;
            let list = open.store.list_opportunities(&workspace, model).await?;
            if json {
                output::emit(&format!("{}\n", serde_json::to_string_pretty(&list)?))?;
            } else {
                output::emit(&output::opportunities_table(&list))?;
                if list.is_empty() {
                    eprintln!("(looked in {})", open.location);
                }
            }
            open.close().await;
            Ok(())
        }
        Command::Status { workspace, json } => {
            let open =
                open_existing_store(&cli.data_dir, cli.dynamodb_endpoint.as_deref(), &cli.table)
                    .await?;
            let integration = open.store.get_integration(&workspace).await?;
            let feeds = open.store.list_progress(&workspace).await?;
            let backfills = open.store.list_backfills(&workspace).await?;
            let location = open.location.clone();
            open.close().await;
            let Some(integration) = integration else {
                anyhow::bail!(
                    "no integration for workspace `{workspace}` in {} (run `stsync demo` first, \
                     or give --data-dir / --dynamodb-endpoint)",
                    location
                );
            };
            let backfill_state = |b: &store::BackfillState| {
                if b.finished_at.is_some() {
                    "done"
                } else {
                    "running"
                }
            };
            if json {
                let backfills: Vec<serde_json::Value> = backfills
                    .iter()
                    .map(|b| {
                        let mut v = serde_json::to_value(b).unwrap_or_default();
                        v["state"] = backfill_state(b).into();
                        v
                    })
                    .collect();
                let doc = serde_json::json!({
                    "workspace": workspace,
                    "status": integration.status,
                    "models": integration.models,
                    "environment": integration.environment,
                    "tenantId": integration.tenant_id,
                    "activatedAt": integration.activated_at,
                    "backfills": backfills,
                    "feeds": feeds,
                });
                output::emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
            } else {
                let mut text = format!(
                    "workspace `{workspace}`: {:?}, models {:?}, tenant {}, activated {}\n",
                    integration.status,
                    integration
                        .models
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>(),
                    integration.tenant_id,
                    integration.activated_at.format("%Y-%m-%d %H:%M:%S UTC"),
                );
                for b in &backfills {
                    text.push_str(&format!(
                        "  backfill {:<12} {:<8} window {} .. {}  resources [{}]\n",
                        b.model,
                        backfill_state(b),
                        b.window_from.format("%Y-%m-%d %H:%M UTC"),
                        b.window_to.format("%Y-%m-%d %H:%M UTC"),
                        b.selection,
                    ));
                }
                // The longest feed name sets the column (history feeds run past 40 characters).
                let width = feeds
                    .iter()
                    .map(|f| f.feed.chars().count())
                    .max()
                    .unwrap_or(0);
                for f in &feeds {
                    text.push_str(&format!(
                        "  {:<width$} {:>8} records  saved {}  token {}\n",
                        f.feed,
                        f.records_read,
                        f.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        f.token.as_deref().unwrap_or("—"),
                    ));
                }
                if feeds.is_empty() {
                    text.push_str("  no feed has been read yet\n");
                }
                output::emit(&text)?;
            }
            Ok(())
        }
        Command::Contacts { workspace, json } => {
            let open =
                open_existing_store(&cli.data_dir, cli.dynamodb_endpoint.as_deref(), &cli.table)
                    .await?;
            let list = open.store.list_contacts(&workspace).await?;
            if json {
                output::emit(&format!("{}\n", serde_json::to_string_pretty(&list)?))?;
            } else {
                output::emit(&output::contacts_table(&list))?;
                if list.is_empty() {
                    eprintln!("(looked in {})", open.location);
                }
            }
            open.close().await;
            Ok(())
        }
    }
}

/// The `--dynamodb-endpoint` / `STSYNC_DYNAMODB_ENDPOINT` value as the commands use it: blank
/// (e.g. `STSYNC_DYNAMODB_ENDPOINT=`) is unset; anything else, trimmed, must be an `http://` or
/// `https://` URL with a host (the AWS SDK would otherwise panic or dump its config).
fn dynamodb_endpoint(raw: Option<String>) -> Result<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    let url = raw.trim();
    if url.is_empty() {
        return Ok(None);
    }
    let bad = |why: &str| {
        anyhow::anyhow!(
            "--dynamodb-endpoint / STSYNC_DYNAMODB_ENDPOINT `{url}` {why} (e.g. http://127.0.0.1:5000; leave it unset for the embedded store)"
        )
    };
    let rest = match url.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            rest
        }
        Some((scheme, _)) => return Err(bad(&format!("has scheme `{scheme}`, not http or https"))),
        None => return Err(bad("is not a URL: it must start with http:// or https://")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((ip, tail)) => (ip, tail.strip_prefix(':')),
            None => return Err(bad("has an unclosed `[` in its host")),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains spaces or control characters"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(bad(&format!(
                "has port `{port}`, not a number from 0 to 65535"
            )));
        }
    }
    Ok(Some(url.to_owned()))
}

/// `stsync map`: parse a bundle (saying which field is wrong) and map it.
///
/// The model is the bundle's `model` (`job`, `membership`); without it, a bundle with a
/// `membership` key is a membership bundle and anything else a job bundle. A leading UTF-8 byte
/// order mark is ignored. `--region` and `--placeholder` are checked as `stsync config set`
/// checks `phoneRegion` and `placeholderEmails`.
fn map_text(text: &str, placeholders: &[String], region: &str) -> Result<opportunity::Opportunity> {
    if !opportunity::phone::is_known_region(region) {
        anyhow::bail!(
            "--region `{region}` is not an ISO 3166 alpha-2 region code (e.g. US, CA, GB)"
        );
    }
    for pattern in placeholders {
        opportunity::email::check_pattern(pattern)
            .map_err(|why| anyhow::anyhow!("--placeholder `{pattern}` {why}"))?;
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: serde_json::Value = serde_json::from_str(text).context("the bundle is not JSON")?;
    let default = if value.get("membership").is_some() {
        "membership"
    } else {
        "job"
    };
    let model = match value.get("model") {
        None | Some(serde_json::Value::Null) => default,
        Some(serde_json::Value::String(m)) => m.as_str(),
        Some(other) => anyhow::bail!(
            "bundle field `model`: {other} is not a model name (\"job\" or \"membership\")"
        ),
    };
    let model: Model = model
        .parse()
        .map_err(|e| anyhow::anyhow!("bundle field `model`: {e}"))?;
    let config = MappingConfig {
        placeholders: opportunity::email::PlaceholderEmails::with_user_patterns(placeholders),
        phone_region: region.trim().to_ascii_uppercase(),
    };
    let field = |e: serde_path_to_error::Error<serde_json::Error>| {
        anyhow::anyhow!("bundle field `{}`: {}", e.path(), e.inner())
    };
    match model {
        Model::Job => {
            let bundle: JobBundle = serde_path_to_error::deserialize(value).map_err(field)?;
            Ok(map_job(&bundle, &config)?)
        }
        Model::Membership => {
            let bundle: MembershipBundle =
                serde_path_to_error::deserialize(value).map_err(field)?;
            Ok(opportunity::map_membership(&bundle, &config)?)
        }
        other => anyhow::bail!(
            "`stsync map` maps job and membership bundles; {other} opportunities come from the call webhook"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
    }

    #[test]
    fn map_accepts_both_models_example_bundles() {
        let job = map_text(&example("job-bundle.json"), &[], "US").expect("job maps");
        assert_eq!(job.model, Model::Job);
        assert_eq!(
            job.details["estimates:0:name"],
            serde_json::json!("Furnace replacement - Best")
        );
        let membership =
            map_text(&example("membership-bundle.json"), &[], "US").expect("membership maps");
        assert_eq!(membership.model, Model::Membership);
        assert_eq!(membership.external_id, "7700451");
        // without `model`, the `membership` key decides
        let mut value: serde_json::Value =
            serde_json::from_str(&example("membership-bundle.json")).unwrap();
        value.as_object_mut().unwrap().remove("model");
        let o = map_text(&value.to_string(), &[], "US").expect("maps");
        assert_eq!(o.model, Model::Membership);
    }

    #[test]
    fn map_accepts_a_byte_order_mark() {
        let text = format!("\u{feff}{}", example("job-bundle.json"));
        let job = map_text(&text, &[], "US").expect("a BOM is ignored");
        assert_eq!(job.model, Model::Job);
    }

    #[test]
    fn map_checks_region_and_placeholders_as_config_set_does() {
        let bundle = example("job-bundle.json");
        let err = map_text(&bundle, &[], "ZZ").unwrap_err().to_string();
        assert!(
            err.contains("--region `ZZ`") && err.contains("ISO 3166"),
            "{err}"
        );
        let err = map_text(&bundle, &["*".into()], "US")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--placeholder `*`") && err.contains("`@`"),
            "{err}"
        );
        let err = map_text(&bundle, &["*@*".into()], "US")
            .unwrap_err()
            .to_string();
        assert!(err.contains("matches every address"), "{err}");
        // what config set accepts, map accepts: lower-case regions, real patterns
        let a = map_text(&bundle, &["*@example.com".into()], " ca ").expect("valid flags");
        let b = map_text(&bundle, &["*@example.com".into()], "CA").expect("valid flags");
        assert_eq!(a, b);
    }

    #[test]
    fn dynamodb_endpoint_blank_is_unset_and_junk_is_refused() {
        assert_eq!(dynamodb_endpoint(None).unwrap(), None);
        assert_eq!(dynamodb_endpoint(Some(String::new())).unwrap(), None);
        assert_eq!(dynamodb_endpoint(Some("  \t".into())).unwrap(), None);
        for ok in [
            "http://127.0.0.1:5000",
            "https://dynamodb.us-east-1.amazonaws.com",
            "HTTP://localhost:8000/",
            "http://[::1]:8000",
        ] {
            assert_eq!(
                dynamodb_endpoint(Some(ok.into())).unwrap().as_deref(),
                Some(ok)
            );
        }
        assert_eq!(
            dynamodb_endpoint(Some(" http://h:1 ".into()))
                .unwrap()
                .as_deref(),
            Some("http://h:1")
        );
        for (bad, why) in [
            ("not a url", "must start with http://"),
            ("localhost:8000", "must start with http://"),
            ("ftp://h", "scheme `ftp`"),
            ("http://", "no host"),
            ("http://:8000", "no host"),
            ("http://h:port", "port `port`"),
            ("http://h:99999", "port `99999`"),
            ("http://a b", "spaces"),
        ] {
            let err = dynamodb_endpoint(Some(bad.into())).unwrap_err().to_string();
            assert!(
                err.contains("--dynamodb-endpoint / STSYNC_DYNAMODB_ENDPOINT") && err.contains(why),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn map_names_the_bad_field() {
        let mut value: serde_json::Value =
            serde_json::from_str(&example("job-bundle.json")).unwrap();
        value["estimates"][1]["createdOn"] = serde_json::json!("yesterday");
        let err = map_text(&value.to_string(), &[], "US")
            .unwrap_err()
            .to_string();
        assert!(err.contains("estimates[1].createdOn"), "{err}");
        let err = map_text(r#"{"model":5,"job":{}}"#, &[], "US").unwrap_err();
        assert!(
            err.to_string()
                .contains("bundle field `model`: 5 is not a model name"),
            "{err}"
        );
        let err = map_text(r#"{"model":"inbound_call"}"#, &[], "US")
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhook"), "{err}");
    }
}
