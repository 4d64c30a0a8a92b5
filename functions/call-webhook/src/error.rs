//! Every way a delivery can be refused or fail, and its HTTP answer: the one place errors map to
//! HTTP (SPEC.md §6, STYLE "the webhook maps errors to HTTP in one place").
//!
//! | status | when |
//! |---|---|
//! | 400 | the body (or its base64 envelope) is malformed: the message names the field |
//! | 401 | signature header missing, malformed or not matching; no signing key configured |
//! | 403 | the event's `data.tenantId` is not the integration's tenant (authentic but misrouted) |
//! | 404 | unknown workspace; the integration is disconnected or its `inbound_call` model is off |
//! | 405 | not a POST |
//! | 409 | another delivery of the same event is being handled right now (retry later) |
//! | 413 | body over the configured limit |
//! | 500 | a permanent failure on our side (bad stored settings or secret) |
//! | 503 | a transient failure (DynamoDB, Secrets Manager, ServiceTitan): retrying helps |
//!
//! Decision: a tenant mismatch is 403, not 400: the request is well-formed and signed with the
//! workspace's key, it is just not this workspace's to accept. Bodies are
//! `{"error": "<code>", "message": "<what is wrong>"}`; 5xx bodies carry a generic message (the
//! detail goes to the log, not to the caller).

/// A refused or failed delivery.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Not a POST.
    #[error("method {0} is not allowed; use POST")]
    MethodNotAllowed(String),
    /// No `{workspaceId}` in the path, or one that cannot be a workspace id.
    #[error("unknown workspace `{0}`")]
    UnknownWorkspace(String),
    /// The workspace's integration is disconnected.
    #[error("the ServiceTitan integration of workspace `{0}` is disconnected")]
    Disconnected(String),
    /// The workspace does not have the `inbound_call` model on.
    #[error("the inbound_call model is not enabled for workspace `{0}`")]
    ModelNotEnabled(String),
    /// Body over the limit.
    #[error("the body is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Body size in bytes (decoded; or a lower bound computed from the base64 length).
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// No signature header.
    #[error("the signature header `{0}` is missing")]
    MissingSignature(String),
    /// A signature header that is not a digest in an accepted encoding.
    #[error("the signature header `{header}` is not a {expected} HMAC-SHA256 digest")]
    MalformedSignature {
        /// Header name.
        header: String,
        /// Accepted encodings (`hex`, `base64`, `hex or base64`).
        expected: &'static str,
    },
    /// A digest that does not match the body.
    #[error("the signature does not match the body")]
    BadSignature,
    /// The integration's secret has no `webhookSigningKey`: nothing can be verified.
    #[error("no webhook signing key is configured for workspace `{0}`")]
    NoSigningKey(String),
    /// The body is not what it must be.
    #[error("malformed request: `{field}`: {reason}")]
    Malformed {
        /// JSON path of the offending field (`data.call.leadCall.id`), or `body`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The event belongs to another tenant.
    #[error("the event is for ServiceTitan tenant {got}, not this workspace's tenant")]
    TenantMismatch {
        /// `data.tenantId` of the event.
        got: i64,
    },
    /// Another delivery of the same event holds the claim.
    #[error("event `{0}` is being handled by another delivery; retry later")]
    InProgress(String),
    /// A transient failure of a dependency.
    #[error("{what} failed: {message}")]
    Unavailable {
        /// `DynamoDB`, `Secrets Manager`, `ServiceTitan`.
        what: &'static str,
        /// The dependency's error (no secrets, no personal data).
        message: String,
    },
    /// A permanent failure on our side.
    #[error("{0}")]
    Internal(String),
}

impl WebhookError {
    /// The HTTP status (table in the module docs).
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::Malformed { .. } => 400,
            WebhookError::MissingSignature(_)
            | WebhookError::MalformedSignature { .. }
            | WebhookError::BadSignature
            | WebhookError::NoSigningKey(_) => 401,
            WebhookError::TenantMismatch { .. } => 403,
            WebhookError::UnknownWorkspace(_)
            | WebhookError::Disconnected(_)
            | WebhookError::ModelNotEnabled(_) => 404,
            WebhookError::MethodNotAllowed(_) => 405,
            WebhookError::InProgress(_) => 409,
            WebhookError::TooLarge { .. } => 413,
            WebhookError::Internal(_) => 500,
            WebhookError::Unavailable { .. } => 503,
        }
    }

    /// The machine-readable `error` of the answer body.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::MethodNotAllowed(_) => "method_not_allowed",
            WebhookError::UnknownWorkspace(_) => "unknown_workspace",
            WebhookError::Disconnected(_) => "integration_disconnected",
            WebhookError::ModelNotEnabled(_) => "model_not_enabled",
            WebhookError::TooLarge { .. } => "payload_too_large",
            WebhookError::MissingSignature(_) => "missing_signature",
            WebhookError::MalformedSignature { .. } => "malformed_signature",
            WebhookError::BadSignature => "bad_signature",
            WebhookError::NoSigningKey(_) => "no_signing_key",
            WebhookError::Malformed { .. } => "malformed",
            WebhookError::TenantMismatch { .. } => "tenant_mismatch",
            WebhookError::InProgress(_) => "in_progress",
            WebhookError::Unavailable { .. } => "unavailable",
            WebhookError::Internal(_) => "internal",
        }
    }

    /// The `message` of the answer body: the error's text for 4xx, a generic text for 5xx.
    pub fn public_message(&self) -> String {
        match self.status() {
            500 => "internal error; the details are in the function's log".to_owned(),
            503 => "temporary failure; please retry".to_owned(),
            _ => self.to_string(),
        }
    }

    /// The answer body: `{"error": code, "message": ...}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.code(), "message": self.public_message() })
    }

    /// A malformed-body error for `field`.
    pub fn malformed(field: impl Into<String>, reason: impl Into<String>) -> WebhookError {
        WebhookError::Malformed {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<store::StoreError> for WebhookError {
    fn from(e: store::StoreError) -> Self {
        if e.is_retryable() || matches!(e, store::StoreError::Dynamo(_)) {
            WebhookError::Unavailable {
                what: "DynamoDB",
                message: e.to_string(),
            }
        } else {
            WebhookError::Internal(format!("store: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_codes_and_bodies() {
        let cases: Vec<(WebhookError, u16, &str)> = vec![
            (
                WebhookError::malformed("data.call", "missing"),
                400,
                "malformed",
            ),
            (
                WebhookError::MissingSignature("x-sig".into()),
                401,
                "missing_signature",
            ),
            (WebhookError::BadSignature, 401, "bad_signature"),
            (
                WebhookError::NoSigningKey("ws".into()),
                401,
                "no_signing_key",
            ),
            (
                WebhookError::TenantMismatch { got: 1 },
                403,
                "tenant_mismatch",
            ),
            (
                WebhookError::UnknownWorkspace("ws".into()),
                404,
                "unknown_workspace",
            ),
            (
                WebhookError::ModelNotEnabled("ws".into()),
                404,
                "model_not_enabled",
            ),
            (
                WebhookError::Disconnected("ws".into()),
                404,
                "integration_disconnected",
            ),
            (
                WebhookError::MethodNotAllowed("GET".into()),
                405,
                "method_not_allowed",
            ),
            (WebhookError::InProgress("e".into()), 409, "in_progress"),
            (
                WebhookError::TooLarge { size: 2, limit: 1 },
                413,
                "payload_too_large",
            ),
            (
                WebhookError::Internal("secret `s` missing".into()),
                500,
                "internal",
            ),
            (
                WebhookError::Unavailable {
                    what: "DynamoDB",
                    message: "throttled on WS#a/OPP#x".into(),
                },
                503,
                "unavailable",
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status(), status, "{error}");
            let body = error.body();
            assert_eq!(body["error"], code);
            let message = body["message"].as_str().unwrap();
            if status >= 500 {
                assert!(
                    !message.contains("WS#") && !message.contains("secret"),
                    "{message}"
                );
            } else {
                assert_eq!(message, error.to_string());
            }
        }
        assert!(
            WebhookError::malformed("data.call.leadCall.id", "invalid type")
                .to_string()
                .contains("data.call.leadCall.id")
        );
    }
}
