//! note-pusher Lambda entry point: logging (`sync::lambda::init_logging`), configuration, AWS
//! clients, the app key, then the runtime loop. Everything else is in the library.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use note_pusher::{handle, App, Config};
use secrecy::SecretString;
use secrets::{SecretSource, SecretsManager};
use store::Store;
use sync::push::{PushOptions, Pusher};
use sync::runner::Platform;

#[tokio::main]
async fn main() -> Result<(), Error> {
    sync::lambda::init_logging();
    let config = Config::from_env()?;
    let aws = sync::lambda::aws_sdk_config(|k| std::env::var(k).ok())?;
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&aws));
    let app_key: SecretString = secrets.get(&config.app_key_secret_id).await?;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.table_name.clone(),
    );
    let platform = Platform {
        app_key,
        endpoint_override: config.endpoint_override.clone(),
        requests_per_second: config.requests_per_second,
    };
    let options = PushOptions {
        lease: chrono::Duration::from_std(config.claim_lease)?,
        ..PushOptions::default()
    };
    let app = App {
        pusher: Pusher::new(store, secrets, platform, options),
        deadline_margin: config.deadline_margin,
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        handle(app, event)
    }))
    .await
}
