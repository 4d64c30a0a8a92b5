//! What the mapping knows about an opportunity's contact, for contact resolution (SPEC.md §5).

use serde::{Deserialize, Serialize};

use crate::Opportunity;

/// The matching keys and the fields a new contact would get. Built from an opportunity's standard
/// fields; resolution order (SPEC.md §5): linked customer id, else email, else phone, else new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCandidate {
    /// ServiceTitan customer id (External Contact ID), when the record has one.
    pub customer_id: Option<i64>,
    /// Normalized, non-placeholder e-mail (placeholders are already `None`: they never match).
    pub email: Option<String>,
    /// E.164 phone.
    pub phone: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
}

impl ContactCandidate {
    /// The candidate of an opportunity: its External Contact ID (when numeric) and standard fields.
    pub fn from_opportunity(opportunity: &Opportunity) -> Self {
        let s = &opportunity.standard;
        ContactCandidate {
            customer_id: opportunity
                .external_contact_id
                .as_deref()
                .and_then(|id| id.parse().ok()),
            email: s.email.clone(),
            phone: s.phone.clone(),
            first_name: s.first_name.clone(),
            last_name: s.last_name.clone(),
        }
    }
}
