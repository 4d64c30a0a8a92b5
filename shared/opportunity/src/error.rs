//! Mapping errors: which record, which field, why.

/// A record that cannot become an opportunity. Reported with resource, id and field (SPEC.md §4:
/// bad records are reported, skipped and counted; they never stop the rest of a page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{resource} {id}: field `{field}`: {reason}")]
pub struct MapError {
    /// ServiceTitan resource name (`job`, `customer`, ...).
    pub resource: String,
    /// The record id as text (`?` when the id itself is missing).
    pub id: String,
    /// The offending field (camelCase, as on the wire).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}
