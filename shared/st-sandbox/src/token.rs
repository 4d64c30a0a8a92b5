//! Access tokens as ServiceTitan issues them (API-NOTES §2): a JWT whose payload carries
//! `nbf`, `exp`, `iat`, `iss`, `client_id`, `tenant` (text), `jti` and `scope` (an array), as in
//! `samples/token-response.json`. The signature is a placeholder: the sandbox checks tokens by
//! looking them up, and clients only decode the payload (activation reads `tenant` and `scope`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::config::SandboxConfig;

/// `iss` of sandbox tokens (the integration environment's token host, as in the sample).
pub(crate) const ISSUER: &str = "https://auth-integration.servicetitan.io";

/// A new, unique access token for `cfg`'s client and tenant, with `cfg.granted_scopes`, valid
/// for `cfg.token_lifetime_secs` from now.
pub(crate) fn issue(cfg: &SandboxConfig) -> String {
    let now = chrono::Utc::now().timestamp();
    let header = serde_json::json!({"alg": "RS256", "kid": "SANDBOX", "typ": "at+jwt"});
    let payload = serde_json::json!({
        "nbf": now,
        "iat": now,
        "exp": now + i64::try_from(cfg.token_lifetime_secs).unwrap_or(i64::MAX / 2),
        "iss": ISSUER,
        "client_id": cfg.client_id,
        "tenant": cfg.tenant_id.to_string(),
        "jti": uuid::Uuid::new_v4().simple().to_string(),
        "scope": cfg.granted_scopes,
    });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode("sandbox-signature-not-verified"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_jwts_with_tenant_and_scopes() {
        let cfg = SandboxConfig {
            granted_scopes: vec!["tn.jpm.jobs:r".into()],
            ..SandboxConfig::default()
        };
        let (a, b) = (issue(&cfg), issue(&cfg));
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["tenant"], cfg.tenant_id.to_string());
        assert_eq!(claims["client_id"], cfg.client_id);
        assert_eq!(claims["scope"], serde_json::json!(["tn.jpm.jobs:r"]));
    }
}
