//! The resources of the Job and Membership models in the sandbox: generated data links them as
//! a real tenant does, fixtures carry them, and their list endpoints have the real filters.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::json;
use st_sandbox::Dataset;

#[test]
fn generated_related_records_link_realistically() {
    let d = Dataset::generate(&small_config());
    let jobs: BTreeMap<i64, &servicetitan::wire::Job> = d.jobs.iter().map(|j| (j.id, j)).collect();
    // appointments: the ids the jobs reference, all present, several for some jobs
    for j in &d.jobs {
        for id in [j.first_appointment_id, j.last_appointment_id]
            .into_iter()
            .flatten()
        {
            let a = d
                .appointments
                .iter()
                .find(|a| a.id == id)
                .expect("referenced appointment");
            assert_eq!(a.job_id, j.id);
            assert_eq!(a.customer_id, j.customer_id);
        }
    }
    let per_job = d.appointments.iter().fold(BTreeMap::new(), |mut m, a| {
        *m.entry(a.job_id).or_insert(0) += 1;
        m
    });
    assert!(
        per_job.values().any(|n| *n >= 2),
        "jobs with several appointments"
    );
    // assignments point at existing appointments of the same job; some are inactive
    let appointments: BTreeMap<i64, i64> =
        d.appointments.iter().map(|a| (a.id, a.job_id)).collect();
    for a in &d.appointment_assignments {
        assert_eq!(appointments.get(&a.appointment_id), Some(&a.job_id));
        assert!(d
            .technicians
            .iter()
            .any(|t| t.id == a.technician_id && t.name == a.technician_name));
    }
    assert!(d.appointment_assignments.iter().any(|a| !a.active));
    // estimates: several on some jobs; sold ones have a Sold By who exists
    let mut estimates_per_job: BTreeMap<i64, usize> = BTreeMap::new();
    for e in &d.estimates {
        let job = e
            .job_id
            .and_then(|id| jobs.get(&id))
            .expect("estimate's job");
        *estimates_per_job.entry(job.id).or_default() += 1;
        if e.status.as_ref().is_some_and(|s| s.name == "Sold") {
            let by = e.sold_by.expect("sold estimates have a soldBy");
            assert!(e.sold_on.is_some());
            assert!(
                d.technicians.iter().any(|t| t.id == by) || d.employees.iter().any(|x| x.id == by),
                "soldBy {by} exists"
            );
        }
    }
    assert!(
        estimates_per_job.values().any(|n| *n >= 3),
        "a job with three estimates"
    );
    assert!(d
        .estimates
        .iter()
        .any(|e| e.status.as_ref().is_some_and(|s| s.name == "Sold")));
    assert!(d.estimates.iter().any(|e| !e.active));
    // cancelled jobs have an active cancel log with an existing reason
    for j in d.jobs.iter().filter(|j| j.job_status == "Canceled") {
        let log = d
            .job_canceled_logs
            .iter()
            .find(|l| l.job_id == j.id && l.active)
            .unwrap_or_else(|| panic!("canceled job {} has a log", j.id));
        assert!(d.cancel_reasons.iter().any(|r| r.id == log.reason_id));
    }
    assert!(d.cancel_reasons.iter().any(|r| !r.active));
    // every job's invoice exists; money is decimal text; some balances are open
    for j in &d.jobs {
        let inv = d
            .invoices
            .iter()
            .find(|i| Some(i.id) == j.invoice_id)
            .expect("job invoice");
        assert_eq!(inv.job.as_ref().map(|x| x.id), Some(j.id));
        for money in [&inv.total, &inv.balance, &inv.sub_total] {
            let text = money.as_deref().expect("money text");
            assert!(
                text.parse::<f64>().is_ok() && text.split('.').nth(1).map(str::len) == Some(2),
                "{text}"
            );
        }
    }
    assert!(d
        .invoices
        .iter()
        .any(|i| i.balance.as_deref().is_some_and(|b| b != "0.00")));
    // memberships: customer and type exist; recurring services and events hang off them
    assert!(!d.memberships.is_empty());
    let memberships: BTreeSet<i64> = d.memberships.iter().map(|m| m.id).collect();
    for m in &d.memberships {
        assert!(d.customers.iter().any(|c| c.id == m.customer_id));
        assert!(d
            .membership_types
            .iter()
            .any(|t| t.id == m.membership_type_id));
    }
    assert!(d.memberships.iter().any(|m| !m.active));
    for r in &d.recurring_services {
        assert!(r.membership_id.is_some_and(|m| memberships.contains(&m)));
    }
    for e in &d.recurring_service_events {
        let rs = d
            .recurring_services
            .iter()
            .find(|r| r.id == e.location_recurring_service_id)
            .expect("event's recurring service");
        assert_eq!(e.membership_id, rs.membership_id);
    }
    assert!(d
        .invoices
        .iter()
        .any(|i| i.membership_id.is_some_and(|m| memberships.contains(&m))));
    // reference data, with some inactive rows
    assert!(d.tag_types.iter().any(|t| !t.active));
    assert!(d.campaigns.iter().any(|c| !c.active));
    assert!(d.zones.iter().any(|z| !z.active));
    assert!(d.technicians.iter().any(|t| !t.active));
    // deterministic
    assert_eq!(d, Dataset::generate(&small_config()));
}

#[test]
fn fixtures_carry_every_resource() {
    let d = Dataset::generate(&small_config());
    let text = d.to_fixture_json().to_string();
    let back = Dataset::from_fixture_json(&text).expect("round trip");
    assert_eq!(back, d);
    for key in [
        "appointments",
        "estimates",
        "invoices",
        "memberships",
        "recurringServiceEvents",
    ] {
        assert!(d.counts()[key].as_u64().unwrap() > 0, "{key}");
    }
    let err = Dataset::from_fixture_json(r#"{"estimate": []}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("estimates") && err.contains("recurringServiceEvents"),
        "{err}"
    );
    let err = Dataset::from_fixture_json(r#"{"appointments": [{"id": 1}]}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("appointments[0] (id 1)"), "{err}");
}

#[tokio::test]
async fn related_list_filters() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let (job, appointment_ids, membership, customer) = sb.with_data(|d| {
        let job = d
            .jobs
            .iter()
            .find(|j| j.appointment_count.unwrap_or(0) >= 2)
            .unwrap();
        let appts: Vec<i64> = d
            .appointments
            .iter()
            .filter(|a| a.job_id == job.id)
            .map(|a| a.id)
            .collect();
        let m = d.memberships.iter().find(|m| m.active).unwrap();
        (job.id, appts, m.id, m.customer_id)
    });
    // appointments by job (one job per call: jobId is not a list)
    let (s, body) = api
        .get("jpm", "appointments", &[("jobId", job.to_string())])
        .await;
    assert_eq!(s, 200);
    assert_eq!(ids_of(&body), appointment_ids);
    // assignments by a comma list of appointments, ≤ 50
    let list = appointment_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let (s, body) = api
        .get(
            "dispatch",
            "appointment-assignments",
            &[("appointmentIds", list)],
        )
        .await;
    assert_eq!(s, 200);
    assert!(body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| appointment_ids.contains(&a["appointmentId"].as_i64().unwrap())));
    let many = (1..=51)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let (s, body) = api
        .get(
            "dispatch",
            "appointment-assignments",
            &[("appointmentIds", many)],
        )
        .await;
    assert_eq!(s, 400, "{body}");
    // memberships by customers; recurring services by memberships
    let (_, body) = api
        .get(
            "memberships",
            "memberships",
            &[("customerIds", customer.to_string())],
        )
        .await;
    assert!(ids_of(&body).contains(&membership));
    let (_, body) = api
        .get(
            "memberships",
            "recurring-services",
            &[("membershipIds", membership.to_string())],
        )
        .await;
    assert!(body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["membershipId"] == json!(membership)));
    // invoices: activeState, no GET by id, money as text
    let (s, body) = api
        .get("accounting", "invoices", &[("activeState", "All".into())])
        .await;
    assert_eq!(s, 200);
    assert!(body["data"][0]["balance"].is_string());
    let (s, _) = api
        .get(
            "accounting",
            "invoices",
            &[("activeState", "Sometimes".into())],
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = api.get("accounting", "invoices/1", &[]).await;
    assert_eq!(s, 404);
    // estimates export lives at estimates/export; campaigns have no export feed
    let (s, body) = api
        .get(
            "sales",
            "estimates/export",
            &[("includeRecentChanges", "true".into())],
        )
        .await;
    assert_eq!(s, 200);
    assert!(body["data"][0]["active"].is_boolean());
    let (s, _) = api.get("sales", "export/estimates", &[]).await;
    assert_eq!(s, 404);
    let (s, _) = api.get("marketing", "export/campaigns", &[]).await;
    assert_eq!(s, 404);
    // cancel reasons list both active and inactive by default
    let (_, body) = api.get("jpm", "job-cancel-reasons", &[]).await;
    assert!(body["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["active"] == json!(false)));
    sb.shutdown().await;
}
