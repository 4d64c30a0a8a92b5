//! call-webhook Lambda entry point: logging (`sync::lambda::init_logging`), configuration (all
//! problems at once), AWS clients, the platform app key, then the runtime loop. Everything else is
//! in the library.

use chrono::Utc;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::{service_fn, Error, LambdaEvent};
use secrets::{SecretSource, SecretsManager};
use store::Store;

use call_webhook::{handle_lambda, App, Config, ServiceTitanAccess};

#[tokio::main]
async fn main() -> Result<(), Error> {
    sync::lambda::init_logging();
    let config = Config::from_env().map_err(anyhow::Error::msg)?;
    let aws =
        sync::lambda::aws_sdk_config(|k| std::env::var(k).ok()).map_err(anyhow::Error::msg)?;
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&aws));
    let app_key = secrets.get(&config.app_key_secret_id).await?;
    let app = App::new(
        Store::new(
            aws_sdk_dynamodb::Client::new(&aws),
            config.table_name.clone(),
        ),
        secrets,
        ServiceTitanAccess {
            app_key,
            endpoint_override: config.endpoint_override.clone(),
            requests_per_second: config.requests_per_second,
        },
        config.webhook.clone(),
    );
    let app = &app;
    lambda_http::lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, Error>(handle_lambda(app, event.payload, Utc::now()).await)
        },
    ))
    .await
}
