//! poll-memberships Lambda entry point: tracing (JSON), configuration, AWS clients, the app key, then
//! the runtime loop. Everything else is in the library.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use poll_memberships::{handle, App, Config};
use secrecy::SecretString;
use secrets::{SecretSource, SecretsManager};
use serde_json::Value;
use store::Store;
use sync::runner::Platform;

#[tokio::main]
async fn main() -> Result<(), Error> {
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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        handle(app, event)
    }))
    .await
}
