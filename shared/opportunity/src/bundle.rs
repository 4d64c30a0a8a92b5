//! Bundles: one base record with the related records it is built from, in ServiceTitan's shapes.
//! The `stsync map` input and the sync engine's unit of mapping.

use serde::{Deserialize, Serialize};
use servicetitan::{BusinessUnit, Customer, CustomerContact, Job, JobType, Location};

/// A job and its related records:
/// `{"model":"job","job":{...},"customer":{...},"contacts":[...],"location":{...},
/// "businessUnit":{...},"jobType":{...}}`. Missing related records are `None` (their details are
/// then absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobBundle {
    /// The job (required).
    pub job: Job,
    /// The job's customer.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// The customer's contacts (any order; mapping sorts).
    #[serde(default)]
    pub contacts: Vec<CustomerContact>,
    /// The job's location.
    #[serde(default)]
    pub location: Option<Location>,
    /// The job's business unit.
    #[serde(default)]
    pub business_unit: Option<BusinessUnit>,
    /// The job's job type.
    #[serde(default)]
    pub job_type: Option<JobType>,
}
