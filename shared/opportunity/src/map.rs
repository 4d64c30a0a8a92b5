//! The mapping entry points (SPEC.md §4): a bundle of ServiceTitan records in, an opportunity
//! (standard fields + details) out. Pure: no I/O, no clock.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use servicetitan::{CustomerContact, Employee, Id, Invoice, Technician};

use crate::details::{flatten_value_into, join_key, sort_newest_first, MAX_LIST_ITEMS};
use crate::email::{normalize_email, PlaceholderEmails};
use crate::name::split_name;
use crate::phone::{normalize_phone, Phone};
use crate::{Details, Integration, JobBundle, MapError, Model, Opportunity, StandardFields};

/// Inputs of the mapping that come from the integration's settings (SPEC.md §2).
#[derive(Debug, Clone)]
pub struct MappingConfig {
    /// Placeholder e-mail matcher (built-in list plus the user's patterns).
    pub placeholders: PlaceholderEmails,
    /// Default phone region for numbers without a country code (ISO 3166 alpha-2, e.g. `US`).
    pub phone_region: String,
}

impl Default for MappingConfig {
    /// Built-in placeholders only, region `US` (SPEC.md §2 defaults).
    fn default() -> Self {
        MappingConfig {
            placeholders: PlaceholderEmails::builtin(),
            phone_region: "US".to_owned(),
        }
    }
}

impl MappingConfig {
    /// The mapping settings of an integration: the built-in placeholders plus its
    /// `placeholderEmails`, and its `phoneRegion` (SPEC.md §2).
    pub fn from_integration(integration: &Integration) -> Self {
        MappingConfig {
            placeholders: PlaceholderEmails::with_user_patterns(&integration.placeholder_emails),
            phone_region: integration.phone_region.clone(),
        }
    }
}

/// Contact types (`CustomerContact.type`, compared case-insensitively, API-NOTES §7.2).
const EMAIL: &str = "Email";
const MOBILE_PHONE: &str = "MobilePhone";
const PHONE: &str = "Phone";

/// The customer's contacts as the mapping uses them, for both details and standard fields:
/// newest first by `createdOn` (SPEC.md §4, [`sort_newest_first`]; ties keep input order),
/// without rows the export feed marks deleted (`active: false`).
pub fn contacts_newest_first(contacts: &[CustomerContact]) -> Vec<CustomerContact> {
    sorted_contacts(contacts).into_iter().cloned().collect()
}

/// [`contacts_newest_first`] without copying the contacts.
pub(crate) fn sorted_contacts(contacts: &[CustomerContact]) -> Vec<&CustomerContact> {
    let mut kept: Vec<&CustomerContact> = contacts
        .iter()
        .filter(|c| c.active != Some(false))
        .collect();
    sort_newest_first(&mut kept, |c| Some(c.created_on));
    kept
}

fn is_kind(contact: &CustomerContact, kind: &str) -> bool {
    contact.kind.trim().eq_ignore_ascii_case(kind)
}

/// Standard e-mail (SPEC.md §4 "Email"): the first contact, in the given order (use
/// [`contacts_newest_first`]), of type `Email` (case-insensitive) whose value normalizes (trimmed,
/// lower-cased, valid, not a placeholder: [`normalize_email`]). `None` when there is none.
pub fn select_email(
    contacts: &[CustomerContact],
    placeholders: &PlaceholderEmails,
) -> Option<String> {
    first_email(contacts.iter(), placeholders)
}

/// [`select_email`] over any sequence of contacts (e.g. [`sorted_contacts`]).
pub(crate) fn first_email<'a>(
    contacts: impl Iterator<Item = &'a CustomerContact>,
    placeholders: &PlaceholderEmails,
) -> Option<String> {
    contacts
        .filter(|c| is_kind(c, EMAIL))
        .find_map(|c| normalize_email(&c.value, placeholders))
}

/// Standard phone (SPEC.md §4 "Phone"): the first `MobilePhone` contact, in the given order
/// (use [`contacts_newest_first`]), whose value parses ([`normalize_phone`] with `region`); else
/// the first such `Phone` contact; `Fax` (and any other type) never. Types compare
/// case-insensitively. `None` when no mobile or phone value parses (the raw values stay in the
/// details).
///
/// Decision (SPEC silent on a present-but-unparseable mobile): an unparseable value counts as
/// missing, so the next mobile, then the first parseable landline, is used.
pub fn select_phone(contacts: &[CustomerContact], region: &str) -> Option<Phone> {
    first_phone(contacts.iter(), region)
}

/// [`select_phone`] over any sequence of contacts (e.g. [`sorted_contacts`]).
pub(crate) fn first_phone<'a>(
    contacts: impl Iterator<Item = &'a CustomerContact> + Clone,
    region: &str,
) -> Option<Phone> {
    [MOBILE_PHONE, PHONE].iter().find_map(|kind| {
        contacts
            .clone()
            .filter(|c| is_kind(c, kind))
            .find_map(|c| normalize_phone(&c.value, region))
    })
}

/// Serialize a wire record and flatten it under `prefix`.
pub(crate) fn add_record<T: Serialize>(
    details: &mut Details,
    prefix: &str,
    record: &T,
    resource: &str,
    id: i64,
) -> Result<(), MapError> {
    let value = serde_json::to_value(record).map_err(|e| MapError {
        resource: resource.to_owned(),
        id: id.to_string(),
        field: prefix.to_owned(),
        reason: format!("cannot serialize the record: {e}"),
    })?;
    flatten_value_into(details, prefix, value);
    Ok(())
}

/// A related record whose id is not the one the job references.
pub(crate) fn mismatch(resource: &str, id: i64, field: &str, reason: String) -> MapError {
    MapError {
        resource: resource.to_owned(),
        id: id.to_string(),
        field: field.to_owned(),
        reason,
    }
}

/// Check that every related record in the bundle is the one the job references.
fn validate_job_bundle(bundle: &JobBundle) -> Result<(), MapError> {
    let job = &bundle.job;
    if let Some(customer) = &bundle.customer {
        if !crate::bundle::is_customer_of(customer.id, job.customer_id, &bundle.merged_customer_ids)
        {
            return Err(mismatch(
                "customer",
                customer.id,
                "id",
                format!(
                    "is not job {}'s customer (customerId {})",
                    job.id, job.customer_id
                ),
            ));
        }
    }
    let customer_id = bundle.customer.as_ref().map_or(job.customer_id, |c| c.id);
    for contact in &bundle.contacts {
        if let Some(owner) = contact.customer_id {
            if owner != customer_id {
                return Err(mismatch(
                    "customerContact",
                    contact.id,
                    "customerId",
                    format!(
                        "belongs to customer {owner}, not to job {}'s customer {customer_id}",
                        job.id
                    ),
                ));
            }
        }
    }
    if let Some(location) = &bundle.location {
        if location.id != job.location_id {
            return Err(mismatch(
                "location",
                location.id,
                "id",
                format!(
                    "is not job {}'s location (locationId {})",
                    job.id, job.location_id
                ),
            ));
        }
    }
    if let Some(unit) = &bundle.business_unit {
        if unit.id != job.business_unit_id {
            return Err(mismatch(
                "businessUnit",
                unit.id,
                "id",
                format!(
                    "is not job {}'s business unit (businessUnitId {})",
                    job.id, job.business_unit_id
                ),
            ));
        }
    }
    if let Some(job_type) = &bundle.job_type {
        if job_type.id != job.job_type_id {
            return Err(mismatch(
                "jobType",
                job_type.id,
                "id",
                format!(
                    "is not job {}'s job type (jobTypeId {})",
                    job.id, job.job_type_id
                ),
            ));
        }
    }
    let not_this_job = |resource: &str, id: Id, field: &str, owner: Option<Id>| {
        mismatch(
            resource,
            id,
            field,
            format!(
                "belongs to job {}, not to job {}",
                owner.map_or_else(|| "none".to_owned(), |o| o.to_string()),
                job.id
            ),
        )
    };
    for a in &bundle.appointments {
        if a.job_id != job.id {
            return Err(not_this_job("appointment", a.id, "jobId", Some(a.job_id)));
        }
    }
    for a in &bundle.appointment_assignments {
        if a.job_id != job.id {
            return Err(not_this_job(
                "appointmentAssignment",
                a.id,
                "jobId",
                Some(a.job_id),
            ));
        }
    }
    for e in &bundle.estimates {
        if e.job_id != Some(job.id) {
            return Err(not_this_job("estimate", e.id, "jobId", e.job_id));
        }
    }
    for i in &bundle.invoices {
        let owner = i.job.as_ref().map(|j| j.id);
        if owner != Some(job.id) {
            return Err(not_this_job("invoice", i.id, "job.id", owner));
        }
    }
    for l in &bundle.job_canceled_logs {
        if l.job_id != job.id {
            return Err(not_this_job(
                "jobCanceledLog",
                l.id,
                "jobId",
                Some(l.job_id),
            ));
        }
    }
    if let Some(campaign) = &bundle.campaign {
        if Some(campaign.id) != job.campaign_id {
            return Err(mismatch(
                "campaign",
                campaign.id,
                "id",
                format!(
                    "is not job {}'s campaign (campaignId {:?})",
                    job.id, job.campaign_id
                ),
            ));
        }
    }
    if let (Some(zone), Some(location)) = (&bundle.zone, &bundle.location) {
        if Some(zone.id) != location.zone_id {
            return Err(mismatch(
                "zone",
                zone.id,
                "id",
                format!(
                    "is not location {}'s zone (zoneId {:?})",
                    location.id, location.zone_id
                ),
            ));
        }
    }
    Ok(())
}

/// Invoice money and quantity fields ServiceTitan sends as decimal text (API-NOTES §7.5).
const INVOICE_DECIMALS: &[&str] = &["subTotal", "salesTax", "total", "balance", "discountTotal"];
/// The same for invoice items.
const INVOICE_ITEM_DECIMALS: &[&str] = &[
    "quantity",
    "cost",
    "totalCost",
    "price",
    "total",
    "memberPrice",
];

/// Decimal text (`"389.50"`) as a JSON number; other values unchanged.
fn decimal_text_to_number(object: &mut serde_json::Map<String, Value>, fields: &[&str]) {
    for field in fields {
        if let Some(value) = object.get_mut(*field) {
            if let Value::String(text) = value {
                if let Some(n) = text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    *value = Value::Number(n);
                }
            }
        }
    }
}

/// An invoice as details see it: the wire record with its decimal-text money fields
/// (`balance`, `total`, items' `price`...) as numbers, so `invoices:#:balance > 0` can be
/// filtered on (decision: SPEC.md §4 types details; unparseable text stays text).
pub(crate) fn invoice_value(invoice: &Invoice) -> Result<Value, MapError> {
    let mut value = serde_json::to_value(invoice).map_err(|e| MapError {
        resource: "invoice".to_owned(),
        id: invoice.id.to_string(),
        field: String::new(),
        reason: format!("cannot serialize the record: {e}"),
    })?;
    if let Value::Object(object) = &mut value {
        decimal_text_to_number(object, INVOICE_DECIMALS);
        if let Some(Value::Array(items)) = object.get_mut("items") {
            for item in items {
                if let Value::Object(item) = item {
                    decimal_text_to_number(item, INVOICE_ITEM_DECIMALS);
                }
            }
        }
    }
    Ok(value)
}

/// Active invoices, newest first, as details values.
pub(crate) fn invoice_values(invoices: &[Invoice]) -> Result<Vec<Value>, MapError> {
    let mut kept: Vec<&Invoice> = invoices.iter().filter(|i| i.active).collect();
    sort_newest_first(&mut kept, |i| Some(i.created_on));
    kept.into_iter().map(invoice_value).collect()
}

/// The person behind a Sold By id (SPEC.md §4 `soldBy:name`): the technician with that id,
/// else the employee. `{"name", "employeeType": "Technician"|"Employee", "role"?}`.
pub(crate) fn sold_by_value(
    id: Id,
    technicians: &[Technician],
    employees: &[Employee],
) -> Option<Value> {
    if let Some(t) = technicians.iter().find(|t| t.id == id) {
        return Some(serde_json::json!({"name": t.name, "employeeType": "Technician"}));
    }
    employees
        .iter()
        .find(|e| e.id == id)
        .map(|e| serde_json::json!({"name": e.name, "employeeType": "Employee", "role": e.role}))
}

/// Flatten `values` (already newest first) as the record list `key` (`key:#:...`), then add
/// `key:<i>:<sub>:*` for the extra record `extra(i)` gives (e.g. an estimate's Sold By), within
/// the list cap.
pub(crate) fn add_list_with_extra(
    details: &mut Details,
    key: &str,
    values: Vec<Value>,
    sub: &str,
    extra: impl Fn(usize) -> Option<Value>,
) {
    if values.is_empty() {
        return;
    }
    let n = values.len();
    flatten_value_into(details, key, Value::Array(values));
    for i in 0..n.min(MAX_LIST_ITEMS) {
        if let Some(v) = extra(i) {
            flatten_value_into(details, &join_key(&join_key(key, &i.to_string()), sub), v);
        }
    }
}

/// The details of a job bundle (SPEC.md §4 "Details"): the job's fields without prefix (`id`,
/// `jobNumber`, `jobStatus`, `createdOn`, `customFields:Gate Code`...), then `customer:...`,
/// `customer:contacts:#:...` (newest first, see [`contacts_newest_first`]), `location:...`,
/// `businessUnit:...`, `jobType:...`, `appointments:#:...` (with
/// `appointments:#:assignments:#:technicianName`...), `estimates:#:...` (with
/// `estimates:#:soldBy:name`), `invoices:#:...` (money as numbers), `jobCanceledLogs:#:...`,
/// `cancelReason:...` (the newest active log's reason), `campaign:...`, `tagTypes:#:...`,
/// `zone:...` and `soldBy:...`. Every list is newest first by `createdOn`, index 0 = newest.
/// Missing related records add no keys. The bundle is not validated here ([`map_job`] does
/// that).
pub fn job_details(bundle: &JobBundle) -> Result<Details, MapError> {
    let job = &bundle.job;
    let mut details = Details::new();
    add_record(&mut details, "", job, "job", job.id)?;
    if let Some(customer) = &bundle.customer {
        add_record(&mut details, "customer", customer, "customer", customer.id)?;
    }
    let contacts = sorted_contacts(&bundle.contacts);
    if !contacts.is_empty() {
        add_record(
            &mut details,
            "customer:contacts",
            &contacts,
            "customer",
            job.customer_id,
        )?;
    }
    if let Some(location) = &bundle.location {
        add_record(&mut details, "location", location, "location", location.id)?;
    }
    if let Some(unit) = &bundle.business_unit {
        add_record(&mut details, "businessUnit", unit, "businessUnit", unit.id)?;
    }
    if let Some(job_type) = &bundle.job_type {
        add_record(&mut details, "jobType", job_type, "jobType", job_type.id)?;
    }
    add_appointments(&mut details, bundle)?;
    let mut estimates: Vec<&servicetitan::Estimate> =
        bundle.estimates.iter().filter(|e| e.active).collect();
    sort_newest_first(&mut estimates, |e| Some(e.created_on));
    let estimate_values = estimates
        .iter()
        .map(|e| to_value(*e, "estimate", e.id))
        .collect::<Result<Vec<_>, _>>()?;
    add_list_with_extra(&mut details, "estimates", estimate_values, "soldBy", |i| {
        estimates[i]
            .sold_by
            .and_then(|id| sold_by_value(id, &bundle.technicians, &bundle.employees))
    });
    let invoices = invoice_values(&bundle.invoices)?;
    if !invoices.is_empty() {
        flatten_value_into(&mut details, "invoices", Value::Array(invoices));
    }
    let mut logs: Vec<&servicetitan::JobCanceledLog> = bundle
        .job_canceled_logs
        .iter()
        .filter(|l| l.active)
        .collect();
    sort_newest_first(&mut logs, |l| Some(l.created_on));
    if !logs.is_empty() {
        add_record(&mut details, "jobCanceledLogs", &logs, "job", job.id)?;
    }
    if let Some(reason) = logs
        .first()
        .and_then(|l| bundle.cancel_reasons.iter().find(|r| r.id == l.reason_id))
    {
        add_record(
            &mut details,
            "cancelReason",
            reason,
            "jobCancelReason",
            reason.id,
        )?;
    }
    if let Some(campaign) = &bundle.campaign {
        add_record(&mut details, "campaign", campaign, "campaign", campaign.id)?;
    }
    add_tag_types(&mut details, &job.tag_type_ids, &bundle.tag_types, job.id)?;
    if let Some(zone) = &bundle.zone {
        add_record(&mut details, "zone", zone, "zone", zone.id)?;
    }
    if let Some(v) = job
        .sold_by_id
        .and_then(|id| sold_by_value(id, &bundle.technicians, &bundle.employees))
    {
        flatten_value_into(&mut details, "soldBy", v);
    }
    Ok(details)
}

/// A wire record as JSON, or a [`MapError`] naming it.
pub(crate) fn to_value<T: Serialize>(
    record: &T,
    resource: &str,
    id: Id,
) -> Result<Value, MapError> {
    serde_json::to_value(record).map_err(|e| MapError {
        resource: resource.to_owned(),
        id: id.to_string(),
        field: String::new(),
        reason: format!("cannot serialize the record: {e}"),
    })
}

/// `appointments:#:...` with each appointment's active technician assignments nested as
/// `appointments:#:assignments:#:...` (both newest first by `createdOn`). Deleted appointments
/// (`active: false` on export rows) are left out.
fn add_appointments(details: &mut Details, bundle: &JobBundle) -> Result<(), MapError> {
    let mut values = Vec::new();
    for a in bundle
        .appointments
        .iter()
        .filter(|a| a.active != Some(false))
    {
        let mut value = to_value(a, "appointment", a.id)?;
        let assignments: Vec<Value> = bundle
            .appointment_assignments
            .iter()
            .filter(|x| x.active && x.appointment_id == a.id)
            .map(|x| to_value(x, "appointmentAssignment", x.id))
            .collect::<Result<_, _>>()?;
        if let (Value::Object(object), false) = (&mut value, assignments.is_empty()) {
            object.insert("assignments".to_owned(), Value::Array(assignments));
        }
        values.push(value);
    }
    if !values.is_empty() {
        flatten_value_into(details, "appointments", Value::Array(values));
    }
    Ok(())
}

/// `tagTypes:#:...`: the tag types among `lookup` whose ids are in `ids`, newest first.
pub(crate) fn add_tag_types(
    details: &mut Details,
    ids: &[Id],
    lookup: &[servicetitan::TagType],
    owner: Id,
) -> Result<(), MapError> {
    let tags: Vec<&servicetitan::TagType> = lookup.iter().filter(|t| ids.contains(&t.id)).collect();
    if !tags.is_empty() {
        add_record(details, "tagTypes", &tags, "tagType", owner)?;
    }
    Ok(())
}

/// The records a job opportunity was built from whose `modifiedOn` moves its External Updated
/// At (SPEC.md §4): the job, its appointments, the assignments of its active appointments, its
/// estimates and invoices — also the inactive ones: deleting, voiding or unassigning is a change (the row's `modifiedOn`
/// is the deletion), so it moves External Updated At forward, never back, although the row
/// leaves the details lists.
fn job_updated_at(bundle: &JobBundle) -> DateTime<Utc> {
    let job = &bundle.job;
    let times = std::iter::once(job.modified_on)
        .chain(bundle.appointments.iter().map(|a| a.modified_on))
        .chain(
            bundle
                .appointment_assignments
                .iter()
                .filter(|x| {
                    // Assignments of a deleted appointment went with it.
                    bundle
                        .appointments
                        .iter()
                        .any(|a| a.id == x.appointment_id && a.active != Some(false))
                })
                .map(|x| x.modified_on),
        )
        .chain(bundle.estimates.iter().map(|e| e.modified_on))
        .chain(bundle.invoices.iter().map(Invoice::last_modified));
    latest(times, job.modified_on)
}

/// The latest of some timestamps (External Updated At of a job, SPEC.md §4).
fn latest(
    times: impl IntoIterator<Item = DateTime<Utc>>,
    fallback: DateTime<Utc>,
) -> DateTime<Utc> {
    times.into_iter().max().unwrap_or(fallback)
}

/// Map a job bundle to a Job opportunity: standard fields and details per SPEC.md §4.
///
/// - `external_id` = the job id as text; `external_contact_id` = the customer id as text (the
///   bundle's customer, else the job's `customerId`);
/// - email / phone: [`select_email`] / [`select_phone`] over [`contacts_newest_first`] (the
///   same order as `customer:contacts:#` in the details); `phone_extension` from the phone;
/// - first / last name: [`split_name`] of the customer's name (`None` without a customer);
/// - `external_created_at` = the job's `createdOn`; `external_updated_at` = the latest
///   `modifiedOn` of the job and of the records it was built from (SPEC.md §4: its
///   appointments, their assignments, its estimates and invoices, deleted ones included).
///   Customer, contacts, location, cancel logs and reference data do not count.
/// - details: [`job_details`].
///
/// Errors: a [`MapError`] naming the resource, id and field when a related record is not the one
/// the job references (customer, location, business unit, job type, campaign or zone id differs
/// from the job's `customerId`, `locationId`, `businessUnitId`, `jobTypeId`, `campaignId` or the
/// location's `zoneId`), or a contact, appointment, assignment, estimate, invoice or cancel log
/// belongs to another customer or job.
pub fn map_job(bundle: &JobBundle, config: &MappingConfig) -> Result<Opportunity, MapError> {
    validate_job_bundle(bundle)?;
    let job = &bundle.job;
    let contacts = sorted_contacts(&bundle.contacts);
    let phone = first_phone(contacts.iter().copied(), &config.phone_region);
    let (first_name, last_name) = bundle
        .customer
        .as_ref()
        .map(|c| split_name(&c.name))
        .unwrap_or((None, None));
    let customer_id = bundle.customer.as_ref().map_or(job.customer_id, |c| c.id);
    let standard = StandardFields {
        email: first_email(contacts.iter().copied(), &config.placeholders),
        phone_extension: phone.as_ref().and_then(|p| p.extension.clone()),
        phone: phone.map(|p| p.e164),
        first_name,
        last_name,
        external_created_at: job.created_on,
        external_updated_at: job_updated_at(bundle),
    };
    Ok(Opportunity {
        model: Model::Job,
        external_id: job.id.to_string(),
        external_contact_id: Some(customer_id.to_string()),
        standard,
        details: job_details(bundle)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use servicetitan::{BusinessUnit, Customer, Job, JobType, Location};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test date")
            .with_timezone(&Utc)
    }

    /// A contact created on day `day` of January 2025.
    fn contact(id: i64, kind: &str, value: &str, day: u32) -> CustomerContact {
        serde_json::from_value(json!({
            "id": id, "type": kind, "value": value,
            "createdOn": format!("2025-01-{day:02}T00:00:00Z"),
            "modifiedOn": format!("2025-01-{day:02}T00:00:00Z"),
        }))
        .expect("contact")
    }

    fn job() -> Job {
        serde_json::from_value(json!({
            "id": 41872305, "jobNumber": "41872305", "projectId": null,
            "customerId": 3301457, "locationId": 3301460, "jobStatus": "Completed",
            "completedOn": "2025-03-04T19:42:11.4402875Z", "businessUnitId": 1044,
            "jobTypeId": 2210, "priority": "Normal", "campaignId": 884,
            "createdOn": "2025-03-03T16:05:27.1093311Z",
            "modifiedOn": "2025-03-04T19:43:02.6650118Z",
            "tagTypeIds": [77, 102],
            "customFields": [{"typeId": 501, "name": "Gate Code", "value": "4412"}],
            "externalData": []
        }))
        .expect("job")
    }

    fn customer(id: i64, name: &str) -> Customer {
        serde_json::from_value(json!({
            "id": id, "active": true, "name": name, "type": "Residential",
            "address": {"street": "1200 Sample Creek Rd", "zip": "62704", "unit": null},
            "customFields": [{"typeId": 610, "name": "Preferred Tech", "value": "Any"}],
            "createdOn": "2023-06-12T14:22:09Z", "modifiedOn": "2025-03-04T19:43:01.9031Z"
        }))
        .expect("customer")
    }

    fn location(id: i64) -> Location {
        serde_json::from_value(json!({
            "id": id, "customerId": 3301457, "active": true, "name": "Home",
            "address": {"zip": "62704"},
            "createdOn": "2023-06-12T14:22:09Z", "modifiedOn": "2025-01-15T08:30:00Z"
        }))
        .expect("location")
    }

    fn business_unit(id: i64) -> BusinessUnit {
        serde_json::from_value(json!({
            "id": id, "active": true, "name": "HVAC Service",
            "createdOn": "2020-01-01T00:00:00Z", "modifiedOn": "2024-01-01T00:00:00Z"
        }))
        .expect("business unit")
    }

    fn job_type(id: i64) -> JobType {
        serde_json::from_value(json!({
            "id": id, "name": "No Heat", "active": true,
            "createdOn": "2020-01-01T00:00:00Z", "modifiedOn": "2024-01-01T00:00:00Z"
        }))
        .expect("job type")
    }

    fn bundle(contacts: Vec<CustomerContact>) -> JobBundle {
        JobBundle {
            customer: Some(customer(3301457, "Testwell, Avery")),
            contacts,
            location: Some(location(3301460)),
            business_unit: Some(business_unit(1044)),
            job_type: Some(job_type(2210)),
            ..JobBundle::new(job())
        }
    }

    #[test]
    fn email_selection_table() {
        let p = PlaceholderEmails::with_user_patterns(&["*@spam.test".to_owned()]);
        let cases: Vec<(&str, Vec<CustomerContact>, Option<&str>)> = vec![
            ("none", vec![], None),
            (
                "type compared case-insensitively (EMAIL)",
                vec![contact(1, "EMAIL", "A@x.com", 1)],
                Some("a@x.com"),
            ),
            (
                "type compared case-insensitively (email)",
                vec![contact(1, "email", " B@X.com ", 1)],
                Some("b@x.com"),
            ),
            (
                "newest first",
                vec![
                    contact(1, "Email", "old@x.com", 1),
                    contact(2, "Email", "new@x.com", 5),
                ],
                Some("new@x.com"),
            ),
            (
                "built-in placeholder skipped",
                vec![
                    contact(1, "Email", "real@x.com", 1),
                    contact(2, "Email", "noemail@x.com", 5),
                ],
                Some("real@x.com"),
            ),
            (
                "user placeholder pattern skipped",
                vec![
                    contact(1, "Email", "real@x.com", 1),
                    contact(2, "Email", "who@SPAM.test", 5),
                ],
                Some("real@x.com"),
            ),
            (
                "invalid skipped",
                vec![
                    contact(1, "Email", "real@x.com", 1),
                    contact(2, "Email", "not an email", 5),
                ],
                Some("real@x.com"),
            ),
            (
                "only placeholders",
                vec![contact(1, "Email", "none@none.com", 1)],
                None,
            ),
            (
                "other types never",
                vec![contact(1, "Phone", "a@x.com", 1)],
                None,
            ),
        ];
        for (name, contacts, expected) in cases {
            let sorted = contacts_newest_first(&contacts);
            assert_eq!(select_email(&sorted, &p).as_deref(), expected, "{name}");
        }
    }

    #[test]
    fn phone_selection_table() {
        /// `(e164, extension)`.
        type Expected = Option<(&'static str, Option<&'static str>)>;
        let cases: Vec<(&str, Vec<CustomerContact>, Expected)> = vec![
            ("none", vec![], None),
            (
                "MobilePhone before Phone even when Phone comes first",
                vec![
                    contact(1, "Phone", "217-555-0199", 9),
                    contact(2, "MobilePhone", "217-555-0142", 1),
                ],
                Some(("+12175550142", None)),
            ),
            (
                "Phone when no mobile",
                vec![
                    contact(1, "Email", "a@x.com", 9),
                    contact(2, "Phone", "(217) 555-0199", 1),
                ],
                Some(("+12175550199", None)),
            ),
            (
                "never Fax",
                vec![contact(1, "Fax", "217-555-0188", 1)],
                None,
            ),
            (
                "Fax ignored, Phone used",
                vec![
                    contact(1, "Fax", "217-555-0188", 9),
                    contact(2, "Phone", "217-555-0199", 1),
                ],
                Some(("+12175550199", None)),
            ),
            (
                "types case-insensitive",
                vec![
                    contact(1, "PHONE", "217-555-0199", 9),
                    contact(2, "mobilephone", "217-555-0142", 1),
                ],
                Some(("+12175550142", None)),
            ),
            (
                "newest mobile first",
                vec![
                    contact(1, "MobilePhone", "217-555-0101", 1),
                    contact(2, "MobilePhone", "217-555-0102", 2),
                ],
                Some(("+12175550102", None)),
            ),
            (
                "extension kept apart",
                vec![contact(1, "Phone", "(217) 555-0199 ext. 12", 1)],
                Some(("+12175550199", Some("12"))),
            ),
            (
                "unparseable mobile counts as missing",
                vec![
                    contact(1, "MobilePhone", "call office", 9),
                    contact(2, "Phone", "217.555.0199", 1),
                ],
                Some(("+12175550199", None)),
            ),
            (
                "only unparseable",
                vec![contact(1, "MobilePhone", "555", 1)],
                None,
            ),
        ];
        for (name, contacts, expected) in cases {
            let sorted = contacts_newest_first(&contacts);
            let got = select_phone(&sorted, "US");
            let got = got
                .as_ref()
                .map(|p| (p.e164.as_str(), p.extension.as_deref()));
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn map_job_standard_fields_and_ids() {
        let b = bundle(vec![
            contact(1, "Fax", "217-555-0188", 9),
            contact(2, "Phone", "217-555-0199 x305", 8),
            contact(3, "Email", "noemail@gmail.com", 7),
            contact(4, "EMAIL", " Avery.Testwell@Example.com ", 2),
            contact(5, "Phone", "call office", 6),
        ]);
        let o = map_job(&b, &MappingConfig::default()).expect("maps");
        assert_eq!(o.model, Model::Job);
        assert_eq!(o.external_id, "41872305");
        assert_eq!(o.external_contact_id.as_deref(), Some("3301457"));
        let s = &o.standard;
        assert_eq!(s.email.as_deref(), Some("avery.testwell@example.com"));
        assert_eq!(s.phone.as_deref(), Some("+12175550199"));
        assert_eq!(s.phone_extension.as_deref(), Some("305"));
        assert_eq!(s.first_name.as_deref(), Some("Avery"));
        assert_eq!(s.last_name.as_deref(), Some("Testwell"));
        assert_eq!(s.external_created_at, at("2025-03-03T16:05:27.1093311Z"));
        assert_eq!(s.external_updated_at, at("2025-03-04T19:43:02.6650118Z"));
        // details keep the raw values, newest first, in the same order as the selection
        let d = &o.details;
        assert_eq!(d["customer:contacts:0:type"], json!("Fax"));
        assert_eq!(d["customer:contacts:1:value"], json!("217-555-0199 x305"));
        assert_eq!(d["customer:contacts:2:value"], json!("noemail@gmail.com"));
        assert_eq!(d["customer:contacts:3:value"], json!("call office"));
        assert_eq!(
            d["customer:contacts:4:value"],
            json!(" Avery.Testwell@Example.com ")
        );
    }

    #[test]
    fn map_job_details_prefixes() {
        let o = map_job(&bundle(vec![]), &MappingConfig::default()).expect("maps");
        let d = &o.details;
        assert_eq!(d["id"], json!(41872305));
        assert_eq!(d["jobNumber"], json!("41872305"));
        assert_eq!(d["jobStatus"], json!("Completed"));
        assert_eq!(d["createdOn"], json!("2025-03-03T16:05:27.109331100Z"));
        assert_eq!(d["tagTypeIds"], json!([77, 102]));
        assert_eq!(d["customFields:Gate Code"], json!("4412"));
        assert!(!d.contains_key("projectId"));
        assert_eq!(d["customer:name"], json!("Testwell, Avery"));
        assert_eq!(d["customer:address:zip"], json!("62704"));
        assert!(!d.contains_key("customer:address:unit"));
        assert_eq!(d["customer:customFields:Preferred Tech"], json!("Any"));
        assert_eq!(d["location:address:zip"], json!("62704"));
        assert_eq!(d["businessUnit:name"], json!("HVAC Service"));
        assert_eq!(d["jobType:name"], json!("No Heat"));
        assert!(!d.keys().any(|k| k.starts_with("customer:contacts")));
        for (key, value) in d {
            if key.ends_with("On") {
                let text = value.as_str().expect("datetime string");
                assert!(text.ends_with('Z'), "{key} = {text}");
            }
        }
    }

    #[test]
    fn map_job_without_related_records() {
        let mut b = bundle(vec![]);
        b.customer = None;
        b.location = None;
        b.business_unit = None;
        b.job_type = None;
        let o = map_job(&b, &MappingConfig::default()).expect("maps");
        assert_eq!(o.external_contact_id.as_deref(), Some("3301457"));
        assert_eq!((o.standard.first_name, o.standard.last_name), (None, None));
        assert!(o
            .details
            .keys()
            .all(|k| !k.contains(':') || k.starts_with("customFields:")));
    }

    #[test]
    fn inactive_contacts_are_ignored() {
        let mut deleted = contact(1, "Email", "gone@x.com", 9);
        deleted.active = Some(false);
        let b = bundle(vec![deleted, contact(2, "Email", "kept@x.com", 1)]);
        let o = map_job(&b, &MappingConfig::default()).expect("maps");
        assert_eq!(o.standard.email.as_deref(), Some("kept@x.com"));
        assert_eq!(o.details["customer:contacts:0:value"], json!("kept@x.com"));
        assert!(!o.details.contains_key("customer:contacts:1:value"));
    }

    #[test]
    fn mismatched_related_records_are_errors() {
        type Breaker = fn(&mut JobBundle);
        let cases: Vec<(Breaker, &str, &str, &str)> = vec![
            (
                |b| b.customer = Some(customer(999, "Someone Else")),
                "customer",
                "999",
                "id",
            ),
            (
                |b| b.location = Some(location(998)),
                "location",
                "998",
                "id",
            ),
            (
                |b| b.business_unit = Some(business_unit(997)),
                "businessUnit",
                "997",
                "id",
            ),
            (|b| b.job_type = Some(job_type(996)), "jobType", "996", "id"),
            (
                |b| {
                    let mut c = contact(77, "Email", "a@x.com", 1);
                    c.customer_id = Some(12345);
                    b.contacts.push(c);
                },
                "customerContact",
                "77",
                "customerId",
            ),
        ];
        for (breaker, resource, id, field) in cases {
            let mut b = bundle(vec![]);
            breaker(&mut b);
            let err = map_job(&b, &MappingConfig::default()).expect_err(resource);
            assert_eq!(
                (err.resource.as_str(), err.id.as_str(), err.field.as_str()),
                (resource, id, field)
            );
            assert!(err.reason.contains("41872305"), "{err}");
        }
        // a contact with the job's customer id is fine
        let mut c = contact(78, "Email", "a@x.com", 1);
        c.customer_id = Some(3301457);
        assert!(map_job(&bundle(vec![c]), &MappingConfig::default()).is_ok());
    }

    #[test]
    fn merged_customer_resolves_to_the_survivor() {
        // Job 41872305's customer 3301457 was merged into 555 (SPEC.md §5).
        let mut b = bundle(vec![]);
        b.customer = Some(customer(555, "Survivor, Sam"));
        let mut c = contact(79, "Email", "sam@survivor.example", 1);
        c.customer_id = Some(555);
        b.contacts = vec![c];
        assert!(
            map_job(&b, &MappingConfig::default()).is_err(),
            "no chain given"
        );
        b.merged_customer_ids = vec![3301457];
        let o = map_job(&b, &MappingConfig::default()).expect("survivor accepted");
        assert_eq!(o.external_contact_id.as_deref(), Some("555"));
        assert_eq!(o.standard.email.as_deref(), Some("sam@survivor.example"));
        assert_eq!(o.details.get("customerId"), Some(&json!(3301457)));
        // a chain that does not start at the job's customer is refused
        b.merged_customer_ids = vec![12];
        assert!(map_job(&b, &MappingConfig::default()).is_err());
    }

    #[test]
    fn config_from_integration() {
        let integration: Integration = serde_json::from_value(json!({
            "workspaceId": "ws1", "environment": "integration", "tenantId": 1,
            "clientId": "cid", "secretId": "sid", "models": ["job"],
            "placeholderEmails": ["*@example.com"], "phoneRegion": "GB",
            "status": "active", "activatedAt": "2025-01-01T00:00:00Z"
        }))
        .expect("integration");
        let config = MappingConfig::from_integration(&integration);
        assert_eq!(config.phone_region, "GB");
        assert!(config.placeholders.is_placeholder("avery@example.com"));
        assert!(config.placeholders.is_placeholder("noemail@x.com"));
        let b = bundle(vec![
            contact(1, "Email", "avery@example.com", 1),
            contact(2, "Phone", "020 7946 0958", 1),
        ]);
        let o = map_job(&b, &config).expect("maps");
        assert_eq!(o.standard.email, None);
        assert_eq!(o.standard.phone.as_deref(), Some("+442079460958"));
    }
}
