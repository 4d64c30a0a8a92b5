//! A ServiceTitan API sandbox: an HTTP server on loopback that speaks the subset of the real API
//! this project uses (SPEC.md §10), over generated or fixture data.
//!
//! What belongs here: the OAuth2 token endpoint, the `ST-App-Key` and bearer checks, the real
//! list and export paths with ServiceTitan's paging, filters, sort and continuation-token rules,
//! a per-(app key, tenant) rate limit answering 429 with `Retry-After`, problem-details error
//! bodies, deterministic messy generated data ([`Dataset::generate`]), fixture loading
//! ([`Dataset::from_fixture_json`]), request counters and an admin surface under `/__admin`
//! (fixtures, record patches, injected [`Fault`]s: 5xx bursts, 429 storms, token expiry, slow or
//! held requests, repeated feed rows and changes between pages; docs/sandbox.md).
//! What does not: any client logic (crate `servicetitan`), mapping or sync policy. Every response
//! is serialized with the wire types of crate `servicetitan`; the conformance tests check them
//! against the official OpenAPI exports. Sources: `servicetitan/API-NOTES.md` §2–§7.

mod admin;
mod config;
mod dataset;
mod error;
mod export;
mod faults;
mod generate;
mod notes;
mod problem;
mod query;
mod resources;
mod server;
mod token;
pub mod webhooks;
mod window;

pub use config::{SandboxConfig, DEFAULT_GRANTED_SCOPES};
pub use dataset::Dataset;
pub use error::SandboxError;
pub use export::{decode_position, encode_position, RECENT_CHANGES_HOLD_BACK_SECS};
pub use faults::{default_change, Changes, Fault};
pub use generate::incompressible_text;
pub use notes::{SandboxNote, API_USER_ID};
pub use server::{RunningSandbox, Sandbox, ADMIN_PREFIX};

/// Most ids one `ids=` / `customerIds=` filter may carry (API-NOTES §5.3).
pub const MAX_IDS_PER_REQUEST: usize = 50;
/// Default `pageSize` of list endpoints (API-NOTES §5.1).
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest `pageSize` accepted (API-NOTES §5.1; larger values get 400).
pub const MAX_PAGE_SIZE: usize = 5000;
