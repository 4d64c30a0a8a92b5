//! The ServiceTitan scopes an integration needs, computed from its settings (SPEC.md §2; the
//! article's FAQ "What API scopes are required by the integration"). Pure: settings in, scope
//! names out.
//!
//! Scope names are `tn.<module>.<resource>:r|w` (API-NOTES §2, the token response's `scope`,
//! e.g. `tn.acc.invoices:r`). The article's FAQ lists what the official app requests for *every*
//! feature; an integration needs only the part its settings use ("many of the features are
//! optional and can be turned off in which case the integration would not access the related
//! scopes"):
//!
//! | setting | scopes |
//! |---|---|
//! | model `job` | `tn.jpm.jobs:r`, `tn.crm.customers:r` (customers and their contacts), `tn.crm.locations:r`, `tn.stt.businessunits:r`, `tn.jpm.jobtypes:r` |
//! | model `membership` | `tn.mem.memberships:r`, `tn.crm.customers:r`, `tn.crm.locations:r`, `tn.mem.membershiptypes:r`, `tn.stt.businessunits:r` |
//! | model `inbound_call` | `tn.tlc.calls:r` (the `tn.tlc.call-completed` webhook), `tn.crm.customers:r` (the caller's customer) |
//! | resource `estimates` | `tn.sls.estimates:r` |
//! | resource `appointments` | `tn.jpm.appointments:r` |
//! | resource `appointmentAssignments` | `tn.dis.appointmentassignments:r` |
//! | resource `cancelReasons` | `tn.jpm.jobcancelreasons:r` (the canceled-logs feed is under `tn.jpm.jobs:r`) |
//! | resource `tagTypes` | `tn.stt.tagtypes:r` |
//! | resource `campaigns` | `tn.mkt.campaigns:r` |
//! | resource `zones` | `tn.dis.zones:r` |
//! | resource `employeesTechnicians` | `tn.stt.employees:r`, `tn.stt.technicians:r` |
//! | resource `invoices` | `tn.acc.invoices:r` |
//! | resource `recurringServices` | `tn.mem.recurringservices:r` |
//! | resource `recurringServiceEvents` | `tn.mem.recurringserviceevents:r` |
//! | push destination `job` | `tn.jpm.jobs:w` (post the note), `tn.jpm.jobs:r` (read recent notes for the exactly-once marker) |
//! | push destination `customer` | `tn.crm.customers:w`, `tn.crm.customers:r` |
//! | push destination `location` | `tn.crm.locations:w`, `tn.crm.locations:r` |
//!
//! A resource counts only when the model that offers it is enabled and its dependencies are
//! selected ([`crate::ResourceSelection::uses`], what the sync engine reads).

use std::collections::{BTreeMap, BTreeSet};

use crate::resources::{Resource, ResourceSelection};
use crate::settings::{Destination, Integration, PushSettings};
use crate::Model;

/// Every scope this project knows, with the article FAQ's module and resource label, in the
/// FAQ's order. The first column is the scope name; `used` says whether some setting of this
/// integration can need it (the others are requested by the official app for features outside
/// this project, e.g. booking jobs).
pub const KNOWN_SCOPES: &[KnownScope] = &[
    KnownScope::new("tn.acc.invoices:r", "Accounting", "Invoices", true),
    KnownScope::new(
        "tn.acc.invoiceitems:r",
        "Accounting",
        "Invoice Items",
        false,
    ),
    KnownScope::new(
        "tn.acc.paymenttypes:r",
        "Accounting",
        "Payment Types",
        false,
    ),
    KnownScope::new("tn.acc.taxzones:r", "Accounting", "Tax Zones", false),
    KnownScope::new(
        "tn.crm.bookingprovidertags:r",
        "CRM",
        "Booking Provider Tags",
        false,
    ),
    KnownScope::new("tn.crm.bookings:r", "CRM", "Bookings", false),
    KnownScope::new("tn.crm.customers:r", "CRM", "Customers", true),
    KnownScope::new("tn.crm.leads:r", "CRM", "Leads", false),
    KnownScope::new("tn.crm.locations:r", "CRM", "Locations", true),
    KnownScope::new("tn.crm.tags:r", "CRM", "Tags", false),
    KnownScope::new(
        "tn.dis.appointmentassignments:r",
        "Dispatch",
        "Appointment Assignments",
        true,
    ),
    KnownScope::new("tn.dis.capacity:r", "Dispatch", "Capacity", false),
    KnownScope::new(
        "tn.dis.nonjobappointments:r",
        "Dispatch",
        "Non-Job Appointments",
        false,
    ),
    KnownScope::new("tn.dis.zones:r", "Dispatch", "Zones", true),
    KnownScope::new(
        "tn.jpm.appointments:r",
        "Job Planning and Management",
        "Appointments",
        true,
    ),
    KnownScope::new(
        "tn.jpm.jobcancelreasons:r",
        "Job Planning and Management",
        "Job Cancel Reasons",
        true,
    ),
    KnownScope::new(
        "tn.jpm.jobholdreasons:r",
        "Job Planning and Management",
        "Job Hold Reasons",
        false,
    ),
    KnownScope::new("tn.jpm.jobs:r", "Job Planning and Management", "Jobs", true),
    KnownScope::new(
        "tn.jpm.jobtypes:r",
        "Job Planning and Management",
        "Job Types",
        true,
    ),
    KnownScope::new(
        "tn.mem.memberships:r",
        "Memberships",
        "Customer Memberships",
        true,
    ),
    KnownScope::new(
        "tn.mem.membershiptypes:r",
        "Memberships",
        "Membership Types",
        true,
    ),
    KnownScope::new(
        "tn.mem.recurringserviceevents:r",
        "Memberships",
        "Recurring Service Events",
        true,
    ),
    KnownScope::new(
        "tn.mem.recurringservices:r",
        "Memberships",
        "Recurring Services",
        true,
    ),
    KnownScope::new(
        "tn.mem.recurringservicetypes:r",
        "Memberships",
        "Recurring Service Types",
        false,
    ),
    KnownScope::new("tn.mkt.campaigns:r", "Marketing", "Campaigns", true),
    KnownScope::new(
        "tn.mkt.campaigncategories:r",
        "Marketing",
        "Campaign Categories",
        false,
    ),
    KnownScope::new("tn.sls.estimates:r", "Sales & Estimates", "Estimates", true),
    KnownScope::new("tn.stt.businessunits:r", "Settings", "Business Units", true),
    KnownScope::new("tn.stt.employees:r", "Settings", "Employees", true),
    KnownScope::new("tn.stt.tagtypes:r", "Settings", "Tag Types", true),
    KnownScope::new("tn.stt.technicians:r", "Settings", "Technicians", true),
    KnownScope::new("tn.stt.userroles:r", "Settings", "User Roles", false),
    KnownScope::new("tn.tlc.calls:r", "Telecom", "Calls", true),
    KnownScope::new("tn.crm.customers:w", "CRM", "Customers", true),
    KnownScope::new("tn.crm.leads:w", "CRM", "Leads", false),
    KnownScope::new("tn.crm.locations:w", "CRM", "Locations", true),
    KnownScope::new("tn.dis.capacity:w", "Dispatch", "Capacity", false),
    KnownScope::new("tn.mkt.campaigns:w", "Marketing", "Campaigns", false),
    KnownScope::new("tn.jpm.jobs:w", "Job Planning and Management", "Jobs", true),
    KnownScope::new(
        "tn.jpm.appointments:w",
        "Job Planning and Management",
        "Appointments",
        false,
    ),
];

/// One scope of [`KNOWN_SCOPES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownScope {
    /// `tn.<module>.<resource>:r|w`.
    pub name: &'static str,
    /// The article FAQ's module (`Job Planning and Management`).
    pub module: &'static str,
    /// The article FAQ's resource label (`Job Cancel Reasons`).
    pub resource: &'static str,
    /// Whether some setting of this project can need it.
    pub used: bool,
}

impl KnownScope {
    const fn new(
        name: &'static str,
        module: &'static str,
        resource: &'static str,
        used: bool,
    ) -> Self {
        KnownScope {
            name,
            module,
            resource,
            used,
        }
    }

    /// `Read` or `Write`, from the `:r`/`:w` suffix.
    pub fn access(&self) -> &'static str {
        if self.name.ends_with(":w") {
            "Write"
        } else {
            "Read"
        }
    }
}

/// The entry of [`KNOWN_SCOPES`] named `name`, if any.
pub fn known(name: &str) -> Option<&'static KnownScope> {
    KNOWN_SCOPES.iter().find(|k| k.name == name)
}

/// Scopes needed, each with why: `{"tn.sls.estimates:r": ["resources.job: estimates"], ...}`.
/// Ordered by scope name.
pub type NeededScopes = BTreeMap<&'static str, BTreeSet<String>>;

fn base_scopes(model: Model) -> &'static [&'static str] {
    match model {
        Model::Job => &[
            "tn.jpm.jobs:r",
            "tn.crm.customers:r",
            "tn.crm.locations:r",
            "tn.stt.businessunits:r",
            "tn.jpm.jobtypes:r",
        ],
        Model::Membership => &[
            "tn.mem.memberships:r",
            "tn.crm.customers:r",
            "tn.crm.locations:r",
            "tn.mem.membershiptypes:r",
            "tn.stt.businessunits:r",
        ],
        Model::InboundCall => &["tn.tlc.calls:r", "tn.crm.customers:r"],
    }
}

/// The read scopes one optional resource needs (module table above).
pub fn resource_scopes(resource: Resource) -> &'static [&'static str] {
    match resource {
        Resource::Estimates => &["tn.sls.estimates:r"],
        Resource::Appointments => &["tn.jpm.appointments:r"],
        Resource::AppointmentAssignments => &["tn.dis.appointmentassignments:r"],
        Resource::CancelReasons => &["tn.jpm.jobcancelreasons:r"],
        Resource::TagTypes => &["tn.stt.tagtypes:r"],
        Resource::Campaigns => &["tn.mkt.campaigns:r"],
        Resource::Zones => &["tn.dis.zones:r"],
        Resource::EmployeesTechnicians => &["tn.stt.employees:r", "tn.stt.technicians:r"],
        Resource::Invoices => &["tn.acc.invoices:r"],
        Resource::RecurringServices => &["tn.mem.recurringservices:r"],
        Resource::RecurringServiceEvents => &["tn.mem.recurringserviceevents:r"],
    }
}

/// The scopes notes on `destination` need: write to post, read to look for the exactly-once
/// marker in recent notes (SPEC.md §7). `none` needs nothing.
pub fn destination_scopes(destination: Destination) -> &'static [&'static str] {
    match destination {
        Destination::None => &[],
        Destination::Job => &["tn.jpm.jobs:w", "tn.jpm.jobs:r"],
        Destination::Customer => &["tn.crm.customers:w", "tn.crm.customers:r"],
        Destination::Location => &["tn.crm.locations:w", "tn.crm.locations:r"],
    }
}

/// The scopes needed by `models` with `resources` selected and `push` settings (SPEC.md §2),
/// each with the settings that need it. Duplicated models are harmless; an empty model list
/// with push off needs nothing.
pub fn needed_scopes(
    models: &[Model],
    resources: &ResourceSelection,
    push: &PushSettings,
) -> NeededScopes {
    let mut out = NeededScopes::new();
    let mut add = |scope: &'static str, why: String| {
        out.entry(scope).or_default().insert(why);
    };
    for &model in models {
        for scope in base_scopes(model) {
            add(scope, format!("models: {model}"));
        }
        for &resource in Resource::optional_for(model) {
            if resources.uses(model, resource) {
                for scope in resource_scopes(resource) {
                    add(scope, format!("resources.{model}: {resource}"));
                }
            }
        }
    }
    for (setting, destination) in push.destinations() {
        for scope in destination_scopes(destination) {
            add(scope, format!("{setting}: {}", destination.as_str()));
        }
    }
    out
}

impl Integration {
    /// [`needed_scopes`] of this integration's models, resources and push settings.
    pub fn needed_scopes(&self) -> NeededScopes {
        needed_scopes(&self.models, &self.resources, &self.push)
    }
}

/// The needed scopes not in `granted` (compared exactly, as ServiceTitan names them), in name
/// order, each with why it is needed.
pub fn missing_scopes<S: AsRef<str>>(
    needed: &NeededScopes,
    granted: &[S],
) -> Vec<(&'static str, Vec<String>)> {
    needed
        .iter()
        .filter(|(scope, _)| !granted.iter().any(|g| g.as_ref() == **scope))
        .map(|(scope, why)| (*scope, why.iter().cloned().collect()))
        .collect()
}

/// Settings with every model, every optional resource and every push destination on (the
/// most scopes an integration can need); tests and docs use it.
pub fn all_on() -> (Vec<Model>, ResourceSelection, PushSettings) {
    let models = vec![Model::Job, Model::Membership, Model::InboundCall];
    let resources = ResourceSelection {
        job: Resource::optional_for(Model::Job).iter().copied().collect(),
        membership: Resource::optional_for(Model::Membership)
            .iter()
            .copied()
            .collect(),
    };
    let mut push = PushSettings::default();
    push.outgoing_campaign.destination = Destination::Job;
    push.incoming.destination = Destination::Customer;
    push.outgoing_manual.destination = Destination::Location;
    push.campaign_events.destination = Destination::Job;
    (models, resources, push)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_the_job_base_and_the_default_resources() {
        let needed = needed_scopes(
            &[Model::Job],
            &ResourceSelection::default(),
            &PushSettings::default(),
        );
        let names: Vec<&str> = needed.keys().copied().collect();
        assert_eq!(
            names,
            vec![
                "tn.acc.invoices:r",
                "tn.crm.customers:r",
                "tn.crm.locations:r",
                "tn.jpm.appointments:r",
                "tn.jpm.jobs:r",
                "tn.jpm.jobtypes:r",
                "tn.mkt.campaigns:r",
                "tn.sls.estimates:r",
                "tn.stt.businessunits:r",
            ]
        );
        assert!(needed["tn.sls.estimates:r"].contains("resources.job: estimates"));
        // no write scope without push
        assert!(needed.keys().all(|s| s.ends_with(":r")));
    }

    #[test]
    fn resources_of_a_disabled_model_and_unmet_dependencies_need_nothing() {
        let mut resources = ResourceSelection::default();
        resources.job.insert(Resource::AppointmentAssignments);
        resources.job.remove(&Resource::Appointments);
        let needed = needed_scopes(&[Model::Membership], &resources, &PushSettings::default());
        assert!(!needed.contains_key("tn.sls.estimates:r"));
        assert!(needed.contains_key("tn.mem.recurringservices:r"));
        let needed = needed_scopes(&[Model::Job], &resources, &PushSettings::default());
        assert!(!needed.contains_key("tn.dis.appointmentassignments:r"));
    }

    #[test]
    fn push_destinations_need_write_scopes() {
        let mut push = PushSettings::default();
        push.incoming.destination = Destination::Location;
        let needed = needed_scopes(&[Model::Membership], &ResourceSelection::default(), &push);
        assert!(needed["tn.crm.locations:w"].contains("push.incoming.destination: location"));
        assert!(!needed.contains_key("tn.jpm.jobs:w"));
    }

    #[test]
    fn every_needed_scope_is_known_and_marked_used() {
        let (models, resources, push) = all_on();
        let needed = needed_scopes(&models, &resources, &push);
        for scope in needed.keys() {
            let k = known(scope).unwrap_or_else(|| panic!("{scope} not in KNOWN_SCOPES"));
            assert!(k.used, "{scope} is needed but marked unused");
        }
        for k in KNOWN_SCOPES.iter().filter(|k| k.used) {
            assert!(
                needed.contains_key(k.name),
                "{} marked used, never needed",
                k.name
            );
        }
        let names: BTreeSet<&str> = KNOWN_SCOPES.iter().map(|k| k.name).collect();
        assert_eq!(names.len(), KNOWN_SCOPES.len(), "no duplicates");
    }

    #[test]
    fn missing_names_each_gap_with_its_reason() {
        let needed = needed_scopes(
            &[Model::Job],
            &ResourceSelection::default(),
            &PushSettings::default(),
        );
        let granted: Vec<&str> = needed
            .keys()
            .copied()
            .filter(|s| *s != "tn.acc.invoices:r" && *s != "tn.sls.estimates:r")
            .collect();
        let missing = missing_scopes(&needed, &granted);
        assert_eq!(
            missing.iter().map(|m| m.0).collect::<Vec<_>>(),
            vec!["tn.acc.invoices:r", "tn.sls.estimates:r"]
        );
        assert_eq!(missing[0].1, vec!["resources.job: invoices".to_owned()]);
    }
}
