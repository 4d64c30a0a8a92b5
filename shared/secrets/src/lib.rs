//! Credentials: the per-integration secret (client secret, webhook signing key) and the platform
//! `ST-App-Key`, read through the [`SecretSource`] port and written (at activation) through the
//! [`SecretSink`] port (SPEC.md §1: secrets live only in AWS Secrets Manager, never in DynamoDB,
//! logs or error messages).
//!
//! What belongs here: the ports, the Secrets Manager adapter (cached for the container's life), a
//! static adapter for local runs (the CLI's embedded demo, which has no AWS). What does not:
//! deciding which secret an integration uses (its settings carry the secret id, see
//! [`integration_secret_id`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use secrecy::{ExposeSecret, SecretString};
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

impl IntegrationSecret {
    /// The secret's JSON text, as stored: `{"clientSecret": "...", "webhookSigningKey": "..."}`
    /// (`webhookSigningKey` omitted when `None`).
    pub fn to_secret_json(&self) -> SecretString {
        SecretString::from(serde_json::to_string(self).unwrap_or_default())
    }
}

/// Name prefix of the per-integration secrets (the SAM template's `IntegrationSecretPrefix`
/// default; its IAM policies grant reads under it).
pub const INTEGRATION_SECRET_PREFIX: &str = "servicetitan-sync/integrations/";

/// Default id of the platform's `ST-App-Key` secret (the SAM template's `AppKeySecretId`; the
/// plain key as the secret string).
pub const APP_KEY_SECRET_ID: &str = "servicetitan-sync/app-key";

/// The secret id of `workspace`'s integration: [`INTEGRATION_SECRET_PREFIX`] + workspace id
/// (one secret per integration).
pub fn integration_secret_id(workspace: &str) -> String {
    format!("{INTEGRATION_SECRET_PREFIX}{workspace}")
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
    /// Writing the secret failed (Secrets Manager, or the local file of the CLI).
    #[error("storing secret `{id}` failed: {message}")]
    Write {
        /// Secret id.
        id: String,
        /// What failed (never the value).
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

/// Port: store a secret's text under an id, creating the secret when it does not exist and
/// replacing its value when it does (activation writes the integration's secret this way).
pub trait SecretSink: Send + Sync {
    /// Create or replace the secret `id` with `value`. A later [`SecretSource::get`] on the same
    /// adapter returns the new value.
    ///
    /// Errors: [`SecretError::Write`] naming the id (never the value).
    fn put(
        &self,
        id: &str,
        value: &SecretString,
    ) -> impl std::future::Future<Output = Result<(), SecretError>> + Send;
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

impl SecretSink for SecretsManager {
    /// `PutSecretValue`; on `ResourceNotFoundException`, `CreateSecret` (and `PutSecretValue`
    /// again if a concurrent activation created it first). The cache is updated.
    async fn put(&self, id: &str, value: &SecretString) -> Result<(), SecretError> {
        let write_err = |message: String| SecretError::Write {
            id: id.to_owned(),
            message,
        };
        let put = || {
            self.client
                .put_secret_value()
                .secret_id(id)
                .secret_string(value.expose_secret())
                .send()
        };
        match put().await {
            Ok(_) => {}
            Err(e) => {
                let service = e.into_service_error();
                if !service.is_resource_not_found_exception() {
                    return Err(write_err(service.to_string()));
                }
                let created = self
                    .client
                    .create_secret()
                    .name(id)
                    .description("servicetitan-sync integration credentials")
                    .secret_string(value.expose_secret())
                    .send()
                    .await;
                if let Err(e) = created {
                    let service = e.into_service_error();
                    if !service.is_resource_exists_exception() {
                        return Err(write_err(service.to_string()));
                    }
                    put()
                        .await
                        .map_err(|e| write_err(e.into_service_error().to_string()))?;
                }
            }
        }
        self.cache.lock().await.insert(id.to_owned(), value.clone());
        Ok(())
    }
}

/// Secrets held in memory: the CLI's embedded demo and local runs without AWS. Clones share
/// their values (so a clone handed to activation writes where the original reads).
#[derive(Clone, Default)]
pub struct StaticSecrets {
    values: Arc<RwLock<HashMap<String, SecretString>>>,
}

impl StaticSecrets {
    /// Add or replace a secret.
    pub fn insert(&mut self, id: impl Into<String>, value: impl Into<String>) {
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.into(), SecretString::from(value.into()));
    }

    /// The ids held, sorted (values stay hidden).
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        ids.sort();
        ids
    }
}

impl SecretSource for StaticSecrets {
    async fn get(&self, id: &str) -> Result<SecretString, SecretError> {
        self.values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| SecretError::NotFound(id.to_owned()))
    }
}

impl SecretSink for StaticSecrets {
    async fn put(&self, id: &str, value: &SecretString) -> Result<(), SecretError> {
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), value.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_secrets_write_then_read_and_clones_share() {
        let a = StaticSecrets::default();
        let b = a.clone();
        let secret = IntegrationSecret {
            client_secret: "cs1.value".into(),
            webhook_signing_key: None,
        };
        b.put("x", &secret.to_secret_json()).await.unwrap();
        let text = a.get("x").await.unwrap();
        let back = parse_integration_secret("x", text.expose_secret()).unwrap();
        assert_eq!(back.client_secret, "cs1.value");
        assert!(!text.expose_secret().contains("webhookSigningKey"));
        assert!(matches!(a.get("y").await, Err(SecretError::NotFound(_))));
        assert_eq!(a.ids(), vec!["x".to_owned()]);
        assert_eq!(format!("{secret:?}"), "IntegrationSecret(***)");
    }

    #[test]
    fn ids_follow_the_template_prefix() {
        assert_eq!(
            integration_secret_id("ws-1"),
            "servicetitan-sync/integrations/ws-1"
        );
    }
}
