//! Helpers shared by the sandbox's HTTP tests.
#![allow(dead_code, missing_docs)]

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use st_sandbox::{Dataset, RunningSandbox, Sandbox, SandboxConfig};

pub const LOOPBACK: &str = "127.0.0.1:0";

pub fn loopback() -> SocketAddr {
    LOOPBACK.parse().expect("loopback address")
}

/// A fixed "now" so generated data is the same on every run.
pub fn fixed_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

pub fn small_config() -> SandboxConfig {
    SandboxConfig {
        customers: 60,
        jobs: 150,
        now: fixed_now(),
        rate_limit_per_sec: None,
        ..SandboxConfig::default()
    }
}

pub async fn start(cfg: SandboxConfig, data: Dataset) -> RunningSandbox {
    Sandbox::start(cfg, data, loopback())
        .await
        .expect("sandbox starts")
}

pub async fn start_generated(cfg: SandboxConfig) -> RunningSandbox {
    let data = Dataset::generate(&cfg);
    start(cfg, data).await
}

/// A client that carries the app key and a fresh bearer token.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub tenant: i64,
    pub app_key: String,
    pub token: String,
}

impl Api {
    pub async fn connect(sb: &RunningSandbox, cfg: &SandboxConfig) -> Api {
        let http = reqwest::Client::new();
        let token = fetch_token(&http, sb, cfg).await;
        Api {
            http,
            base: sb.base_url(),
            tenant: cfg.tenant_id,
            app_key: cfg.app_key.clone(),
            token,
        }
    }

    /// `path` is relative to the tenant, e.g. `jpm`, `jobs`.
    pub fn url(&self, module: &str, path: &str) -> String {
        format!("{}/{module}/v2/tenant/{}/{path}", self.base, self.tenant)
    }

    pub async fn get(&self, module: &str, path: &str, query: &[(&str, String)]) -> (u16, Value) {
        let resp = self
            .http
            .get(self.url(module, path))
            .query(query)
            .header("ST-App-Key", &self.app_key)
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request sent");
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }
}

pub async fn fetch_token(
    http: &reqwest::Client,
    sb: &RunningSandbox,
    cfg: &SandboxConfig,
) -> String {
    let resp = http
        .post(sb.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.as_str()),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("token json");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// A customer in ServiceTitan's JSON shape with every schema-required field.
pub fn customer_json(id: i64, modified: &str, active: bool) -> Value {
    json!({
        "id": id, "active": active, "name": format!("Customer {id}"), "type": "Residential",
        "address": {"street": "1 Main St", "unit": null, "city": "Springfield", "state": "IL",
                    "zip": "62704", "country": "USA", "latitude": null, "longitude": null},
        "customFields": [], "balance": 0.0, "taxExempt": false, "tagTypeIds": [],
        "doNotMail": false, "doNotService": false, "nationalAccount": false,
        "createdOn": "2024-01-01T00:00:00Z", "createdById": 1, "modifiedOn": modified,
        "mergedToId": null, "paymentTermId": null, "externalData": []
    })
}

pub fn ids_of(body: &Value) -> Vec<i64> {
    body["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["id"].as_i64()).collect())
        .unwrap_or_default()
}
