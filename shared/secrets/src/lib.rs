//! Credentials: the per-integration secret (client secret, webhook signing key) and the platform
//! `ST-App-Key`, read through the [`SecretSource`] port (SPEC.md §1: secrets live only in AWS
//! Secrets Manager, never in DynamoDB, logs or error messages).
//!
//! What belongs here: the port, the Secrets Manager adapter (cached for the container's life), a
//! static adapter for local runs (the CLI's embedded demo, which has no AWS). What does not:
//! deciding which secret an integration uses (its settings carry the secret id).

use std::collections::HashMap;
use std::sync::Arc;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// The JSON stored in an integration's secret: `{"clientSecret": "...", "webhookSigningKey": "..."}`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationSecret {
    /// OAuth client secret of the ServiceTitan app connection.
    pub client_secret: String,
    /// HMAC key for webhook signatures (32–64 characters), when webhooks are on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_signing_key: Option<String>,
}

impl std::fmt::Debug for IntegrationSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntegrationSecret(***)")
    }
}

/// A secret could not be had. Messages name the secret id, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No secret under that id.
    #[error("secret `{0}` does not exist")]
    NotFound(String),
    /// The secret exists but is not the expected shape.
    #[error("secret `{id}` is malformed: {reason}")]
    Malformed {
        /// Secret id.
        id: String,
        /// What is wrong (never the value).
        reason: String,
    },
    /// Secrets Manager failed.
    #[error("reading secret `{id}` from Secrets Manager failed: {message}")]
    Service {
        /// Secret id.
        id: String,
        /// The service's error text.
        message: String,
    },
}

/// Port: read a secret's text by id (Secrets Manager id or ARN).
pub trait SecretSource: Send + Sync {
    /// The secret string under `id`.
    ///
    /// Errors: [`SecretError`] naming the id.
    fn get(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<SecretString, SecretError>> + Send;
}

/// Parse an integration secret's JSON.
///
/// Errors: [`SecretError::Malformed`] naming the id (the value is never echoed).
pub fn parse_integration_secret(id: &str, text: &str) -> Result<IntegrationSecret, SecretError> {
    serde_json::from_str(text).map_err(|e| SecretError::Malformed {
        id: id.to_owned(),
        reason: format!(
            "expected JSON {{\"clientSecret\": ...}} (error at line {}, column {})",
            e.line(),
            e.column()
        ),
    })
}

/// AWS Secrets Manager adapter. Values are cached for the life of the process (a Lambda
/// container), so each secret is read once per cold start.
#[derive(Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    cache: Arc<Mutex<HashMap<String, SecretString>>>,
}

impl SecretsManager {
    /// Wrap a Secrets Manager client (built from `aws_config`, so `AWS_ENDPOINT_URL` applies).
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManager {
            client,
            cache: Arc::default(),
        }
    }
}

impl SecretSource for SecretsManager {
    async fn get(&self, id: &str) -> Result<SecretString, SecretError> {
        if let Some(v) = self.cache.lock().await.get(id) {
            return Ok(v.clone());
        }
        let out = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| {
                let service = e.into_service_error();
                if service.is_resource_not_found_exception() {
                    SecretError::NotFound(id.to_owned())
                } else {
                    SecretError::Service {
                        id: id.to_owned(),
                        message: service.to_string(),
                    }
                }
            })?;
        let text = out.secret_string().ok_or_else(|| SecretError::Malformed {
            id: id.to_owned(),
            reason: "no SecretString (binary secrets are not supported)".into(),
        })?;
        let value = SecretString::from(text.to_owned());
        self.cache.lock().await.insert(id.to_owned(), value.clone());
        Ok(value)
    }
}

/// Secrets held in memory: the CLI's embedded demo and local runs without AWS.
#[derive(Clone, Default)]
pub struct StaticSecrets {
    values: HashMap<String, SecretString>,
}

impl StaticSecrets {
    /// Add or replace a secret.
    pub fn insert(&mut self, id: impl Into<String>, value: impl Into<String>) {
        self.values
            .insert(id.into(), SecretString::from(value.into()));
    }
}

impl SecretSource for StaticSecrets {
    async fn get(&self, id: &str) -> Result<SecretString, SecretError> {
        self.values
            .get(id)
            .cloned()
            .ok_or_else(|| SecretError::NotFound(id.to_owned()))
    }
}
