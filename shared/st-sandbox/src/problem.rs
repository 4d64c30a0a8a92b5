//! Problem-details error responses (`ApiErrorResponse`, RFC 7807; API-NOTES §6).

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use servicetitan::wire::ApiErrorResponse;

/// An error answer of the API surface; renders as an `ApiErrorResponse` with every field filled
/// (the OpenAPI schema marks all six required).
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) status: StatusCode,
    pub(crate) title: String,
    pub(crate) errors: BTreeMap<String, Vec<String>>,
    pub(crate) retry_after_secs: Option<u64>,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, title: impl Into<String>) -> Problem {
        Problem {
            status,
            title: title.into(),
            errors: BTreeMap::new(),
            retry_after_secs: None,
        }
    }

    /// 400 with one message under the parameter's name (`errors: {"ids": ["…"]}`).
    pub(crate) fn bad_param(param: &str, message: impl Into<String>) -> Problem {
        let mut p = Problem::new(
            StatusCode::BAD_REQUEST,
            "One or more validation errors occurred.",
        );
        p.errors.insert(param.to_owned(), vec![message.into()]);
        p
    }

    pub(crate) fn not_found(title: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, title)
    }

    pub(crate) fn unauthorized(title: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, title)
    }

    pub(crate) fn too_many_requests() -> Problem {
        Problem {
            retry_after_secs: Some(1),
            ..Problem::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
        }
    }

    fn type_uri(&self) -> &'static str {
        match self.status.as_u16() {
            400 => "https://tools.ietf.org/html/rfc7231#section-6.5.1",
            401 => "https://tools.ietf.org/html/rfc7235#section-3.1",
            403 => "https://tools.ietf.org/html/rfc7231#section-6.5.3",
            404 => "https://tools.ietf.org/html/rfc7231#section-6.5.4",
            409 => "https://tools.ietf.org/html/rfc7231#section-6.5.8",
            429 => "https://tools.ietf.org/html/rfc6585#section-4",
            _ => "https://tools.ietf.org/html/rfc7231#section-6.6.1",
        }
    }

    pub(crate) fn body(&self) -> ApiErrorResponse {
        ApiErrorResponse {
            kind: Some(self.type_uri().to_owned()),
            title: Some(self.title.clone()),
            status: Some(i32::from(self.status.as_u16())),
            trace_id: Some(trace_id()),
            errors: Some(self.errors.clone()),
            data: Some(serde_json::Value::Object(serde_json::Map::new())),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// A W3C-traceparent-looking trace id, as ServiceTitan returns (`00-<32 hex>-<16 hex>-00`).
fn trace_id() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("00-{a}-{}-00", &b[..16])
}
