//! The engine both models share (SPEC.md §3): read each export feed of the model from its saved
//! token, turn every page into the set of base records it affects, rebuild those opportunities
//! from the current state of all their records, write them, and only then commit the page's
//! token.
//!
//! # Never one request per record
//!
//! ServiceTitan has no "many jobs" filter for appointments, estimates or invoices (`jobId` takes
//! one job), so a page of jobs cannot ask for "their appointments" in one call. The engine
//! therefore gets related records:
//!
//! - from the change feeds of the related resources themselves (a new estimate arrives in the
//!   estimates feed, which marks its job affected and brings the row along);
//! - from the source records kept with the stored opportunity ([`Sources`]: the base record and
//!   every related row of its last build). A rebuild for one changed row, or for a changed
//!   customer, starts from them and looks nothing up again; the feeds keep them current;
//! - by `ids=` lookups (≤ 50 ids per call) only where neither has them: an opportunity stored
//!   without sources (the ids its details list: `appointments:#:id`, `estimates:#:id`...), or a
//!   record new to the store outside the backfill (a job's first/last appointment and invoice;
//!   a membership's cancellation invoices; assignments by `appointmentIds=` and recurring
//!   services by `membershipIds=`). In the backfill the related feeds bring those rows, and the
//!   history pass the older ones.
//!
//! Backfill pages are read in groups of [`GROUP_ROWS`] rows whose customers and locations are
//! looked up together, so those lookups fill whole batches.
//! Customers, contacts and locations are cached for the run ([`PeopleCache`]). Reference data
//! (business units, job types, campaigns, tag types, zones, employees, technicians, cancel
//! reasons, membership types) is read once per run and reused ([`Reference`]). Job canceled logs
//! have no `ids=` lookup: they come with the sources (or, for an opportunity stored without
//! them, from its details; logs are immutable) and new ones through their feed.
//! Each written page's contacts are resolved together ([`KnownContacts`]): a customer's link
//! once per run, the links of a page's new customers in one batched read.
//!
//! Issue #9 measures the result against the fewest calls any engine needs (`stsync bench sync`,
//! README "Performance").

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use opportunity::{
    map_job, map_membership, ContactCandidate, Details, Integration, JobBundle, MapError,
    MappingConfig, MembershipBundle, Model, Opportunity, Resource, ResourceSelection,
};
use serde::de::DeserializeOwned;
use servicetitan::client::{decode_rows, endpoints, Client, Endpoint};
use servicetitan::{
    Appointment, AppointmentAssignment, BusinessUnit, Campaign, Customer, CustomerContact,
    Employee, Estimate, Id, Invoice, Job, JobCancelReason, JobCanceledLog, JobType, Location,
    Membership, MembershipType, RecurringService, RecurringServiceEvent, TagType, Technician, Zone,
};
use store::{BackfillState, FeedProgress, Store, StoredOpportunity, Upsert};
use tracing::{info, warn};

use crate::contacts::KnownContacts;
use crate::error::Ctx;
use crate::{SyncError, SyncOptions, SyncReport};

/// One export feed a model reads. The progress key is `<model>:<resource>` (`job:estimates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// `export/jobs` (job model base).
    Jobs,
    /// `export/appointments`.
    Appointments,
    /// `export/appointment-assignments`.
    AppointmentAssignments,
    /// `estimates/export`.
    Estimates,
    /// `export/invoices`, rows with a job.
    JobInvoices,
    /// `export/job-canceled-logs`.
    JobCanceledLogs,
    /// `export/memberships` (membership model base).
    Memberships,
    /// `export/recurring-services`.
    RecurringServices,
    /// `export/recurring-service-events`.
    RecurringServiceEvents,
    /// `export/invoices`, rows with a membership.
    MembershipInvoices,
    /// `export/customers`: a changed customer marks its stored opportunities (index `gsi1`).
    Customers,
    /// `export/customers/contacts`: marks the stored opportunities of the contact's customer.
    CustomerContacts,
    /// `export/locations`: marks the customer's stored opportunities built with that location.
    Locations,
}

impl Feed {
    /// The feed's resource name, the last part of its progress keys (`appointments`).
    pub fn resource(self) -> &'static str {
        match self {
            Feed::Jobs => "jobs",
            Feed::Appointments => "appointments",
            Feed::AppointmentAssignments => "appointment-assignments",
            Feed::Estimates => "estimates",
            Feed::JobInvoices | Feed::MembershipInvoices => "invoices",
            Feed::JobCanceledLogs => "job-canceled-logs",
            Feed::Memberships => "memberships",
            Feed::RecurringServices => "recurring-services",
            Feed::RecurringServiceEvents => "recurring-service-events",
            Feed::Customers => "customers",
            Feed::CustomerContacts => "customer-contacts",
            Feed::Locations => "locations",
        }
    }

    /// The incremental progress key of this feed for `model` (`PROGRESS#<key>`): `job:estimates`.
    pub fn progress_key(self, model: Model) -> String {
        format!("{model}:{}", self.resource())
    }

    /// The backfill progress key of this feed for `model`: `backfill:job:estimates`.
    pub fn backfill_key(self, model: Model) -> String {
        format!("backfill:{model}:{}", self.resource())
    }

    /// The backfill's history progress key of this feed for `model`:
    /// `backfill-history:job:estimates` (see [`BackfillState::related_from`]).
    pub fn history_key(self, model: Model) -> String {
        format!("backfill-history:{model}:{}", self.resource())
    }

    /// Base feeds (jobs, memberships).
    fn is_base(self) -> bool {
        matches!(self, Feed::Jobs | Feed::Memberships)
    }

    /// Customer, contact and location feeds: they mark stored opportunities through the
    /// customer index and take no part in the backfill (a backfill rebuild reads customers,
    /// contacts and locations as they are now).
    fn is_people(self) -> bool {
        matches!(
            self,
            Feed::Customers | Feed::CustomerContacts | Feed::Locations
        )
    }

    fn endpoint(self) -> Endpoint {
        match self {
            Feed::Jobs => endpoints::EXPORT_JOBS,
            Feed::Appointments => endpoints::EXPORT_APPOINTMENTS,
            Feed::AppointmentAssignments => endpoints::EXPORT_APPOINTMENT_ASSIGNMENTS,
            Feed::Estimates => endpoints::EXPORT_ESTIMATES,
            Feed::JobInvoices | Feed::MembershipInvoices => endpoints::EXPORT_INVOICES,
            Feed::JobCanceledLogs => endpoints::EXPORT_JOB_CANCELED_LOGS,
            Feed::Memberships => endpoints::EXPORT_MEMBERSHIPS,
            Feed::RecurringServices => endpoints::EXPORT_RECURRING_SERVICES,
            Feed::RecurringServiceEvents => endpoints::EXPORT_RECURRING_SERVICE_EVENTS,
            Feed::Customers => endpoints::EXPORT_CUSTOMERS,
            Feed::CustomerContacts => endpoints::EXPORT_CUSTOMER_CONTACTS,
            Feed::Locations => endpoints::EXPORT_LOCATIONS,
        }
    }

    /// The incremental feeds `model` reads with `selection`, base feed first, then the selected
    /// related resources (only selected resources are requested from ServiceTitan, SPEC.md §2),
    /// then customers, customer contacts and locations (SPEC.md §3 "Change feeds").
    pub fn for_model(model: Model, selection: &ResourceSelection) -> Vec<Feed> {
        let uses = |r| selection.uses(model, r);
        let mut feeds = Vec::new();
        match model {
            Model::Job => {
                feeds.push(Feed::Jobs);
                if uses(Resource::Appointments) {
                    feeds.push(Feed::Appointments);
                }
                if uses(Resource::AppointmentAssignments) {
                    feeds.push(Feed::AppointmentAssignments);
                }
                if uses(Resource::Estimates) {
                    feeds.push(Feed::Estimates);
                }
                if uses(Resource::Invoices) {
                    feeds.push(Feed::JobInvoices);
                }
                if uses(Resource::CancelReasons) {
                    feeds.push(Feed::JobCanceledLogs);
                }
            }
            Model::Membership => {
                feeds.push(Feed::Memberships);
                if uses(Resource::RecurringServices) {
                    feeds.push(Feed::RecurringServices);
                }
                if uses(Resource::RecurringServiceEvents) {
                    feeds.push(Feed::RecurringServiceEvents);
                }
                if uses(Resource::Invoices) {
                    feeds.push(Feed::MembershipInvoices);
                }
            }
            Model::InboundCall => return feeds,
        }
        feeds.extend([Feed::Customers, Feed::CustomerContacts, Feed::Locations]);
        feeds
    }

    /// The feeds the activation backfill of `model` reads: those of [`Feed::for_model`] without
    /// the customer, contact and location feeds.
    pub fn backfill_for_model(model: Model, selection: &ResourceSelection) -> Vec<Feed> {
        Feed::for_model(model, selection)
            .into_iter()
            .filter(|f| !f.is_people())
            .collect()
    }
}

/// The model's selected optional resources as stored with its backfill: sorted names joined by
/// commas (`appointments,estimates,invoices`).
pub(crate) fn selection_key(model: Model, selection: &ResourceSelection) -> String {
    let mut names: Vec<&str> = Resource::optional_for(model)
        .iter()
        .filter(|r| selection.uses(model, **r))
        .map(|r| r.name())
        .collect();
    names.sort_unstable();
    names.join(",")
}

/// Rows of one `handle_page` call when a group is handled (an export page's worth).
const CHUNK_ROWS: usize = 500;

/// Backfill and history rows read before they are handled (ten export pages of 500): the
/// customers and locations a group's base records name are looked up together, in whole `ids=`
/// batches; the rows (a few MB) are then handled [`CHUNK_ROWS`] at a time.
const GROUP_ROWS: usize = 5_000;

/// How long before activation the incremental feeds still handle rows while the activation
/// backfill runs (older ones are the backfill's). Covers rows that become visible in the export
/// feeds late (API-NOTES §5.4: ~15 minutes without `includeRecentChanges`) and clock skew
/// between ServiceTitan and this service.
const ACTIVATION_MARGIN: chrono::Duration = chrono::Duration::minutes(30);

/// Feed rows read but not handled yet, and the progress to save once they are.
#[derive(Default)]
struct Group {
    rows: Vec<serde_json::Value>,
    /// The token after the group's last page (`None`: unchanged).
    token: Option<String>,
    records_read: u64,
    done: bool,
}

/// A feed is read either for the incremental sync (from the end of the backfill window on) or
/// for the backfill (its window only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Incremental,
    Backfill,
    /// The related feeds from the oldest `createdOn` of the backfilled base records up to the
    /// window's start: rows there only complete base records already stored.
    History,
}

/// The most merges followed from one customer (SPEC.md §5: `mergedToId` chains, loop-safe).
pub const MAX_MERGE_HOPS: usize = 10;

/// When a feed row last changed: its `modifiedOn`, else its `createdOn` (cancel logs).
fn row_time(row: &serde_json::Value) -> Option<DateTime<Utc>> {
    ["modifiedOn", "createdOn"]
        .iter()
        .find_map(|k| row.get(*k)?.as_str())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A feed `from` for the instant `t`: its UTC date (API-NOTES §5.4: `from` may be a plain date;
/// starting at midnight re-reads at most a day, which the idempotent upsert absorbs).
pub(crate) fn from_date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// Reference data, each list read at most once per run (on first need) and reused for every
/// page (SPEC.md §3). Inactive rows are read too (`active=Any`): old records still point at them.
#[derive(Default)]
pub(crate) struct Reference {
    business_units: Option<HashMap<Id, BusinessUnit>>,
    job_types: Option<HashMap<Id, JobType>>,
    campaigns: Option<HashMap<Id, Campaign>>,
    tag_types: Option<HashMap<Id, TagType>>,
    zones: Option<HashMap<Id, Zone>>,
    employees: Option<HashMap<Id, Employee>>,
    technicians: Option<HashMap<Id, Technician>>,
    cancel_reasons: Option<HashMap<Id, JobCancelReason>>,
    membership_types: Option<HashMap<Id, MembershipType>>,
}

async fn load_once<T: DeserializeOwned>(
    slot: &mut Option<HashMap<Id, T>>,
    client: &Client,
    endpoint: Endpoint,
    page_size: u32,
    ws: &str,
    id: impl Fn(&T) -> Id,
) -> Result<(), SyncError> {
    if slot.is_none() {
        let list: Vec<T> = client
            .list_all(endpoint, &[("active", "Any".to_owned())], page_size)
            .await
            .ws(ws)?;
        *slot = Some(list.into_iter().map(|r| (id(&r), r)).collect());
    }
    Ok(())
}

fn pick<T: Clone>(slot: &Option<HashMap<Id, T>>, id: Option<Id>) -> Option<T> {
    slot.as_ref()?.get(&id?).cloned()
}

fn pick_all<T: Clone>(slot: &Option<HashMap<Id, T>>, ids: impl IntoIterator<Item = Id>) -> Vec<T> {
    let Some(map) = slot.as_ref() else {
        return Vec::new();
    };
    let ids: BTreeSet<Id> = ids.into_iter().collect();
    ids.iter().filter_map(|id| map.get(id).cloned()).collect()
}

/// Records of one feed page, by kind (only the page's own kind is filled).
#[derive(Default)]
struct InHand {
    jobs: BTreeMap<Id, Job>,
    appointments: BTreeMap<Id, Appointment>,
    assignments: BTreeMap<Id, AppointmentAssignment>,
    estimates: BTreeMap<Id, Estimate>,
    invoices: BTreeMap<Id, Invoice>,
    logs: BTreeMap<Id, JobCanceledLog>,
    memberships: BTreeMap<Id, Membership>,
    services: BTreeMap<Id, RecurringService>,
    events: BTreeMap<Id, RecurringServiceEvent>,
}

/// Stored opportunities by external id.
type StoredMap = HashMap<String, StoredOpportunity>;

/// The base record's id, the opportunity rebuilt from it (or why it could not be mapped) and
/// the encoded [`Sources`] it was built from.
type Built = (Id, Result<Opportunity, MapError>, Option<String>);

/// The ServiceTitan records an opportunity was built from (its base record and the related
/// rows of its bundle, inactive ones included), kept with it in the store
/// ([`StoredOpportunity::sources`], JSON with the records in their wire shape). A later rebuild
/// (a feed row of one related record, a customer change) starts from them instead of looking
/// every record up again: the feeds bring each change, so they stay current. Customers,
/// contacts, locations and reference data are not kept (read per run).
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Sources {
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<Job>,
    #[serde(skip_serializing_if = "Option::is_none")]
    membership: Option<Membership>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    appointments: Vec<Appointment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    appointment_assignments: Vec<AppointmentAssignment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    estimates: Vec<Estimate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    invoices: Vec<Invoice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    job_canceled_logs: Vec<JobCanceledLog>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    recurring_services: Vec<RecurringService>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    recurring_service_events: Vec<RecurringServiceEvent>,
}

impl Sources {
    fn of_job(b: JobBundle) -> Sources {
        Sources {
            job: Some(b.job),
            appointments: b.appointments,
            appointment_assignments: b.appointment_assignments,
            estimates: b.estimates,
            invoices: b.invoices,
            job_canceled_logs: b.job_canceled_logs,
            ..Sources::default()
        }
    }

    fn of_membership(b: MembershipBundle) -> Sources {
        Sources {
            membership: Some(b.membership),
            recurring_services: b.recurring_services,
            recurring_service_events: b.recurring_service_events,
            invoices: b.invoices,
            ..Sources::default()
        }
    }

    /// JSON text; `None` (the opportunity is stored without sources) if it cannot serialize.
    fn encode(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }

    /// Add the records to a page's: the page's base record and rows win, unless a kept row
    /// is strictly newer.
    fn into_hand(self, hand: &mut InHand) {
        if let Some(j) = self.job {
            hand.jobs.entry(j.id).or_insert(j);
        }
        if let Some(m) = self.membership {
            hand.memberships.entry(m.id).or_insert(m);
        }
        merge(
            &mut hand.appointments,
            self.appointments,
            |a| a.id,
            |a| a.modified_on,
        );
        merge(
            &mut hand.assignments,
            self.appointment_assignments,
            |a| a.id,
            |a| a.modified_on,
        );
        merge(
            &mut hand.estimates,
            self.estimates,
            |e| e.id,
            |e| e.modified_on,
        );
        merge(
            &mut hand.invoices,
            self.invoices,
            |i| i.id,
            Invoice::last_modified,
        );
        for l in self.job_canceled_logs {
            hand.logs.entry(l.id).or_insert(l);
        }
        merge(
            &mut hand.services,
            self.recurring_services,
            |r| r.id,
            |r| r.modified_on,
        );
        merge(
            &mut hand.events,
            self.recurring_service_events,
            |e| e.id,
            |e| e.modified_on,
        );
    }
}

/// Records grouped by the base record they belong to (`base`; records without one dropped),
/// in id order within each group.
fn by_base<T>(records: BTreeMap<Id, T>, base: impl Fn(&T) -> Option<Id>) -> HashMap<Id, Vec<T>> {
    let mut out: HashMap<Id, Vec<T>> = HashMap::new();
    for r in records.into_values() {
        if let Some(b) = base(&r) {
            out.entry(b).or_default().push(r);
        }
    }
    out
}

/// Ids of related records listed in a stored opportunity's details under `list` (`list:<i>:id`).
fn stored_ids(details: &Details, list: &str) -> Vec<Id> {
    let prefix = format!("{list}:");
    details
        .iter()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(&prefix)?;
            let (index, field) = rest.split_once(':')?;
            (field == "id" && index.bytes().all(|b| b.is_ascii_digit())).then(|| v.as_i64())?
        })
        .collect()
}

/// Records of a flat (scalars only) record list carried in stored details
/// (`jobCanceledLogs:<i>:<field>`), rebuilt as JSON objects and decoded; undecodable ones are
/// dropped.
fn stored_records<T: DeserializeOwned>(details: &Details, list: &str) -> Vec<T> {
    let prefix = format!("{list}:");
    let mut objects: BTreeMap<usize, serde_json::Map<String, serde_json::Value>> = BTreeMap::new();
    for (k, v) in details {
        let Some(rest) = k.strip_prefix(&prefix) else {
            continue;
        };
        let Some((index, field)) = rest.split_once(':') else {
            continue;
        };
        let (Ok(index), false) = (index.parse::<usize>(), field.contains(':')) else {
            continue;
        };
        objects
            .entry(index)
            .or_default()
            .insert(field.to_owned(), v.clone());
    }
    objects
        .into_values()
        .filter_map(|o| serde_json::from_value(serde_json::Value::Object(o)).ok())
        .collect()
}

/// A record as JSON (for comparing it with stored details); `Null` if it cannot serialize.
fn json_of<T: serde::Serialize>(record: &T) -> serde_json::Value {
    serde_json::to_value(record).unwrap_or(serde_json::Value::Null)
}

/// Whether stored `details` already show the related record `row` (id `id`) as it is now: an
/// active row is listed under `pattern` (a catalog name ending in `:id`, e.g.
/// `appointments:#:assignments:#:id`) with the same `modifiedOn` (records without one, such as
/// cancel logs, only need to be listed); an inactive row is not listed.
fn reflects(
    details: &Details,
    updated_at: DateTime<Utc>,
    pattern: &str,
    id: Id,
    row: &serde_json::Value,
) -> bool {
    let listed = details.iter().find(|(k, v)| {
        v.as_i64() == Some(id)
            && k.ends_with(":id")
            && opportunity::catalog::normalize_key(k) == pattern
    });
    let active = row.get("active").and_then(|a| a.as_bool()).unwrap_or(true);
    match (listed, active) {
        (None, true) => false,
        // A deletion the opportunity has not seen yet still moves its External Updated At.
        (None, false) => row_time(row).is_none_or(|t| t <= updated_at),
        (Some(_), false) => false,
        (Some((key, _)), true) => {
            let sibling = format!("{}modifiedOn", &key[..key.len() - 2]);
            match row.get("modifiedOn").filter(|m| !m.is_null()) {
                Some(modified) => details.get(&sibling) == Some(modified),
                None => true,
            }
        }
    }
}

/// Put `fetched` into `into` unless a fresher copy (by `modified`) is already there.
fn merge<T>(
    into: &mut BTreeMap<Id, T>,
    fetched: Vec<T>,
    id: impl Fn(&T) -> Id,
    modified: impl Fn(&T) -> DateTime<Utc>,
) {
    for r in fetched {
        match into.get(&id(&r)) {
            Some(existing) if modified(existing) >= modified(&r) => {}
            _ => {
                into.insert(id(&r), r);
            }
        }
    }
}

/// Customers, contacts and locations read in this run, reused by later pages (most customers
/// have many jobs): a row of the customers, contacts or locations feed drops its entry, so a
/// change is always read fresh (SPEC.md §3: reference-like data read once per run).
#[derive(Default)]
struct PeopleCache {
    customers: HashMap<Id, Customer>,
    /// Customer ids looked up that ServiceTitan did not return.
    no_customer: BTreeSet<Id>,
    /// Contacts by customer id (an empty list: the customer has none).
    contacts: HashMap<Id, Vec<CustomerContact>>,
    locations: HashMap<Id, Location>,
    /// Location ids looked up that ServiceTitan did not return.
    no_location: BTreeSet<Id>,
}

impl PeopleCache {
    fn customer_unknown(&self, id: Id) -> bool {
        !self.customers.contains_key(&id) && !self.no_customer.contains(&id)
    }

    fn add_customers(&mut self, asked: &BTreeSet<Id>, fetched: Vec<Customer>) {
        self.no_customer.extend(asked.iter().copied());
        for c in fetched {
            self.no_customer.remove(&c.id);
            self.customers.insert(c.id, c);
        }
    }

    /// The next unknown customer on the `mergedToId` chain of each of `ids` (loop-safe).
    fn unknown_survivors(&self, ids: &BTreeSet<Id>) -> BTreeSet<Id> {
        let mut out = BTreeSet::new();
        for id in ids {
            let mut seen = vec![*id];
            let mut current = self.customers.get(id);
            while let Some(next) = current.and_then(|c| c.merged_to_id) {
                if seen.contains(&next) || seen.len() > MAX_MERGE_HOPS {
                    break;
                }
                seen.push(next);
                current = self.customers.get(&next);
                if current.is_none() && self.customer_unknown(next) {
                    out.insert(next);
                }
            }
        }
        out
    }

    /// A feed row says this customer, its contacts or this location changed.
    fn forget(&mut self, customer: Option<Id>, contacts_of: Option<Id>, location: Option<Id>) {
        if let Some(c) = customer {
            self.customers.remove(&c);
            self.no_customer.remove(&c);
        }
        if let Some(c) = contacts_of {
            self.contacts.remove(&c);
        }
        if let Some(l) = location {
            self.locations.remove(&l);
            self.no_location.remove(&l);
        }
    }
}

/// A changed customer, contact or location row: (customer id, location id for a location row,
/// catalog pattern of the row's id in details, row id, row as JSON).
type PeopleChange = (Id, Option<Id>, &'static str, Id, serde_json::Value);

/// Customers, contacts and locations for a page's rebuild.
struct People {
    /// By the base record's own `customerId`: the customer to use (the survivor of its merges)
    /// and the ids merged into it, starting with the own id (empty when not merged).
    customers: HashMap<Id, (Customer, Vec<Id>)>,
    /// Contacts by (surviving) customer id.
    contacts: HashMap<Id, Vec<CustomerContact>>,
    /// Locations by id.
    locations: HashMap<Id, Location>,
}

impl People {
    /// The customer, its contacts and the merge chain for a base record's `customerId`.
    fn of(&self, customer_id: Id) -> (Option<Customer>, Vec<CustomerContact>, Vec<Id>) {
        match self.customers.get(&customer_id) {
            Some((c, merged)) => (
                Some(c.clone()),
                self.contacts.get(&c.id).cloned().unwrap_or_default(),
                merged.clone(),
            ),
            None => (None, Vec::new(), Vec::new()),
        }
    }
}

/// Follow `mergedToId` from customer `id` through `all` (SPEC.md §5, loop-safe): the last
/// customer reached before the chain ends, leaves `all`, loops or exceeds [`MAX_MERGE_HOPS`],
/// with the ids merged into it (starting with `id`; empty when `id` itself is used). `None` when
/// `id` is not in `all`.
fn resolve_merges(all: &HashMap<Id, Customer>, id: Id) -> Option<(Customer, Vec<Id>)> {
    let mut current = all.get(&id)?;
    let mut chain = vec![id];
    while let Some(next) = current.merged_to_id {
        if chain.contains(&next) || chain.len() > MAX_MERGE_HOPS {
            break;
        }
        let Some(survivor) = all.get(&next) else {
            break;
        };
        chain.push(next);
        current = survivor;
    }
    chain.pop();
    Some((current.clone(), chain))
}

/// The answer of [`Store::opportunities_for_customer`]: `(model, external id)` pairs.
type CustomerOpportunities = Result<Vec<(Model, String)>, store::StoreError>;

/// A rebuild from current state never moves External Updated At back (SPEC.md §5 would refuse
/// the write): a related row ServiceTitan no longer returns (deleted, on a list endpoint without
/// `active=Any`) drops out of the bundle, but its deletion was a change. Keeps the stored value
/// when it is newer.
fn not_before(
    mut mapped: Result<Opportunity, MapError>,
    stored: Option<&StoredOpportunity>,
) -> Result<Opportunity, MapError> {
    if let (Ok(o), Some(s)) = (&mut mapped, stored) {
        let before = s.opportunity.standard.external_updated_at;
        if before > o.standard.external_updated_at {
            o.standard.external_updated_at = before;
        }
    }
    mapped
}

/// The base records counted as bad in one run, by `<model> <id>`. A record that cannot be
/// mapped or stored fails again each time a feed of the same run rebuilds it (jobs, then
/// appointments, assignments, estimates...), with a message that may differ (its size grows
/// with the rows merged in); it is one bad record (SPEC.md §4 "counted").
#[derive(Debug, Default)]
struct BadRecords(BTreeSet<String>);

impl BadRecords {
    /// Count `message` in `report` unless `key` was already counted.
    fn note(&mut self, report: &mut SyncReport, key: String, message: String) {
        if self.0.insert(key) {
            report.note_bad(message);
        }
    }
}

/// One sync run of one model for one integration.
pub(crate) struct Run<'a> {
    client: &'a Client,
    store: &'a Store,
    integration: &'a Integration,
    now: DateTime<Utc>,
    opts: &'a SyncOptions,
    model: Model,
    mapping: MappingConfig,
    reference: Reference,
    /// The oldest `createdOn` of the base records written since the last page (backfill).
    created_floor: Option<DateTime<Utc>>,
    /// The phase of the feed being read.
    phase: Phase,
    cache: PeopleCache,
    /// The base records already counted as bad in this run.
    bad_seen: BadRecords,
    /// The base record ids ServiceTitan did not return, counted once per run.
    missing_seen: BTreeSet<Id>,
    /// The contacts of the customers resolved in this run.
    contacts: KnownContacts,
    pub(crate) report: SyncReport,
}

impl<'a> Run<'a> {
    pub(crate) fn new(
        client: &'a Client,
        store: &'a Store,
        integration: &'a Integration,
        model: Model,
        now: DateTime<Utc>,
        opts: &'a SyncOptions,
    ) -> Run<'a> {
        Run {
            client,
            store,
            integration,
            now,
            opts,
            model,
            mapping: MappingConfig::from_integration(integration),
            reference: Reference::default(),
            created_floor: None,
            phase: Phase::Incremental,
            cache: PeopleCache::default(),
            bad_seen: BadRecords::default(),
            missing_seen: BTreeSet::new(),
            contacts: KnownContacts::default(),
            report: SyncReport {
                workspace_id: integration.workspace_id.clone(),
                ..SyncReport::default()
            },
        }
    }

    fn ws(&self) -> &'a str {
        self.integration.workspace_id.as_str()
    }

    fn uses(&self, r: Resource) -> bool {
        self.integration.resources.uses(self.model, r)
    }

    /// One run: the incremental feeds (base, related, people) from their tokens, then, while the
    /// model's backfill is unfinished, its feeds through the backfill window; stops taking pages
    /// at the deadline. Fills the report's API and store counters.
    pub(crate) async fn run(mut self) -> Result<SyncReport, SyncError> {
        let api_before = self.client.stats();
        let writes_before = self.store.stats().item_writes;
        let mut backfill = self.backfill_state().await?;
        let mut caught_up = true;
        for feed in Feed::for_model(self.model, &self.integration.resources) {
            if !self
                .read_feed(feed, Phase::Incremental, &mut backfill)
                .await?
            {
                caught_up = false;
                break;
            }
        }
        let mut backfill_done = backfill.finished_at.is_some();
        if caught_up && !backfill_done {
            backfill_done = true;
            for feed in Feed::backfill_for_model(self.model, &self.integration.resources) {
                if !self.read_feed(feed, Phase::Backfill, &mut backfill).await? {
                    backfill_done = false;
                    break;
                }
            }
            // Then the related rows older than the window of the base records it found.
            if backfill_done && backfill.related_from.is_some() {
                for feed in Feed::backfill_for_model(self.model, &self.integration.resources)
                    .into_iter()
                    .filter(|f| !f.is_base())
                {
                    if !self.read_feed(feed, Phase::History, &mut backfill).await? {
                        backfill_done = false;
                        break;
                    }
                }
            }
            if backfill_done {
                let ws = self.ws();
                let finished = BackfillState {
                    finished_at: Some(self.now),
                    ..backfill
                };
                self.store.put_backfill(ws, &finished).await.ws(ws)?;
                info!(model = %self.model, "backfill finished");
            }
        }
        let api = self.client.stats();
        self.report.caught_up = caught_up && backfill_done;
        self.report.backfill_done = backfill_done;
        self.report.api_calls = api.api_calls - api_before.api_calls;
        self.report.throttled = api.throttled - api_before.throttled;
        self.report.store_writes = self.store.stats().item_writes - writes_before;
        info!(
            model = %self.model,
            written = self.report.opportunities_written,
            unchanged = self.report.opportunities_unchanged,
            refused = self.report.opportunities_refused,
            bad = self.report.bad_records,
            api_calls = self.report.api_calls,
            backfill_done,
            feed_lag_seconds = self.report.feed_lag_seconds,
            "sync finished"
        );
        Ok(self.report)
    }

    /// The model's backfill (SPEC.md §3 "Activation"): the stored one while the resource
    /// selection is the one it started for; else a new one, saved before any page is read: the
    /// first covers `backfill_days` before activation, a later one (the selection changed)
    /// the same span before now, with its feeds' tokens reset, so newly selected resources fill
    /// in (SPEC.md §2, issue #7: settings take effect on the next run).
    async fn backfill_state(&mut self) -> Result<BackfillState, SyncError> {
        let (store, ws, model) = (self.store, self.ws(), self.model);
        let selection = selection_key(model, &self.integration.resources);
        let previous = store.get_backfill(ws, &model.to_string()).await.ws(ws)?;
        if let Some(b) = previous.as_ref().filter(|b| b.selection == selection) {
            return Ok(b.clone());
        }
        let window_to = match &previous {
            None => self.integration.activated_at,
            Some(_) => self.now,
        };
        if let Some(old) = &previous {
            info!(%model, from = %old.selection, to = %selection, "resource selection changed; backfill starts again");
            for feed in Feed::backfill_for_model(model, &self.integration.resources) {
                let key = feed.backfill_key(model);
                if store.get_progress(ws, &key).await.ws(ws)?.is_some() {
                    let reset = FeedProgress {
                        feed: key,
                        token: None,
                        updated_at: self.now,
                        records_read: 0,
                        done: false,
                    };
                    store.put_progress(ws, &reset).await.ws(ws)?;
                }
            }
        }
        let b = BackfillState {
            model: model.to_string(),
            selection,
            window_from: window_to - chrono::Duration::days(self.opts.backfill_days),
            window_to,
            started_at: self.now,
            finished_at: None,
            related_from: None,
        };
        store.put_backfill(ws, &b).await.ws(ws)?;
        Ok(b)
    }

    /// One feed from its saved token: to its end (`Ok(true)`; for a backfill feed, to the first
    /// row at or after the window's end, then marked done) or to the deadline (`Ok(false)`).
    /// A feed without a token starts at the window's start (backfill) or end (incremental).
    async fn read_feed(
        &mut self,
        feed: Feed,
        phase: Phase,
        backfill: &mut BackfillState,
    ) -> Result<bool, SyncError> {
        let ws = self.ws();
        let key = match phase {
            Phase::Incremental => feed.progress_key(self.model),
            Phase::Backfill => feed.backfill_key(self.model),
            Phase::History => feed.history_key(self.model),
        };
        let progress = self.store.get_progress(ws, &key).await.ws(ws)?;
        if progress.as_ref().is_some_and(|p| p.done) {
            return Ok(true);
        }
        let saved_at = progress.as_ref().map(|p| p.updated_at);
        let mut records_total = progress.as_ref().map_or(0, |p| p.records_read);
        let mut from = progress
            .and_then(|p| p.token)
            .unwrap_or_else(|| match phase {
                Phase::Incremental => from_date(backfill.window_to),
                Phase::Backfill => from_date(backfill.window_from),
                Phase::History => from_date(backfill.related_from.unwrap_or(backfill.window_from)),
            });
        // History rows only matter to base records already stored.
        let old_before = (phase == Phase::History).then_some(backfill.window_from);
        // While the activation backfill runs, the incremental feeds (which start at the
        // activation's date) leave older rows to it: it reads every one of them and builds
        // each record once, with whole batches of lookups.
        let initial =
            backfill.finished_at.is_none() && backfill.window_to == self.integration.activated_at;
        let left_to_backfill = (phase == Phase::Incremental && initial)
            .then(|| backfill.window_to - ACTIVATION_MARGIN);
        // Where this phase ends (exclusive): incremental feeds never end.
        let end = match phase {
            Phase::Incremental => None,
            Phase::Backfill => Some(backfill.window_to),
            Phase::History => Some(backfill.window_from),
        };
        self.created_floor = None;
        self.phase = phase;
        let mut last_row: Option<DateTime<Utc>> = saved_at;
        // Backfill and history pages are handled in groups of about GROUP_ROWS rows, so the
        // lookups of one group fill whole `ids=` batches; the token is saved after each group.
        let group_rows = match phase {
            Phase::Incremental => 0,
            Phase::Backfill | Phase::History => GROUP_ROWS,
        };
        let mut group = Group::default();
        loop {
            if self.opts.deadline.is_some_and(|d| Instant::now() >= d) {
                self.flush(feed, &key, &mut group, phase, backfill, old_before)
                    .await?;
                info!(
                    feed = %key,
                    "soft deadline reached; the next run resumes from the saved token"
                );
                if phase == Phase::Incremental {
                    self.note_lag(last_row);
                }
                return Ok(false);
            }
            let page = self
                .client
                .export_page(
                    feed.endpoint(),
                    Some(&from),
                    self.opts.include_recent_changes,
                )
                .await
                .ws(ws)?;
            self.report.pages += 1;
            let rows = page.data.len() as u64;
            self.report.records_read += rows;
            if let Some(t) = page.data.iter().filter_map(row_time).max() {
                last_row = Some(t);
            }
            // Export rows come in modifiedOn order: once one reaches the window's end, the
            // incremental feeds have the rest.
            let window_end =
                end.is_some_and(|end| page.data.iter().filter_map(row_time).any(|t| t >= end));
            let done = end.is_some() && (window_end || !page.has_more);
            records_total += rows;
            match left_to_backfill {
                Some(before) => group.rows.extend(
                    page.data
                        .into_iter()
                        .filter(|r| row_time(r).is_none_or(|t| t >= before)),
                ),
                None => group.rows.extend(page.data),
            }
            group.records_read = records_total;
            group.done = done;
            if page.continue_from != from || done {
                group.token = Some(page.continue_from.clone());
                from = page.continue_from;
            }
            if done || !page.has_more || group.rows.len() >= group_rows {
                self.flush(feed, &key, &mut group, phase, backfill, old_before)
                    .await?;
            }
            if done || !page.has_more {
                if phase == Phase::Incremental {
                    self.note_lag(None);
                }
                return Ok(true);
            }
        }
    }

    /// Handle the rows of `group`, then save its token (when it moved, or the feed is done);
    /// the group is empty afterwards. In the backfill, first lower the history floor to the
    /// oldest base record written (saved before the token: a resumed backfill never forgets
    /// it).
    async fn flush(
        &mut self,
        feed: Feed,
        key: &str,
        group: &mut Group,
        phase: Phase,
        backfill: &mut BackfillState,
        old_before: Option<DateTime<Utc>>,
    ) -> Result<(), SyncError> {
        let ws = self.ws();
        let mut rows = std::mem::take(&mut group.rows);
        if feed.is_base() && rows.len() > CHUNK_ROWS {
            self.prefetch_people(&rows).await?;
        }
        // Handled a page's worth at a time: the stored opportunities and bundles of a chunk
        // are what the engine holds in memory.
        while !rows.is_empty() {
            let rest = rows.split_off(rows.len().min(CHUNK_ROWS));
            self.handle_page(feed, rows, old_before).await?;
            rows = rest;
        }
        let oldest_created = if phase == Phase::Backfill {
            self.created_floor.take()
        } else {
            None
        };
        if let Some(created) =
            oldest_created.filter(|c| *c < backfill.related_from.unwrap_or(backfill.window_from))
        {
            backfill.related_from = Some(created);
            self.store.put_backfill(ws, backfill).await.ws(ws)?;
        }
        if let Some(token) = group.token.take() {
            let p = FeedProgress {
                feed: key.to_owned(),
                token: Some(token),
                updated_at: self.now,
                records_read: group.records_read,
                done: group.done,
            };
            self.store.put_progress(ws, &p).await.ws(ws)?;
        }
        Ok(())
    }

    /// Put the customers (with their merge survivors and contacts) and locations that the
    /// base-record rows of a group name (`customerId`, `locationId`) in the run's cache, in
    /// whole `ids=` batches for the group rather than one partial batch per chunk.
    async fn prefetch_people(&mut self, rows: &[serde_json::Value]) -> Result<(), SyncError> {
        let id = |row: &serde_json::Value, key: &str| row.get(key).and_then(|v| v.as_i64());
        let customers: BTreeSet<Id> = rows.iter().filter_map(|r| id(r, "customerId")).collect();
        let locations: BTreeSet<Id> = rows.iter().filter_map(|r| id(r, "locationId")).collect();
        self.people(&customers, &locations).await.map(drop)
    }

    /// Feed lag (SPEC.md §9 metrics): 0 for a feed read to its end, else the age of the newest
    /// row it had reached (or of its saved progress); the report keeps the largest.
    fn note_lag(&mut self, behind: Option<DateTime<Utc>>) {
        let lag = behind.map_or(0, |t| (self.now - t).num_seconds().max(0) as u64);
        self.report.feed_lag_seconds = self.report.feed_lag_seconds.max(lag);
    }

    fn decode<T: DeserializeOwned>(
        &mut self,
        resource: &'static str,
        rows: Vec<serde_json::Value>,
    ) -> Vec<T> {
        let (good, bad) = decode_rows::<T>(resource, rows);
        for b in bad {
            warn!(resource = b.resource, id = ?b.id, field = %b.field, "bad record skipped");
            self.report.note_bad(b.to_string());
        }
        good
    }

    /// Decode a page, find the base records it affects, rebuild and write them.
    /// `old_before`: related rows changed before this instant (a backfill reading history older
    /// than its window) only affect base records already stored.
    async fn handle_page(
        &mut self,
        feed: Feed,
        rows: Vec<serde_json::Value>,
        old_before: Option<DateTime<Utc>>,
    ) -> Result<(), SyncError> {
        let mut hand = InHand::default();
        let mut affected: BTreeSet<Id> = BTreeSet::new();
        // (base id, catalog list pattern, row id, row as JSON): what each related row would add.
        let mut related: Vec<(Id, &'static str, Id, serde_json::Value)> = Vec::new();
        let mut people: Vec<PeopleChange> = Vec::new();
        // Feeds may repeat a row; the last copy is the newest.
        match feed {
            Feed::Jobs => {
                for j in self.decode::<Job>("job", rows) {
                    affected.insert(j.id);
                    hand.jobs.insert(j.id, j);
                }
            }
            Feed::Appointments => {
                for a in self.decode::<Appointment>("appointment", rows) {
                    related.push((a.job_id, "appointments:#:id", a.id, json_of(&a)));
                    affected.insert(a.job_id);
                    hand.appointments.insert(a.id, a);
                }
            }
            Feed::AppointmentAssignments => {
                for a in self.decode::<AppointmentAssignment>("appointmentAssignment", rows) {
                    related.push((
                        a.job_id,
                        "appointments:#:assignments:#:id",
                        a.id,
                        json_of(&a),
                    ));
                    affected.insert(a.job_id);
                    hand.assignments.insert(a.id, a);
                }
            }
            Feed::Estimates => {
                for e in self.decode::<Estimate>("estimate", rows) {
                    if let Some(job) = e.job_id {
                        related.push((job, "estimates:#:id", e.id, json_of(&e)));
                        affected.insert(job);
                        hand.estimates.insert(e.id, e);
                    }
                }
            }
            Feed::JobInvoices => {
                for i in self.decode::<Invoice>("invoice", rows) {
                    if let Some(job) = i.job.as_ref().map(|j| j.id) {
                        related.push((job, "invoices:#:id", i.id, json_of(&i)));
                        affected.insert(job);
                        hand.invoices.insert(i.id, i);
                    }
                }
            }
            Feed::JobCanceledLogs => {
                for l in self.decode::<JobCanceledLog>("jobCanceledLog", rows) {
                    related.push((l.job_id, "jobCanceledLogs:#:id", l.id, json_of(&l)));
                    affected.insert(l.job_id);
                    hand.logs.insert(l.id, l);
                }
            }
            Feed::Memberships => {
                for m in self.decode::<Membership>("membership", rows) {
                    affected.insert(m.id);
                    hand.memberships.insert(m.id, m);
                }
            }
            Feed::RecurringServices => {
                for r in self.decode::<RecurringService>("recurringService", rows) {
                    if let Some(m) = r.membership_id {
                        related.push((m, "recurringServices:#:id", r.id, json_of(&r)));
                        affected.insert(m);
                        hand.services.insert(r.id, r);
                    }
                }
            }
            Feed::RecurringServiceEvents => {
                for e in self.decode::<RecurringServiceEvent>("recurringServiceEvent", rows) {
                    if let Some(m) = e.membership_id {
                        related.push((m, "recurringServiceEvents:#:id", e.id, json_of(&e)));
                        affected.insert(m);
                        hand.events.insert(e.id, e);
                    }
                }
            }
            Feed::MembershipInvoices => {
                for i in self.decode::<Invoice>("invoice", rows) {
                    if let Some(m) = i.membership_id {
                        related.push((m, "invoices:#:id", i.id, json_of(&i)));
                        affected.insert(m);
                        hand.invoices.insert(i.id, i);
                    }
                }
            }
            Feed::Customers => {
                for c in self.decode::<Customer>("customer", rows) {
                    self.cache.forget(Some(c.id), None, None);
                    people.push((c.id, None, "customer:id", c.id, json_of(&c)));
                }
            }
            Feed::CustomerContacts => {
                for c in self.decode::<CustomerContact>("customerContact", rows) {
                    if let Some(owner) = c.customer_id {
                        self.cache.forget(None, Some(owner), None);
                        people.push((owner, None, "customer:contacts:#:id", c.id, json_of(&c)));
                    }
                }
            }
            Feed::Locations => {
                for l in self.decode::<Location>("location", rows) {
                    self.cache.forget(None, None, Some(l.id));
                    people.push((l.customer_id, Some(l.id), "location:id", l.id, json_of(&l)));
                }
            }
        }
        if !people.is_empty() {
            affected = self.marked_by_people(&people).await?;
        }
        let mut known: Option<StoredMap> = None;
        if !related.is_empty() && !affected.is_empty() {
            // A related row the stored opportunity already shows as it is (same id, same
            // `modifiedOn`, still active) changes nothing: skip rebuilding for it. This keeps
            // a backfill from rebuilding every job once per related feed.
            let stored = self.stored(&affected).await?;
            let mut needed: BTreeSet<Id> = BTreeSet::new();
            for (base, pattern, id, row) in &related {
                let opportunity = stored.get(&base.to_string()).map(|s| &s.opportunity);
                // A page re-read after a crash may rebuild nothing: the history floor still
                // counts the base records it touches.
                if let Some(created) = opportunity.map(|o| o.standard.external_created_at) {
                    if self.created_floor.is_none_or(|f| created < f) {
                        self.created_floor = Some(created);
                    }
                }
                let old = old_before.is_some_and(|w| row_time(row).is_some_and(|t| t < w));
                if opportunity.is_none() && old {
                    continue;
                }
                let shown = opportunity.is_some_and(|o| {
                    reflects(
                        &o.details,
                        o.standard.external_updated_at,
                        pattern,
                        *id,
                        row,
                    )
                });
                if !shown {
                    needed.insert(*base);
                }
            }
            affected = needed;
            known = Some(stored);
        }
        if affected.is_empty() {
            return Ok(());
        }
        let mapped = match self.model {
            Model::Job => self.rebuild_jobs(affected, hand, known).await?,
            Model::Membership => self.rebuild_memberships(affected, hand, known).await?,
            Model::InboundCall => Vec::new(),
        };
        self.write(mapped).await
    }

    /// The stored opportunities of this model that changed customers, contacts or locations
    /// (`people`) affect: found through the customer index (`gsi1`, SPEC.md §3: never a scan;
    /// queries 8 at a time), narrowed to those built with the changed location, and skipped
    /// when their details already show the row as it is.
    async fn marked_by_people(
        &mut self,
        people: &[PeopleChange],
    ) -> Result<BTreeSet<Id>, SyncError> {
        // A location of a merged customer: its opportunities are filed under the survivor.
        let located: BTreeSet<Id> = people
            .iter()
            .filter(|p| p.1.is_some())
            .map(|p| p.0)
            .collect();
        let mut survivor_of: HashMap<Id, Id> = HashMap::new();
        if !located.is_empty() {
            self.resolve_customers(&located).await?;
            for id in &located {
                if let Some((c, _)) = resolve_merges(&self.cache.customers, *id) {
                    if c.id != *id {
                        survivor_of.insert(*id, c.id);
                    }
                }
            }
        }
        let people: Vec<PeopleChange> = people
            .iter()
            .cloned()
            .chain(people.iter().filter_map(|p| {
                let survivor = *survivor_of.get(&p.0)?;
                Some((survivor, p.1, p.2, p.3, p.4.clone()))
            }))
            .collect();
        let people = people.as_slice();
        let (store, ws, model) = (self.store, self.ws(), self.model);
        let customers: BTreeSet<Id> = people.iter().map(|p| p.0).collect();
        let found: Vec<(Id, CustomerOpportunities)> = futures::stream::iter(customers)
            .map(|c| async move {
                (
                    c,
                    store.opportunities_for_customer(ws, &c.to_string()).await,
                )
            })
            .buffer_unordered(8)
            .collect()
            .await;
        let mut by_customer: HashMap<Id, Vec<Id>> = HashMap::new();
        for (customer, result) in found {
            let ids = result
                .ws(ws)?
                .into_iter()
                .filter(|(m, _)| *m == model)
                .filter_map(|(_, id)| id.parse::<Id>().ok());
            by_customer.entry(customer).or_default().extend(ids);
        }
        let bases: BTreeSet<Id> = by_customer.values().flatten().copied().collect();
        if bases.is_empty() {
            return Ok(bases);
        }
        let stored = self.stored(&bases).await?;
        let mut marked = BTreeSet::new();
        for (customer, location, pattern, id, row) in people {
            for base in by_customer.get(customer).into_iter().flatten() {
                let Some(s) = stored.get(&base.to_string()) else {
                    continue;
                };
                let details = &s.opportunity.details;
                let built_with =
                    |l: &Id| details.get("location:id").and_then(|v| v.as_i64()) == Some(*l);
                if location.as_ref().is_some_and(|l| !built_with(l)) {
                    continue;
                }
                let updated_at = s.opportunity.standard.external_updated_at;
                if !reflects(details, updated_at, pattern, *id, row) {
                    marked.insert(*base);
                }
            }
        }
        Ok(marked)
    }

    async fn by_ids<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        param: &str,
        ids: impl IntoIterator<Item = Id>,
        include_inactive: bool,
    ) -> Result<Vec<T>, SyncError> {
        let ids: Vec<Id> = ids
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.client
            .list_by_ids(endpoint, param, &ids, include_inactive)
            .await
            .ws(self.ws())
    }

    async fn stored(
        &self,
        ids: &BTreeSet<Id>,
    ) -> Result<HashMap<String, StoredOpportunity>, SyncError> {
        let external: Vec<String> = ids.iter().map(Id::to_string).collect();
        self.store
            .get_opportunities(self.ws(), self.model, &external)
            .await
            .ws(self.ws())
    }

    /// Customers (also inactive/merged) resolved along their `mergedToId` chains, the
    /// survivors' contacts, and the locations, by id; a few `ids=` lookups per page, one more
    /// per merge hop (SPEC.md §5).
    /// Put `customer_ids` and the customers along their `mergedToId` chains in the run's cache:
    /// those not there yet, one `ids=` lookup per merge hop.
    async fn resolve_customers(&mut self, customer_ids: &BTreeSet<Id>) -> Result<(), SyncError> {
        let mut wanted: BTreeSet<Id> = customer_ids
            .iter()
            .filter(|id| self.cache.customer_unknown(**id))
            .copied()
            .collect();
        for _ in 0..=MAX_MERGE_HOPS {
            if wanted.is_empty() {
                break;
            }
            let fetched: Vec<Customer> = self
                .by_ids(endpoints::CUSTOMERS, "ids", wanted.iter().copied(), true)
                .await?;
            self.cache.add_customers(&wanted, fetched);
            wanted = self.cache.unknown_survivors(customer_ids);
        }
        Ok(())
    }

    async fn people(
        &mut self,
        customer_ids: &BTreeSet<Id>,
        location_ids: &BTreeSet<Id>,
    ) -> Result<People, SyncError> {
        self.resolve_customers(customer_ids).await?;
        let resolved: HashMap<Id, (Customer, Vec<Id>)> = customer_ids
            .iter()
            .filter_map(|id| resolve_merges(&self.cache.customers, *id).map(|r| (*id, r)))
            .collect();
        let owners: BTreeSet<Id> = resolved
            .values()
            .map(|(c, _)| c.id)
            .filter(|id| !self.cache.contacts.contains_key(id))
            .collect();
        let contacts: Vec<CustomerContact> = self
            .by_ids(
                endpoints::CUSTOMER_CONTACTS,
                "customerIds",
                owners.iter().copied(),
                false,
            )
            .await?;
        for owner in &owners {
            self.cache.contacts.insert(*owner, Vec::new());
        }
        for c in contacts {
            if let Some(owner) = c.customer_id {
                self.cache.contacts.entry(owner).or_default().push(c);
            }
        }
        let missing: BTreeSet<Id> = location_ids
            .iter()
            .filter(|id| {
                !self.cache.locations.contains_key(id) && !self.cache.no_location.contains(id)
            })
            .copied()
            .collect();
        let locations: Vec<Location> = self
            .by_ids(endpoints::LOCATIONS, "ids", missing.iter().copied(), true)
            .await?;
        self.cache.no_location.extend(missing);
        for l in locations {
            self.cache.no_location.remove(&l.id);
            self.cache.locations.insert(l.id, l);
        }
        let owners: BTreeSet<Id> = resolved.values().map(|(c, _)| c.id).collect();
        Ok(People {
            contacts: owners
                .iter()
                .filter_map(|o| Some((*o, self.cache.contacts.get(o)?.clone())))
                .collect(),
            locations: location_ids
                .iter()
                .filter_map(|l| Some((*l, self.cache.locations.get(l)?.clone())))
                .collect(),
            customers: resolved,
        })
    }

    /// Load the reference lists this model and selection need (each once per run).
    async fn load_reference(&mut self) -> Result<(), SyncError> {
        let (client, ws, size) = (self.client, self.ws(), self.opts.list_page_size);
        let model = self.model;
        let uses = |r| self.integration.resources.uses(model, r);
        let (campaigns, tags, zones, people, reasons) = (
            uses(Resource::Campaigns),
            uses(Resource::TagTypes),
            uses(Resource::Zones),
            uses(Resource::EmployeesTechnicians),
            uses(Resource::CancelReasons),
        );
        let r = &mut self.reference;
        load_once(
            &mut r.business_units,
            client,
            endpoints::BUSINESS_UNITS,
            size,
            ws,
            |b| b.id,
        )
        .await?;
        match model {
            Model::Job => {
                load_once(
                    &mut r.job_types,
                    client,
                    endpoints::JOB_TYPES,
                    size,
                    ws,
                    |t| t.id,
                )
                .await?;
                if zones {
                    load_once(&mut r.zones, client, endpoints::ZONES, size, ws, |z| z.id).await?;
                }
                if reasons {
                    load_once(
                        &mut r.cancel_reasons,
                        client,
                        endpoints::JOB_CANCEL_REASONS,
                        size,
                        ws,
                        |c| c.id,
                    )
                    .await?;
                }
            }
            Model::Membership => {
                load_once(
                    &mut r.membership_types,
                    client,
                    endpoints::MEMBERSHIP_TYPES,
                    size,
                    ws,
                    |t| t.id,
                )
                .await?;
            }
            Model::InboundCall => {}
        }
        if campaigns {
            load_once(
                &mut r.campaigns,
                client,
                endpoints::CAMPAIGNS,
                size,
                ws,
                |c| c.id,
            )
            .await?;
        }
        if tags {
            load_once(
                &mut r.tag_types,
                client,
                endpoints::TAG_TYPES,
                size,
                ws,
                |t| t.id,
            )
            .await?;
        }
        if people {
            load_once(
                &mut r.employees,
                client,
                endpoints::EMPLOYEES,
                size,
                ws,
                |e| e.id,
            )
            .await?;
            load_once(
                &mut r.technicians,
                client,
                endpoints::TECHNICIANS,
                size,
                ws,
                |t| t.id,
            )
            .await?;
        }
        Ok(())
    }

    /// The opportunities stored for `ids`: `known` when the caller already read them (a read of
    /// a superset of `ids`), else one batched store read.
    async fn stored_for(
        &self,
        ids: &BTreeSet<Id>,
        known: Option<StoredMap>,
    ) -> Result<StoredMap, SyncError> {
        match known {
            Some(s) => Ok(s),
            None => self.stored(ids).await,
        }
    }

    /// Put the source records kept with the stored opportunities of `ids` into `hand` (rows
    /// of the page win unless a kept copy is strictly newer); the ids whose sources were read.
    /// Undecodable sources are logged and treated as missing (the opportunity is rebuilt as
    /// one stored without them).
    fn take_sources(
        &self,
        ids: &BTreeSet<Id>,
        stored: &StoredMap,
        hand: &mut InHand,
    ) -> BTreeSet<Id> {
        let mut known = BTreeSet::new();
        for id in ids {
            let Some(text) = stored
                .get(&id.to_string())
                .and_then(|s| s.sources.as_deref())
            else {
                continue;
            };
            match serde_json::from_str::<Sources>(text) {
                Ok(s) => {
                    s.into_hand(hand);
                    known.insert(*id);
                }
                Err(e) => {
                    warn!(model = %self.model, id, error = %e, "stored source records unreadable; rebuilding from lookups")
                }
            }
        }
        known
    }

    /// The base records of `ids`: from the page or the stored sources (already in `in_hand`),
    /// else by `ids=` from ServiceTitan (`fix` adjusts fetched rows); in id order.
    ///
    /// An id ServiceTitan does not return (the job or membership was deleted or made inactive,
    /// or a related row names one that never existed) has nothing to rebuild: its related rows
    /// are skipped, counted in [`SyncReport::missing_bases`] (once per run) and logged with the
    /// first ids.
    async fn bases<T: DeserializeOwned>(
        &mut self,
        ids: &BTreeSet<Id>,
        in_hand: &mut BTreeMap<Id, T>,
        endpoint: Endpoint,
        include_inactive: bool,
        fix: impl Fn(&mut T),
        id_of: impl Fn(&T) -> Id,
    ) -> Result<Vec<T>, SyncError> {
        let missing: Vec<Id> = ids
            .iter()
            .filter(|id| !in_hand.contains_key(id))
            .copied()
            .collect();
        let fetched: Vec<T> = self
            .by_ids(endpoint, "ids", missing, include_inactive)
            .await?;
        for mut r in fetched {
            fix(&mut r);
            in_hand.insert(id_of(&r), r);
        }
        let missing: Vec<Id> = ids
            .iter()
            .filter(|id| !in_hand.contains_key(id))
            .copied()
            .collect();
        let new = missing
            .iter()
            .filter(|id| self.missing_seen.insert(**id))
            .count();
        self.report.missing_bases += new as u64;
        if new > 0 {
            info!(
                model = %self.model,
                count = missing.len(),
                first = ?&missing[..missing.len().min(5)],
                "related rows name base records ServiceTitan does not return (deleted, inactive or unknown); skipped"
            );
        }
        Ok(ids.iter().filter_map(|id| in_hand.remove(id)).collect())
    }

    /// Whether a rebuild of base record `id` must look up related records by id: stored
    /// without source records (the ids its details list), or new to the store outside the
    /// backfill (the ids it carries; in the backfill its related feeds bring them, and the
    /// history pass the older ones).
    fn needs_lookups(&self, id: Id, known: &BTreeSet<Id>, stored: &StoredMap) -> bool {
        !known.contains(&id)
            && (stored.contains_key(&id.to_string()) || self.phase == Phase::Incremental)
    }

    /// Rebuild the job opportunities of `job_ids` from the page's rows, the source records kept
    /// with their stored opportunities and lookups for what neither has (see
    /// [`Run::needs_lookups`]).
    async fn rebuild_jobs(
        &mut self,
        job_ids: BTreeSet<Id>,
        mut hand: InHand,
        stored: Option<StoredMap>,
    ) -> Result<Vec<Built>, SyncError> {
        let stored = self.stored_for(&job_ids, stored).await?;
        let known = self.take_sources(&job_ids, &stored, &mut hand);
        // Jobs by ids are active only (list rows carry no `active`): marked active so details
        // match the export rows'.
        let jobs = self
            .bases(
                &job_ids,
                &mut hand.jobs,
                endpoints::JOBS,
                false,
                |j: &mut Job| j.active = Some(true),
                |j| j.id,
            )
            .await?;
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        self.load_reference().await?;
        let looked_up: Vec<&Job> = jobs
            .iter()
            .filter(|j| self.needs_lookups(j.id, &known, &stored))
            .collect();
        let details_of = |id: Id| stored.get(&id.to_string()).map(|s| &s.opportunity.details);
        let listed = |list: &str, carried: &dyn Fn(&Job) -> Vec<Id>| -> BTreeSet<Id> {
            looked_up
                .iter()
                .flat_map(|j| {
                    let mut v = details_of(j.id)
                        .map(|d| stored_ids(d, list))
                        .unwrap_or_default();
                    v.extend(carried(j));
                    v
                })
                .collect()
        };

        if self.uses(Resource::Appointments) {
            let want: BTreeSet<Id> = listed("appointments", &|j| {
                j.first_appointment_id
                    .into_iter()
                    .chain(j.last_appointment_id)
                    .collect()
            })
            .into_iter()
            .filter(|id| !hand.appointments.contains_key(id))
            .collect();
            let fetched: Vec<Appointment> = self
                .by_ids(endpoints::APPOINTMENTS, "ids", want, false)
                .await?;
            let fetched = fetched.into_iter().map(|mut a| {
                a.active = Some(true);
                a
            });
            merge(
                &mut hand.appointments,
                fetched.collect(),
                |a| a.id,
                |a| a.modified_on,
            );
        } else {
            hand.appointments.clear();
        }
        if self.uses(Resource::AppointmentAssignments) {
            // Assignments of the looked-up jobs' appointments; the others' come with their
            // sources or the assignments feed.
            let lookup_jobs: BTreeSet<Id> = looked_up.iter().map(|j| j.id).collect();
            let appointment_ids: Vec<Id> = hand
                .appointments
                .values()
                .filter(|a| lookup_jobs.contains(&a.job_id))
                .map(|a| a.id)
                .collect();
            let fetched: Vec<AppointmentAssignment> = self
                .by_ids(
                    endpoints::APPOINTMENT_ASSIGNMENTS,
                    "appointmentIds",
                    appointment_ids,
                    true,
                )
                .await?;
            merge(&mut hand.assignments, fetched, |a| a.id, |a| a.modified_on);
        } else {
            hand.assignments.clear();
        }
        if self.uses(Resource::Estimates) {
            let want: BTreeSet<Id> = listed("estimates", &|_| Vec::new())
                .into_iter()
                .filter(|id| !hand.estimates.contains_key(id))
                .collect();
            let fetched: Vec<Estimate> =
                self.by_ids(endpoints::ESTIMATES, "ids", want, true).await?;
            merge(&mut hand.estimates, fetched, |e| e.id, |e| e.modified_on);
        } else {
            hand.estimates.clear();
        }
        if self.uses(Resource::Invoices) {
            let want: BTreeSet<Id> = listed("invoices", &|j| j.invoice_id.into_iter().collect())
                .into_iter()
                .filter(|id| !hand.invoices.contains_key(id))
                .collect();
            let fetched: Vec<Invoice> =
                self.by_ids(endpoints::INVOICES, "ids", want, false).await?;
            merge(
                &mut hand.invoices,
                fetched,
                |i| i.id,
                Invoice::last_modified,
            );
        } else {
            hand.invoices.clear();
        }
        if self.uses(Resource::CancelReasons) {
            // Logs have no `ids=` lookup: carried over from the details of a build without
            // sources (logs are immutable).
            for j in &looked_up {
                if let Some(d) = details_of(j.id) {
                    let carried: Vec<JobCanceledLog> = stored_records(d, "jobCanceledLogs");
                    for l in carried {
                        hand.logs.entry(l.id).or_insert(l);
                    }
                }
            }
        } else {
            hand.logs.clear();
        }

        let customer_ids: BTreeSet<Id> = jobs.iter().map(|j| j.customer_id).collect();
        let location_ids: BTreeSet<Id> = jobs.iter().map(|j| j.location_id).collect();
        let people = self.people(&customer_ids, &location_ids).await?;

        let mut appointments = by_base(std::mem::take(&mut hand.appointments), |a| Some(a.job_id));
        let mut assignments = by_base(std::mem::take(&mut hand.assignments), |a| Some(a.job_id));
        let mut estimates = by_base(std::mem::take(&mut hand.estimates), |e| e.job_id);
        let mut invoices = by_base(std::mem::take(&mut hand.invoices), |i| {
            i.job.as_ref().map(|j| j.id)
        });
        let mut logs = by_base(std::mem::take(&mut hand.logs), |l| Some(l.job_id));
        let r = &self.reference;
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let id = job.id;
            let location = people.locations.get(&job.location_id).cloned();
            let (customer, contacts, merged_customer_ids) = people.of(job.customer_id);
            let mut b = JobBundle {
                customer,
                contacts,
                merged_customer_ids,
                business_unit: pick(&r.business_units, Some(job.business_unit_id)),
                job_type: pick(&r.job_types, Some(job.job_type_id)),
                zone: pick(&r.zones, location.as_ref().and_then(|l| l.zone_id)),
                location,
                campaign: pick(&r.campaigns, job.campaign_id),
                tag_types: pick_all(&r.tag_types, job.tag_type_ids.iter().copied()),
                appointments: appointments.remove(&id).unwrap_or_default(),
                appointment_assignments: assignments.remove(&id).unwrap_or_default(),
                estimates: estimates.remove(&id).unwrap_or_default(),
                invoices: invoices.remove(&id).unwrap_or_default(),
                job_canceled_logs: logs.remove(&id).unwrap_or_default(),
                ..JobBundle::new(job)
            };
            b.cancel_reasons = pick_all(
                &r.cancel_reasons,
                b.job_canceled_logs.iter().map(|l| l.reason_id),
            );
            let sold_by: Vec<Id> = b
                .job
                .sold_by_id
                .into_iter()
                .chain(b.estimates.iter().filter_map(|e| e.sold_by))
                .collect();
            b.employees = pick_all(&r.employees, sold_by.iter().copied());
            b.technicians = pick_all(&r.technicians, sold_by.iter().copied());
            let mapped = not_before(map_job(&b, &self.mapping), stored.get(&id.to_string()));
            out.push((id, mapped, Sources::of_job(b).encode()));
        }
        Ok(out)
    }

    /// Rebuild the membership opportunities of `membership_ids` as [`Run::rebuild_jobs`] does
    /// jobs.
    async fn rebuild_memberships(
        &mut self,
        membership_ids: BTreeSet<Id>,
        mut hand: InHand,
        stored: Option<StoredMap>,
    ) -> Result<Vec<Built>, SyncError> {
        let stored = self.stored_for(&membership_ids, stored).await?;
        let known = self.take_sources(&membership_ids, &stored, &mut hand);
        let memberships = self
            .bases(
                &membership_ids,
                &mut hand.memberships,
                endpoints::MEMBERSHIPS,
                true,
                |_| {},
                |m: &Membership| m.id,
            )
            .await?;
        if memberships.is_empty() {
            return Ok(Vec::new());
        }
        self.load_reference().await?;
        let looked_up: Vec<&Membership> = memberships
            .iter()
            .filter(|m| self.needs_lookups(m.id, &known, &stored))
            .collect();
        let details_of = |id: Id| stored.get(&id.to_string()).map(|s| &s.opportunity.details);

        if self.uses(Resource::RecurringServices) {
            let fetched: Vec<RecurringService> = self
                .by_ids(
                    endpoints::RECURRING_SERVICES,
                    "membershipIds",
                    looked_up.iter().map(|m| m.id),
                    true,
                )
                .await?;
            merge(&mut hand.services, fetched, |r| r.id, |r| r.modified_on);
        } else {
            hand.services.clear();
        }
        if self.uses(Resource::RecurringServiceEvents) {
            let want: BTreeSet<Id> = looked_up
                .iter()
                .flat_map(|m| {
                    details_of(m.id)
                        .map(|d| stored_ids(d, "recurringServiceEvents"))
                        .unwrap_or_default()
                })
                .filter(|id| !hand.events.contains_key(id))
                .collect();
            let fetched: Vec<RecurringServiceEvent> = self
                .by_ids(endpoints::RECURRING_SERVICE_EVENTS, "ids", want, false)
                .await?;
            let fetched = fetched.into_iter().map(|mut e| {
                e.active = Some(true);
                e
            });
            merge(
                &mut hand.events,
                fetched.collect(),
                |e| e.id,
                |e| e.modified_on,
            );
        } else {
            hand.events.clear();
        }
        if self.uses(Resource::Invoices) {
            let want: BTreeSet<Id> = looked_up
                .iter()
                .flat_map(|m| {
                    let mut v: Vec<Id> = details_of(m.id)
                        .map(|d| stored_ids(d, "invoices"))
                        .unwrap_or_default();
                    v.extend(m.cancellation_invoice_id);
                    v.extend(m.cancellation_balance_invoice_id);
                    v
                })
                .filter(|id| !hand.invoices.contains_key(id))
                .collect();
            let fetched: Vec<Invoice> =
                self.by_ids(endpoints::INVOICES, "ids", want, false).await?;
            merge(
                &mut hand.invoices,
                fetched,
                |i| i.id,
                Invoice::last_modified,
            );
        } else {
            hand.invoices.clear();
        }

        let customer_ids: BTreeSet<Id> = memberships.iter().map(|m| m.customer_id).collect();
        let location_ids: BTreeSet<Id> = memberships.iter().filter_map(|m| m.location_id).collect();
        let people = self.people(&customer_ids, &location_ids).await?;

        let mut services = by_base(std::mem::take(&mut hand.services), |s| s.membership_id);
        let mut events = by_base(std::mem::take(&mut hand.events), |e| e.membership_id);
        let mut invoices = by_base(std::mem::take(&mut hand.invoices), |i| i.membership_id);
        let r = &self.reference;
        let mut out = Vec::with_capacity(memberships.len());
        for m in memberships {
            let id = m.id;
            let (customer, contacts, merged_customer_ids) = people.of(m.customer_id);
            let mut b = MembershipBundle {
                contacts,
                merged_customer_ids,
                location: m
                    .location_id
                    .and_then(|l| people.locations.get(&l).cloned()),
                business_unit: pick(&r.business_units, Some(m.business_unit_id)),
                membership_type: pick(&r.membership_types, Some(m.membership_type_id)),
                tag_types: pick_all(
                    &r.tag_types,
                    customer.iter().flat_map(|c| c.tag_type_ids.iter().copied()),
                ),
                customer,
                recurring_services: services.remove(&id).unwrap_or_default(),
                recurring_service_events: events.remove(&id).unwrap_or_default(),
                invoices: invoices.remove(&id).unwrap_or_default(),
                employees: pick_all(&r.employees, m.sold_by_id),
                technicians: pick_all(&r.technicians, m.sold_by_id),
                ..MembershipBundle::new(m)
            };
            b.campaigns = pick_all(
                &r.campaigns,
                b.recurring_services.iter().filter_map(|s| s.campaign_id),
            );
            let mapped = not_before(
                map_membership(&b, &self.mapping),
                stored.get(&id.to_string()),
            );
            out.push((id, mapped, Sources::of_membership(b).encode()));
        }
        Ok(out)
    }

    /// Count a bad record (SPEC.md §4) once per run: `key` (`<model> <id>`) names the base
    /// record, `message` says what is wrong. A record already counted in this run is only
    /// logged.
    fn note_bad_record(&mut self, key: String, message: String) {
        self.bad_seen.note(&mut self.report, key, message);
    }

    /// Resolve the mapped opportunities' contacts (in order, so two records of one new customer
    /// make one contact) and upsert them. Mapping errors, contacts the store cannot hold and
    /// opportunities it cannot store ([`store::StoreError::is_record_problem`]) are reported as
    /// bad records, each base record once per run; the other records are still written.
    async fn write(&mut self, mapped: Vec<Built>) -> Result<(), SyncError> {
        let (store, ws, now, model) = (self.store, self.ws(), self.now, self.model);
        let mut built: Vec<(Id, Opportunity, Option<String>)> = Vec::with_capacity(mapped.len());
        for (id, result, sources) in mapped {
            match result {
                Ok(o) => built.push((id, o, sources)),
                Err(e) => {
                    warn!(resource = %e.resource, id = %e.id, field = %e.field, "record not mapped");
                    self.note_bad_record(format!("{model} {id}"), e.to_string());
                }
            }
        }
        let candidates: Vec<ContactCandidate> = built
            .iter()
            .map(|(_, o, _)| ContactCandidate::from_opportunity(o))
            .collect();
        let resolutions = self
            .contacts
            .resolve_all(store, ws, &candidates, now)
            .await
            .ws(ws)?;
        let mut items: Vec<(Opportunity, String, Option<String>)> = Vec::with_capacity(built.len());
        for (((id, opportunity, sources), candidate), resolution) in
            built.into_iter().zip(&candidates).zip(resolutions)
        {
            let created = opportunity.standard.external_created_at;
            if self.created_floor.is_none_or(|f| created < f) {
                self.created_floor = Some(created);
            }
            let resolution = match resolution {
                Ok(resolution) => resolution,
                Err(e) => {
                    let customer = candidate
                        .customer_id
                        .map_or_else(|| "none".to_owned(), |c| c.to_string());
                    warn!(%model, id, customer = %customer, error = %e, "contact not stored; record skipped");
                    self.note_bad_record(
                        format!("{model} {id}"),
                        format!("{model} {id} (customer {customer}): contact not stored: {e}"),
                    );
                    continue;
                }
            };
            if resolution.created {
                self.report.contacts_created += 1;
            }
            items.push((opportunity, resolution.contact_id, sources));
        }
        if items.is_empty() {
            return Ok(());
        }
        let upserts: Vec<Upsert<'_>> = items
            .iter()
            .map(|(opportunity, contact_id, sources)| Upsert {
                opportunity,
                contact_id,
                sources: sources.as_deref(),
            })
            .collect();
        // SPEC.md §5: an oversized opportunity is stored trimmed, saying what was cut.
        let upsert = store.upsert(ws, &upserts, now).await.ws(ws)?;
        self.report.opportunities_written += upsert.written as u64;
        self.report.opportunities_unchanged += upsert.unchanged as u64;
        self.report.opportunities_refused += upsert.refused as u64;
        // Permanent per-item problems (e.g. an item over the size limit) are reported like bad
        // records: the rest of the page is written and the watermark may move on.
        for failure in &upsert.failed {
            let customer = items
                .iter()
                .find(|(o, _, _)| o.model == failure.model && o.external_id == failure.external_id)
                .and_then(|(o, _, _)| o.external_contact_id.clone())
                .unwrap_or_else(|| "none".to_owned());
            self.note_bad_record(
                format!("{} {}", failure.model, failure.external_id),
                format!(
                    "{} {} (customer {customer}): not stored: {}",
                    failure.model, failure.external_id, failure.error
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A job rebuilt from its kept source records (encoded, stored, decoded, put in hand) maps
    /// exactly as the bundle they came from.
    #[test]
    fn kept_sources_rebuild_the_same_opportunity() {
        let bundle: JobBundle =
            serde_json::from_str(include_str!("../../../tests/fixtures/job-bundle.json"))
                .expect("fixture");
        assert!(!bundle.appointments.is_empty() && !bundle.invoices.is_empty());
        let config = MappingConfig::default();
        let expected = map_job(&bundle, &config).expect("maps");
        let text = Sources::of_job(bundle.clone()).encode().expect("encodes");
        let decoded: Sources = serde_json::from_str(&text).expect("decodes");
        assert_eq!(decoded, Sources::of_job(bundle.clone()));

        let mut hand = InHand::default();
        decoded.into_hand(&mut hand);
        let job = hand.jobs.remove(&bundle.job.id).expect("the job");
        let id = job.id;
        let rebuilt = JobBundle {
            appointments: by_base(hand.appointments, |a| Some(a.job_id))
                .remove(&id)
                .unwrap_or_default(),
            appointment_assignments: by_base(hand.assignments, |a| Some(a.job_id))
                .remove(&id)
                .unwrap_or_default(),
            estimates: by_base(hand.estimates, |e| e.job_id)
                .remove(&id)
                .unwrap_or_default(),
            invoices: by_base(hand.invoices, |i| i.job.as_ref().map(|j| j.id))
                .remove(&id)
                .unwrap_or_default(),
            job_canceled_logs: by_base(hand.logs, |l| Some(l.job_id))
                .remove(&id)
                .unwrap_or_default(),
            job,
            ..bundle
        };
        assert_eq!(map_job(&rebuilt, &config).expect("maps"), expected);
    }

    /// A page's row wins over a kept copy unless the kept copy is strictly newer.
    #[test]
    fn page_rows_win_over_kept_sources_unless_older() {
        let bundle: JobBundle =
            serde_json::from_str(include_str!("../../../tests/fixtures/job-bundle.json"))
                .expect("fixture");
        let kept = bundle.appointments[0].clone();
        let mut deleted = kept.clone();
        deleted.active = Some(false);
        let mut hand = InHand::default();
        hand.appointments.insert(deleted.id, deleted.clone());
        Sources::of_job(bundle.clone()).into_hand(&mut hand);
        assert_eq!(
            hand.appointments[&kept.id], deleted,
            "same modifiedOn: the page wins"
        );

        let mut stale = kept.clone();
        stale.modified_on -= chrono::Duration::hours(1);
        let mut hand = InHand::default();
        hand.appointments.insert(stale.id, stale);
        Sources::of_job(bundle).into_hand(&mut hand);
        assert_eq!(hand.appointments[&kept.id], kept, "a newer kept copy wins");
    }

    #[test]
    fn a_bad_record_rebuilt_by_several_feeds_counts_once() {
        let mut report = SyncReport::default();
        let mut seen = BadRecords::default();
        seen.note(
            &mut report,
            "job 7".into(),
            "job 7: not stored: 810449 bytes".into(),
        );
        seen.note(
            &mut report,
            "job 7".into(),
            "job 7: not stored: 812412 bytes".into(),
        );
        seen.note(
            &mut report,
            "membership 7".into(),
            "membership 7: bad".into(),
        );
        assert_eq!(report.bad_records, 2);
        assert_eq!(
            report.bad_record_samples,
            ["job 7: not stored: 810449 bytes", "membership 7: bad"]
        );
    }

    #[test]
    fn stored_ids_and_records_come_back_from_details() {
        let mut d = Details::new();
        d.insert("appointments:0:id".into(), json!(11));
        d.insert("appointments:1:id".into(), json!(12));
        d.insert("appointments:1:assignments:0:id".into(), json!(99));
        d.insert("appointments:omitted".into(), json!(3));
        d.insert("estimates:0:id".into(), json!(21));
        d.insert("jobCanceledLogs:0:id".into(), json!(31));
        d.insert("jobCanceledLogs:0:jobId".into(), json!(5));
        d.insert("jobCanceledLogs:0:reasonId".into(), json!(12));
        d.insert(
            "jobCanceledLogs:0:createdOn".into(),
            json!("2025-03-06T18:01:00Z"),
        );
        d.insert("jobCanceledLogs:0:createdById".into(), json!(5133));
        d.insert("jobCanceledLogs:0:active".into(), json!(true));
        let mut a = stored_ids(&d, "appointments");
        a.sort();
        assert_eq!(a, vec![11, 12]);
        assert_eq!(stored_ids(&d, "estimates"), vec![21]);
        assert!(stored_ids(&d, "invoices").is_empty());
        let logs: Vec<JobCanceledLog> = stored_records(&d, "jobCanceledLogs");
        assert_eq!(logs.len(), 1);
        assert_eq!((logs[0].id, logs[0].job_id, logs[0].reason_id), (31, 5, 12));
        assert_eq!(logs[0].memo, None);
    }

    #[test]
    fn related_rows_already_reflected_are_skipped() {
        let mut d = Details::new();
        d.insert("appointments:0:id".into(), json!(11));
        d.insert(
            "appointments:0:modifiedOn".into(),
            json!("2025-03-04T19:42:11Z"),
        );
        d.insert("appointments:0:assignments:1:id".into(), json!(77));
        d.insert(
            "appointments:0:assignments:1:modifiedOn".into(),
            json!("2025-03-04T19:42:12Z"),
        );
        d.insert("jobCanceledLogs:0:id".into(), json!(31));
        let same = json!({"id": 11, "modifiedOn": "2025-03-04T19:42:11Z", "active": true});
        let newer = json!({"id": 11, "modifiedOn": "2025-03-05T08:00:00Z", "active": true});
        let deleted = json!({"id": 11, "modifiedOn": "2025-03-05T08:00:00Z", "active": false});
        let cases = [
            ("unchanged", "appointments:#:id", 11, same.clone(), true),
            ("changed", "appointments:#:id", 11, newer, false),
            (
                "deleted but listed",
                "appointments:#:id",
                11,
                deleted,
                false,
            ),
            ("new", "appointments:#:id", 12, same.clone(), false),
            (
                "deleted after the opportunity's last change, not listed",
                "appointments:#:id",
                12,
                json!({"active": false, "modifiedOn": "2025-03-06T00:00:00Z"}),
                false,
            ),
            (
                "deleted and not listed",
                "appointments:#:id",
                12,
                json!({"active": false}),
                true,
            ),
            ("wrong list", "estimates:#:id", 11, same, false),
            (
                "nested unchanged",
                "appointments:#:assignments:#:id",
                77,
                json!({"modifiedOn": "2025-03-04T19:42:12Z", "active": true}),
                true,
            ),
            (
                "no modifiedOn (logs)",
                "jobCanceledLogs:#:id",
                31,
                json!({"active": true}),
                true,
            ),
        ];
        for (name, pattern, id, row, expected) in cases {
            let updated_at = "2025-03-05T09:00:00Z".parse().unwrap();
            assert_eq!(
                reflects(&d, updated_at, pattern, id, &row),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn feeds_follow_the_selection() {
        let s = ResourceSelection::default();
        let people = [Feed::Customers, Feed::CustomerContacts, Feed::Locations];
        assert_eq!(
            Feed::backfill_for_model(Model::Job, &s),
            vec![
                Feed::Jobs,
                Feed::Appointments,
                Feed::Estimates,
                Feed::JobInvoices
            ]
        );
        assert_eq!(
            Feed::for_model(Model::Job, &s),
            [Feed::backfill_for_model(Model::Job, &s), people.to_vec()].concat()
        );
        assert_eq!(
            Feed::backfill_for_model(Model::Membership, &s),
            vec![Feed::Memberships, Feed::RecurringServices]
        );
        assert_eq!(Feed::for_model(Model::Membership, &s).len(), 5);
        assert_eq!(
            selection_key(Model::Job, &s),
            "appointments,campaigns,estimates,invoices"
        );
        let all = ResourceSelection {
            job: Resource::optional_for(Model::Job).iter().copied().collect(),
            membership: Resource::optional_for(Model::Membership)
                .iter()
                .copied()
                .collect(),
        };
        assert_eq!(Feed::backfill_for_model(Model::Job, &all).len(), 6);
        assert_eq!(Feed::backfill_for_model(Model::Membership, &all).len(), 4);
        // assignments without appointments are not read
        let odd = ResourceSelection {
            job: [Resource::AppointmentAssignments].into(),
            ..ResourceSelection::default()
        };
        assert_eq!(Feed::backfill_for_model(Model::Job, &odd), vec![Feed::Jobs]);
    }

    fn customer(id: Id, merged_to: Option<Id>) -> Customer {
        serde_json::from_value(json!({
            "id": id, "active": merged_to.is_none(), "name": format!("C{id}"),
            "mergedToId": merged_to, "createdOn": "2025-01-01T00:00:00Z",
            "modifiedOn": "2025-01-02T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn merge_chains_resolve_to_the_survivor_and_stop_at_loops_and_gaps() {
        let all: HashMap<Id, Customer> = [
            customer(1, Some(2)),
            customer(2, Some(3)),
            customer(3, None),
            customer(10, Some(11)),
            customer(11, Some(10)),
            customer(20, Some(99)),
            customer(30, None),
        ]
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
        let resolved = |id| resolve_merges(&all, id).map(|(c, chain)| (c.id, chain));
        assert_eq!(resolved(1), Some((3, vec![1, 2])));
        assert_eq!(resolved(2), Some((3, vec![2])));
        assert_eq!(resolved(3), Some((3, vec![])));
        assert_eq!(resolved(30), Some((30, vec![])));
        // a loop stops at the last customer before it repeats
        assert_eq!(resolved(10), Some((11, vec![10])));
        // a survivor ServiceTitan did not return: the last one that exists
        assert_eq!(resolved(20), Some((20, vec![])));
        assert_eq!(resolved(404), None);
        // a chain longer than MAX_MERGE_HOPS stops after that many hops
        let long: HashMap<Id, Customer> = (0..30)
            .map(|i| customer(i, (i < 29).then_some(i + 1)))
            .map(|c| (c.id, c))
            .collect();
        let (c, chain) = resolve_merges(&long, 0).unwrap();
        assert_eq!((c.id, chain.len()), (MAX_MERGE_HOPS as Id, MAX_MERGE_HOPS));
    }
}
