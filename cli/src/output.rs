//! Readable tables for the terminal. Personal data is shown here on purpose: the CLI is an
//! operator's tool looking at their own workspace (Lambda logs never carry it).

use store::{Contact, StoredOpportunity};

fn cell(v: Option<&str>) -> &str {
    v.filter(|s| !s.is_empty()).unwrap_or("—")
}

/// A compact JSON view of an opportunity: identity, contact and standard fields.
pub fn summary_json(o: &StoredOpportunity) -> serde_json::Value {
    serde_json::json!({
        "model": o.opportunity.model,
        "externalId": o.opportunity.external_id,
        "externalContactId": o.opportunity.external_contact_id,
        "contactId": o.contact_id,
        "standard": o.opportunity.standard,
        "detailKeys": o.opportunity.details.len(),
    })
}

/// Print opportunities as a table.
pub fn print_opportunities(list: &[StoredOpportunity]) {
    println!(
        "{:<12} {:<10} {:<20} {:<20} {:<32} {:<14} {:<20}",
        "model", "externalId", "first name", "last name", "email", "phone", "updated (UTC)"
    );
    for o in list {
        let s = &o.opportunity.standard;
        println!(
            "{:<12} {:<10} {:<20} {:<20} {:<32} {:<14} {:<20}",
            o.opportunity.model.as_str(),
            o.opportunity.external_id,
            cell(s.first_name.as_deref()),
            cell(s.last_name.as_deref()),
            cell(s.email.as_deref()),
            cell(s.phone.as_deref()),
            s.external_updated_at.format("%Y-%m-%d %H:%M:%S"),
        );
    }
}

/// Print contacts as a table.
pub fn print_contacts(list: &[Contact]) {
    println!(
        "{:<38} {:<20} {:<20} {:<32} {:<14} customer ids",
        "contact id", "first name", "last name", "email", "phone"
    );
    for c in list {
        let ids: Vec<String> = c.customer_ids.iter().map(i64::to_string).collect();
        println!(
            "{:<38} {:<20} {:<20} {:<32} {:<14} {}",
            c.contact_id,
            cell(c.first_name.as_deref()),
            cell(c.last_name.as_deref()),
            cell(c.email.as_deref()),
            cell(c.phone.as_deref()),
            ids.join(",")
        );
    }
}
