//! Mapping throughput (issue #9 target: ≥ 200 000 opportunities/s per core): `map_job` and
//! `map_membership` over bundles assembled from the sandbox generator's data (messy names, phone
//! formats, placeholder e-mails, several appointments/estimates/invoices per job), and over the
//! full example bundles in `tests/fixtures/` (every resource present).
//!
//! `details_floor` copies the mapped job details: what producing details of this shape costs at
//! the least (allocating every key and text, building the map), whatever the mapping does.
//!
//! `cargo bench -p opportunity --bench mapping` (add `-- --measurement-time 3` for a quick run).
//! Criterion's "thrpt" line is in opportunities per second; the benches run on one thread.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use opportunity::details::encoded_len;
use opportunity::{map_job, map_membership, JobBundle, MappingConfig, MembershipBundle};
use servicetitan::Id;
use st_sandbox::{Dataset, SandboxConfig};

/// Job and membership bundles built from generated data the way the sync engine builds them
/// (`shared/sync/src/engine.rs`, `rebuild_jobs` / `rebuild_memberships`): the job's customer,
/// contacts, location, business unit, job type, appointments with their assignments, estimates,
/// invoices, cancel logs with their reasons, campaign, tag types, zone, and the sellers of the job
/// and of its estimates.
fn generated_bundles(jobs: usize) -> (Vec<JobBundle>, Vec<MembershipBundle>) {
    let cfg = SandboxConfig {
        seed: 7,
        jobs,
        customers: jobs * 2 / 5,
        history_days: 90,
        now: chrono::DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .expect("a date")
            .to_utc(),
        ..SandboxConfig::default()
    };
    let d = Dataset::generate(&cfg);
    fn by<T: Clone, K: std::hash::Hash + Eq>(
        rows: &[T],
        key: impl Fn(&T) -> Option<K>,
    ) -> HashMap<K, Vec<T>> {
        let mut m: HashMap<K, Vec<T>> = HashMap::new();
        for r in rows {
            if let Some(k) = key(r) {
                m.entry(k).or_default().push(r.clone());
            }
        }
        m
    }
    fn one<T: Clone>(rows: &[T], id: impl Fn(&T) -> Id) -> HashMap<Id, T> {
        rows.iter().map(|r| (id(r), r.clone())).collect()
    }
    let customers = one(&d.customers, |c| c.id);
    let locations = one(&d.locations, |l| l.id);
    let units = one(&d.business_units, |b| b.id);
    let types = one(&d.job_types, |t| t.id);
    let campaigns = one(&d.campaigns, |c| c.id);
    let tags = one(&d.tag_types, |t| t.id);
    let zones = one(&d.zones, |z| z.id);
    let employees = one(&d.employees, |e| e.id);
    let technicians = one(&d.technicians, |t| t.id);
    let membership_types = one(&d.membership_types, |t| t.id);
    let contacts = by(&d.contacts, |c| c.customer_id);
    let appointments = by(&d.appointments, |a| Some(a.job_id));
    let assignments = by(&d.appointment_assignments, |a| Some(a.job_id));
    let estimates = by(&d.estimates, |e| e.job_id);
    let canceled_logs = by(&d.job_canceled_logs, |l| Some(l.job_id));
    let cancel_reasons = one(&d.cancel_reasons, |r| r.id);
    let job_invoices = by(&d.invoices, |i| i.job.as_ref().map(|j| j.id));
    let membership_invoices = by(&d.invoices, |i| i.membership_id);
    let services = by(&d.recurring_services, |s| s.membership_id);
    let events = by(&d.recurring_service_events, |e| e.membership_id);
    fn get<T: Clone>(m: &HashMap<Id, T>, id: Option<Id>) -> Option<T> {
        id.and_then(|id| m.get(&id).cloned())
    }
    fn pick<T: Clone>(m: &HashMap<Id, T>, ids: &[Id]) -> Vec<T> {
        ids.iter().filter_map(|id| m.get(id).cloned()).collect()
    }
    let job_bundles = d
        .jobs
        .iter()
        .map(|j| {
            let location: Option<servicetitan::Location> = get(&locations, Some(j.location_id));
            let estimates = estimates.get(&j.id).cloned().unwrap_or_default();
            let logs = canceled_logs.get(&j.id).cloned().unwrap_or_default();
            let reason_ids: Vec<Id> = logs.iter().map(|l| l.reason_id).collect();
            let sellers: Vec<Id> = j
                .sold_by_id
                .into_iter()
                .chain(estimates.iter().filter_map(|e| e.sold_by))
                .collect();
            JobBundle {
                customer: get(&customers, Some(j.customer_id)),
                contacts: contacts.get(&j.customer_id).cloned().unwrap_or_default(),
                zone: get(&zones, location.as_ref().and_then(|l| l.zone_id)),
                location,
                business_unit: get(&units, Some(j.business_unit_id)),
                job_type: get(&types, Some(j.job_type_id)),
                appointments: appointments.get(&j.id).cloned().unwrap_or_default(),
                appointment_assignments: assignments.get(&j.id).cloned().unwrap_or_default(),
                estimates,
                invoices: job_invoices.get(&j.id).cloned().unwrap_or_default(),
                job_canceled_logs: logs,
                cancel_reasons: pick(&cancel_reasons, &reason_ids),
                campaign: get(&campaigns, j.campaign_id),
                tag_types: pick(&tags, &j.tag_type_ids),
                employees: pick(&employees, &sellers),
                technicians: pick(&technicians, &sellers),
                ..JobBundle::new(j.clone())
            }
        })
        .collect();
    let membership_bundles = d
        .memberships
        .iter()
        .map(|m| {
            let customer: Option<servicetitan::Customer> = get(&customers, Some(m.customer_id));
            let tag_ids: Vec<Id> = customer
                .iter()
                .flat_map(|c| c.tag_type_ids.iter().copied())
                .collect();
            let services = services.get(&m.id).cloned().unwrap_or_default();
            let campaign_ids: Vec<Id> = services.iter().filter_map(|s| s.campaign_id).collect();
            let sellers: Vec<Id> = m.sold_by_id.into_iter().collect();
            MembershipBundle {
                contacts: contacts.get(&m.customer_id).cloned().unwrap_or_default(),
                customer,
                location: get(&locations, m.location_id),
                business_unit: get(&units, Some(m.business_unit_id)),
                membership_type: get(&membership_types, Some(m.membership_type_id)),
                recurring_service_events: events.get(&m.id).cloned().unwrap_or_default(),
                invoices: membership_invoices.get(&m.id).cloned().unwrap_or_default(),
                tag_types: pick(&tags, &tag_ids),
                campaigns: pick(&campaigns, &campaign_ids),
                employees: pick(&employees, &sellers),
                technicians: pick(&technicians, &sellers),
                recurring_services: services,
                ..MembershipBundle::new(m.clone())
            }
        })
        .collect();
    (job_bundles, membership_bundles)
}

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn mapping(c: &mut Criterion) {
    let config = MappingConfig::default();
    let (jobs, memberships) = generated_bundles(2_000);
    // Every generated bundle maps (a failure here would make the figures meaningless).
    for b in &jobs {
        map_job(b, &config).expect("generated job maps");
    }
    for b in &memberships {
        map_membership(b, &config).expect("generated membership maps");
    }
    // What one iteration maps (so the figures can be judged): records in and details keys out.
    let job_details: Vec<opportunity::Details> = jobs
        .iter()
        .filter_map(|b| map_job(b, &config).ok().map(|o| o.details))
        .collect();
    let keys: usize = job_details.iter().map(|d| d.len()).sum();
    let bytes: usize = job_details.iter().map(encoded_len).sum();
    let count = |f: fn(&JobBundle) -> usize| jobs.iter().map(f).sum::<usize>();
    eprintln!(
        "map_job data: {} bundles, {} contacts, {} appointments, {} assignments, {} estimates, \
         {} invoices, {} cancel logs; {} details keys and {} bytes of details JSON per \
         opportunity on average",
        jobs.len(),
        count(|b| b.contacts.len()),
        count(|b| b.appointments.len()),
        count(|b| b.appointment_assignments.len()),
        count(|b| b.estimates.len()),
        count(|b| b.invoices.len()),
        count(|b| b.job_canceled_logs.len()),
        keys / jobs.len().max(1),
        bytes / jobs.len().max(1),
    );
    let keys: usize = memberships
        .iter()
        .map(|b| map_membership(b, &config).map_or(0, |o| o.details.len()))
        .sum();
    let count = |f: fn(&MembershipBundle) -> usize| memberships.iter().map(f).sum::<usize>();
    eprintln!(
        "map_membership data: {} bundles, {} contacts, {} recurring services, {} events, \
         {} invoices; {} details keys per opportunity on average",
        memberships.len(),
        count(|b| b.contacts.len()),
        count(|b| b.recurring_services.len()),
        count(|b| b.recurring_service_events.len()),
        count(|b| b.invoices.len()),
        keys / memberships.len().max(1),
    );

    let mut g = c.benchmark_group("map_job");
    g.throughput(Throughput::Elements(jobs.len() as u64));
    g.bench_function(format!("generated_{}_bundles", jobs.len()), |b| {
        b.iter(|| {
            for bundle in &jobs {
                black_box(map_job(black_box(bundle), &config).ok());
            }
        })
    });
    let full: JobBundle = fixture("job-bundle.json");
    g.throughput(Throughput::Elements(1));
    g.bench_function("full_fixture_bundle", |b| {
        b.iter(|| black_box(map_job(black_box(&full), &config).ok()))
    });
    g.finish();

    // A floor for any mapping that returns details of this shape: copying the finished details
    // (every key and text allocated again, the map rebuilt; no serializing, sorting or parsing).
    let mut g = c.benchmark_group("details_floor");
    g.throughput(Throughput::Elements(job_details.len() as u64));
    g.bench_function(format!("clone_{}_job_details", job_details.len()), |b| {
        b.iter(|| {
            for details in &job_details {
                black_box(details.clone());
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("map_membership");
    g.throughput(Throughput::Elements(memberships.len() as u64));
    g.bench_function(format!("generated_{}_bundles", memberships.len()), |b| {
        b.iter(|| {
            for bundle in &memberships {
                black_box(map_membership(black_box(bundle), &config).ok());
            }
        })
    });
    let full: MembershipBundle = fixture("membership-bundle.json");
    g.throughput(Throughput::Elements(1));
    g.bench_function("full_fixture_bundle", |b| {
        b.iter(|| black_box(map_membership(black_box(&full), &config).ok()))
    });
    g.finish();
}

criterion_group!(benches, mapping);
criterion_main!(benches);
