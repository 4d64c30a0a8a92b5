//! Bundles: one base record with the related records it is built from, in ServiceTitan's shapes.
//! The `stsync map` input and the sync engine's unit of mapping.
//!
//! Keys are the resource names of the field catalog (camelCase). Every related key is optional:
//! a missing record or an empty list adds no details (that is also how an unselected resource
//! looks). Lookup lists (`tagTypes`, `employees`, `technicians`, `cancelReasons`, `campaigns`)
//! may hold more records than the base record references; only the referenced ones are used.

use serde::{Deserialize, Serialize};
use servicetitan::{
    Appointment, AppointmentAssignment, BusinessUnit, Campaign, Customer, CustomerContact,
    Employee, Estimate, Id, Invoice, Job, JobCancelReason, JobCanceledLog, JobType, Location,
    Membership, MembershipType, RecurringService, RecurringServiceEvent, TagType, Technician, Zone,
};

/// A job and its related records:
/// `{"model":"job","job":{...},"customer":{...},"contacts":[...],"location":{...},
/// "businessUnit":{...},"jobType":{...},"appointments":[...],"appointmentAssignments":[...],
/// "estimates":[...],"invoices":[...],"jobCanceledLogs":[...],"cancelReasons":[...],
/// "campaign":{...},"tagTypes":[...],"zone":{...},"employees":[...],"technicians":[...]}`.
/// Missing related records are `None` / empty (their details are then absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobBundle {
    /// The job (required).
    pub job: Job,
    /// The job's customer.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// The customer's contacts (any order; mapping sorts).
    #[serde(default, deserialize_with = "null_as_empty")]
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
    /// The job's appointments (any order; `appointments:#`, newest first by `createdOn`).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub appointments: Vec<Appointment>,
    /// Technician assignments of those appointments (`appointments:#:assignments:#`); inactive
    /// (unassigned) rows are ignored.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub appointment_assignments: Vec<AppointmentAssignment>,
    /// The job's estimates (`estimates:#`); inactive (deleted) ones are ignored.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub estimates: Vec<Estimate>,
    /// The job's invoices (`invoices:#`); inactive (voided) ones are ignored.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub invoices: Vec<Invoice>,
    /// The job's cancellation log (`jobCanceledLogs:#`); inactive (removed) entries are ignored.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub job_canceled_logs: Vec<JobCanceledLog>,
    /// Cancel reasons (lookup): the newest active log's reason becomes `cancelReason:*`.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cancel_reasons: Vec<JobCancelReason>,
    /// The job's campaign (`campaign:*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Campaign>,
    /// Tag types (lookup): those in the job's `tagTypeIds` become `tagTypes:#`.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tag_types: Vec<TagType>,
    /// The location's zone (`zone:*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<Zone>,
    /// Employees (lookup for Sold By: `soldBy:*`, `estimates:#:soldBy:*`).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub employees: Vec<Employee>,
    /// Technicians (lookup for Sold By).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub technicians: Vec<Technician>,
    /// Customer ids merged into `customer`, in chain order starting with the base record's own
    /// `customerId` (`mergedToId` links, SPEC.md §5: a merged customer resolves to the
    /// survivor); empty when `customer` is the base record's own customer.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub merged_customer_ids: Vec<Id>,
}

impl JobBundle {
    /// A bundle of the job alone (every related record missing).
    pub fn new(job: Job) -> JobBundle {
        JobBundle {
            job,
            customer: None,
            contacts: Vec::new(),
            location: None,
            business_unit: None,
            job_type: None,
            appointments: Vec::new(),
            appointment_assignments: Vec::new(),
            estimates: Vec::new(),
            invoices: Vec::new(),
            job_canceled_logs: Vec::new(),
            cancel_reasons: Vec::new(),
            campaign: None,
            tag_types: Vec::new(),
            zone: None,
            employees: Vec::new(),
            technicians: Vec::new(),
            merged_customer_ids: Vec::new(),
        }
    }
}

/// A customer membership and its related records:
/// `{"model":"membership","membership":{...},"customer":{...},"contacts":[...],
/// "location":{...},"businessUnit":{...},"membershipType":{...},"recurringServices":[...],
/// "recurringServiceEvents":[...],"invoices":[...],"employees":[...],"technicians":[...],
/// "tagTypes":[...],"campaigns":[...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipBundle {
    /// The membership (required).
    pub membership: Membership,
    /// The membership's customer.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// The customer's contacts (any order; mapping sorts).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub contacts: Vec<CustomerContact>,
    /// The membership's location.
    #[serde(default)]
    pub location: Option<Location>,
    /// The membership's business unit.
    #[serde(default)]
    pub business_unit: Option<BusinessUnit>,
    /// The membership type (`membershipType:*`).
    #[serde(default)]
    pub membership_type: Option<MembershipType>,
    /// The membership's recurring services (`recurringServices:#`); inactive ones are ignored.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub recurring_services: Vec<RecurringService>,
    /// The membership's recurring service events (`recurringServiceEvents:#`).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub recurring_service_events: Vec<RecurringServiceEvent>,
    /// The membership's invoices (`invoices:#`); inactive (voided) ones are ignored.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub invoices: Vec<Invoice>,
    /// Employees (lookup for Sold By: `soldBy:*`).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub employees: Vec<Employee>,
    /// Technicians (lookup for Sold By).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub technicians: Vec<Technician>,
    /// Customer ids merged into `customer`, in chain order starting with the base record's own
    /// `customerId` (`mergedToId` links, SPEC.md §5: a merged customer resolves to the
    /// survivor); empty when `customer` is the base record's own customer.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub merged_customer_ids: Vec<Id>,
    /// Tag types (lookup): the customer's `tagTypeIds` become `tagTypes:#` (memberships carry
    /// no tags of their own).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tag_types: Vec<TagType>,
    /// Campaigns (lookup): each recurring service's `campaignId` becomes
    /// `recurringServices:#:campaign:*`.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub campaigns: Vec<Campaign>,
}

impl MembershipBundle {
    /// A bundle of the membership alone (every related record missing).
    pub fn new(membership: Membership) -> MembershipBundle {
        MembershipBundle {
            membership,
            customer: None,
            contacts: Vec::new(),
            location: None,
            business_unit: None,
            membership_type: None,
            recurring_services: Vec::new(),
            recurring_service_events: Vec::new(),
            invoices: Vec::new(),
            employees: Vec::new(),
            technicians: Vec::new(),
            merged_customer_ids: Vec::new(),
            tag_types: Vec::new(),
            campaigns: Vec::new(),
        }
    }
}

/// A related list given as `null` means "none", like a missing key (bundles written by hand or
/// exported by other tools often say `null`).
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Whether `customer_id` (the bundle's customer) may stand for a base record whose own
/// `customerId` is `own`: the same customer, or the survivor of a merge chain that starts at
/// `own` (`merged` = [`JobBundle::merged_customer_ids`]).
pub(crate) fn is_customer_of(customer_id: Id, own: Id, merged: &[Id]) -> bool {
    customer_id == own || merged.first() == Some(&own)
}

#[cfg(test)]
mod null_tests {
    use super::*;

    #[test]
    fn null_related_lists_read_as_empty() {
        let job = include_str!("../../../tests/fixtures/job-bundle.json");
        let mut v: serde_json::Value = serde_json::from_str(job).unwrap();
        v["appointmentAssignments"] = serde_json::Value::Null;
        v["estimates"] = serde_json::Value::Null;
        v["contacts"] = serde_json::Value::Null;
        let bundle: JobBundle = serde_json::from_value(v).unwrap();
        assert!(bundle.appointment_assignments.is_empty());
        assert!(bundle.estimates.is_empty());
        assert!(bundle.contacts.is_empty());
        assert!(!bundle.appointments.is_empty(), "other lists are untouched");
    }
}
