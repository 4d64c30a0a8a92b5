//! The Membership model's mapping (SPEC.md §4): a membership bundle in, a Membership opportunity
//! out. The standard-field rules (e-mail, phone, names) are the job's, applied to the
//! membership's customer and contacts. Pure: no I/O, no clock.

use serde_json::Value;
use servicetitan::{Id, RecurringService, RecurringServiceEvent};

use crate::details::{flatten_value_into, sort_newest_first};
use crate::map::{
    add_record, add_tag_types, first_email, first_phone, invoice_values, mismatch, sold_by_value,
    sorted_contacts, to_value,
};
use crate::name::split_name;
use crate::StandardFields;
use crate::{Details, MapError, MappingConfig, MembershipBundle, Model, Opportunity};

/// Check that every related record in the bundle is the one the membership references.
fn validate(bundle: &MembershipBundle) -> Result<(), MapError> {
    let m = &bundle.membership;
    let wrong = |resource: &str, id: Id, field: &str, what: &str, expected: String| {
        mismatch(
            resource,
            id,
            field,
            format!("is not membership {}'s {what} ({expected})", m.id),
        )
    };
    if let Some(c) = bundle.customer.as_ref().filter(|c| {
        !crate::bundle::is_customer_of(c.id, m.customer_id, &bundle.merged_customer_ids)
    }) {
        return Err(wrong(
            "customer",
            c.id,
            "id",
            "customer",
            format!("customerId {}", m.customer_id),
        ));
    }
    let customer_id = bundle.customer.as_ref().map_or(m.customer_id, |c| c.id);
    for c in &bundle.contacts {
        if let Some(owner) = c.customer_id.filter(|o| *o != customer_id) {
            return Err(mismatch(
                "customerContact",
                c.id,
                "customerId",
                format!(
                    "belongs to customer {owner}, not to membership {}'s customer {customer_id}",
                    m.id
                ),
            ));
        }
    }
    if let Some(l) = bundle
        .location
        .as_ref()
        .filter(|l| Some(l.id) != m.location_id)
    {
        return Err(wrong(
            "location",
            l.id,
            "id",
            "location",
            format!("locationId {:?}", m.location_id),
        ));
    }
    if let Some(b) = bundle
        .business_unit
        .as_ref()
        .filter(|b| b.id != m.business_unit_id)
    {
        return Err(wrong(
            "businessUnit",
            b.id,
            "id",
            "business unit",
            format!("businessUnitId {}", m.business_unit_id),
        ));
    }
    if let Some(t) = bundle
        .membership_type
        .as_ref()
        .filter(|t| t.id != m.membership_type_id)
    {
        return Err(wrong(
            "membershipType",
            t.id,
            "id",
            "membership type",
            format!("membershipTypeId {}", m.membership_type_id),
        ));
    }
    let owned = |resource: &str, id: Id, field: &str, owner: Option<Id>| {
        if owner == Some(m.id) {
            Ok(())
        } else {
            Err(mismatch(
                resource,
                id,
                field,
                format!(
                    "belongs to membership {}, not to membership {}",
                    owner.map_or_else(|| "none".to_owned(), |o| o.to_string()),
                    m.id
                ),
            ))
        }
    };
    for r in &bundle.recurring_services {
        owned("recurringService", r.id, "membershipId", r.membership_id)?;
    }
    for e in &bundle.recurring_service_events {
        owned(
            "recurringServiceEvent",
            e.id,
            "membershipId",
            e.membership_id,
        )?;
    }
    for i in &bundle.invoices {
        owned("invoice", i.id, "membershipId", i.membership_id)?;
    }
    Ok(())
}

/// The details of a membership bundle (SPEC.md §4 "Details"): the membership's fields without
/// prefix (`id`, `status`, `billingFrequency`, `customFields:<name>`...), then `customer:...`,
/// `customer:contacts:#:...`, `location:...`, `businessUnit:...`, `membershipType:...`,
/// `recurringServices:#:...` (with `recurringServices:#:campaign:name`),
/// `recurringServiceEvents:#:...`, `invoices:#:...` (money as numbers), `soldBy:...` and
/// `tagTypes:#:...` (the customer's tags). Lists newest first by `createdOn`; inactive related
/// records are left out. The bundle is not validated here ([`map_membership`] does that).
pub fn membership_details(bundle: &MembershipBundle) -> Result<Details, MapError> {
    let m = &bundle.membership;
    let mut details = Details::new();
    add_record(&mut details, "", m, "membership", m.id)?;
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
            m.customer_id,
        )?;
    }
    if let Some(location) = &bundle.location {
        add_record(&mut details, "location", location, "location", location.id)?;
    }
    if let Some(unit) = &bundle.business_unit {
        add_record(&mut details, "businessUnit", unit, "businessUnit", unit.id)?;
    }
    if let Some(t) = &bundle.membership_type {
        add_record(&mut details, "membershipType", t, "membershipType", t.id)?;
    }
    let mut services: Vec<&RecurringService> = bundle
        .recurring_services
        .iter()
        .filter(|r| r.active)
        .collect();
    sort_newest_first(&mut services, |r| Some(r.created_on));
    let mut service_values = Vec::with_capacity(services.len());
    for r in services {
        let mut value = to_value(r, "recurringService", r.id)?;
        let campaign = r
            .campaign_id
            .and_then(|id| bundle.campaigns.iter().find(|c| c.id == id));
        if let (Value::Object(object), Some(c)) = (&mut value, campaign) {
            object.insert("campaign".to_owned(), to_value(c, "campaign", c.id)?);
        }
        service_values.push(value);
    }
    if !service_values.is_empty() {
        flatten_value_into(
            &mut details,
            "recurringServices",
            Value::Array(service_values),
        );
    }
    let events: Vec<&RecurringServiceEvent> = bundle
        .recurring_service_events
        .iter()
        .filter(|e| e.active != Some(false))
        .collect();
    if !events.is_empty() {
        add_record(
            &mut details,
            "recurringServiceEvents",
            &events,
            "membership",
            m.id,
        )?;
    }
    let invoices = invoice_values(&bundle.invoices)?;
    if !invoices.is_empty() {
        flatten_value_into(&mut details, "invoices", Value::Array(invoices));
    }
    if let Some(v) = m
        .sold_by_id
        .and_then(|id| sold_by_value(id, &bundle.technicians, &bundle.employees))
    {
        flatten_value_into(&mut details, "soldBy", v);
    }
    if let Some(customer) = &bundle.customer {
        add_tag_types(
            &mut details,
            &customer.tag_type_ids,
            &bundle.tag_types,
            m.id,
        )?;
    }
    Ok(details)
}

/// Map a membership bundle to a Membership opportunity (SPEC.md §4, the article's "Membership
/// Opportunity" table):
///
/// - `external_id` = the membership id; `external_contact_id` = the customer id (the bundle's
///   customer, else the membership's `customerId`);
/// - email / phone / first and last name: the job's rules on the membership's customer and
///   contacts ([`select_email`](crate::map::select_email),
///   [`select_phone`](crate::map::select_phone), [`split_name`]);
/// - `external_created_at` = `createdOn`; `external_updated_at` = the membership's own
///   `modifiedOn` (related records do not move it, unlike jobs);
/// - details: [`membership_details`].
///
/// Errors: a [`MapError`] naming the resource, id and field when a related record is not the one
/// the membership references (customer, location, business unit, membership type), or a contact,
/// recurring service, event or invoice belongs to another customer or membership.
pub fn map_membership(
    bundle: &MembershipBundle,
    config: &MappingConfig,
) -> Result<Opportunity, MapError> {
    validate(bundle)?;
    let m = &bundle.membership;
    let contacts = sorted_contacts(&bundle.contacts);
    let phone = first_phone(contacts.iter().copied(), &config.phone_region);
    let (first_name, last_name) = bundle
        .customer
        .as_ref()
        .map(|c| split_name(&c.name))
        .unwrap_or((None, None));
    let customer_id = bundle.customer.as_ref().map_or(m.customer_id, |c| c.id);
    Ok(Opportunity {
        model: Model::Membership,
        external_id: m.id.to_string(),
        external_contact_id: Some(customer_id.to_string()),
        standard: StandardFields {
            email: first_email(contacts.iter().copied(), &config.placeholders),
            phone_extension: phone.as_ref().and_then(|p| p.extension.clone()),
            phone: phone.map(|p| p.e164),
            first_name,
            last_name,
            external_created_at: m.created_on,
            external_updated_at: m.modified_on,
        },
        details: membership_details(bundle)?,
    })
}
