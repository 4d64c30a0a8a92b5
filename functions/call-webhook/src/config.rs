//! Configuration from the environment, read once at cold start (every problem reported at once).

use std::time::Duration;

use lambda_http::http::HeaderName;

/// Default signature header (API-NOTES §8.2: third-party code uses it; not confirmed officially).
pub const DEFAULT_SIGNATURE_HEADER: &str = "x-servicetitan-signature";
/// Default body limit: 256 KiB (a call-completed event is about 2 KiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Default claim hold: a `pending` claim older than this is taken over by the next delivery.
/// Longer than the function's timeout (29 s, API Gateway's integration limit is 30 s) and shorter
/// than ServiceTitan's last retry (300 s).
pub const DEFAULT_CLAIM_HOLD: Duration = Duration::from_secs(60);

/// How the HMAC-SHA256 digest is written in the signature header (API-NOTES §8.2: unknown,
/// hence configurable; `either` accepts both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestEncoding {
    /// 64 hex digits (either case).
    Hex,
    /// Base64 of the 32 digest bytes (standard or URL-safe alphabet, padding optional).
    Base64,
    /// Hex or base64 (the default until the integration environment pins the format down).
    Either,
}

impl std::str::FromStr for DigestEncoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hex" => Ok(DigestEncoding::Hex),
            "base64" => Ok(DigestEncoding::Base64),
            "either" => Ok(DigestEncoding::Either),
            other => Err(format!("`{other}` (expected hex, base64 or either)")),
        }
    }
}

impl DigestEncoding {
    /// `hex`, `base64` or `hex or base64`, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            DigestEncoding::Hex => "hex",
            DigestEncoding::Base64 => "base64",
            DigestEncoding::Either => "hex or base64",
        }
    }
}

/// What the handler checks requests against (the part of [`Config`] that is not about AWS).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Header carrying the signature (`WEBHOOK_SIGNATURE_HEADER`, default
    /// [`DEFAULT_SIGNATURE_HEADER`]).
    pub signature_header: HeaderName,
    /// Digest encoding accepted (`WEBHOOK_SIGNATURE_ENCODING`: hex | base64 | either; default
    /// either).
    pub digest_encoding: DigestEncoding,
    /// Largest accepted body in bytes after base64 decoding (`WEBHOOK_MAX_BODY_BYTES`, default
    /// [`DEFAULT_MAX_BODY_BYTES`]); larger → 413.
    pub max_body_bytes: usize,
    /// How long a delivery's claim on an event holds before another delivery may take it over
    /// (`WEBHOOK_CLAIM_HOLD_SECS`, default 60).
    pub claim_hold: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            signature_header: HeaderName::from_static(DEFAULT_SIGNATURE_HEADER),
            digest_encoding: DigestEncoding::Either,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            claim_hold: DEFAULT_CLAIM_HOLD,
        }
    }
}

/// The function's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the DynamoDB table.
    pub table_name: String,
    /// `ST_APP_KEY_SECRET_ID`: Secrets Manager id of the platform `ST-App-Key` (customer lookups).
    pub app_key_secret_id: String,
    /// `ST_API_BASE_URL` + `ST_TOKEN_URL`: both or neither; replace the environment's hosts.
    pub endpoint_override: Option<(String, String)>,
    /// `ST_REQUESTS_PER_SECOND` (default 20).
    pub requests_per_second: u32,
    /// Request checks.
    pub webhook: WebhookSettings,
}

impl Config {
    /// Read from the process environment.
    ///
    /// Errors: one message listing every missing or malformed variable.
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read through `get` (tests pass a map).
    ///
    /// Errors: one message listing every missing or malformed variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let mut problems: Vec<String> = Vec::new();
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &str, problems: &mut Vec<String>| {
            get(name).unwrap_or_else(|| {
                problems.push(format!("{name} is not set"));
                String::new()
            })
        };
        let table_name = required("TABLE_NAME", &mut problems);
        let app_key_secret_id = required("ST_APP_KEY_SECRET_ID", &mut problems);
        let endpoint_override = match (get("ST_API_BASE_URL"), get("ST_TOKEN_URL")) {
            (Some(a), Some(t)) => Some((a, t)),
            (None, None) => None,
            _ => {
                problems.push("ST_API_BASE_URL and ST_TOKEN_URL go together".into());
                None
            }
        };
        let number = |name: &str, default: u64, problems: &mut Vec<String>| match get(name) {
            None => default,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    problems.push(format!("{name} must be a whole number above 0, got `{v}`"));
                    default
                }
            },
        };
        let requests_per_second =
            u32::try_from(number("ST_REQUESTS_PER_SECOND", 20, &mut problems)).unwrap_or(20);
        let max_body_bytes = usize::try_from(number(
            "WEBHOOK_MAX_BODY_BYTES",
            DEFAULT_MAX_BODY_BYTES as u64,
            &mut problems,
        ))
        .unwrap_or(DEFAULT_MAX_BODY_BYTES);
        let claim_hold = Duration::from_secs(number(
            "WEBHOOK_CLAIM_HOLD_SECS",
            DEFAULT_CLAIM_HOLD.as_secs(),
            &mut problems,
        ));
        let signature_header = match get("WEBHOOK_SIGNATURE_HEADER") {
            None => HeaderName::from_static(DEFAULT_SIGNATURE_HEADER),
            Some(v) => HeaderName::try_from(v.trim().to_ascii_lowercase()).unwrap_or_else(|_| {
                problems.push(format!(
                    "WEBHOOK_SIGNATURE_HEADER `{v}` is not a valid header name"
                ));
                HeaderName::from_static(DEFAULT_SIGNATURE_HEADER)
            }),
        };
        let digest_encoding = match get("WEBHOOK_SIGNATURE_ENCODING") {
            None => DigestEncoding::Either,
            Some(v) => v.parse().unwrap_or_else(|e| {
                problems.push(format!("WEBHOOK_SIGNATURE_ENCODING is {e}"));
                DigestEncoding::Either
            }),
        };
        if !problems.is_empty() {
            return Err(format!("configuration: {}", problems.join("; ")));
        }
        Ok(Config {
            table_name,
            app_key_secret_id,
            endpoint_override,
            requests_per_second,
            webhook: WebhookSettings {
                signature_header,
                digest_encoding,
                max_body_bytes,
                claim_hold,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn every_missing_or_bad_variable_is_reported_at_once() {
        let err = config(&[
            ("ST_API_BASE_URL", "http://127.0.0.1:1"),
            ("WEBHOOK_SIGNATURE_ENCODING", "rot13"),
            ("WEBHOOK_SIGNATURE_HEADER", "bad header"),
            ("WEBHOOK_MAX_BODY_BYTES", "lots"),
            ("WEBHOOK_CLAIM_HOLD_SECS", "0"),
        ])
        .unwrap_err();
        for name in [
            "TABLE_NAME",
            "ST_APP_KEY_SECRET_ID",
            "ST_TOKEN_URL",
            "WEBHOOK_SIGNATURE_ENCODING",
            "WEBHOOK_SIGNATURE_HEADER",
            "WEBHOOK_MAX_BODY_BYTES",
            "WEBHOOK_CLAIM_HOLD_SECS",
        ] {
            assert!(err.contains(name), "{name} missing from: {err}");
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let c = config(&[("TABLE_NAME", "t"), ("ST_APP_KEY_SECRET_ID", "k")]).unwrap();
        assert_eq!(
            c.webhook.signature_header.as_str(),
            DEFAULT_SIGNATURE_HEADER
        );
        assert_eq!(c.webhook.digest_encoding, DigestEncoding::Either);
        assert_eq!(c.webhook.max_body_bytes, 262_144);
        assert_eq!(c.webhook.claim_hold, Duration::from_secs(60));
        assert_eq!(c.requests_per_second, 20);
        let c = config(&[
            ("TABLE_NAME", "t"),
            ("ST_APP_KEY_SECRET_ID", "k"),
            ("WEBHOOK_SIGNATURE_HEADER", "X-ST-Signature"),
            ("WEBHOOK_SIGNATURE_ENCODING", "Base64"),
            ("WEBHOOK_MAX_BODY_BYTES", "1024"),
        ])
        .unwrap();
        assert_eq!(c.webhook.signature_header.as_str(), "x-st-signature");
        assert_eq!(c.webhook.digest_encoding, DigestEncoding::Base64);
        assert_eq!(c.webhook.max_body_bytes, 1024);
    }
}
