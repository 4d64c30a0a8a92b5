//! The list, single-record and export endpoints of the resources the Job and Membership models
//! add (API-NOTES §7.1–§7.8), with the filters the real API has for them. Paging, `ids` (≤ 50),
//! date filters, `active` and sort come from [`ListQuery`]; the resource-specific filters are
//! here. Every path is the real one; the scope each needs is in [`required_scope`].

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use servicetitan::wire::{
    Appointment, AppointmentAssignment, Campaign, Employee, Estimate, Id, Invoice, JobCancelReason,
    JobCanceledLog, Membership, MembershipType, RecurringService, RecurringServiceEvent, TagType,
    Technician, Zone,
};

use crate::problem::Problem;
use crate::query::{ListQuery, Params};
use crate::server::{export, get_one, list_page, respond, Shared, STANDARD_SORT};

type Raw = Query<Vec<(String, String)>>;

/// The read scope of a resource path segment (the first segment after the tenant, `export/`
/// stripped), `tn.<module>.<resource>:r` as in API-NOTES §2; `None` for paths without one.
pub(crate) fn required_scope(segment: &str) -> Option<&'static str> {
    Some(match segment {
        "appointments" => "tn.jpm.appointments:r",
        "job-canceled-logs" => "tn.jpm.jobs:r",
        "job-cancel-reasons" => "tn.jpm.jobcancelreasons:r",
        "appointment-assignments" => "tn.dis.appointmentassignments:r",
        "zones" => "tn.dis.zones:r",
        "estimates" => "tn.sls.estimates:r",
        "invoices" => "tn.acc.invoices:r",
        "tag-types" => "tn.stt.tagtypes:r",
        "employees" => "tn.stt.employees:r",
        "technicians" => "tn.stt.technicians:r",
        "campaigns" => "tn.mkt.campaigns:r",
        "memberships" => "tn.mem.memberships:r",
        "membership-types" => "tn.mem.membershiptypes:r",
        "recurring-services" => "tn.mem.recurringservices:r",
        "recurring-service-events" => "tn.mem.recurringserviceevents:r",
        _ => return None,
    })
}

/// Routes of this module (merged into the guarded, counted API router).
pub(crate) fn api_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/jpm/v2/tenant/{tenant}/appointments",
            get(list_appointments),
        )
        .route(
            "/jpm/v2/tenant/{tenant}/appointments/{id}",
            get(get_one::<Appointment>),
        )
        .route(
            "/jpm/v2/tenant/{tenant}/export/appointments",
            get(export::<Appointment>),
        )
        .route(
            "/jpm/v2/tenant/{tenant}/export/job-canceled-logs",
            get(export::<JobCanceledLog>),
        )
        .route(
            "/jpm/v2/tenant/{tenant}/job-cancel-reasons",
            get(list_cancel_reasons),
        )
        .route(
            "/dispatch/v2/tenant/{tenant}/appointment-assignments",
            get(list_assignments),
        )
        .route(
            "/dispatch/v2/tenant/{tenant}/export/appointment-assignments",
            get(export::<AppointmentAssignment>),
        )
        .route(
            "/dispatch/v2/tenant/{tenant}/zones",
            get(list_plain::<Zone>),
        )
        .route(
            "/dispatch/v2/tenant/{tenant}/zones/{id}",
            get(get_one::<Zone>),
        )
        .route("/sales/v2/tenant/{tenant}/estimates", get(list_estimates))
        .route(
            "/sales/v2/tenant/{tenant}/estimates/export",
            get(export::<Estimate>),
        )
        .route(
            "/sales/v2/tenant/{tenant}/estimates/{id}",
            get(get_one::<Estimate>),
        )
        .route(
            "/accounting/v2/tenant/{tenant}/invoices",
            get(list_invoices),
        )
        .route(
            "/accounting/v2/tenant/{tenant}/export/invoices",
            get(export::<Invoice>),
        )
        .route(
            "/settings/v2/tenant/{tenant}/tag-types",
            get(list_plain::<TagType>),
        )
        .route(
            "/settings/v2/tenant/{tenant}/export/tag-types",
            get(export::<TagType>),
        )
        .route(
            "/settings/v2/tenant/{tenant}/employees",
            get(list_plain::<Employee>),
        )
        .route(
            "/settings/v2/tenant/{tenant}/employees/{id}",
            get(get_one::<Employee>),
        )
        .route(
            "/settings/v2/tenant/{tenant}/export/employees",
            get(export::<Employee>),
        )
        .route(
            "/settings/v2/tenant/{tenant}/technicians",
            get(list_plain::<Technician>),
        )
        .route(
            "/settings/v2/tenant/{tenant}/technicians/{id}",
            get(get_one::<Technician>),
        )
        .route(
            "/settings/v2/tenant/{tenant}/export/technicians",
            get(export::<Technician>),
        )
        .route(
            "/marketing/v2/tenant/{tenant}/campaigns",
            get(list_plain::<Campaign>),
        )
        .route(
            "/marketing/v2/tenant/{tenant}/campaigns/{id}",
            get(get_one::<Campaign>),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/memberships",
            get(list_memberships),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/memberships/{id}",
            get(get_one::<Membership>),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/export/memberships",
            get(export::<Membership>),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/membership-types",
            get(list_plain::<MembershipType>),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/membership-types/{id}",
            get(get_one::<MembershipType>),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/export/membership-types",
            get(export::<MembershipType>),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/recurring-services",
            get(list_recurring_services),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/recurring-services/{id}",
            get(get_one::<RecurringService>),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/export/recurring-services",
            get(export::<RecurringService>),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/recurring-service-events",
            get(list_events),
        )
        .route(
            "/memberships/v2/tenant/{tenant}/export/recurring-service-events",
            get(export::<RecurringServiceEvent>),
        )
}

/// A comma list of names (`status=Open,Sold`), lower-cased.
fn names(p: &Params, name: &str) -> Option<Vec<String>> {
    p.get(name).map(|v| {
        v.split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

fn in_names(wanted: &Option<Vec<String>>, value: &str) -> bool {
    wanted
        .as_ref()
        .is_none_or(|w| w.contains(&value.to_ascii_lowercase()))
}

fn in_ids(wanted: &Option<BTreeSet<Id>>, value: Option<Id>) -> bool {
    wanted
        .as_ref()
        .is_none_or(|w| value.is_some_and(|v| w.contains(&v)))
}

/// Lists with only the common filters (zones, tag types, employees, technicians, campaigns,
/// membership types).
async fn list_plain<T: crate::dataset::Record>(
    State(s): State<Arc<Shared>>,
    Query(raw): Raw,
) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let store = s.read();
        Ok(list_page::<T>(&store, &q, |_| true))
    })())
}

/// `GET /jpm/v2/tenant/{tenant}/appointments`: `jobId`, `customerId`, `status` (comma list),
/// `startsOnOrAfter`, `startsBefore`, `unused` (API-NOTES §7.1; `jobId` is one job, not a list).
async fn list_appointments(State(s): State<Arc<Shared>>, Query(raw): Raw) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let job = p.int("jobId")?;
        let customer = p.int("customerId")?;
        let status = names(&p, "status");
        let starts_from = p.datetime("startsOnOrAfter")?;
        let starts_before = p.datetime("startsBefore")?;
        let unused = p.bool("unused")?;
        let store = s.read();
        Ok(list_page::<Appointment>(&store, &q, |a| {
            job.is_none_or(|j| a.job_id == j)
                && customer.is_none_or(|c| a.customer_id == c)
                && in_names(&status, &a.status)
                && starts_from.is_none_or(|t| a.start >= t)
                && starts_before.is_none_or(|t| a.start < t)
                && unused.is_none_or(|u| a.unused == u)
        }))
    })())
}

/// `GET /dispatch/v2/tenant/{tenant}/appointment-assignments`: `appointmentIds` (comma list,
/// ≤ 50), `jobId` (API-NOTES §7.4).
async fn list_assignments(State(s): State<Arc<Shared>>, Query(raw): Raw) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let appointments = p.ids("appointmentIds")?;
        let job = p.int("jobId")?;
        let store = s.read();
        Ok(list_page::<AppointmentAssignment>(&store, &q, |a| {
            in_ids(&appointments, Some(a.appointment_id)) && job.is_none_or(|j| a.job_id == j)
        }))
    })())
}

/// `GET /jpm/v2/tenant/{tenant}/job-cancel-reasons`: active and inactive by default
/// (API-NOTES §5.3).
async fn list_cancel_reasons(State(s): State<Arc<Shared>>, Query(mut raw): Raw) -> Response {
    if !raw.iter().any(|(k, _)| k.eq_ignore_ascii_case("active")) {
        raw.push(("active".to_owned(), "Any".to_owned()));
    }
    list_plain::<JobCancelReason>(State(s), Query(raw)).await
}

/// `GET /sales/v2/tenant/{tenant}/estimates`: `jobId`, `locationId`, `soldById`, `status`
/// (name), `orderBy`/`orderByDirection` (API-NOTES §7.6).
async fn list_estimates(State(s): State<Arc<Shared>>, Query(raw): Raw) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let job = p.int("jobId")?;
        let location = p.int("locationId")?;
        let sold_by = p.int("soldById")?;
        let status = names(&p, "status");
        let store = s.read();
        Ok(list_page::<Estimate>(&store, &q, |e| {
            job.is_none_or(|j| e.job_id == Some(j))
                && location.is_none_or(|l| e.location_id == Some(l))
                && sold_by.is_none_or(|b| e.sold_by == Some(b))
                && status.as_ref().is_none_or(|_| {
                    e.status
                        .as_ref()
                        .is_some_and(|st| in_names(&status, &st.name))
                })
        }))
    })())
}

/// `GET /accounting/v2/tenant/{tenant}/invoices`: `activeState` (`ActiveOnly` default,
/// `InactiveOnly`, `All`; invoices have no `active` parameter), `jobId`, `customerId`,
/// `statuses` (sync status comma list) (API-NOTES §7.5).
async fn list_invoices(State(s): State<Arc<Shared>>, Query(raw): Raw) -> Response {
    let mut p = Params(raw);
    let active = match p.get("activeState") {
        None => "True".to_owned(),
        Some(v) if v.eq_ignore_ascii_case("activeonly") => "True".to_owned(),
        Some(v) if v.eq_ignore_ascii_case("inactiveonly") => "False".to_owned(),
        Some(v) if v.eq_ignore_ascii_case("all") => "Any".to_owned(),
        Some(v) => {
            return Problem::bad_param(
                "activeState",
                format!("The value '{v}' is not valid; use ActiveOnly, InactiveOnly or All."),
            )
            .into_response()
        }
    };
    p.0.retain(|(k, _)| !k.eq_ignore_ascii_case("active"));
    p.0.push(("active".to_owned(), active));
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let job = p.int("jobId")?;
        let customer = p.int("customerId")?;
        let statuses = names(&p, "statuses");
        let store = s.read();
        Ok(list_page::<Invoice>(&store, &q, |i| {
            job.is_none_or(|j| i.job.as_ref().is_some_and(|x| x.id == j))
                && customer.is_none_or(|c| i.customer.as_ref().is_some_and(|x| x.id == c))
                && in_names(&statuses, i.sync_status.as_deref().unwrap_or(""))
        }))
    })())
}

/// `GET /memberships/v2/tenant/{tenant}/memberships`: `customerIds` (comma list, ≤ 50),
/// `status`, `billingFrequency` (API-NOTES §7.3).
async fn list_memberships(State(s): State<Arc<Shared>>, Query(raw): Raw) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let customers = p.ids("customerIds")?;
        let status = names(&p, "status");
        let billing = names(&p, "billingFrequency");
        let store = s.read();
        Ok(list_page::<Membership>(&store, &q, |m| {
            in_ids(&customers, Some(m.customer_id))
                && in_names(&status, &m.status)
                && in_names(&billing, &m.billing_frequency)
        }))
    })())
}

/// `GET /memberships/v2/tenant/{tenant}/recurring-services`: `membershipIds`, `locationIds`
/// (comma lists, ≤ 50 each).
async fn list_recurring_services(State(s): State<Arc<Shared>>, Query(raw): Raw) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let memberships = p.ids("membershipIds")?;
        let locations = p.ids("locationIds")?;
        let store = s.read();
        Ok(list_page::<RecurringService>(&store, &q, |r| {
            in_ids(&memberships, r.membership_id) && in_ids(&locations, Some(r.location_id))
        }))
    })())
}

/// `GET /memberships/v2/tenant/{tenant}/recurring-service-events`: `locationId` (through the
/// event's recurring service), `jobId`, `status` (no modified-date filter in this API version).
async fn list_events(State(s): State<Arc<Shared>>, Query(raw): Raw) -> Response {
    let p = Params(raw);
    respond((|| {
        let q = ListQuery::parse(&p, STANDARD_SORT)?;
        let location = p.int("locationId")?;
        let job = p.int("jobId")?;
        let status = names(&p, "status");
        let store = s.read();
        Ok(list_page::<RecurringServiceEvent>(&store, &q, |e| {
            location.is_none_or(|l| {
                store
                    .get::<RecurringService>(e.location_recurring_service_id)
                    .is_some_and(|r| r.location_id == l)
            }) && job.is_none_or(|j| e.job_id == Some(j))
                && in_names(&status, &e.status)
        }))
    })())
}
