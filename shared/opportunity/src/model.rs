//! Opportunity and its parts (SPEC.md §1, §4).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The opportunity model (SPEC.md §1). Serialized as `job`, `membership`, `inbound_call`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Built from a ServiceTitan Job and its related records.
    Job,
    /// Built from a ServiceTitan customer Membership.
    Membership,
    /// Built from a completed inbound call (webhook).
    InboundCall,
}

impl Model {
    /// The serialized name (`job`, `membership`, `inbound_call`), also used in store keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Job => "job",
            Model::Membership => "membership",
            Model::InboundCall => "inbound_call",
        }
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Model {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "job" => Ok(Model::Job),
            "membership" => Ok(Model::Membership),
            "inbound_call" => Ok(Model::InboundCall),
            other => Err(format!(
                "unknown model `{other}` (expected job, membership or inbound_call)"
            )),
        }
    }
}

/// Flattened details: `resource:field` keys (`customer:name`, `customer:contacts:0:value`) to
/// JSON scalars or lists of scalars. Datetimes are RFC 3339 UTC strings ending in `Z`.
/// A `BTreeMap` so that serialization (and the content hash) is deterministic.
pub type Details = BTreeMap<String, serde_json::Value>;

/// The standard fields of an opportunity (SPEC.md §4). Serialized camelCase, as `stsync map`
/// prints them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardFields {
    /// Normalized (trimmed, lower-cased), valid, non-placeholder e-mail; `None` when there is none.
    pub email: Option<String>,
    /// E.164 phone (`+12175550142`), MobilePhone before Phone, never Fax; `None` when unparseable.
    pub phone: Option<String>,
    /// The phone's extension, kept apart from the number (digits only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_extension: Option<String>,
    /// First name per the name rules of SPEC.md §4.
    pub first_name: Option<String>,
    /// Last name per the name rules of SPEC.md §4.
    pub last_name: Option<String>,
    /// The base record's `createdOn` (UTC).
    pub external_created_at: DateTime<Utc>,
    /// Job: latest `modifiedOn` of the job and the records it was built from; membership: its
    /// `modifiedOn` (UTC).
    pub external_updated_at: DateTime<Utc>,
}

/// An opportunity as the mapping builds it, before it is linked to a contact and stored.
/// Identity within a workspace: `(model, external_id)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Opportunity {
    /// Job, membership or inbound call.
    pub model: Model,
    /// The base record's id as text (job id, membership id, call id).
    pub external_id: String,
    /// The ServiceTitan customer id as text, when known.
    pub external_contact_id: Option<String>,
    /// Standard fields.
    pub standard: StandardFields,
    /// Flattened details.
    pub details: Details,
}
