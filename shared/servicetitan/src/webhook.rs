//! ServiceTitan V2 webhooks: the CloudEvents 1.0 envelope and the payloads this project reads
//! (API-NOTES §8, schemas `CloudEvent_Of_*` in the OpenAPI exports).
//!
//! A delivery body is one JSON object `{"specversion": "1.0", "id", "type", "time", "source",
//! "userassignedid", "datacontenttype", "data"}`. Consumers must treat two events with the same
//! `source` and `id` as duplicates. `data` always carries `tenantId` and `tenantName`; its other
//! fields depend on `type`. Nothing here verifies signatures: that is the receiver's job, over the
//! raw bytes, before these types ever see the body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::wire::{CallResponse, Id};

/// `type` of the call-completed event (payload [`CallCompletedData`]).
pub const CALL_COMPLETED: &str = "tn.tlc.call-completed";
/// `type` of the call-updated event (same payload shape as call-completed).
pub const CALL_UPDATED: &str = "tn.tlc.call-updated";
/// The only CloudEvents version ServiceTitan sends.
pub const SPEC_VERSION: &str = "1.0";

/// The CloudEvents 1.0 envelope with its payload `T` (a `serde_json::Value` until the type is
/// known). Fields the spec marks required but that a receiver can live without (`time`,
/// `userassignedid`, `datacontenttype`) are `Option`, so a missing diagnostic field never
/// rejects an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent<T = serde_json::Value> {
    /// `"1.0"`.
    pub specversion: String,
    /// Unique per `source`: the de-duplication key.
    pub id: String,
    /// Event type, e.g. [`CALL_COMPLETED`].
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened (UTC).
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
    /// `"https://webhooks.servicetitan.io"`.
    pub source: String,
    /// Diagnostic id, not guaranteed unique.
    #[serde(default)]
    pub userassignedid: Option<String>,
    /// `"application/json"`.
    #[serde(default)]
    pub datacontenttype: Option<String>,
    /// The payload.
    pub data: T,
}

/// `Telecom.V3.Webhooks.CallCompletedWebhookEvent`: the `data` of [`CALL_COMPLETED`] (and of
/// [`CALL_UPDATED`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallCompletedData {
    /// The call (v3 shape).
    pub call: CallResponse,
    /// The ServiceTitan tenant the event belongs to.
    pub tenant_id: Id,
    /// The tenant's name.
    #[serde(default)]
    pub tenant_name: Option<String>,
}
