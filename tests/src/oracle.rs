//! The fault suite's oracle: the opportunities a correct sync must hold, computed directly from
//! the sandbox's current data (no HTTP, no engine), with the mapping crate's own functions.
//!
//! Semantics (SPEC.md §3–§5, issue 4):
//! - **Window**: a job is in the window when its `modifiedOn` is on or after the window's first
//!   day, or when a record of a selected related resource with a change feed (appointments,
//!   assignments, estimates, invoices, cancel logs) changed on or after it: a related change
//!   makes its job's opportunity (as [`st_sandbox::Dataset::jobs_in_window`]). An inactive
//!   (deleted) job brought in only by a related change is *optional* (SPEC is silent on
//!   whether such a job is fetched: it may be absent, but when present it must be right).
//!   Memberships likewise with recurring services, events and invoices; inactive memberships
//!   are required (they are fetched with `active=Any`).
//! - **Bundles**: the base record as export feeds carry it (`active` kept); its related records
//!   of the selected resources, inactive ones included (the mapping leaves them out of the
//!   details); appointments and recurring service events carry `active` as export rows do;
//!   contacts are the customer's active contacts in the list shape (`customerId`, no `active`).
//! - **Merged customers**: the job's (membership's) customer is followed along `mergedToId` (at
//!   most 10 hops) to the surviving customer, whose record and contacts build the opportunity
//!   (customer details, names, e-mail, phone, External Contact ID); on a loop or a missing
//!   customer in the chain the last existing customer before it is used; a base record whose
//!   customer does not exist at all maps with no customer and no contacts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use opportunity::map::{contacts_newest_first, job_details, select_email, select_phone};
use opportunity::map_membership::membership_details;
use opportunity::name::split_name;
use opportunity::{
    map_job, map_membership, Integration, JobBundle, MappingConfig, MembershipBundle, Model,
    Opportunity, Resource,
};
use servicetitan::{Customer, CustomerContact, Id};
use st_sandbox::Dataset;

/// Most `mergedToId` hops followed.
pub const MAX_MERGE_HOPS: usize = 10;

/// What the store must hold for one model.
#[derive(Debug, Default)]
pub struct Expected {
    /// External id → the opportunity that must be stored.
    pub required: BTreeMap<String, Opportunity>,
    /// External id → the opportunity that may be stored (and must then be equal).
    pub optional: BTreeMap<String, Opportunity>,
    /// Records the mapping refuses (`resource id: message`); neither required nor forbidden.
    pub unmappable: BTreeMap<String, String>,
    /// External id → what is special about the record (`deleted job`, `customer 1 merged into
    /// 2`, `no customer`), to help read a failure.
    pub notes: BTreeMap<String, String>,
    /// Deleted jobs: their opportunity is frozen at the deletion (README "Decisions": the jobs
    /// list has no `active=Any`, so a later change of a related record or of the customer
    /// cannot be rebuilt); only the job's own fields are compared.
    pub frozen: BTreeSet<String>,
}

/// `o` reduced to what a frozen (deleted) job keeps current: its own fields (details keys
/// without `:`); standard fields are taken from `like` so they never differ.
pub fn own_fields(o: &Opportunity, like: &Opportunity) -> Opportunity {
    Opportunity {
        external_contact_id: like.external_contact_id.clone(),
        standard: like.standard.clone(),
        details: o
            .details
            .iter()
            .filter(|(k, _)| !k.contains(':'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..o.clone()
    }
}

/// What is special about a base record (`Expected::notes`).
fn note(out: &mut Expected, id: Id, deleted: bool, customer_id: Id, customer: Option<&Customer>) {
    let mut parts = Vec::new();
    if deleted {
        parts.push("deleted".to_owned());
    }
    match customer {
        None => parts.push(format!("customer {customer_id} does not exist")),
        Some(c) if c.id != customer_id => {
            parts.push(format!("customer {customer_id} merged into {}", c.id));
        }
        Some(_) => {}
    }
    if !parts.is_empty() {
        out.notes.insert(id.to_string(), parts.join(", "));
    }
}

/// The customer a base record's `customer_id` resolves to (module docs, "Merged customers").
pub fn resolve_customer(customers: &BTreeMap<Id, &Customer>, id: Id) -> Option<Customer> {
    let mut current = *customers.get(&id)?;
    let mut seen = BTreeSet::from([current.id]);
    for _ in 0..MAX_MERGE_HOPS {
        let Some(next) = current.merged_to_id else {
            break;
        };
        match customers.get(&next) {
            Some(c) if seen.insert(c.id) => current = c,
            _ => break,
        }
    }
    Some(current.clone())
}

/// The customer's active contacts as the list endpoint returns them.
fn contacts_of(data: &Dataset, customer: Option<&Customer>) -> Vec<CustomerContact> {
    let Some(customer) = customer else {
        return Vec::new();
    };
    data.contacts
        .iter()
        .filter(|c| c.customer_id == Some(customer.id) && c.active != Some(false))
        .map(|c| CustomerContact {
            active: None,
            ..c.clone()
        })
        .collect()
}

/// Replace the customer parts of `o` (mapped without a customer) by those of `customer` and
/// `contacts`, as the mapping computes them (the survivor of a merge is not the base record's
/// `customerId`, which `map_job`/`map_membership` would refuse).
fn with_customer(
    mut o: Opportunity,
    customer: &Customer,
    contacts: &[CustomerContact],
    details: opportunity::Details,
    cfg: &MappingConfig,
) -> Opportunity {
    let sorted = contacts_newest_first(contacts);
    let phone = select_phone(&sorted, &cfg.phone_region);
    let (first, last) = split_name(&customer.name);
    o.standard.email = select_email(&sorted, &cfg.placeholders);
    o.standard.phone_extension = phone.as_ref().and_then(|p| p.extension.clone());
    o.standard.phone = phone.map(|p| p.e164);
    o.standard.first_name = first;
    o.standard.last_name = last;
    o.external_contact_id = Some(customer.id.to_string());
    o.details = details;
    o
}

/// The expected job opportunities of `integration` over `data`.
pub fn expected_jobs(data: &Dataset, integration: &Integration, window: NaiveDate) -> Expected {
    let uses = |r| integration.resources.uses(Model::Job, r);
    let cfg = MappingConfig::from_integration(integration);
    let customers: BTreeMap<Id, &Customer> = data.customers.iter().map(|c| (c.id, c)).collect();
    let in_window = |t: chrono::DateTime<chrono::Utc>| t.date_naive() >= window;
    let mut related: BTreeSet<Id> = BTreeSet::new();
    if uses(Resource::Appointments) {
        related.extend(
            data.appointments
                .iter()
                .filter(|a| in_window(a.modified_on))
                .map(|a| a.job_id),
        );
        if uses(Resource::AppointmentAssignments) {
            related.extend(
                data.appointment_assignments
                    .iter()
                    .filter(|a| in_window(a.modified_on))
                    .map(|a| a.job_id),
            );
        }
    }
    if uses(Resource::Estimates) {
        related.extend(
            data.estimates
                .iter()
                .filter(|e| in_window(e.modified_on))
                .filter_map(|e| e.job_id),
        );
    }
    if uses(Resource::Invoices) {
        related.extend(
            data.invoices
                .iter()
                .filter(|i| in_window(i.last_modified()))
                .filter_map(|i| i.job.as_ref().map(|j| j.id)),
        );
    }
    if uses(Resource::CancelReasons) {
        related.extend(
            data.job_canceled_logs
                .iter()
                .filter(|l| in_window(l.created_on))
                .map(|l| l.job_id),
        );
    }
    let mut out = Expected::default();
    for job in &data.jobs {
        let active = job.active != Some(false);
        let required = in_window(job.modified_on) || (active && related.contains(&job.id));
        let optional = !required && !active && related.contains(&job.id);
        if !required && !optional {
            continue;
        }
        let customer = resolve_customer(&customers, job.customer_id);
        note(
            &mut out,
            job.id,
            !active,
            job.customer_id,
            customer.as_ref(),
        );
        if !active {
            out.frozen.insert(job.id.to_string());
        }
        let contacts = contacts_of(data, customer.as_ref());
        let location = data
            .locations
            .iter()
            .find(|l| l.id == job.location_id)
            .cloned();
        let mut b = JobBundle::new(servicetitan::Job {
            active: Some(active),
            ..job.clone()
        });
        b.business_unit = data
            .business_units
            .iter()
            .find(|u| u.id == job.business_unit_id)
            .cloned();
        b.job_type = data
            .job_types
            .iter()
            .find(|t| t.id == job.job_type_id)
            .cloned();
        if uses(Resource::Zones) {
            let zone = location.as_ref().and_then(|l| l.zone_id);
            b.zone = data.zones.iter().find(|z| Some(z.id) == zone).cloned();
        }
        b.location = location;
        if uses(Resource::Campaigns) {
            b.campaign = data
                .campaigns
                .iter()
                .find(|c| Some(c.id) == job.campaign_id)
                .cloned();
        }
        if uses(Resource::TagTypes) {
            b.tag_types = data.tag_types.clone();
        }
        if uses(Resource::Appointments) {
            b.appointments = data
                .appointments
                .iter()
                .filter(|a| a.job_id == job.id)
                .map(|a| servicetitan::Appointment {
                    active: Some(a.active != Some(false)),
                    ..a.clone()
                })
                .collect();
            if uses(Resource::AppointmentAssignments) {
                b.appointment_assignments = data
                    .appointment_assignments
                    .iter()
                    .filter(|a| a.job_id == job.id)
                    .cloned()
                    .collect();
            }
        }
        if uses(Resource::Estimates) {
            b.estimates = data
                .estimates
                .iter()
                .filter(|e| e.job_id == Some(job.id))
                .cloned()
                .collect();
        }
        if uses(Resource::Invoices) {
            b.invoices = data
                .invoices
                .iter()
                .filter(|i| i.job.as_ref().is_some_and(|j| j.id == job.id))
                .cloned()
                .collect();
        }
        if uses(Resource::CancelReasons) {
            b.job_canceled_logs = data
                .job_canceled_logs
                .iter()
                .filter(|l| l.job_id == job.id)
                .cloned()
                .collect();
            b.cancel_reasons = data.cancel_reasons.clone();
        }
        if uses(Resource::EmployeesTechnicians) {
            b.employees = data.employees.clone();
            b.technicians = data.technicians.clone();
        }
        let old = b
            .appointments
            .iter()
            .filter(|a| a.active != Some(false))
            .map(|a| a.modified_on)
            .chain(
                b.estimates
                    .iter()
                    .filter(|e| e.active)
                    .map(|e| e.modified_on),
            )
            .chain(
                b.invoices
                    .iter()
                    .filter(|i| i.active)
                    .map(servicetitan::Invoice::last_modified),
            )
            .chain(
                b.job_canceled_logs
                    .iter()
                    .filter(|l| l.active)
                    .map(|l| l.created_on),
            )
            .filter(|t| !in_window(*t))
            .count();
        if old > 0 {
            let n = out.notes.entry(job.id.to_string()).or_default();
            if !n.is_empty() {
                n.push_str(", ");
            }
            n.push_str(&format!(
                "{old} related rows last changed before the window"
            ));
        }
        let merged = customer.as_ref().filter(|c| c.id != job.customer_id);
        let mapped = match merged {
            None => {
                b.customer = customer.clone();
                b.contacts = contacts;
                map_job(&b, &cfg)
            }
            Some(survivor) => {
                let plain = b.clone();
                b.customer = Some(survivor.clone());
                b.contacts = contacts.clone();
                map_job(&plain, &cfg).and_then(|o| {
                    let details = job_details(&b)?;
                    Ok(with_customer(o, survivor, &contacts, details, &cfg))
                })
            }
        };
        match mapped {
            Ok(o) if required => {
                out.required.insert(o.external_id.clone(), o);
            }
            Ok(o) => {
                out.optional.insert(o.external_id.clone(), o);
            }
            Err(e) => {
                out.unmappable.insert(job.id.to_string(), e.to_string());
            }
        }
    }
    out
}

/// The expected membership opportunities of `integration` over `data`.
pub fn expected_memberships(
    data: &Dataset,
    integration: &Integration,
    window: NaiveDate,
) -> Expected {
    let uses = |r| integration.resources.uses(Model::Membership, r);
    let cfg = MappingConfig::from_integration(integration);
    let customers: BTreeMap<Id, &Customer> = data.customers.iter().map(|c| (c.id, c)).collect();
    let in_window = |t: chrono::DateTime<chrono::Utc>| t.date_naive() >= window;
    let mut related: BTreeSet<Id> = BTreeSet::new();
    if uses(Resource::RecurringServices) {
        related.extend(
            data.recurring_services
                .iter()
                .filter(|r| in_window(r.modified_on))
                .filter_map(|r| r.membership_id),
        );
    }
    if uses(Resource::RecurringServiceEvents) {
        related.extend(
            data.recurring_service_events
                .iter()
                .filter(|e| in_window(e.modified_on))
                .filter_map(|e| e.membership_id),
        );
    }
    if uses(Resource::Invoices) {
        related.extend(
            data.invoices
                .iter()
                .filter(|i| in_window(i.last_modified()))
                .filter_map(|i| i.membership_id),
        );
    }
    let mut out = Expected::default();
    for m in &data.memberships {
        if !(in_window(m.modified_on) || related.contains(&m.id)) {
            continue;
        }
        let customer = resolve_customer(&customers, m.customer_id);
        note(&mut out, m.id, !m.active, m.customer_id, customer.as_ref());
        let contacts = contacts_of(data, customer.as_ref());
        let mut b = MembershipBundle::new(m.clone());
        b.location = data
            .locations
            .iter()
            .find(|l| Some(l.id) == m.location_id)
            .cloned();
        b.business_unit = data
            .business_units
            .iter()
            .find(|u| u.id == m.business_unit_id)
            .cloned();
        b.membership_type = data
            .membership_types
            .iter()
            .find(|t| t.id == m.membership_type_id)
            .cloned();
        if uses(Resource::TagTypes) {
            b.tag_types = data.tag_types.clone();
        }
        if uses(Resource::RecurringServices) {
            b.recurring_services = data
                .recurring_services
                .iter()
                .filter(|r| r.membership_id == Some(m.id))
                .cloned()
                .collect();
        }
        if uses(Resource::RecurringServiceEvents) {
            b.recurring_service_events = data
                .recurring_service_events
                .iter()
                .filter(|e| e.membership_id == Some(m.id))
                .map(|e| servicetitan::RecurringServiceEvent {
                    active: Some(e.active != Some(false)),
                    ..e.clone()
                })
                .collect();
        }
        if uses(Resource::Invoices) {
            b.invoices = data
                .invoices
                .iter()
                .filter(|i| i.membership_id == Some(m.id))
                .cloned()
                .collect();
        }
        if uses(Resource::EmployeesTechnicians) {
            b.employees = data.employees.clone();
            b.technicians = data.technicians.clone();
        }
        if uses(Resource::Campaigns) {
            b.campaigns = data.campaigns.clone();
        }
        let old = b
            .recurring_services
            .iter()
            .filter(|r| r.active)
            .map(|r| r.modified_on)
            .chain(
                b.recurring_service_events
                    .iter()
                    .filter(|e| e.active != Some(false))
                    .map(|e| e.modified_on),
            )
            .chain(
                b.invoices
                    .iter()
                    .filter(|i| i.active)
                    .map(servicetitan::Invoice::last_modified),
            )
            .filter(|t| !in_window(*t))
            .count();
        if old > 0 {
            let n = out.notes.entry(m.id.to_string()).or_default();
            if !n.is_empty() {
                n.push_str(", ");
            }
            n.push_str(&format!(
                "{old} related rows last changed before the window"
            ));
        }
        let merged = customer.as_ref().filter(|c| c.id != m.customer_id);
        let mapped = match merged {
            None => {
                b.customer = customer.clone();
                b.contacts = contacts;
                map_membership(&b, &cfg)
            }
            Some(survivor) => {
                let plain = b.clone();
                b.customer = Some(survivor.clone());
                b.contacts = contacts.clone();
                map_membership(&plain, &cfg).and_then(|o| {
                    let details = membership_details(&b)?;
                    Ok(with_customer(o, survivor, &contacts, details, &cfg))
                })
            }
        };
        match mapped {
            Ok(o) => {
                out.required.insert(o.external_id.clone(), o);
            }
            Err(e) => {
                out.unmappable.insert(m.id.to_string(), e.to_string());
            }
        }
    }
    out
}

/// What differs between an expected and a stored opportunity (empty when equal): the external
/// contact id, each standard field, and each details key (missing, extra or different), at most
/// `limit` lines.
pub fn differences(expected: &Opportunity, stored: &Opportunity, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    if expected.external_contact_id != stored.external_contact_id {
        out.push(format!(
            "externalContactId: expected {:?}, stored {:?}",
            expected.external_contact_id, stored.external_contact_id
        ));
    }
    let (e, s) = (
        serde_json::to_value(&expected.standard).unwrap_or_default(),
        serde_json::to_value(&stored.standard).unwrap_or_default(),
    );
    if let (Some(e), Some(s)) = (e.as_object(), s.as_object()) {
        let keys: BTreeSet<&String> = e.keys().chain(s.keys()).collect();
        for k in keys {
            if e.get(k) != s.get(k) {
                out.push(format!(
                    "standard {k}: expected {}, stored {}",
                    show(e.get(k)),
                    show(s.get(k))
                ));
            }
        }
    }
    let keys: BTreeSet<&String> = expected
        .details
        .keys()
        .chain(stored.details.keys())
        .collect();
    for k in keys {
        let (e, s) = (expected.details.get(k), stored.details.get(k));
        if e != s {
            out.push(format!(
                "details {k}: expected {}, stored {}",
                show(e),
                show(s)
            ));
        }
    }
    let total = out.len();
    if total > limit {
        out.truncate(limit);
        out.push(format!("... {} more differences", total - limit));
    }
    out
}

fn show(v: Option<&serde_json::Value>) -> String {
    match v {
        None => "(absent)".to_owned(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 80 {
                format!("{}…", text.chars().take(80).collect::<String>())
            } else {
                text
            }
        }
    }
}
