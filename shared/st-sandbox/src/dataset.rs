//! [`Dataset`] (the records a sandbox serves), fixture loading, and the sorted indexes the list
//! and export endpoints read ([`Store`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use servicetitan::wire::{BusinessUnit, Customer, CustomerContact, Id, Job, JobType, Location};

use crate::error::SandboxError;

/// All records a sandbox serves, in ServiceTitan's own shapes (crate `servicetitan` wire types).
///
/// Vectors are kept sorted by id. Inactive and merged records are included: list endpoints hide
/// them unless `active=Any|False`, export feeds always carry them with their `active` flag.
/// A job's or contact's `active` of `None` means active; contacts always carry `customer_id`.
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
}

/// The fixture document's keys, in order, with the resource names the admin paths use.
pub(crate) const FIXTURE_KEYS: &[&str] = &[
    "jobs",
    "customers",
    "contacts",
    "locations",
    "businessUnits",
    "jobTypes",
];

impl Dataset {
    /// Parses a fixture: a JSON object `{"jobs":[…],"customers":[…],"contacts":[…],"locations":[…],
    /// "businessUnits":[…],"jobTypes":[…]}` whose arrays hold records in ServiceTitan's JSON shapes
    /// (camelCase, timestamps RFC 3339). Every key is optional; unknown keys are rejected (typos
    /// would otherwise load an empty resource silently). Contacts must carry `customerId`; ids must
    /// be unique per resource. Errors name the record (`contacts[2] (id 880101)`) and the field.
    pub fn from_fixture_json(json: &str) -> Result<Dataset, SandboxError> {
        let root: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| SandboxError::fixture("document", format!("not valid JSON: {e}")))?;
        let serde_json::Value::Object(map) = root else {
            return Err(SandboxError::fixture("document", "must be a JSON object"));
        };
        let mut data = Dataset::default();
        for (key, value) in map {
            match key.as_str() {
                "jobs" => data.jobs = parse_list(&key, value)?,
                "customers" => data.customers = parse_list(&key, value)?,
                "contacts" => data.contacts = parse_list(&key, value)?,
                "locations" => data.locations = parse_list(&key, value)?,
                "businessUnits" => data.business_units = parse_list(&key, value)?,
                "jobTypes" => data.job_types = parse_list(&key, value)?,
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
        check_unique("jobs", &data.jobs)?;
        check_unique("customers", &data.customers)?;
        check_unique("contacts", &data.contacts)?;
        check_unique("locations", &data.locations)?;
        check_unique("businessUnits", &data.business_units)?;
        check_unique("jobTypes", &data.job_types)?;
        data.sort_by_id();
        Ok(data)
    }

    /// Serializes the dataset as a fixture document (the inverse of [`Dataset::from_fixture_json`]).
    pub fn to_fixture_json(&self) -> serde_json::Value {
        serde_json::json!({
            "jobs": self.jobs,
            "customers": self.customers,
            "contacts": self.contacts,
            "locations": self.locations,
            "businessUnits": self.business_units,
            "jobTypes": self.job_types,
        })
    }

    /// Sorts every resource by id (the order list endpoints default to).
    pub(crate) fn sort_by_id(&mut self) {
        self.jobs.sort_by_key(|r| r.id);
        self.customers.sort_by_key(|r| r.id);
        self.contacts.sort_by_key(|r| r.id);
        self.locations.sort_by_key(|r| r.id);
        self.business_units.sort_by_key(|r| r.id);
        self.job_types.sort_by_key(|r| r.id);
    }
}

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

/// Which resource a record belongs to; names as in fixtures and admin paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    Jobs,
    Customers,
    Contacts,
    Locations,
    BusinessUnits,
    JobTypes,
}

impl Resource {
    pub(crate) fn parse(name: &str) -> Option<Resource> {
        Some(match name {
            "jobs" => Resource::Jobs,
            "customers" => Resource::Customers,
            "contacts" => Resource::Contacts,
            "locations" => Resource::Locations,
            "businessUnits" => Resource::BusinessUnits,
            "jobTypes" => Resource::JobTypes,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Resource::Jobs => "jobs",
            Resource::Customers => "customers",
            Resource::Contacts => "contacts",
            Resource::Locations => "locations",
            Resource::BusinessUnits => "businessUnits",
            Resource::JobTypes => "jobTypes",
        }
    }
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

/// The dataset plus its indexes; rebuilt after every mutation.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) data: Dataset,
    pub(crate) jobs_idx: Index,
    pub(crate) customers_idx: Index,
    pub(crate) contacts_idx: Index,
    pub(crate) locations_idx: Index,
    pub(crate) business_units_idx: Index,
    pub(crate) job_types_idx: Index,
    /// Customer id → positions of its contacts in `data.contacts`, in id order.
    pub(crate) contacts_by_customer: BTreeMap<Id, Vec<usize>>,
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

    /// Re-sorts the data by id and rebuilds every index (O(n log n)).
    pub(crate) fn reindex(&mut self) {
        self.data.sort_by_id();
        self.jobs_idx = Index::build(&self.data.jobs);
        self.customers_idx = Index::build(&self.data.customers);
        self.contacts_idx = Index::build(&self.data.contacts);
        self.locations_idx = Index::build(&self.data.locations);
        self.business_units_idx = Index::build(&self.data.business_units);
        self.job_types_idx = Index::build(&self.data.job_types);
        let mut by_customer: BTreeMap<Id, Vec<usize>> = BTreeMap::new();
        for (i, c) in self.data.contacts.iter().enumerate() {
            if let Some(cid) = c.customer_id {
                by_customer.entry(cid).or_default().push(i);
            }
        }
        self.contacts_by_customer = by_customer;
    }

    pub(crate) fn get<T: Record>(&self, id: Id) -> Option<&T> {
        T::index(self)
            .by_id
            .get(&id)
            .and_then(|&i| T::rows(&self.data).get(i))
    }
}
