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

use crate::runner::{run_scheduled, Platform, Run, RunSummary, Shard};
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
        env.finish()?;
        Ok(Config {
            table_name,
            app_key_secret_id,
            endpoint_override,
            requests_per_second: requests_per_second as u32,
            deadline_margin,
        })
    }
}

/// A poll function's whole `main`: JSON tracing (level from `RUST_LOG`, default `info`), the
/// configuration from the environment, AWS clients from the standard AWS configuration (so
/// `AWS_ENDPOINT_URL` applies), the platform app key read once from Secrets Manager, then the
/// Lambda runtime loop calling [`handle_scheduled`] for `model`.
///
/// Errors: configuration or app key problems at cold start (the runtime reports them as an
/// init error), or the runtime's own failure.
pub async fn serve(model: Model) -> Result<(), lambda_runtime::Error> {
    use secrecy::SecretString;
    use secrets::SecretsManager;

    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
    let config = Config::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
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
    let remaining = context
        .deadline()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Instant::now() + remaining.saturating_sub(margin)
}

/// The scheduled handler of `model`: decode the shard, run this shard's sync of the model under
/// the invocation's request id (the lease owner), print one CloudWatch EMF line per synced
/// integration (SPEC.md §9), return the summary.
///
/// Errors: bad input, or the integrations could not be listed (the invocation fails and
/// EventBridge's retry policy applies); per-integration failures are in the summary.
pub async fn handle_scheduled<S: SecretSource>(
    app: &App<S>,
    model: Model,
    event: LambdaEvent<Value>,
) -> Result<RunSummary, lambda_runtime::Error> {
    let shard = parse_input(&event.payload)?;
    let opts = SyncOptions {
        deadline: Some(soft_deadline(&event.context, app.deadline_margin)),
        ..SyncOptions::default()
    };
    let summary = run_scheduled(
        &app.store,
        &app.secrets,
        &app.platform,
        &Run {
            model,
            shard,
            owner: &event.context.request_id,
            now: Utc::now(),
        },
        &opts,
    )
    .await?;
    // One CloudWatch EMF line per synced integration, on stdout by itself (SPEC.md §9).
    let at = Utc::now().timestamp_millis();
    for report in summary.outcomes.iter().filter_map(|o| o.report.as_ref()) {
        println!("{}", crate::metrics::sync_run(model.as_str(), report, at));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
}
