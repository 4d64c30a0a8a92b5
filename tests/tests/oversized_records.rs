//! Oversized ServiceTitan records end to end (sandbox over HTTP → engine → dynoxide): a
//! half-megabyte customer name, a job with 200 long custom fields and a 300 000-character custom
//! field name are capped or trimmed (SPEC.md §5: items stay under DynamoDB's 400 KB limit, and
//! what was cut is said), stored, counted at most once, and never stop the rest of the run.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use e2e::{store_on, Engine, World};
use opportunity::details::{DETAILS_TRUNCATED, TRUNCATION_MARKER};
use opportunity::name::MAX_NAME_CHARS;
use opportunity::{ContactCandidate, Model};
use servicetitan::{CustomField, Id};
use store::StoreError;

const WS: &str = "ws-oversized";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_names_and_details_are_capped_and_stored() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.expect("dynoxide");
    let now = Utc::now();
    let world = World::start(60, 30, 23, now).await;
    store
        .put_integration(&world.integration(WS, now))
        .await
        .unwrap();
    let in_window = world
        .data
        .jobs_in_window((now - Duration::days(90)).date_naive());

    // A job with appointments (so later feeds of the same run touch it again) gets 200 custom
    // fields of 3 999 characters and one with a 300 000-character name; the customer of another
    // job gets a half-megabyte name.
    let (big_job, named_job, named_customer): (Id, Id, Id) = world.sandbox.with_data(|d| {
        let usable = |customer: Id| {
            d.customers
                .iter()
                .any(|c| c.id == customer && c.active && c.merged_to_id.is_none())
        };
        let big = d
            .jobs
            .iter()
            .filter(|j| in_window.contains(&j.id) && usable(j.customer_id))
            .find(|j| d.appointments.iter().any(|a| a.job_id == j.id))
            .expect("a job with appointments in the window");
        let (big_id, big_customer) = (big.id, big.customer_id);
        let named = d
            .jobs
            .iter()
            .find(|j| {
                in_window.contains(&j.id) && j.customer_id != big_customer && usable(j.customer_id)
            })
            .expect("a second job");
        let (named_id, named_customer) = (named.id, named.customer_id);
        let job = d.jobs.iter_mut().find(|j| j.id == big_id).unwrap();
        job.custom_fields = (0..200)
            .map(|i| CustomField {
                type_id: Some(9_000 + i),
                name: Some(format!("Field {i:03}")),
                // Noise: the store keeps details deflated, and repeated characters would
                // shrink far under the item size limit.
                value: Some(st_sandbox::incompressible_text(3_999, i as u64)),
            })
            .collect();
        job.custom_fields.push(CustomField {
            type_id: Some(9_999),
            name: Some("n".repeat(300_000)),
            value: Some("long name".into()),
        });
        let customer = d
            .customers
            .iter_mut()
            .find(|c| c.id == named_customer)
            .unwrap();
        customer.name = format!("A, {}", "b".repeat(500_000));
        (big_id, named_id, named_customer)
    });

    let report = world.sync_once(&store, Model::Job, "oversized-test").await;
    assert!(report.caught_up, "{report:?}");
    assert_eq!(report.bad_records, 0, "{:?}", report.bad_record_samples);

    // Every job of the window is stored, the oversized ones included.
    let stored: BTreeSet<Id> = store
        .list_opportunities(WS, Some(Model::Job))
        .await
        .unwrap()
        .iter()
        .map(|o| o.opportunity.external_id.parse().unwrap())
        .collect();
    assert_eq!(stored, in_window, "one opportunity per job in the window");

    // The big job: trimmed to fit, with the cut keys recorded.
    let big = store
        .get_opportunity(WS, Model::Job, &big_job.to_string())
        .await
        .unwrap()
        .expect("the big job is stored")
        .opportunity;
    let cut = big.details[DETAILS_TRUNCATED]
        .as_array()
        .expect("the cut keys are listed");
    assert!(!cut.is_empty());
    let field = big.details["customFields:Field 000"].as_str().unwrap();
    assert!(
        field.ends_with(TRUNCATION_MARKER) && field.len() < 3_999,
        "{field}"
    );
    assert!(big.details.contains_key("jobStatus"), "small keys are kept");
    // Trimmed: the 200 noise values alone were ~800 KB of text.
    assert!(serde_json::to_string(&big.details).unwrap().len() < 800_000);
    // The custom field name is capped as a key segment.
    let long_key = big
        .details
        .keys()
        .find(|k| k.starts_with("customFields:nnn"))
        .expect("the long-named custom field is kept under a capped key");
    assert!(long_key.len() < 300, "{} bytes", long_key.len());
    assert!(long_key.ends_with(TRUNCATION_MARKER));

    // The half-megabyte name: capped in the standard fields and on the contact.
    let named = store
        .get_opportunity(WS, Model::Job, &named_job.to_string())
        .await
        .unwrap()
        .expect("the job of the long-named customer is stored");
    let first = named.opportunity.standard.first_name.clone().unwrap();
    assert_eq!(first.chars().count(), MAX_NAME_CHARS);
    assert!(first.ends_with(TRUNCATION_MARKER));
    assert_eq!(named.opportunity.standard.last_name.as_deref(), Some("A"));
    let contact = store
        .get_contact(WS, &named.contact_id)
        .await
        .unwrap()
        .expect("its contact is stored");
    assert_eq!(contact.first_name, Some(first));
    assert!(contact.customer_ids.contains(&named_customer));

    // A rerun rebuilds nothing new: the trimmed item is unchanged, nothing fails.
    let again = world.sync_once(&store, Model::Job, "oversized-test").await;
    assert_eq!(again.bad_records, 0, "{:?}", again.bad_record_samples);
    assert_eq!(again.opportunities_written, 0, "{again:?}");
}

/// A contact DynamoDB cannot hold (a caller that skips the mapping's caps) is a permanent
/// problem of that one record, named by its customer id, never a retryable run failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_too_large_is_a_record_problem() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.expect("dynoxide");
    let candidate = ContactCandidate {
        customer_id: Some(3_301_457),
        email: None,
        phone: None,
        first_name: Some("b".repeat(500_000)),
        last_name: Some("A".into()),
    };
    let err = store
        .resolve_contact(WS, &candidate, Utc::now())
        .await
        .expect_err("too large");
    assert!(matches!(err, StoreError::ContactTooLarge { .. }), "{err}");
    assert!(err.is_record_problem() && !err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("3301457") && text.contains("firstName"),
        "{text}"
    );
    assert!(store.list_contacts(WS).await.unwrap().is_empty());

    // An over-long e-mail cannot become a lookup key: refused before any write, per record.
    let candidate = ContactCandidate {
        email: Some(format!("{}@example.com", "a".repeat(2_000))),
        first_name: None,
        ..candidate
    };
    let err = store
        .resolve_contact(WS, &candidate, Utc::now())
        .await
        .expect_err("e-mail too long for a key");
    assert!(err.is_record_problem(), "{err}");
}

/// The store's upsert trims an item too large even without its sources (sources go first), and
/// an identical rebuild of a trimmed item writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upsert_trims_and_stays_idempotent() {
    let (store, _engine) = store_on(Engine::Dynoxide).await.expect("dynoxide");
    let now = Utc::now();
    let mut details = opportunity::Details::new();
    details.insert("id".into(), 9.into());
    details.insert(
        "summary".into(),
        st_sandbox::incompressible_text(600_000, 9).into(),
    );
    let big = opportunity::Opportunity {
        model: Model::Job,
        external_id: "9".into(),
        external_contact_id: Some("77".into()),
        standard: opportunity::StandardFields {
            email: None,
            phone: None,
            phone_extension: None,
            first_name: Some("Avery".into()),
            last_name: None,
            external_created_at: now,
            external_updated_at: now,
        },
        details,
    };
    let upsert = store::Upsert {
        opportunity: &big,
        contact_id: "c-1",
        sources: Some(r#"{"job":{"id":9}}"#),
    };
    let first = store.upsert(WS, &[upsert], now).await.unwrap();
    assert_eq!((first.written, first.failed.len()), (1, 0), "{first:?}");
    let stored = store
        .get_opportunity(WS, Model::Job, "9")
        .await
        .unwrap()
        .expect("stored trimmed");
    let details = &stored.opportunity.details;
    assert_eq!(details[DETAILS_TRUNCATED], serde_json::json!(["summary"]));
    assert!(details["summary"]
        .as_str()
        .unwrap()
        .ends_with(TRUNCATION_MARKER));
    assert_eq!(details["id"], 9);
    assert_eq!(stored.sources, None, "sources go first");
    let again = store.upsert(WS, &[upsert], now).await.unwrap();
    assert_eq!(again.unchanged, 1, "{again:?}");
}
