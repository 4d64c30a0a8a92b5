//! The mapping entry points (SPEC.md §4): a bundle of ServiceTitan records in, an opportunity
//! (standard fields + details) out. Pure: no I/O, no clock.

use chrono::{DateTime, Utc};
use serde::Serialize;
use servicetitan::CustomerContact;

use crate::details::{flatten_into, sort_newest_first};
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
    let mut kept: Vec<CustomerContact> = contacts
        .iter()
        .filter(|c| c.active != Some(false))
        .cloned()
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
    contacts
        .iter()
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
    [MOBILE_PHONE, PHONE].iter().find_map(|kind| {
        contacts
            .iter()
            .filter(|c| is_kind(c, kind))
            .find_map(|c| normalize_phone(&c.value, region))
    })
}

/// Serialize a wire record and flatten it under `prefix`.
fn add_record<T: Serialize>(
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
    flatten_into(details, prefix, &value);
    Ok(())
}

/// A related record whose id is not the one the job references.
fn mismatch(resource: &str, id: i64, field: &str, reason: String) -> MapError {
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
        if customer.id != job.customer_id {
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
    for contact in &bundle.contacts {
        if let Some(owner) = contact.customer_id {
            if owner != job.customer_id {
                return Err(mismatch(
                    "customerContact",
                    contact.id,
                    "customerId",
                    format!(
                        "belongs to customer {owner}, not to job {}'s customer {}",
                        job.id, job.customer_id
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
    Ok(())
}

/// The details of a job bundle (SPEC.md §4 "Details"): the job's fields without prefix (`id`,
/// `jobNumber`, `jobStatus`, `createdOn`, `customFields:Gate Code`...), then `customer:...`,
/// `customer:contacts:#:...` (newest first, see [`contacts_newest_first`]), `location:...`,
/// `businessUnit:...` and `jobType:...`. Missing related records add no keys. The bundle is not
/// validated here ([`map_job`] does that).
pub fn job_details(bundle: &JobBundle) -> Result<Details, MapError> {
    let job = &bundle.job;
    let mut details = Details::new();
    add_record(&mut details, "", job, "job", job.id)?;
    if let Some(customer) = &bundle.customer {
        add_record(&mut details, "customer", customer, "customer", customer.id)?;
    }
    let contacts = contacts_newest_first(&bundle.contacts);
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
    Ok(details)
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
///   `modifiedOn` of the job and of the records the opportunity's sorting follows (SPEC.md §4:
///   appointments, assignments, estimates, invoices; the bundle carries none of those yet, so
///   today it is the job's `modifiedOn`). Customer, location and reference data do not count.
/// - details: [`job_details`].
///
/// Errors: a [`MapError`] naming the resource, id and field when a related record is not the one
/// the job references (customer, location, business unit or job type id differs from the job's
/// `customerId`, `locationId`, `businessUnitId`, `jobTypeId`), or a contact carries a
/// `customerId` other than the job's.
pub fn map_job(bundle: &JobBundle, config: &MappingConfig) -> Result<Opportunity, MapError> {
    validate_job_bundle(bundle)?;
    let job = &bundle.job;
    let contacts = contacts_newest_first(&bundle.contacts);
    let phone = select_phone(&contacts, &config.phone_region);
    let (first_name, last_name) = bundle
        .customer
        .as_ref()
        .map(|c| split_name(&c.name))
        .unwrap_or((None, None));
    let customer_id = bundle.customer.as_ref().map_or(job.customer_id, |c| c.id);
    let standard = StandardFields {
        email: select_email(&contacts, &config.placeholders),
        phone_extension: phone.as_ref().and_then(|p| p.extension.clone()),
        phone: phone.map(|p| p.e164),
        first_name,
        last_name,
        external_created_at: job.created_on,
        external_updated_at: latest([job.modified_on], job.modified_on),
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
            job: job(),
            customer: Some(customer(3301457, "Testwell, Avery")),
            contacts,
            location: Some(location(3301460)),
            business_unit: Some(business_unit(1044)),
            job_type: Some(job_type(2210)),
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
