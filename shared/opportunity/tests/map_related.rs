//! Every resource of the Job and Membership models (SPEC.md §4), from the example bundles in
//! `tests/fixtures/` (the ones `stsync map` documents): lists newest first, nested names, Sold
//! By, invoices' money, External Updated At, and records that belong elsewhere.

use std::path::Path;

use chrono::{DateTime, Utc};
use opportunity::{map_job, map_membership, JobBundle, MappingConfig, MembershipBundle, Model};
use serde_json::{json, Value};

fn root_fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn job_bundle() -> JobBundle {
    serde_json::from_str(&root_fixture("job-bundle.json")).expect("job bundle")
}

fn membership_bundle() -> MembershipBundle {
    serde_json::from_str(&root_fixture("membership-bundle.json")).expect("membership bundle")
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test date")
        .with_timezone(&Utc)
}

/// The acceptance case: three estimates in the bundle (created Good 19:20, Best 19:24, Better
/// 19:22, listed Good, Best, Better) map `estimates:0:*` to the newest by createdOn.
#[test]
fn three_estimates_newest_first() {
    let b = job_bundle();
    assert_eq!(b.estimates.len(), 3);
    let o = map_job(&b, &MappingConfig::default()).expect("maps");
    let d = &o.details;
    let expected = [
        ("Furnace replacement - Best", "Sold", 6150.0),
        ("Furnace replacement - Better", "Open", 4780.0),
        ("Furnace replacement - Good", "Dismissed", 3450.0),
    ];
    for (i, (name, status, subtotal)) in expected.iter().enumerate() {
        assert_eq!(
            d[&format!("estimates:{i}:name")],
            json!(name),
            "estimates:{i}"
        );
        assert_eq!(d[&format!("estimates:{i}:status:name")], json!(status));
        assert_eq!(d[&format!("estimates:{i}:subtotal")], json!(subtotal));
    }
    assert!(!d.contains_key("estimates:3:name"));
    // Sold By: the sold estimate's technician, the others' employee (with role)
    assert_eq!(d["estimates:0:soldBy"], json!(6021));
    assert_eq!(d["estimates:0:soldBy:name"], json!("Riley Placeholder"));
    assert_eq!(d["estimates:0:soldBy:employeeType"], json!("Technician"));
    assert_eq!(d["estimates:1:soldBy:name"], json!("Morgan Sales"));
    assert_eq!(d["estimates:1:soldBy:role"], json!("SalesManager"));
    assert_eq!(
        d["estimates:0:items:0:sku:displayName"],
        json!("90% Furnace 60k BTU")
    );
}

#[test]
fn job_details_of_every_resource() {
    let o = map_job(&job_bundle(), &MappingConfig::default()).expect("maps");
    let d = &o.details;
    // (key, value): table of the SPEC.md §4 names
    let cases: Vec<(&str, Value)> = vec![
        ("jobStatus", json!("Canceled")),
        ("customFields:Dog on site", json!("Yes - friendly lab")),
        // appointments newest first; assignments nested, newest first
        ("appointments:0:id", json!(41872311)),
        ("appointments:0:status", json!("Canceled")),
        ("appointments:1:id", json!(41872310)),
        ("appointments:1:start", json!("2025-03-04T15:00:00Z")),
        (
            "appointments:0:assignments:0:technicianName",
            json!("Kim Example"),
        ),
        (
            "appointments:1:assignments:0:technicianName",
            json!("Sam Sample"),
        ),
        (
            "appointments:1:assignments:1:technicianName",
            json!("Riley Placeholder"),
        ),
        // invoices: money as numbers, items too
        ("invoices:0:balance", json!(89.0)),
        ("invoices:0:total", json!(89.0)),
        ("invoices:0:items:0:price", json!(89.0)),
        ("invoices:0:items:0:memberPrice", json!(69.0)),
        ("invoices:0:customFields:PO Verified", json!("Yes")),
        ("invoices:0:job:type", json!("No Heat")),
        // cancellation
        (
            "jobCanceledLogs:0:memo",
            json!("Went with another contractor"),
        ),
        ("cancelReason:name", json!("Customer went with competitor")),
        // reference data
        ("campaign:name", json!("Google Ads - Heating")),
        ("campaign:category:name", json!("Paid Search")),
        ("zone:name", json!("Springfield South")),
        ("tagTypes:0:name", json!("Financing Interest")),
        ("tagTypes:1:name", json!("VIP")),
        ("soldBy:name", json!("Riley Placeholder")),
    ];
    for (key, value) in cases {
        assert_eq!(d.get(key), Some(&value), "{key}");
    }
    // a tag type the job does not reference is not listed
    assert!(!d.contains_key("tagTypes:2:name"));
    assert!(!d.values().any(|v| v == &json!("Rental Property")));
}

#[test]
fn external_updated_at_follows_the_records_it_was_built_from() {
    type Change = fn(&mut JobBundle);
    let cases: Vec<(&str, Change, &str)> = vec![
        ("the job is the newest", |_| {}, "2025-03-06T18:02:00.5Z"),
        (
            "a later estimate",
            |b| b.estimates[2].modified_on = at("2025-03-09T08:00:00Z"),
            "2025-03-09T08:00:00Z",
        ),
        (
            "a later appointment",
            |b| b.appointments[0].modified_on = at("2025-03-10T08:00:00Z"),
            "2025-03-10T08:00:00Z",
        ),
        (
            "a later assignment",
            |b| b.appointment_assignments[1].modified_on = at("2025-03-11T08:00:00Z"),
            "2025-03-11T08:00:00Z",
        ),
        (
            "a later invoice",
            |b| b.invoices[0].modified_on = Some(at("2025-03-12T08:00:00Z")),
            "2025-03-12T08:00:00Z",
        ),
        (
            "deleting an estimate is a change (it moves forward, never back)",
            |b| {
                b.estimates[2].modified_on = at("2025-03-09T08:00:00Z");
                b.estimates[2].active = false;
            },
            "2025-03-09T08:00:00Z",
        ),
        (
            "customer, location and reference data do not count",
            |b| {
                b.customer.as_mut().unwrap().modified_on = at("2026-01-01T00:00:00Z");
                b.location.as_mut().unwrap().modified_on = at("2026-01-01T00:00:00Z");
                b.campaign.as_mut().unwrap().modified_on = at("2026-01-01T00:00:00Z");
            },
            "2025-03-06T18:02:00.5Z",
        ),
    ];
    for (name, change, expected) in cases {
        let mut b = job_bundle();
        change(&mut b);
        let o = map_job(&b, &MappingConfig::default()).expect(name);
        assert_eq!(o.standard.external_updated_at, at(expected), "{name}");
    }
}

#[test]
fn unselected_resources_leave_no_details() {
    let full = job_bundle();
    let mut bare = JobBundle::new(full.job.clone());
    bare.customer = full.customer.clone();
    let o = map_job(&bare, &MappingConfig::default()).expect("maps");
    for prefix in [
        "appointments:",
        "estimates:",
        "invoices:",
        "jobCanceledLogs:",
        "cancelReason:",
        "campaign:",
        "tagTypes:",
        "zone:",
        "soldBy:",
    ] {
        assert!(
            !o.details.keys().any(|k| k.starts_with(prefix)),
            "{prefix} keys without the resource"
        );
    }
    // the job's own reference ids stay (they are job fields)
    assert_eq!(o.details["campaignId"], json!(884));
    assert_eq!(o.details["soldById"], json!(6021));
    // inactive records are left out
    let mut b = job_bundle();
    for e in &mut b.estimates {
        e.active = false;
    }
    b.appointment_assignments
        .iter_mut()
        .for_each(|a| a.active = false);
    let o = map_job(&b, &MappingConfig::default()).expect("maps");
    assert!(!o.details.keys().any(|k| k.starts_with("estimates")));
    assert!(!o.details.keys().any(|k| k.contains(":assignments:")));
}

#[test]
fn related_records_of_another_job_are_errors() {
    type Breaker = fn(&mut JobBundle);
    let cases: Vec<(Breaker, &str, &str)> = vec![
        (|b| b.appointments[0].job_id = 1, "appointment", "jobId"),
        (
            |b| b.appointment_assignments[0].job_id = 1,
            "appointmentAssignment",
            "jobId",
        ),
        (|b| b.estimates[0].job_id = None, "estimate", "jobId"),
        (|b| b.invoices[0].job = None, "invoice", "job.id"),
        (
            |b| b.job_canceled_logs[0].job_id = 1,
            "jobCanceledLog",
            "jobId",
        ),
        (|b| b.campaign.as_mut().unwrap().id = 1, "campaign", "id"),
        (|b| b.zone.as_mut().unwrap().id = 1, "zone", "id"),
    ];
    for (breaker, resource, field) in cases {
        let mut b = job_bundle();
        breaker(&mut b);
        let err = map_job(&b, &MappingConfig::default()).expect_err(resource);
        assert_eq!(
            (err.resource.as_str(), err.field.as_str()),
            (resource, field),
            "{err}"
        );
    }
}

#[test]
fn membership_standard_fields_and_details() {
    let b = membership_bundle();
    let o = map_membership(&b, &MappingConfig::default()).expect("maps");
    assert_eq!(o.model, Model::Membership);
    assert_eq!(o.external_id, "7700451");
    assert_eq!(o.external_contact_id.as_deref(), Some("3301457"));
    let s = &o.standard;
    assert_eq!(s.email.as_deref(), Some("avery.testwell@example.com"));
    assert_eq!(s.phone.as_deref(), Some("+12175550142"));
    assert_eq!(
        (s.first_name.as_deref(), s.last_name.as_deref()),
        (Some("Avery"), Some("Testwell"))
    );
    assert_eq!(s.external_created_at, at("2024-04-01T15:00:00Z"));
    // membership: its own modifiedOn, even though an invoice is newer
    assert_eq!(s.external_updated_at, at("2025-03-01T06:00:12.3Z"));
    let d = &o.details;
    let cases: Vec<(&str, Value)> = vec![
        ("id", json!(7700451)),
        ("status", json!("Active")),
        ("billingFrequency", json!("Monthly")),
        ("customFields:Filter Size", json!("16x25x1")),
        ("membershipType:name", json!("Comfort Club")),
        ("businessUnit:name", json!("HVAC - Service")),
        ("location:address:zip", json!("62704")),
        ("customer:contacts:0:value", json!("2175550142")),
        ("recurringServices:0:name", json!("Fall Furnace Tune-Up")),
        ("recurringServices:1:name", json!("Spring AC Tune-Up")),
        (
            "recurringServices:0:campaign:name",
            json!("Fall Tune-Up Email"),
        ),
        ("recurringServices:1:recurrenceMonths", json!(["April"])),
        ("recurringServiceEvents:0:status", json!("NotAttempted")),
        ("recurringServiceEvents:1:jobId", json!(41860111)),
        ("invoices:0:balance", json!(19.95)),
        ("invoices:1:balance", json!(0.0)),
        ("soldBy:name", json!("Morgan Sales")),
        ("soldBy:employeeType", json!("Employee")),
        ("tagTypes:0:name", json!("Financing Interest")),
    ];
    for (key, value) in cases {
        assert_eq!(d.get(key), Some(&value), "{key}");
    }
}

#[test]
fn membership_related_records_must_belong_to_it() {
    type Breaker = fn(&mut MembershipBundle);
    let cases: Vec<(Breaker, &str, &str)> = vec![
        (|b| b.customer.as_mut().unwrap().id = 1, "customer", "id"),
        (|b| b.location.as_mut().unwrap().id = 1, "location", "id"),
        (
            |b| b.business_unit.as_mut().unwrap().id = 1,
            "businessUnit",
            "id",
        ),
        (
            |b| b.membership_type.as_mut().unwrap().id = 1,
            "membershipType",
            "id",
        ),
        (
            |b| b.recurring_services[0].membership_id = Some(1),
            "recurringService",
            "membershipId",
        ),
        (
            |b| b.recurring_service_events[0].membership_id = None,
            "recurringServiceEvent",
            "membershipId",
        ),
        (
            |b| b.invoices[0].membership_id = Some(2),
            "invoice",
            "membershipId",
        ),
        (
            |b| b.contacts[0].customer_id = Some(3),
            "customerContact",
            "customerId",
        ),
    ];
    for (breaker, resource, field) in cases {
        let mut b = membership_bundle();
        breaker(&mut b);
        let err = map_membership(&b, &MappingConfig::default()).expect_err(resource);
        assert_eq!(
            (err.resource.as_str(), err.field.as_str()),
            (resource, field),
            "{err}"
        );
        assert!(err.reason.contains("7700451"), "{err}");
    }
}

#[test]
fn bundles_round_trip_through_json() {
    let b = job_bundle();
    let back: JobBundle = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
    assert_eq!(back, b);
    let m = membership_bundle();
    let back: MembershipBundle = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}
