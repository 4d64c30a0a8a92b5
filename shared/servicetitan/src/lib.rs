//! ServiceTitan REST API v2: wire types and (with the default `client` feature) an HTTP client.
//!
//! What belongs here: serde types that mirror ServiceTitan's JSON exactly (camelCase, unknown fields
//! tolerated, nullable fields as `Option`), the list and export envelopes, the problem-details error
//! body, and the client that speaks OAuth2 client credentials, `ST-App-Key`, paging, export feeds and
//! `ids=` lookups. What does not: mapping to opportunities (crate `opportunity`), storage, sync
//! policy. Sources: `../shared/servicetitan/API-NOTES.md` and the OpenAPI exports beside it.

pub mod notes;
pub mod webhook;
pub mod wire;
pub mod wire_more;

#[cfg(feature = "client")]
pub mod client;

pub use wire::*;
