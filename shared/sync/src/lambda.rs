//! What the scheduled poll Lambdas (`poll-jobs`, `poll-memberships`) share (feature `lambda`):
//! their configuration, the per-container [`App`], the schedule-input decoding, the soft
//! deadline, and the handler body. Each function crate is then a few lines that name its model
//! (STYLE.md: "Handlers: decode the event into a typed request, call one library function, map
//! the result to the trigger's response").

use std::time::{Duration, Instant};

use chrono::Utc;
use lambda_runtime::{Context, LambdaEvent};
use opportunity::Model;
use secrets::SecretSource;
use serde_json::Value;
use store::Store;

use crate::runner::{run_continuation, run_scheduled, Platform, Run, RunSummary, Shard};
use crate::SyncOptions;

/// Configuration from the environment, read once at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the DynamoDB table.
    pub table_name: String,
    /// `ST_APP_KEY_SECRET_ID`: Secrets Manager id of the platform `ST-App-Key`.
    pub app_key_secret_id: String,
    /// `ST_API_BASE_URL` + `ST_TOKEN_URL`: both or neither; replace the environment's hosts
    /// (a sandbox).
    pub endpoint_override: Option<(String, String)>,
    /// `ST_REQUESTS_PER_SECOND` (default 20).
    pub requests_per_second: u32,
    /// `SYNC_DEADLINE_MARGIN_MS` (default 30000): stop taking pages this long before the Lambda
    /// deadline.
    pub deadline_margin: Duration,
    /// `CONTINUATION_QUEUE_URL` (optional): the SQS queue that triggers this function again for
    /// an integration whose run stopped at the deadline (SPEC.md §3 "Time budget").
    pub continuation_queue_url: Option<String>,
}

impl Config {
    /// Read from the process environment.
    ///
    /// Errors: one message listing every missing or malformed variable.
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read through `get` (tests pass a map).
    ///
    /// Errors: one message listing every missing or malformed variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let mut env = crate::env::EnvReader::new(get);
        let table_name = env.required("TABLE_NAME");
        let app_key_secret_id = env.required("ST_APP_KEY_SECRET_ID");
        let endpoint_override = env.endpoint_override();
        let requests_per_second = env.number("ST_REQUESTS_PER_SECOND", 20, 1);
        let deadline_margin =
            Duration::from_millis(env.number("SYNC_DEADLINE_MARGIN_MS", 30_000, 0));
        if requests_per_second > u64::from(u32::MAX) {
            env.problem("ST_REQUESTS_PER_SECOND is too large");
        }
        let continuation_queue_url = env.optional("CONTINUATION_QUEUE_URL");
        env.finish()?;
        Ok(Config {
            table_name,
            app_key_secret_id,
            endpoint_override,
            requests_per_second: requests_per_second as u32,
            deadline_margin,
            continuation_queue_url,
        })
    }
}

/// The AWS SDK configuration of a Lambda function, from what Lambda puts in its environment
/// (read through `get`, once, at cold start): the region `AWS_REGION`, the execution role's
/// temporary credentials `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`
/// (fixed for the life of the execution environment), and `AWS_ENDPOINT_URL` when set (local
/// runs against moto). The SDK's defaults supply the HTTPS client, retries (standard, 3
/// attempts) and timeouts.
///
/// Why not `aws_config::load_defaults`: its credential chain (profile files, SSO, web identity
/// through an STS client, ECS, IMDS) has nothing to find in Lambda beyond these variables, adds
/// cold-start work, and linking it costs the bootstraps about a megabyte (issue #9's 8 MB budget).
/// The CLI keeps the full chain.
///
/// Errors: one message naming every missing variable.
pub fn aws_sdk_config(
    get: impl Fn(&str) -> Option<String>,
) -> Result<aws_config::SdkConfig, String> {
    let mut env = crate::env::EnvReader::new(get);
    let region = env.required("AWS_REGION");
    let key = env.required("AWS_ACCESS_KEY_ID");
    let secret = env.required("AWS_SECRET_ACCESS_KEY");
    let session_token = env.optional("AWS_SESSION_TOKEN");
    let endpoint = env.optional("AWS_ENDPOINT_URL");
    env.finish()?;
    let credentials = aws_sdk_dynamodb::config::Credentials::new(
        key,
        secret,
        session_token,
        None,
        "lambda-environment",
    );
    let mut builder = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            credentials,
        ));
    if let Some(url) = endpoint {
        builder = builder.endpoint_url(url);
    }
    Ok(builder.build())
}

/// Logging for every Lambda of this bundle, called first thing in `main`: tracing as JSON lines
/// on stdout (CloudWatch), level from `RUST_LOG` (default `info`), with the current span's fields
/// and no timestamp (CloudWatch stamps each line).
///
/// Also a panic hook that logs the panic (its location and message, as the standard hook prints
/// them) as one `error` line before the standard hook runs. The bootstraps are built with
/// `panic = "abort"` (Cargo.toml `[profile.lambda-release]`, issue #9's 8 MB budget), so a panic
/// ends the process: Lambda fails the invocation with `Runtime.ExitError` and starts a fresh
/// environment, and this line is the structured record of why. With unwinding (debug builds,
/// `cargo lambda watch`) lambda_runtime reports the panic as the invocation's error as well.
///
/// Panics if a global tracing subscriber is already set (it is called once, at cold start).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(true)
        .without_time()
        .init();
    let standard = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "panicked");
        standard(info);
    }));
}

/// A poll function's whole `main`: logging ([`init_logging`]), the
/// configuration from the environment, AWS clients from [`aws_sdk_config`] (so
/// `AWS_ENDPOINT_URL` applies), the platform app key read once from Secrets Manager, then the
/// Lambda runtime loop calling [`handle_scheduled`] for `model`.
///
/// Errors: configuration or app key problems at cold start (the runtime reports them as an
/// init error), or the runtime's own failure.
pub async fn serve(model: Model) -> Result<(), lambda_runtime::Error> {
    use secrecy::SecretString;
    use secrets::SecretsManager;

    init_logging();
    let config = Config::from_env()?;
    let aws = aws_sdk_config(|k| std::env::var(k).ok())?;
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&aws));
    let app_key: SecretString = secrets.get(&config.app_key_secret_id).await?;
    let app = App {
        store: Store::new(
            aws_sdk_dynamodb::Client::new(&aws),
            config.table_name.clone(),
        ),
        secrets,
        platform: Platform {
            app_key,
            endpoint_override: config.endpoint_override.clone(),
            requests_per_second: config.requests_per_second,
        },
        deadline_margin: config.deadline_margin,
        continuation: config
            .continuation_queue_url
            .clone()
            .map(|queue_url| Continuation {
                client: aws_sdk_sqs::Client::new(&aws),
                queue_url,
            }),
    };
    let app = &app;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| handle_scheduled(app, model, event),
    ))
    .await
}

/// Everything the handler needs, built once per container.
pub struct App<S> {
    /// The store.
    pub store: Store,
    /// Where integration secrets come from.
    pub secrets: S,
    /// Platform settings (app key, hosts, budget).
    pub platform: Platform,
    /// Stop this long before the Lambda deadline.
    pub deadline_margin: Duration,
    /// Where continuation messages go; `None` = unfinished work waits for the next schedule.
    pub continuation: Option<Continuation>,
}

/// The SQS queue that triggers the poll function again for one integration
/// (`{"workspaceId": "...", "model": "job"}` per message).
pub struct Continuation {
    /// SQS client.
    pub client: aws_sdk_sqs::Client,
    /// Queue URL (`CONTINUATION_QUEUE_URL`).
    pub queue_url: String,
}

/// A continuation message's body: which integration and model to continue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContinueSync {
    /// The workspace whose sync stopped at the deadline.
    pub workspace_id: String,
    /// The model (`job`, `membership`).
    pub model: Model,
}

/// What a poll function was invoked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollInput {
    /// An EventBridge schedule: sync this shard.
    Schedule(Shard),
    /// An SQS batch of continuation messages (from [`Continuation`]).
    Continue(Vec<ContinueSync>),
}

/// Decode a poll function's event: an SQS event (`{"Records": [{"eventSource": "aws:sqs",
/// "body": "<ContinueSync JSON>"}]}`) or a schedule input (see [`parse_input`]).
///
/// Errors: a message naming the record and field that is wrong.
pub fn parse_poll_input(payload: &Value) -> Result<PollInput, String> {
    let Some(records) = payload.get("Records") else {
        return parse_input(payload).map(PollInput::Schedule);
    };
    let records = records
        .as_array()
        .ok_or("`Records` must be a list of SQS records")?;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let body = r
                .get("body")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("Records[{i}]: no `body` text"))?;
            serde_json::from_str::<ContinueSync>(body).map_err(|e| {
                format!("Records[{i}].body must be {{\"workspaceId\": \"...\", \"model\": \"job\"}}: {e}")
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map(PollInput::Continue)
}

/// Decode the schedule input: `{"shard": i, "of": n}` (EventBridge rule input), or an
/// EventBridge "Scheduled Event" envelope / empty object (everything: shard 0 of 1).
///
/// Errors: a message saying which field is wrong.
pub fn parse_input(payload: &Value) -> Result<Shard, String> {
    if payload.is_null() || payload.get("detail-type").is_some() {
        return Ok(Shard::default());
    }
    let shard: Shard = serde_json::from_value(payload.clone())
        .map_err(|e| format!("schedule input must be {{\"shard\": i, \"of\": n}}: {e}"))?;
    shard.validate()?;
    Ok(shard)
}

/// The soft deadline: the invocation's deadline minus the margin (never in the past).
pub fn soft_deadline(context: &Context, margin: Duration) -> Instant {
    let remaining = match context
        .deadline()
        .duration_since(std::time::SystemTime::now())
    {
        Ok(left) => left,
        // Not a real deadline: `cargo lambda watch` sends `Lambda-Runtime-Deadline-Ms: 600000`
        // (1970). Assume Lambda's longest timeout (900 s); a real Lambda is stopped at its own.
        Err(e) if e.duration() > Duration::from_secs(86_400) => Duration::from_secs(900),
        Err(_) => Duration::ZERO,
    };
    Instant::now() + remaining.saturating_sub(margin)
}

/// What a poll invocation keeps after its last ServiceTitan call for the rest of its work
/// (releasing leases, the EMF lines, queueing continuations): calls end this long before the
/// Lambda's deadline ([`SyncOptions::request_deadline`]).
pub const AFTER_SYNC_RESERVE: Duration = Duration::from_secs(5);

/// The poll handler of `model`: decode the input, sync this shard (a schedule) or the named
/// integrations (continuation messages) under the invocation's request id (the lease owner),
/// print one CloudWatch EMF line per synced integration (SPEC.md §9), send a continuation
/// message for each integration that stopped at the deadline after making progress, and return
/// the summary (one per continued integration, merged).
///
/// Errors: bad input, or the integrations could not be listed (the invocation fails and
/// EventBridge's or SQS's retry policy applies); per-integration failures are in the summary.
pub async fn handle_scheduled<S: SecretSource>(
    app: &App<S>,
    model: Model,
    event: LambdaEvent<Value>,
) -> Result<RunSummary, lambda_runtime::Error> {
    let input = parse_poll_input(&event.payload)?;
    let opts = SyncOptions {
        deadline: Some(soft_deadline(&event.context, app.deadline_margin)),
        request_deadline: Some(soft_deadline(&event.context, AFTER_SYNC_RESERVE)),
        ..SyncOptions::default()
    };
    let run = Run {
        model,
        shard: Shard::default(),
        owner: &event.context.request_id,
        now: Utc::now(),
    };
    let summary = match input {
        PollInput::Schedule(shard) => {
            let run = Run { shard, ..run };
            run_scheduled(&app.store, &app.secrets, &app.platform, &run, &opts).await?
        }
        PollInput::Continue(messages) => {
            let mut all = RunSummary::default();
            for m in messages {
                if m.model != model {
                    tracing::warn!(workspace = %m.workspace_id, model = %m.model, "continuation for another model ignored");
                    continue;
                }
                let one = run_continuation(
                    &app.store,
                    &app.secrets,
                    &app.platform,
                    &run,
                    &m.workspace_id,
                    &opts,
                )
                .await?;
                all.integrations += one.integrations;
                all.succeeded += one.succeeded;
                all.failed += one.failed;
                all.skipped += one.skipped;
                all.not_due += one.not_due;
                all.outcomes.extend(one.outcomes);
            }
            all
        }
    };
    // One CloudWatch EMF line per synced integration, on stdout by itself (SPEC.md §9).
    let at = Utc::now().timestamp_millis();
    for report in summary.outcomes.iter().filter_map(|o| o.report.as_ref()) {
        println!("{}", crate::metrics::sync_run(model.as_str(), report, at));
    }
    if let Some(c) = &app.continuation {
        for report in summary.outcomes.iter().filter_map(|o| o.report.as_ref()) {
            if report.caught_up || report.pages == 0 {
                continue;
            }
            let body = ContinueSync {
                workspace_id: report.workspace_id.clone(),
                model,
            };
            let sent = c
                .client
                .send_message()
                .queue_url(&c.queue_url)
                .message_body(serde_json::to_string(&body)?)
                .send()
                .await;
            match sent {
                Ok(_) => tracing::info!(workspace = %body.workspace_id, "continuation queued"),
                // The next schedule continues it; nothing is lost.
                Err(e) => {
                    tracing::error!(workspace = %body.workspace_id, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "queueing the continuation failed")
                }
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn aws_sdk_config_reads_lambdas_environment() {
        let err = aws_sdk_config(|_| None).unwrap_err();
        for name in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            assert!(err.contains(name), "{name} missing from {err}");
        }
        let env: HashMap<&str, &str> = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ]
        .into();
        let conf = aws_sdk_config(|k| env.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(conf.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(conf.endpoint_url(), Some("http://127.0.0.1:4566"));
        assert!(conf.credentials_provider().is_some());
        let without: HashMap<&str, &str> = env
            .iter()
            .filter(|(k, _)| **k != "AWS_ENDPOINT_URL")
            .map(|(k, v)| (*k, *v))
            .collect();
        let conf = aws_sdk_config(|k| without.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(conf.endpoint_url(), None);
    }

    /// The Lambdas' SDK configuration reaches a real DynamoDB API (moto at `AWS_ENDPOINT_URL`,
    /// as `scripts/test.sh` starts it): the store creates its table and round-trips an item.
    #[tokio::test]
    async fn aws_sdk_config_reaches_dynamodb() {
        if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
            assert_ne!(
                std::env::var("STSYNC_REQUIRE_MOTO").as_deref(),
                Ok("1"),
                "STSYNC_REQUIRE_MOTO=1 but AWS_ENDPOINT_URL is unset"
            );
            eprintln!("skipped: moto (AWS_ENDPOINT_URL unset)");
            return;
        }
        let conf = aws_sdk_config(|k| std::env::var(k).ok()).unwrap();
        let table = format!("stsync-lambda-conf-{}", std::process::id());
        let store = Store::new(aws_sdk_dynamodb::Client::new(&conf), table);
        store.ensure_table().await.unwrap();
        let ws = "lambda-conf";
        assert_eq!(store.get_integration(ws).await.unwrap(), None);
        assert_eq!(store.delete_workspace(ws).await.unwrap(), 0);
    }

    #[test]
    fn config_reports_every_missing_variable_at_once() {
        let err = Config::from_lookup(|_| None).unwrap_err();
        assert!(err.contains("TABLE_NAME"), "{err}");
        assert!(err.contains("ST_APP_KEY_SECRET_ID"), "{err}");
    }

    #[test]
    fn config_reads_values_and_defaults() {
        let env: HashMap<&str, &str> = [
            ("TABLE_NAME", "t1"),
            ("ST_APP_KEY_SECRET_ID", "app-key"),
            ("ST_REQUESTS_PER_SECOND", "7"),
        ]
        .into();
        let c = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.table_name, "t1");
        assert_eq!(c.requests_per_second, 7);
        assert_eq!(c.deadline_margin, Duration::from_secs(30));
        assert!(c.endpoint_override.is_none());
    }

    #[test]
    fn config_rejects_half_an_override_and_bad_numbers() {
        let env: HashMap<&str, &str> = [
            ("TABLE_NAME", "t1"),
            ("ST_APP_KEY_SECRET_ID", "k"),
            ("ST_API_BASE_URL", "http://127.0.0.1:1"),
            ("SYNC_DEADLINE_MARGIN_MS", "soon"),
        ]
        .into();
        let err = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(err.contains("ST_TOKEN_URL"), "{err}");
        assert!(err.contains("SYNC_DEADLINE_MARGIN_MS"), "{err}");
    }

    #[test]
    fn schedule_inputs() {
        assert_eq!(
            parse_input(&serde_json::json!({"shard": 1, "of": 3})).unwrap(),
            Shard { shard: 1, of: 3 }
        );
        let envelope = serde_json::json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert_eq!(parse_input(&envelope).unwrap(), Shard::default());
        assert!(parse_input(&serde_json::json!({"shard": 5, "of": 2}))
            .unwrap_err()
            .contains("shard"));
        assert!(parse_input(&serde_json::json!({"shard": "x"})).is_err());
    }

    #[test]
    fn soft_deadline_of_a_local_runtime_is_not_in_the_past() {
        let mut ctx = Context::default();
        ctx.deadline = 600_000; // what `cargo lambda watch` sends
        let d = soft_deadline(&ctx, Duration::from_secs(30));
        assert!(d > Instant::now() + Duration::from_secs(800));
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        ctx.deadline = now_ms - 1_000; // a real deadline just passed
        assert!(soft_deadline(&ctx, Duration::ZERO) <= Instant::now());
    }

    #[test]
    fn continuation_inputs() {
        let sqs = serde_json::json!({"Records": [
            {"eventSource": "aws:sqs", "messageId": "m1", "body": "{\"workspaceId\":\"ws-1\",\"model\":\"job\"}"},
            {"eventSource": "aws:sqs", "messageId": "m2", "body": "{\"workspaceId\":\"ws-2\",\"model\":\"membership\"}"}
        ]});
        assert_eq!(
            parse_poll_input(&sqs).unwrap(),
            PollInput::Continue(vec![
                ContinueSync {
                    workspace_id: "ws-1".into(),
                    model: Model::Job
                },
                ContinueSync {
                    workspace_id: "ws-2".into(),
                    model: Model::Membership
                },
            ])
        );
        assert_eq!(
            parse_poll_input(&serde_json::json!({"shard": 0, "of": 2})).unwrap(),
            PollInput::Schedule(Shard { shard: 0, of: 2 })
        );
        let bad = serde_json::json!({"Records": [{"body": "{\"workspace\":\"ws-1\"}"}]});
        assert!(parse_poll_input(&bad)
            .unwrap_err()
            .contains("Records[0].body"));
        let no_body = serde_json::json!({"Records": [{}]});
        assert!(parse_poll_input(&no_body)
            .unwrap_err()
            .contains("Records[0]"));
    }
}
