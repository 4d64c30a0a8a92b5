//! Integration settings (SPEC.md §1, §2). The walking skeleton carries the settings the job sync
//! needs; issue 7 completes validation, resources and push settings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Model;

/// ServiceTitan environment of an integration (API-NOTES §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// `api.servicetitan.io` / `auth.servicetitan.io`.
    Production,
    /// `api-integration.servicetitan.io` / `auth-integration.servicetitan.io`.
    Integration,
}

/// Lifecycle of an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    /// Connected and syncing.
    Active,
    /// Disconnected: no polling, data kept.
    Disconnected,
}

/// One workspace's connection to one ServiceTitan tenant. Secrets are never part of it: the client
/// secret lives in AWS Secrets Manager under `secret_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    /// Our workspace id (every store key starts with it).
    pub workspace_id: String,
    /// ServiceTitan environment.
    pub environment: Environment,
    /// ServiceTitan tenant id.
    pub tenant_id: i64,
    /// OAuth client id (not secret).
    pub client_id: String,
    /// Where the client secret is kept (Secrets Manager secret id or ARN).
    pub secret_id: String,
    /// Enabled models.
    pub models: Vec<Model>,
    /// The user's placeholder e-mail addresses and patterns (`noemail@*`, `*@example.com`), added
    /// to the built-in list.
    #[serde(default)]
    pub placeholder_emails: Vec<String>,
    /// Default phone region for numbers without a country code (ISO 3166 alpha-2), e.g. `US`.
    #[serde(default = "default_region")]
    pub phone_region: String,
    /// Poll interval in minutes (1 to 60).
    #[serde(default = "default_poll")]
    pub poll_interval_minutes: u32,
    /// Active or disconnected.
    pub status: IntegrationStatus,
    /// When the integration was activated (UTC): incremental polling starts here and the backfill
    /// covers the 90 days before it.
    pub activated_at: DateTime<Utc>,
}

fn default_region() -> String {
    "US".to_owned()
}

fn default_poll() -> u32 {
    15
}
