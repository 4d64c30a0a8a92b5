//! Mapping job bundles from fixture files and from the ServiceTitan samples (SPEC.md §4).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use opportunity::{map_job, JobBundle, MappingConfig, Model};
use serde_json::{json, Value};
use servicetitan::{Customer, CustomerContact, Job, Location, Page};

fn fixture(name: &str) -> JobBundle {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test date")
        .with_timezone(&Utc)
}

#[test]
fn residential_bundle_maps_standard_fields() {
    let o = map_job(&fixture("job-bundle.json"), &MappingConfig::default()).expect("maps");
    assert_eq!(o.model, Model::Job);
    assert_eq!(o.external_id, "41872305");
    assert_eq!(o.external_contact_id.as_deref(), Some("3301457"));
    let s = &o.standard;
    assert_eq!(s.email.as_deref(), Some("avery.testwell@example.com"));
    assert_eq!(
        s.phone.as_deref(),
        Some("+12175550142"),
        "MobilePhone first"
    );
    assert_eq!(s.phone_extension, None);
    assert_eq!(s.first_name.as_deref(), Some("Avery"));
    assert_eq!(s.last_name.as_deref(), Some("Testwell"));
    assert_eq!(s.external_created_at, at("2025-03-03T16:05:27.1093311Z"));
    assert_eq!(s.external_updated_at, at("2025-03-04T19:43:02.6650118Z"));
}

#[test]
fn residential_bundle_maps_details() {
    let o = map_job(&fixture("job-bundle.json"), &MappingConfig::default()).expect("maps");
    let d = &o.details;
    // base object, no prefix
    assert_eq!(d["id"], json!(41872305));
    assert_eq!(d["jobNumber"], json!("41872305"));
    assert_eq!(d["jobStatus"], json!("Completed"));
    assert_eq!(d["total"], json!(389.5));
    assert_eq!(d["noCharge"], json!(false));
    assert_eq!(d["tagTypeIds"], json!([77, 102]));
    assert_eq!(d["customFields:Gate Code"], json!("4412"));
    assert!(!d.contains_key("projectId"), "nulls omitted");
    assert!(
        !d.contains_key("jobGeneratedLeadSource:jobId"),
        "nulls omitted"
    );
    let created = d["createdOn"].as_str().expect("createdOn text");
    assert!(created.ends_with('Z'));
    assert_eq!(
        DateTime::parse_from_rfc3339(created).expect("rfc3339"),
        at("2025-03-03T16:05:27.1093311Z")
    );
    // related records
    assert_eq!(d["customer:name"], json!("Avery Testwell"));
    assert_eq!(d["customer:id"], json!(3301457));
    assert_eq!(d["customer:type"], json!("Residential"));
    assert_eq!(d["customer:address:zip"], json!("62704"));
    assert_eq!(d["customer:customFields:Preferred Tech"], json!("Any"));
    assert_eq!(d["customer:tagTypeIds"], json!([77]));
    assert_eq!(d["location:name"], json!("Avery Testwell - Home"));
    assert_eq!(d["location:address:zip"], json!("62704"));
    assert_eq!(d["location:address:latitude"], json!(39.7817));
    assert_eq!(d["businessUnit:name"], json!("HVAC - Service"));
    assert_eq!(d["businessUnit:trade:name"], json!("HVAC"));
    assert_eq!(d["jobType:name"], json!("No Heat"));
    assert_eq!(d["jobType:skills"], json!(["Furnace", "Heat Pump"]));
    // contacts: all created at the same instant, so input order is kept (stable sort)
    assert_eq!(d["customer:contacts:0:type"], json!("MobilePhone"));
    assert_eq!(d["customer:contacts:0:value"], json!("2175550142"));
    assert_eq!(
        d["customer:contacts:0:phoneSettings:doNotText"],
        json!(false)
    );
    assert_eq!(
        d["customer:contacts:2:value"],
        json!("avery.testwell@example.com")
    );
    assert!(!d.contains_key("customer:contacts:2:phoneSettings"));
    assert_eq!(d["customer:contacts:3:type"], json!("Fax"));
    assert!(!d.contains_key("customer:contacts:4:id"));
    // every value is a scalar or a list of scalars
    for (key, value) in d {
        match value {
            Value::Null | Value::Object(_) => panic!("{key}: {value}"),
            Value::Array(items) => assert!(
                items
                    .iter()
                    .all(|v| !v.is_object() && !v.is_array() && !v.is_null()),
                "{key}: {value}"
            ),
            _ => {}
        }
    }
}

#[test]
fn commercial_bundle_with_messy_contacts() {
    let o = map_job(
        &fixture("job-bundle-commercial.json"),
        &MappingConfig::default(),
    )
    .expect("maps");
    assert_eq!(o.external_id, "41879911");
    assert_eq!(o.external_contact_id.as_deref(), Some("3301999"));
    let s = &o.standard;
    // the newest e-mail is a placeholder; the next valid one is used, trimmed and lower-cased
    assert_eq!(
        s.email.as_deref(),
        Some("billing@fictional-widgets.example")
    );
    // the mobile is unparseable, the fax never counts: the landline, extension apart
    assert_eq!(s.phone.as_deref(), Some("+12175550160"));
    assert_eq!(s.phone_extension.as_deref(), Some("305"));
    // legal suffix after the comma: the whole (collapsed) name is the first name
    assert_eq!(s.first_name.as_deref(), Some("Fictional Widgets , L.L.C."));
    assert_eq!(s.last_name, None);
    assert_eq!(s.external_updated_at, at("2025-03-04T18:12:05.7712Z"));
    let d = &o.details;
    // newest first: fax (Feb 2025), placeholder e-mail (Jan 2025), mobile (Dec 2024), then the
    // two created 2024-11-02 in input order
    let values: Vec<&Value> = (0..5)
        .map(|i| &d[&format!("customer:contacts:{i}:value")])
        .collect();
    assert_eq!(
        values,
        [
            &json!("(217) 555-0177"),
            &json!(" NoEmail@Widgets.example "),
            &json!("call office"),
            &json!("217.555.0160 ext. 305"),
            &json!("  Billing@Fictional-Widgets.example "),
        ]
    );
    assert_eq!(d["customer:contacts:0:customerId"], json!(3301999));
    assert_eq!(d["customer:externalData:erpId"], json!("CUST-0042"));
    assert_eq!(d["customer:balance"], json!(1250.75));
    assert_eq!(d["customer:taxExempt"], json!(true));
    assert_eq!(d["location:address:unit"], json!("Suite 300"));
    assert_eq!(d["location:customFields:Dock Hours"], json!("7-15"));
    assert!(!d.contains_key("location:address:latitude"));
    assert_eq!(d["jobType:name"], json!("AC Tune-Up"));
    assert_eq!(d["summary"], json!("Annual AC tune-up"));
    assert!(!d.contains_key("tagTypeIds"), "empty list omitted");
}

#[test]
fn user_placeholder_patterns_apply() {
    let config = MappingConfig {
        placeholders: opportunity::email::PlaceholderEmails::with_user_patterns(&[
            "*@Example.com".to_owned()
        ]),
        ..MappingConfig::default()
    };
    let o = map_job(&fixture("job-bundle.json"), &config).expect("maps");
    assert_eq!(o.standard.email, None);
    // the raw value stays in the details
    assert_eq!(
        o.details["customer:contacts:2:value"],
        json!("avery.testwell@example.com")
    );
}

#[test]
fn bundle_round_trips_through_json() {
    let bundle = fixture("job-bundle.json");
    let text = serde_json::to_string(&bundle).expect("serializes");
    let back: JobBundle = serde_json::from_str(&text).expect("parses");
    assert_eq!(back, bundle);
    let o = map_job(&bundle, &MappingConfig::default()).expect("maps");
    assert_eq!(map_job(&back, &MappingConfig::default()).expect("maps"), o);
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/servicetitan/samples")
}

fn read_page<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Page<T> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The published samples parse into the wire types and every job in them maps. The contacts
/// sample is `GET /customers/{id}/contacts` of customer 3301457 (its rows carry no
/// `customerId`), so it goes with that customer's job.
#[test]
fn servicetitan_samples_map() {
    let dir = samples_dir();
    if !dir.join("jobs-page.json").exists() {
        println!("skipped: samples not found at {dir:?}");
        return;
    }
    let jobs: Page<Job> = read_page(&dir, "jobs-page.json");
    let customers: Page<Customer> = read_page(&dir, "customers-page.json");
    let contacts: Page<CustomerContact> = read_page(&dir, "customer-contacts-page.json");
    let locations: Page<Location> = read_page(&dir, "locations-page.json");
    assert!(!jobs.data.is_empty());

    let config = MappingConfig::default();
    let mut mapped = Vec::new();
    for job in &jobs.data {
        let bundle = JobBundle {
            customer: customers
                .data
                .iter()
                .find(|c| c.id == job.customer_id)
                .cloned(),
            contacts: if job.customer_id == 3301457 {
                contacts.data.clone()
            } else {
                Vec::new()
            },
            location: locations
                .data
                .iter()
                .find(|l| l.id == job.location_id)
                .cloned(),
            ..JobBundle::new(job.clone())
        };
        let o = map_job(&bundle, &config).unwrap_or_else(|e| panic!("job {}: {e}", job.id));
        assert_eq!(o.external_id, job.id.to_string());
        assert_eq!(o.external_contact_id, Some(job.customer_id.to_string()));
        assert_eq!(o.standard.external_created_at, job.created_on);
        assert_eq!(o.details["jobStatus"], json!(job.job_status));
        mapped.push(o);
    }

    let avery = mapped
        .iter()
        .find(|o| o.external_id == "41872305")
        .expect("sample job 41872305");
    assert_eq!(
        avery.standard.email.as_deref(),
        Some("avery.testwell@example.com")
    );
    assert_eq!(avery.standard.phone.as_deref(), Some("+12175550142"));
    assert_eq!(avery.standard.first_name.as_deref(), Some("Avery"));
    assert_eq!(avery.details["location:address:zip"], json!("62704"));
    assert_eq!(avery.details["customer:contacts:3:type"], json!("Fax"));

    let widgets = mapped
        .iter()
        .find(|o| o.external_id == "41879911")
        .expect("sample job 41879911");
    // "Fictional Widgets LLC" has no comma: the word rule applies (SPEC.md §4)
    assert_eq!(widgets.standard.first_name.as_deref(), Some("Fictional"));
    assert_eq!(widgets.standard.last_name.as_deref(), Some("Widgets LLC"));
    assert_eq!(widgets.standard.email, None);
    assert_eq!(widgets.standard.phone, None);
    assert_eq!(
        widgets.details["customer:externalData:erpId"],
        json!("CUST-0042")
    );
    assert!(!widgets.details.keys().any(|k| k.starts_with("location:")));
}
