//! Readable tables for the terminal. Personal data is shown here on purpose: the CLI is an
//! operator's tool looking at their own workspace (Lambda logs never carry it).

use std::fmt::Write as _;
use std::io::Write as _;

use store::{Contact, StoredOpportunity};

/// Write `text` to stdout. A closed pipe (`stsync opportunities | head`) ends the output quietly
/// instead of panicking.
///
/// Errors: any other I/O error of stdout.
pub fn emit(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `value` cut to `width` characters (with `…`), or `—` when empty.
fn cell(value: Option<&str>, width: usize) -> String {
    let v = value.filter(|s| !s.is_empty()).unwrap_or("—");
    if v.chars().count() <= width {
        v.to_owned()
    } else {
        let mut cut: String = v.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
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

/// Opportunities as a table (one line each), or a sentence when there are none.
pub fn opportunities_table(list: &[StoredOpportunity]) -> String {
    if list.is_empty() {
        return "no opportunities stored for this workspace (run `stsync demo` first?)\n".into();
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<12} {:<10} {:<18} {:<22} {:<34} {:<14} {:<19}",
        "model", "externalId", "first name", "last name", "email", "phone", "updated (UTC)"
    );
    for o in list {
        let s = &o.opportunity.standard;
        let _ = writeln!(
            t,
            "{:<12} {:<10} {:<18} {:<22} {:<34} {:<14} {:<19}",
            o.opportunity.model.as_str(),
            o.opportunity.external_id,
            cell(s.first_name.as_deref(), 18),
            cell(s.last_name.as_deref(), 22),
            cell(s.email.as_deref(), 34),
            cell(s.phone.as_deref(), 14),
            s.external_updated_at.format("%Y-%m-%d %H:%M:%S"),
        );
    }
    t
}

/// Print opportunities as a table.
pub fn print_opportunities(list: &[StoredOpportunity]) {
    let _ = emit(&opportunities_table(list));
}

/// Contacts as a table (one line each), or a sentence when there are none.
pub fn contacts_table(list: &[Contact]) -> String {
    if list.is_empty() {
        return "no contacts stored for this workspace (run `stsync demo` first?)\n".into();
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<36} {:<18} {:<22} {:<34} {:<14} customer ids",
        "contact id", "first name", "last name", "email", "phone"
    );
    for c in list {
        let ids: Vec<String> = c.customer_ids.iter().map(i64::to_string).collect();
        let _ = writeln!(
            t,
            "{:<36} {:<18} {:<22} {:<34} {:<14} {}",
            c.contact_id,
            cell(c.first_name.as_deref(), 18),
            cell(c.last_name.as_deref(), 22),
            cell(c.email.as_deref(), 34),
            cell(c.phone.as_deref(), 14),
            ids.join(",")
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_to_their_column_and_empty_shows_a_dash() {
        assert_eq!(cell(Some("short"), 10), "short");
        assert_eq!(
            cell(Some("averyveryverylongaddress@example.com"), 10),
            "averyvery…"
        );
        assert_eq!(
            cell(Some("averyveryverylongaddress@example.com"), 10)
                .chars()
                .count(),
            10
        );
        assert_eq!(cell(Some(""), 5), "—");
        assert_eq!(cell(None, 5), "—");
        assert_eq!(cell(Some("Zoë Ångström"), 4), "Zoë…");
    }

    #[test]
    fn empty_lists_say_so() {
        assert!(opportunities_table(&[]).contains("no opportunities"));
        assert!(contacts_table(&[]).contains("no contacts"));
    }
}
