//! [`Dataset`] (the records a sandbox serves), fixture loading, and the sorted indexes the list
//! and export endpoints read ([`Store`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use servicetitan::wire::{
    Appointment, AppointmentAssignment, BusinessUnit, Campaign, Customer, CustomerContact,
    Employee, Estimate, Id, Invoice, Job, JobCancelReason, JobCanceledLog, JobType, Location,
    Membership, MembershipType, RecurringService, RecurringServiceEvent, TagType, Technician, Zone,
};

use crate::error::SandboxError;

/// Every resource the sandbox serves: `(field, index field, wire type, fixture key, admin name)`.
/// The fixture key is also the admin path name (`/__admin/records/{key}/{id}`).
macro_rules! for_each_resource {
    ($m:ident) => {
        $m! {
            (jobs, jobs_idx, Job, "jobs", Jobs),
            (customers, customers_idx, Customer, "customers", Customers),
            (contacts, contacts_idx, CustomerContact, "contacts", Contacts),
            (locations, locations_idx, Location, "locations", Locations),
            (business_units, business_units_idx, BusinessUnit, "businessUnits", BusinessUnits),
            (job_types, job_types_idx, JobType, "jobTypes", JobTypes),
            (appointments, appointments_idx, Appointment, "appointments", Appointments),
            (appointment_assignments, appointment_assignments_idx, AppointmentAssignment, "appointmentAssignments", AppointmentAssignments),
            (estimates, estimates_idx, Estimate, "estimates", Estimates),
            (invoices, invoices_idx, Invoice, "invoices", Invoices),
            (job_canceled_logs, job_canceled_logs_idx, JobCanceledLog, "jobCanceledLogs", JobCanceledLogs),
            (cancel_reasons, cancel_reasons_idx, JobCancelReason, "cancelReasons", CancelReasons),
            (tag_types, tag_types_idx, TagType, "tagTypes", TagTypes),
            (campaigns, campaigns_idx, Campaign, "campaigns", Campaigns),
            (zones, zones_idx, Zone, "zones", Zones),
            (employees, employees_idx, Employee, "employees", Employees),
            (technicians, technicians_idx, Technician, "technicians", Technicians),
            (memberships, memberships_idx, Membership, "memberships", Memberships),
            (membership_types, membership_types_idx, MembershipType, "membershipTypes", MembershipTypes),
            (recurring_services, recurring_services_idx, RecurringService, "recurringServices", RecurringServices),
            (recurring_service_events, recurring_service_events_idx, RecurringServiceEvent, "recurringServiceEvents", RecurringServiceEvents)
        }
    };
}

/// All records a sandbox serves, in ServiceTitan's own shapes (crate `servicetitan` wire types).
///
/// Vectors are kept sorted by id. Inactive and merged records are included: list endpoints hide
/// them unless `active=Any|False`, export feeds always carry them with their `active` flag.
/// A job's or contact's `active` of `None` means active; contacts always carry `customer_id`.
/// Related records point at each other by id as in a real tenant (appointments and estimates at
/// their job, assignments at their appointment, memberships at their customer and type,
/// recurring services and events at their membership, invoices at their job or membership).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// Jobs (`/jpm/v2/tenant/{tenant}/jobs`, `/export/jobs`).
    pub jobs: Vec<Job>,
    /// Customers (`/crm/v2/tenant/{tenant}/customers`, `/export/customers`).
    pub customers: Vec<Customer>,
    /// Customer contacts (`/crm/v2/tenant/{tenant}/customers/contacts`, `/export/customers/contacts`);
    /// `customer_id` is always `Some`.
    pub contacts: Vec<CustomerContact>,
    /// Locations (`/crm/v2/tenant/{tenant}/locations`, `/export/locations`).
    pub locations: Vec<Location>,
    /// Business units (`/settings/v2/tenant/{tenant}/business-units`, `/export/business-units`).
    pub business_units: Vec<BusinessUnit>,
    /// Job types (`/jpm/v2/tenant/{tenant}/job-types`).
    pub job_types: Vec<JobType>,
    /// Appointments (`/jpm/v2/tenant/{tenant}/appointments`, `/export/appointments`); `active` of
    /// `None` means active.
    pub appointments: Vec<Appointment>,
    /// Appointment assignments (`/dispatch/v2/tenant/{tenant}/appointment-assignments`,
    /// `/export/appointment-assignments`).
    pub appointment_assignments: Vec<AppointmentAssignment>,
    /// Estimates (`/sales/v2/tenant/{tenant}/estimates`, `/estimates/export`).
    pub estimates: Vec<Estimate>,
    /// Invoices (`/accounting/v2/tenant/{tenant}/invoices`, `/export/invoices`).
    pub invoices: Vec<Invoice>,
    /// Job canceled logs (`/jpm/v2/tenant/{tenant}/export/job-canceled-logs`, ordered by
    /// `createdOn`: they have no `modifiedOn`).
    pub job_canceled_logs: Vec<JobCanceledLog>,
    /// Job cancel reasons (`/jpm/v2/tenant/{tenant}/job-cancel-reasons`).
    pub cancel_reasons: Vec<JobCancelReason>,
    /// Tag types (`/settings/v2/tenant/{tenant}/tag-types`, `/export/tag-types`).
    pub tag_types: Vec<TagType>,
    /// Campaigns (`/marketing/v2/tenant/{tenant}/campaigns`; no export feed).
    pub campaigns: Vec<Campaign>,
    /// Zones (`/dispatch/v2/tenant/{tenant}/zones`).
    pub zones: Vec<Zone>,
    /// Employees (`/settings/v2/tenant/{tenant}/employees`, `/export/employees`).
    pub employees: Vec<Employee>,
    /// Technicians (`/settings/v2/tenant/{tenant}/technicians`, `/export/technicians`).
    pub technicians: Vec<Technician>,
    /// Customer memberships (`/memberships/v2/tenant/{tenant}/memberships`, `/export/memberships`).
    pub memberships: Vec<Membership>,
    /// Membership types (`/memberships/v2/tenant/{tenant}/membership-types`, `/export/membership-types`).
    pub membership_types: Vec<MembershipType>,
    /// Location recurring services (`/memberships/v2/tenant/{tenant}/recurring-services`,
    /// `/export/recurring-services`).
    pub recurring_services: Vec<RecurringService>,
    /// Recurring service events (`/memberships/v2/tenant/{tenant}/recurring-service-events`,
    /// `/export/recurring-service-events`); `active` of `None` means active.
    pub recurring_service_events: Vec<RecurringServiceEvent>,
}

macro_rules! fixture_keys {
    ($(($field:ident, $idx:ident, $ty:ident, $key:literal, $variant:ident)),*) => {
        /// The fixture document's keys, in order, with the resource names the admin paths use.
        pub(crate) const FIXTURE_KEYS: &[&str] = &[$($key),*];
    };
}
for_each_resource!(fixture_keys);

macro_rules! dataset_impl {
    ($(($field:ident, $idx:ident, $ty:ident, $key:literal, $variant:ident)),*) => {
        impl Dataset {
            /// Parses a fixture: a JSON object `{"jobs":[…],"customers":[…],"contacts":[…],
            /// "locations":[…],"businessUnits":[…],"jobTypes":[…],"appointments":[…],
            /// "appointmentAssignments":[…],"estimates":[…],"invoices":[…],"jobCanceledLogs":[…],
            /// "cancelReasons":[…],"tagTypes":[…],"campaigns":[…],"zones":[…],"employees":[…],
            /// "technicians":[…],"memberships":[…],"membershipTypes":[…],"recurringServices":[…],
            /// "recurringServiceEvents":[…]}` whose arrays hold records in ServiceTitan's JSON
            /// shapes (camelCase, timestamps RFC 3339). Every key is optional; unknown keys are
            /// rejected (typos would otherwise load an empty resource silently). Contacts must
            /// carry `customerId`; ids must be unique per resource. Errors name the record
            /// (`contacts[2] (id 880101)`) and the field.
            pub fn from_fixture_json(json: &str) -> Result<Dataset, SandboxError> {
                let root: serde_json::Value = serde_json::from_str(json)
                    .map_err(|e| SandboxError::fixture("document", format!("not valid JSON: {e}")))?;
                let serde_json::Value::Object(map) = root else {
                    return Err(SandboxError::fixture("document", "must be a JSON object"));
                };
                let mut data = Dataset::default();
                for (key, value) in map {
                    match key.as_str() {
                        $($key => data.$field = parse_list(&key, value)?,)*
                        other => {
                            return Err(SandboxError::fixture(
                                format!("key `{other}`"),
                                format!("unknown key; expected one of {}", FIXTURE_KEYS.join(", ")),
                            ))
                        }
                    }
                }
                for (i, c) in data.contacts.iter().enumerate() {
                    if c.customer_id.is_none() {
                        return Err(SandboxError::fixture(
                            format!("contacts[{i}] (id {})", c.id),
                            "field `customerId`: required in a fixture (the owning customer)",
                        ));
                    }
                }
                $(check_unique($key, &data.$field)?;)*
                data.sort_by_id();
                Ok(data)
            }

            /// Serializes the dataset as a fixture document (the inverse of
            /// [`Dataset::from_fixture_json`]).
            pub fn to_fixture_json(&self) -> serde_json::Value {
                let mut map = serde_json::Map::new();
                $(map.insert($key.to_owned(), serde_json::json!(self.$field));)*
                serde_json::Value::Object(map)
            }

            /// Record counts per fixture key (`{"jobs": 600, ...}`).
            pub fn counts(&self) -> serde_json::Value {
                let mut map = serde_json::Map::new();
                $(map.insert($key.to_owned(), serde_json::json!(self.$field.len()));)*
                serde_json::Value::Object(map)
            }

            /// Sorts every resource by id (the order list endpoints default to).
            pub(crate) fn sort_by_id(&mut self) {
                $(self.$field.sort_by_key(|r| r.id);)*
            }
        }

        /// Which resource a record belongs to; names as in fixtures and admin paths.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Resource {
            $($variant,)*
        }

        impl Resource {
            pub(crate) fn parse(name: &str) -> Option<Resource> {
                match name {
                    $($key => Some(Resource::$variant),)*
                    _ => None,
                }
            }

            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Resource::$variant => $key,)*
                }
            }

            /// Ids of this resource's records, ascending.
            pub(crate) fn ids(self, store: &Store) -> Vec<Id> {
                match self {
                    $(Resource::$variant => <$ty as Record>::index(store).by_id.keys().copied().collect(),)*
                }
            }

            /// Applies an admin merge-patch to record `id` of this resource.
            pub(crate) fn patch(
                self,
                store: &mut Store,
                id: Id,
                patch: &serde_json::Value,
            ) -> Result<Option<serde_json::Value>, SandboxError> {
                match self {
                    $(Resource::$variant => crate::admin::patch_in::<$ty>(store, self, id, patch),)*
                }
            }
        }

        /// The dataset plus its indexes; rebuilt after every mutation.
        #[derive(Debug, Default)]
        pub(crate) struct Store {
            pub(crate) data: Dataset,
            $(pub(crate) $idx: Index,)*
            /// Customer id → positions of its contacts in `data.contacts`, in id order.
            pub(crate) contacts_by_customer: BTreeMap<Id, Vec<usize>>,
        }

        impl Store {
            /// Re-sorts the data by id and rebuilds every index (O(n log n)).
            pub(crate) fn reindex(&mut self) {
                self.data.sort_by_id();
                $(self.$idx = Index::build(&self.data.$field);)*
                let mut by_customer: BTreeMap<Id, Vec<usize>> = BTreeMap::new();
                for (i, c) in self.data.contacts.iter().enumerate() {
                    if let Some(cid) = c.customer_id {
                        by_customer.entry(cid).or_default().push(i);
                    }
                }
                self.contacts_by_customer = by_customer;
            }
        }
    };
}
for_each_resource!(dataset_impl);

fn parse_list<T: Record>(key: &str, value: serde_json::Value) -> Result<Vec<T>, SandboxError> {
    let serde_json::Value::Array(items) = value else {
        return Err(SandboxError::fixture(
            format!("key `{key}`"),
            "must be an array of records",
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let id = item
            .get("id")
            .map(|v| v.to_string())
            .unwrap_or_else(|| "missing".to_owned());
        let rec: T = serde_path_to_error::deserialize(item).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                String::new()
            } else {
                format!("field `{path}`: ")
            };
            SandboxError::fixture(
                format!("{key}[{i}] (id {id})"),
                format!("{field}{}", e.inner()),
            )
        })?;
        out.push(rec);
    }
    Ok(out)
}

fn check_unique<T: Record>(key: &str, rows: &[T]) -> Result<(), SandboxError> {
    let mut seen = BTreeSet::new();
    for (i, r) in rows.iter().enumerate() {
        if !seen.insert(r.id()) {
            return Err(SandboxError::fixture(
                format!("{key}[{i}] (id {})", r.id()),
                "field `id`: duplicate id",
            ));
        }
    }
    Ok(())
}

/// What the endpoints need from every resource's record type.
pub(crate) trait Record:
    Serialize + DeserializeOwned + Clone + Send + Sync + 'static
{
    fn id(&self) -> Id;
    fn created_on(&self) -> DateTime<Utc>;
    fn modified_on(&self) -> DateTime<Utc>;
    fn set_modified_on(&mut self, at: DateTime<Utc>);
    /// Whether the record is active (deleted/merged records are not).
    fn is_active(&self) -> bool;
    /// The record as export feeds emit it (carries `active`).
    fn for_export(&self) -> Self {
        self.clone()
    }
    /// The record as list endpoints emit it (no export-only fields).
    fn for_list(&self) -> Self {
        self.clone()
    }
    /// Sort rank for `sort=Priority` (jobs): Low < Normal < High < Urgent < unknown.
    fn priority_rank(&self) -> u8 {
        4
    }
    fn rows(data: &Dataset) -> &Vec<Self>;
    fn rows_mut(data: &mut Dataset) -> &mut Vec<Self>;
    fn index(store: &Store) -> &Index;
}

macro_rules! record_common {
    ($field:ident, $idx:ident) => {
        fn id(&self) -> Id {
            self.id
        }
        fn created_on(&self) -> DateTime<Utc> {
            self.created_on
        }
        fn modified_on(&self) -> DateTime<Utc> {
            self.modified_on
        }
        fn set_modified_on(&mut self, at: DateTime<Utc>) {
            self.modified_on = at;
        }
        fn rows(data: &Dataset) -> &Vec<Self> {
            &data.$field
        }
        fn rows_mut(data: &mut Dataset) -> &mut Vec<Self> {
            &mut data.$field
        }
        fn index(store: &Store) -> &Index {
            &store.$idx
        }
    };
}

impl Record for Job {
    record_common!(jobs, jobs_idx);
    fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }
    fn for_export(&self) -> Self {
        Job {
            active: Some(self.is_active()),
            ..self.clone()
        }
    }
    fn for_list(&self) -> Self {
        Job {
            active: None,
            ..self.clone()
        }
    }
    fn priority_rank(&self) -> u8 {
        match self.priority.as_deref() {
            Some("Low") => 0,
            Some("Normal") => 1,
            Some("High") => 2,
            Some("Urgent") => 3,
            _ => 4,
        }
    }
}

impl Record for Customer {
    record_common!(customers, customers_idx);
    fn is_active(&self) -> bool {
        self.active
    }
}

impl Record for CustomerContact {
    record_common!(contacts, contacts_idx);
    fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }
    fn for_export(&self) -> Self {
        CustomerContact {
            active: Some(self.is_active()),
            ..self.clone()
        }
    }
    fn for_list(&self) -> Self {
        CustomerContact {
            active: None,
            ..self.clone()
        }
    }
}

impl Record for Location {
    record_common!(locations, locations_idx);
    fn is_active(&self) -> bool {
        self.active
    }
}

impl Record for BusinessUnit {
    record_common!(business_units, business_units_idx);
    fn is_active(&self) -> bool {
        self.active
    }
}

impl Record for JobType {
    record_common!(job_types, job_types_idx);
    fn is_active(&self) -> bool {
        self.active
    }
}

macro_rules! record_rows {
    ($field:ident, $idx:ident) => {
        fn rows(data: &Dataset) -> &Vec<Self> {
            &data.$field
        }
        fn rows_mut(data: &mut Dataset) -> &mut Vec<Self> {
            &mut data.$field
        }
        fn index(store: &Store) -> &Index {
            &store.$idx
        }
    };
}

/// Records whose list and export shapes are the same and carry a required `active`.
macro_rules! plain_record {
    ($ty:ident, $field:ident, $idx:ident) => {
        impl Record for $ty {
            record_common!($field, $idx);
            fn is_active(&self) -> bool {
                self.active
            }
        }
    };
}

plain_record!(
    AppointmentAssignment,
    appointment_assignments,
    appointment_assignments_idx
);
plain_record!(Estimate, estimates, estimates_idx);
plain_record!(JobCancelReason, cancel_reasons, cancel_reasons_idx);
plain_record!(TagType, tag_types, tag_types_idx);
plain_record!(Campaign, campaigns, campaigns_idx);
plain_record!(Zone, zones, zones_idx);
plain_record!(Employee, employees, employees_idx);
plain_record!(Technician, technicians, technicians_idx);
plain_record!(Membership, memberships, memberships_idx);
plain_record!(MembershipType, membership_types, membership_types_idx);
plain_record!(RecurringService, recurring_services, recurring_services_idx);

impl Record for Appointment {
    record_common!(appointments, appointments_idx);
    fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }
    fn for_export(&self) -> Self {
        Appointment {
            active: Some(self.is_active()),
            ..self.clone()
        }
    }
    fn for_list(&self) -> Self {
        Appointment {
            active: None,
            ..self.clone()
        }
    }
}

impl Record for RecurringServiceEvent {
    record_common!(recurring_service_events, recurring_service_events_idx);
    fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }
    fn for_export(&self) -> Self {
        RecurringServiceEvent {
            active: Some(self.is_active()),
            ..self.clone()
        }
    }
    fn for_list(&self) -> Self {
        RecurringServiceEvent {
            active: None,
            ..self.clone()
        }
    }
}

impl Record for Invoice {
    record_rows!(invoices, invoices_idx);
    fn id(&self) -> Id {
        self.id
    }
    fn created_on(&self) -> DateTime<Utc> {
        self.created_on
    }
    /// `modifiedOn` is nullable on invoices; `createdOn` stands in.
    fn modified_on(&self) -> DateTime<Utc> {
        self.last_modified()
    }
    fn set_modified_on(&mut self, at: DateTime<Utc>) {
        self.modified_on = Some(at);
    }
    fn is_active(&self) -> bool {
        self.active
    }
}

impl Record for JobCanceledLog {
    record_rows!(job_canceled_logs, job_canceled_logs_idx);
    fn id(&self) -> Id {
        self.id
    }
    fn created_on(&self) -> DateTime<Utc> {
        self.created_on
    }
    /// Logs are immutable and have no `modifiedOn`: the feed orders them by `createdOn`.
    fn modified_on(&self) -> DateTime<Utc> {
        self.created_on
    }
    fn set_modified_on(&mut self, _at: DateTime<Utc>) {}
    fn is_active(&self) -> bool {
        self.active
    }
}

/// Sorted views of one resource: by id and by `(modifiedOn, id)` (the export order).
/// Values are positions in the resource's vector.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) by_id: BTreeMap<Id, usize>,
    pub(crate) by_modified: BTreeMap<(DateTime<Utc>, Id), usize>,
}

impl Index {
    fn build<T: Record>(rows: &[T]) -> Index {
        let mut idx = Index::default();
        for (i, r) in rows.iter().enumerate() {
            idx.by_id.insert(r.id(), i);
            idx.by_modified.insert((r.modified_on(), r.id()), i);
        }
        idx
    }
}

impl Store {
    pub(crate) fn new(data: Dataset) -> Store {
        let mut s = Store {
            data,
            ..Store::default()
        };
        s.reindex();
        s
    }

    pub(crate) fn get<T: Record>(&self, id: Id) -> Option<&T> {
        T::index(self)
            .by_id
            .get(&id)
            .and_then(|&i| T::rows(&self.data).get(i))
    }
}
