//! call-webhook: the Lambda behind API Gateway (HTTP API, payload v2) route
//! `POST /webhooks/servicetitan/{workspaceId}` that turns ServiceTitan's signed
//! `tn.tlc.call-completed` webhooks into Inbound Call opportunities at once (SPEC.md §4, §6).
//!
//! The handler ([`handle`]) only decodes the API Gateway event, checks it in this order, calls
//! [`ingest::record_inbound_call`] and maps the result to the answer:
//!
//! 1. POST, a body within the size limit (413), base64-decoded when API Gateway flagged it;
//! 2. the workspace's integration (404 when unknown) and its signing key (the integration's
//!    secret `webhookSigningKey`, through [`SecretSource`]: Secrets Manager, cached per container);
//! 3. the HMAC-SHA256 signature over the raw body bytes, constant-time, **before any parsing**
//!    (401) — module [`signature`];
//! 4. the integration is active with the `inbound_call` model on (404);
//! 5. the CloudEvents envelope (400 naming the field); its `data.tenantId` must be the
//!    integration's tenant (403);
//! 6. types other than `tn.tlc.call-completed` and outbound calls: 200, ignored, nothing stored;
//! 7. the call: claim, contact, upsert — module [`ingest`].
//!
//! Errors map to HTTP in one place ([`error::WebhookError::status`]). No body, signature, key,
//! phone number or e-mail is ever logged. What does not belong here: mapping rules (crate
//! `opportunity`), item layout (crate `store`), HTTP to ServiceTitan (crate `servicetitan`).

pub mod config;
pub mod error;
pub mod event;
pub mod ingest;
pub mod signature;

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use lambda_http::aws_lambda_events::encodings::Body;
use lambda_http::http::{HeaderMap, HeaderValue, Method};
use opportunity::{Integration, IntegrationStatus, Model};
use secrecy::ExposeSecret;
use secrets::{parse_integration_secret, IntegrationSecret, SecretError, SecretSource};
use servicetitan::client::Client;
use servicetitan::webhook::CALL_COMPLETED;
use store::{Store, StoreError};
use tracing::{info, warn, Instrument};

pub use config::{Config, DigestEncoding, WebhookSettings};
pub use error::WebhookError;
pub use ingest::{Outcome, ServiceTitanAccess};
/// The API Gateway HTTP API (payload v2) request and response types the handler speaks.
pub use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpResponse,
};

/// The path parameter carrying the workspace id (`/webhooks/servicetitan/{workspaceId}`).
pub const WORKSPACE_PARAM: &str = "workspaceId";

/// Everything the handler needs, built once per container.
pub struct App<S> {
    /// The store.
    pub store: Store,
    /// Where integration secrets (client secret, webhook signing key) come from.
    pub secrets: S,
    /// The ServiceTitan app key and hosts (customer lookups).
    pub platform: ServiceTitanAccess,
    /// Request checks (signature header and encoding, body limit, claim hold).
    pub settings: WebhookSettings,
    /// ServiceTitan clients by workspace, reused across invocations (their token caches too).
    clients: Mutex<HashMap<String, Client>>,
}

impl<S: SecretSource> App<S> {
    /// An app over a store, a secret source, the platform settings and the request checks.
    pub fn new(
        store: Store,
        secrets: S,
        platform: ServiceTitanAccess,
        settings: WebhookSettings,
    ) -> Self {
        App {
            store,
            secrets,
            platform,
            settings,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client(
        &self,
        integration: &Integration,
        secret: &IntegrationSecret,
    ) -> Result<Client, WebhookError> {
        let key = format!("{}\n{}", integration.workspace_id, integration.client_id);
        let mut cache = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = cache.get(&key) {
            return Ok(client.clone());
        }
        let client = ingest::client_for(integration, secret, &self.platform)?;
        cache.insert(key, client.clone());
        Ok(client)
    }
}

/// A 2xx answer: what happened to an accepted delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// Handled by [`ingest::record_inbound_call`].
    Handled {
        /// The CloudEvent id.
        event_id: String,
        /// What happened.
        outcome: Outcome,
    },
    /// Acknowledged and ignored (another event type, an outbound call).
    Ignored {
        /// The CloudEvent id.
        event_id: String,
        /// Why (`event type tn.jpm.job-completed is not handled`, `outbound call`).
        reason: String,
    },
}

impl Ack {
    /// The answer body: `{"status": "created"|"duplicate"|"ignored", "eventId", ...}`.
    pub fn body(&self) -> serde_json::Value {
        match self {
            Ack::Ignored { event_id, reason } => {
                serde_json::json!({"status": "ignored", "eventId": event_id, "reason": reason})
            }
            Ack::Handled { event_id, outcome } => match outcome {
                Outcome::Recorded {
                    external_id,
                    contact_id,
                    matched_by,
                    contact_created,
                    customer_fetched,
                } => serde_json::json!({
                    "status": "created",
                    "eventId": event_id,
                    "opportunity": {"model": Model::InboundCall, "externalId": external_id},
                    "contactId": contact_id,
                    "contactMatchedBy": matched_by,
                    "contactCreated": contact_created,
                    "customerFetched": customer_fetched,
                }),
                Outcome::Duplicate { by, external_id } => serde_json::json!({
                    "status": "duplicate",
                    "eventId": event_id,
                    "duplicateOf": by,
                    "opportunity": external_id.as_ref().map(|id| serde_json::json!({"model": Model::InboundCall, "externalId": id})),
                }),
            },
        }
    }
}

fn json_response(status: u16, body: &serde_json::Value) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        lambda_http::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response.headers = headers;
    response.body = Some(Body::Text(body.to_string()));
    response
}

/// The API Gateway answer of a result: 200 with [`Ack::body`], or the error's status with
/// [`WebhookError::body`].
pub fn to_response(result: &Result<Ack, WebhookError>) -> ApiGatewayV2httpResponse {
    match result {
        Ok(ack) => json_response(200, &ack.body()),
        Err(e) => json_response(e.status(), &e.body()),
    }
}

/// The handler: check, handle and answer one delivery (order in the crate docs). `now` comes from
/// the caller so tests and the CLI control the clock.
pub async fn handle<S: SecretSource>(
    app: &App<S>,
    request: ApiGatewayV2httpRequest,
    now: DateTime<Utc>,
) -> ApiGatewayV2httpResponse {
    handle_measured(app, request, now).await.0
}

/// The Lambda's handler: [`handle`], plus the request's CloudWatch EMF line
/// ([`request_metrics`]) printed on stdout by itself (SPEC.md §9).
pub async fn handle_lambda<S: SecretSource>(
    app: &App<S>,
    request: ApiGatewayV2httpRequest,
    now: DateTime<Utc>,
) -> ApiGatewayV2httpResponse {
    let (response, metrics) = handle_measured(app, request, now).await;
    println!("{metrics}");
    response
}

/// The EMF line of one answered request ([`sync::metrics::webhook_request`]): outcome
/// `created`/`duplicate`/`ignored` (200), `rejected` (4xx) or `failed` (5xx), by status, with the
/// error code as a property.
pub fn request_metrics(
    workspace: &str,
    result: &Result<Ack, WebhookError>,
    timestamp_ms: i64,
) -> serde_json::Value {
    let (outcome, status, error) = match result {
        Ok(Ack::Handled { outcome, .. }) => (outcome.label(), 200, None),
        Ok(Ack::Ignored { .. }) => ("ignored", 200, None),
        Err(e) if e.status() >= 500 => ("failed", e.status(), Some(e.code())),
        Err(e) => ("rejected", e.status(), Some(e.code())),
    };
    sync::metrics::webhook_request(workspace, outcome, status, error, timestamp_ms)
}

async fn handle_measured<S: SecretSource>(
    app: &App<S>,
    request: ApiGatewayV2httpRequest,
    now: DateTime<Utc>,
) -> (ApiGatewayV2httpResponse, serde_json::Value) {
    let workspace = request
        .path_parameters
        .get(WORKSPACE_PARAM)
        .cloned()
        .unwrap_or_default();
    let request_id = request
        .request_context
        .request_id
        .clone()
        .unwrap_or_default();
    let span = tracing::info_span!("webhook", workspace = %workspace, request_id = %request_id, event_id = tracing::field::Empty);
    let result = process(app, &request, &workspace, now)
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    match &result {
        Ok(ack) => info!(status = 200, answer = %ack.body()["status"], "webhook answered"),
        Err(e) if e.status() >= 500 => {
            tracing::error!(status = e.status(), error = %e, "webhook failed")
        }
        Err(e) => warn!(status = e.status(), error = %e, "webhook refused"),
    }
    let metrics = request_metrics(&workspace, &result, Utc::now().timestamp_millis());
    (to_response(&result), metrics)
}

async fn signing_secret<S: SecretSource>(
    app: &App<S>,
    integration: &Integration,
) -> Result<IntegrationSecret, WebhookError> {
    let id = integration.secret_id.as_str();
    let text = app.secrets.get(id).await.map_err(|e| match e {
        SecretError::Service { .. } => WebhookError::Unavailable {
            what: "Secrets Manager",
            message: e.to_string(),
        },
        other => WebhookError::Internal(other.to_string()),
    })?;
    parse_integration_secret(id, text.expose_secret())
        .map_err(|e| WebhookError::Internal(e.to_string()))
}

async fn process<S: SecretSource>(
    app: &App<S>,
    request: &ApiGatewayV2httpRequest,
    workspace: &str,
    now: DateTime<Utc>,
) -> Result<Ack, WebhookError> {
    let settings = &app.settings;
    let method = &request.request_context.http.method;
    if method != Method::POST {
        return Err(WebhookError::MethodNotAllowed(method.to_string()));
    }
    let body = event::raw_body(request, settings.max_body_bytes)?;

    // Who is this for? (The key is per integration, so this comes before the signature.)
    let integration = match app.store.get_integration(workspace).await {
        Ok(Some(i)) => i,
        Ok(None) | Err(StoreError::InvalidWorkspace { .. }) => {
            return Err(WebhookError::UnknownWorkspace(workspace.to_owned()))
        }
        Err(e) => return Err(e.into()),
    };
    let secret = signing_secret(app, &integration).await?;
    let key = secret
        .webhook_signing_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| WebhookError::NoSigningKey(workspace.to_owned()))?;

    // Authenticity, over the raw bytes, before any parsing.
    let header = settings.signature_header.as_str();
    let value = request
        .headers
        .get(&settings.signature_header)
        .ok_or_else(|| WebhookError::MissingSignature(header.to_owned()))?;
    let value = value
        .to_str()
        .map_err(|_| WebhookError::MalformedSignature {
            header: header.to_owned(),
            expected: settings.digest_encoding.describe(),
        })?;
    signature::verify(key.as_bytes(), &body, value, settings.digest_encoding).map_err(
        |problem| {
            // Shape only (never the value), to pin down ServiceTitan's real format (API-NOTES §8.2).
            warn!(
                ?problem,
                header_len = value.len(),
                "webhook signature refused"
            );
            match problem {
                signature::SignatureProblem::Malformed => WebhookError::MalformedSignature {
                    header: header.to_owned(),
                    expected: settings.digest_encoding.describe(),
                },
                signature::SignatureProblem::Mismatch => WebhookError::BadSignature,
            }
        },
    )?;

    if integration.status != IntegrationStatus::Active {
        return Err(WebhookError::Disconnected(workspace.to_owned()));
    }
    if !integration.models.contains(&Model::InboundCall) {
        return Err(WebhookError::ModelNotEnabled(workspace.to_owned()));
    }

    let envelope = event::parse_envelope(&body)?;
    tracing::Span::current().record("event_id", envelope.id.as_str());
    if let Some(tenant) = event::event_tenant(&envelope)? {
        if tenant != integration.tenant_id {
            return Err(WebhookError::TenantMismatch { got: tenant });
        }
    }
    if envelope.kind != CALL_COMPLETED {
        return Ok(Ack::Ignored {
            reason: format!("event type {} is not handled", envelope.kind),
            event_id: envelope.id,
        });
    }
    let event = event::parse_call_completed(envelope)?;
    if event.data.tenant_id != integration.tenant_id {
        return Err(WebhookError::TenantMismatch {
            got: event.data.tenant_id,
        });
    }
    if !opportunity::call::is_inbound(&event.data.call) {
        return Ok(Ack::Ignored {
            event_id: event.id,
            reason: format!(
                "{} call: only inbound calls make opportunities",
                event.data.call.lead_call.direction
            ),
        });
    }
    let client = || app.client(&integration, &secret);
    let deps = ingest::Deps {
        store: &app.store,
        integration: &integration,
        client: &client,
        claim_hold: settings.claim_hold,
    };
    let outcome = ingest::record_inbound_call(&deps, &event, now).await?;
    Ok(Ack::Handled {
        event_id: event.id,
        outcome,
    })
}

/// The API Gateway (HTTP API, payload v2) event of `POST /webhooks/servicetitan/{workspace}`
/// with `headers` and `body` sent as text (`isBase64Encoded: false`) — what API Gateway hands the
/// function. For local runs (`stsync demo`) and tests.
pub fn http_api_request(
    workspace: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> ApiGatewayV2httpRequest {
    let header_map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), serde_json::Value::from(*v)))
        .collect();
    let path = format!("/webhooks/servicetitan/{workspace}");
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/servicetitan/{workspaceId}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": header_map,
        "pathParameters": {WORKSPACE_PARAM: workspace},
        "requestContext": {
            "accountId": "local", "apiId": "local", "domainName": "localhost",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "local"},
            "requestId": "local", "routeKey": "POST /webhooks/servicetitan/{workspaceId}",
            "stage": "$default", "time": "01/Jan/2025:00:00:00 +0000", "timeEpoch": 0
        },
        "body": String::from_utf8_lossy(body),
        "isBase64Encoded": false
    });
    let mut request: ApiGatewayV2httpRequest =
        serde_json::from_value(event).expect("a well-formed HTTP API v2 event");
    if std::str::from_utf8(body).is_err() {
        use base64::Engine;
        request.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
        request.is_base64_encoded = true;
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(result: &Result<Ack, WebhookError>) -> serde_json::Value {
        let line = request_metrics("acme-hvac", result, 1_700_000_000_000).to_string();
        serde_json::from_str(&line).expect("the EMF line is JSON")
    }

    #[test]
    fn every_answer_is_one_request_by_outcome_and_status() {
        let created = Ok(Ack::Handled {
            event_id: "e1".into(),
            outcome: Outcome::Recorded {
                external_id: "90112233".into(),
                contact_id: "c1".into(),
                matched_by: store::MatchedBy::Email,
                contact_created: false,
                customer_fetched: true,
            },
        });
        let duplicate = Ok(Ack::Handled {
            event_id: "e1".into(),
            outcome: Outcome::Duplicate {
                by: "event",
                external_id: None,
            },
        });
        let ignored = Ok(Ack::Ignored {
            event_id: "e2".into(),
            reason: "outbound call".into(),
        });
        // (answer, outcome, status, error code)
        type Case = (
            Result<Ack, WebhookError>,
            &'static str,
            &'static str,
            Option<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (created, "created", "200", None),
            (duplicate, "duplicate", "200", None),
            (ignored, "ignored", "200", None),
            (
                Err(WebhookError::BadSignature),
                "rejected",
                "401",
                Some("bad_signature"),
            ),
            (
                Err(WebhookError::malformed(
                    "data.call.leadCall.id",
                    "not a number",
                )),
                "rejected",
                "400",
                Some("malformed"),
            ),
            (
                Err(WebhookError::Unavailable {
                    what: "DynamoDB",
                    message: "throttled".into(),
                }),
                "failed",
                "503",
                Some("unavailable"),
            ),
        ];
        for (result, outcome, status, error) in cases {
            let v = parsed(&result);
            let declared = &v["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(declared["Namespace"], "ServiceTitanSync");
            assert_eq!(
                declared["Dimensions"],
                serde_json::json!([["Function", "Outcome"], ["Function", "Status"]])
            );
            assert_eq!(declared["Metrics"][0]["Name"], "Requests");
            assert_eq!(v["Requests"], 1);
            assert_eq!(v["Function"], "call-webhook");
            assert_eq!(v["Outcome"], outcome, "{v}");
            assert_eq!(v["Status"], status, "{v}");
            assert_eq!(v["error"].as_str(), error, "{v}");
            assert_eq!(v["workspaceId"], "acme-hvac");
            // Error details (which may name stored keys) never travel in metrics.
            assert!(!v.to_string().contains("throttled"), "{v}");
            assert!(!v.to_string().contains("leadCall"), "{v}");
        }
    }
}
