//! Generated data: deterministic for a seed, and as messy as real tenants (SPEC.md §10).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use st_sandbox::{Dataset, SandboxConfig};

fn cfg(seed: u64) -> SandboxConfig {
    let now = DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    SandboxConfig {
        seed,
        now,
        ..SandboxConfig::default()
    }
}

#[test]
fn same_seed_same_dataset() {
    let a = Dataset::generate(&cfg(7));
    let b = Dataset::generate(&cfg(7));
    assert_eq!(a, b);
    assert_eq!(a.to_fixture_json(), b.to_fixture_json());
    let c = Dataset::generate(&cfg(8));
    assert_ne!(a, c);
}

#[test]
fn default_sizes_and_unique_ids() {
    let c = cfg(42);
    let d = Dataset::generate(&c);
    assert_eq!(d.customers.len(), 200);
    assert_eq!(d.jobs.len(), 500);
    assert!((5..=8).contains(&d.business_units.len()));
    assert!((8..=12).contains(&d.job_types.len()));
    fn unique(ids: impl Iterator<Item = i64>) -> bool {
        let v: Vec<i64> = ids.collect();
        v.iter().collect::<BTreeSet<_>>().len() == v.len()
    }
    assert!(unique(d.jobs.iter().map(|r| r.id)));
    assert!(unique(d.customers.iter().map(|r| r.id)));
    assert!(unique(d.contacts.iter().map(|r| r.id)));
    assert!(unique(d.locations.iter().map(|r| r.id)));
    assert!(d.jobs.iter().all(|j| j.id >= 41_000_000));
    assert!(d.customers.iter().all(|c| c.id >= 3_300_000));
    assert!(d.contacts.iter().all(|c| c.id >= 880_000));
    // Several jobs per customer: more opportunities than contacts.
    assert!(d.jobs.len() > d.customers.len());
    let per_customer: BTreeMap<i64, usize> = d.contacts.iter().fold(BTreeMap::new(), |mut m, k| {
        *m.entry(k.customer_id.unwrap()).or_insert(0) += 1;
        m
    });
    assert!(per_customer.values().all(|&n| n <= 4));
    assert!(
        d.customers
            .iter()
            .any(|c| !per_customer.contains_key(&c.id))
            || d.customers.len() < 100
    );
    // Time window: created in [now - history, now - 1h], modified in [created, now - 20 min].
    let start = c.now - chrono::Duration::days(c.history_days);
    for j in &d.jobs {
        assert!(j.created_on >= start && j.created_on <= c.now - chrono::Duration::hours(1));
        assert!(
            j.modified_on >= j.created_on && j.modified_on <= c.now - chrono::Duration::minutes(20)
        );
    }
    let statuses: BTreeSet<&str> = d.jobs.iter().map(|j| j.job_status.as_str()).collect();
    for s in [
        "Scheduled",
        "Dispatched",
        "InProgress",
        "Hold",
        "Completed",
        "Canceled",
    ] {
        assert!(statuses.contains(s), "status {s} present");
    }
}

#[test]
fn generated_data_is_messy_like_real_tenants() {
    let d = Dataset::generate(&cfg(42));
    let names: Vec<&str> = d.customers.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains(", ") && !n.contains("LLC") && !n.contains("Inc")),
        "Last, First"
    );
    assert!(
        names
            .iter()
            .any(|n| !n.contains(',') && n.split(' ').count() == 2),
        "First Last"
    );
    assert!(
        names.iter().any(|n| n.starts_with(' ') || n.contains("  ")),
        "stray spaces"
    );
    assert!(
        names
            .iter()
            .any(|n| [" LLC", "Inc", " Co", "PLLC", "Corp", "Ltd"]
                .iter()
                .any(|s| n.contains(s))),
        "companies"
    );
    assert!(names.iter().any(|n| !n.is_ascii()), "unicode names");
    assert!(d
        .customers
        .iter()
        .any(|c| c.kind.as_deref() == Some("Commercial")));

    let emails: Vec<&str> = d
        .contacts
        .iter()
        .filter(|c| c.kind == "Email")
        .map(|c| c.value.as_str())
        .collect();
    let placeholders = [
        "noemail@servicetitan.com",
        "none@none.com",
        "noemail@gmail.com",
        "na@na.com",
        "test@test.com",
    ];
    assert!(
        emails
            .iter()
            .any(|e| placeholders.contains(&e.trim().to_lowercase().as_str())),
        "placeholder e-mails"
    );
    assert!(
        emails
            .iter()
            .any(|e| !e.contains('@') || e.ends_with('@') || e.contains(" at ")),
        "invalid e-mails"
    );
    assert!(
        emails
            .iter()
            .any(|e| e.starts_with(' ') || e.ends_with(' ')),
        "spaces around e-mails"
    );
    assert!(
        emails
            .iter()
            .any(|e| e.chars().any(|c| c.is_ascii_uppercase())),
        "mixed case e-mails"
    );

    // Shared household values: one normalized e-mail or phone digits on two customers.
    let mut owners: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for c in &d.contacts {
        let key = if c.kind == "Email" {
            c.value.trim().to_lowercase()
        } else {
            let digits: String = c
                .value
                .split(['x', 'e'])
                .next()
                .unwrap_or("")
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            digits.trim_start_matches('1').to_owned()
        };
        if key.len() >= 10 && !placeholders.contains(&key.as_str()) {
            owners
                .entry(key)
                .or_default()
                .insert(c.customer_id.unwrap());
        }
    }
    assert!(
        owners.values().any(|o| o.len() >= 2),
        "shared household e-mail or phone"
    );

    let phones: Vec<&str> = d
        .contacts
        .iter()
        .filter(|c| c.kind.contains("Phone"))
        .map(|c| c.value.as_str())
        .collect();
    assert!(
        phones
            .iter()
            .any(|p| p.contains(" x") || p.contains("ext.")),
        "extensions"
    );
    assert!(phones.iter().any(|p| p.starts_with('(')));
    assert!(phones.iter().any(|p| p.contains('.')));
    assert!(phones.iter().any(|p| p.chars().all(|c| c.is_ascii_digit())));
    assert!(
        phones
            .iter()
            .all(|p| !p.contains("555-") || p.contains("555-01")),
        "fictional 555-01xx numbers"
    );
    for kind in ["Phone", "MobilePhone", "Email", "Fax"] {
        assert!(
            d.contacts.iter().any(|c| c.kind == kind),
            "contact type {kind}"
        );
    }
    let with_email: BTreeSet<i64> = d
        .contacts
        .iter()
        .filter(|c| c.kind == "Email")
        .filter_map(|c| c.customer_id)
        .collect();
    let with_phone: BTreeSet<i64> = d
        .contacts
        .iter()
        .filter(|c| c.kind.contains("Phone"))
        .filter_map(|c| c.customer_id)
        .collect();
    assert!(
        d.customers.iter().any(|c| !with_email.contains(&c.id)),
        "some customers without e-mail"
    );
    assert!(
        d.customers.iter().any(|c| !with_phone.contains(&c.id)),
        "some customers without phone"
    );

    assert!(
        d.customers
            .iter()
            .any(|c| !c.active && c.merged_to_id.is_none()),
        "inactive customers"
    );
    let ids: BTreeSet<i64> = d.customers.iter().map(|c| c.id).collect();
    let merged: Vec<_> = d
        .customers
        .iter()
        .filter(|c| c.merged_to_id.is_some())
        .collect();
    assert!(!merged.is_empty(), "merged customers");
    assert!(merged
        .iter()
        .all(|c| !c.active && ids.contains(&c.merged_to_id.unwrap())));
    assert!(
        d.jobs.iter().any(|j| j.active == Some(false)),
        "deleted jobs"
    );
    assert!(
        d.contacts.iter().any(|c| c.active == Some(false)),
        "deleted contacts"
    );
    assert!(d.locations.iter().any(|l| l
        .address
        .as_ref()
        .and_then(|a| a.street.as_deref())
        .is_some_and(|s| !s.is_ascii())));
    assert!(d
        .jobs
        .iter()
        .any(|j| j.summary.as_deref().is_some_and(|s| s.starts_with("<p>"))));
    assert!(d.jobs.iter().any(|j| j
        .custom_fields
        .iter()
        .any(|f| f.name.as_deref() == Some("Gate Code"))));
    assert!(d.jobs.iter().any(|j| j
        .custom_fields
        .iter()
        .any(|f| f.name.as_deref() == Some("Dog on site"))));
    assert!(d.business_units.iter().any(|b| !b.active) && d.job_types.iter().any(|t| !t.active));
}

#[test]
fn large_datasets_generate() {
    // 100k jobs must stay cheap (no O(n^2)); no timing assertion, just that it completes.
    let c = SandboxConfig {
        customers: 20_000,
        jobs: 100_000,
        ..cfg(1)
    };
    let d = Dataset::generate(&c);
    assert_eq!(d.jobs.len(), 100_000);
    assert_eq!(d.customers.len(), 20_000);
    assert!(d.jobs.windows(2).all(|w| w[0].id < w[1].id));
}
