//! Resource selection (SPEC.md §2; the article's "Selecting Object Resources"): which ServiceTitan
//! resources each model is built from. Required resources are always read; optional ones only
//! when selected, and an unselected resource is never requested and leaves no details.
//!
//! | model | required | optional (default on in bold) |
//! |---|---|---|
//! | job | job, customer (+contacts), location, business unit, job type | **estimates**, **appointments**, appointment assignments (needs appointments), cancel reasons, tag types, **campaigns**, zones, employees & technicians, **invoices** |
//! | membership | membership, customer (+contacts), location, membership type, business unit | **recurring services**, recurring service events, invoices, employees & technicians (Sold By), tag types, campaigns |

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Model;

/// An optional resource of a model (SPEC.md §2). Serialized camelCase as in settings JSON:
/// `estimates`, `appointments`, `appointmentAssignments`, `cancelReasons`, `tagTypes`,
/// `campaigns`, `zones`, `employeesTechnicians`, `invoices`, `recurringServices`,
/// `recurringServiceEvents`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Resource {
    /// Job: the job's estimates (`estimates:#:*`).
    Estimates,
    /// Job: the job's appointments (`appointments:#:*`).
    Appointments,
    /// Job: technicians on the appointments (`appointments:#:assignments:#:*`); needs
    /// [`Resource::Appointments`].
    AppointmentAssignments,
    /// Job: cancellation log and reason (`jobCanceledLogs:#:*`, `cancelReason:*`).
    CancelReasons,
    /// Both: tag names (`tagTypes:#:*`).
    TagTypes,
    /// Both: campaign (`campaign:*`; membership: `recurringServices:#:campaign:*`).
    Campaigns,
    /// Job: the location's zone (`zone:*`).
    Zones,
    /// Both: who sold it (`soldBy:*`, `estimates:#:soldBy:*`).
    EmployeesTechnicians,
    /// Both: invoices (`invoices:#:*`).
    Invoices,
    /// Membership: recurring services (`recurringServices:#:*`).
    RecurringServices,
    /// Membership: recurring service events (`recurringServiceEvents:#:*`).
    RecurringServiceEvents,
}

impl Resource {
    /// Every optional resource, in catalog order.
    pub const ALL: [Resource; 11] = [
        Resource::Estimates,
        Resource::Appointments,
        Resource::AppointmentAssignments,
        Resource::CancelReasons,
        Resource::TagTypes,
        Resource::Campaigns,
        Resource::Zones,
        Resource::EmployeesTechnicians,
        Resource::Invoices,
        Resource::RecurringServices,
        Resource::RecurringServiceEvents,
    ];

    /// The settings name (`appointmentAssignments`).
    pub fn name(self) -> &'static str {
        match self {
            Resource::Estimates => "estimates",
            Resource::Appointments => "appointments",
            Resource::AppointmentAssignments => "appointmentAssignments",
            Resource::CancelReasons => "cancelReasons",
            Resource::TagTypes => "tagTypes",
            Resource::Campaigns => "campaigns",
            Resource::Zones => "zones",
            Resource::EmployeesTechnicians => "employeesTechnicians",
            Resource::Invoices => "invoices",
            Resource::RecurringServices => "recurringServices",
            Resource::RecurringServiceEvents => "recurringServiceEvents",
        }
    }

    /// The label the article and the field catalog use ("Appointment Assignments").
    pub fn label(self) -> &'static str {
        match self {
            Resource::Estimates => "Estimates",
            Resource::Appointments => "Appointments",
            Resource::AppointmentAssignments => "Appointment Assignments",
            Resource::CancelReasons => "Cancel Reasons",
            Resource::TagTypes => "Tag Types",
            Resource::Campaigns => "Campaigns",
            Resource::Zones => "Zones",
            Resource::EmployeesTechnicians => "Employees & Technicians",
            Resource::Invoices => "Invoices",
            Resource::RecurringServices => "Recurring Services",
            Resource::RecurringServiceEvents => "Recurring Service Events",
        }
    }

    /// The optional resources `model` can use (SPEC.md §2 table).
    pub fn optional_for(model: Model) -> &'static [Resource] {
        match model {
            Model::Job => &[
                Resource::Estimates,
                Resource::Appointments,
                Resource::AppointmentAssignments,
                Resource::CancelReasons,
                Resource::TagTypes,
                Resource::Campaigns,
                Resource::Zones,
                Resource::EmployeesTechnicians,
                Resource::Invoices,
            ],
            Model::Membership => &[
                Resource::RecurringServices,
                Resource::RecurringServiceEvents,
                Resource::Invoices,
                Resource::EmployeesTechnicians,
                Resource::TagTypes,
                Resource::Campaigns,
            ],
            Model::InboundCall => &[],
        }
    }

    /// The resources this one needs selected too (assignments need appointments).
    pub fn requires(self) -> &'static [Resource] {
        match self {
            Resource::AppointmentAssignments => &[Resource::Appointments],
            _ => &[],
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Resource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Resource::ALL
            .iter()
            .copied()
            .find(|r| r.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Resource::ALL.iter().map(|r| r.name()).collect();
                format!(
                    "unknown resource `{s}` (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// The required resources of a model, as catalog labels (always read; SPEC.md §2).
pub fn required_for(model: Model) -> &'static [&'static str] {
    match model {
        Model::Job => &["Job", "Customer", "Location", "Business Unit", "Job Type"],
        Model::Membership => &[
            "Membership",
            "Customer",
            "Location",
            "Membership Type",
            "Business Unit",
        ],
        Model::InboundCall => &["Call"],
    }
}

/// The optional resources selected per model. JSON `{"job": ["estimates", ...], "membership":
/// ["recurringServices"]}`; a missing key (or a stored integration from before this setting)
/// means the defaults of SPEC.md §2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSelection {
    /// Job model: selected optional resources.
    #[serde(default = "default_job")]
    pub job: BTreeSet<Resource>,
    /// Membership model: selected optional resources.
    #[serde(default = "default_membership")]
    pub membership: BTreeSet<Resource>,
}

fn default_job() -> BTreeSet<Resource> {
    [
        Resource::Estimates,
        Resource::Appointments,
        Resource::Campaigns,
        Resource::Invoices,
    ]
    .into()
}

fn default_membership() -> BTreeSet<Resource> {
    [Resource::RecurringServices].into()
}

impl Default for ResourceSelection {
    /// SPEC.md §2: job estimates, appointments, campaigns, invoices; membership recurring services.
    fn default() -> Self {
        ResourceSelection {
            job: default_job(),
            membership: default_membership(),
        }
    }
}

/// One problem with a setting: the setting's name and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingProblem {
    /// The setting, e.g. `resources.job`.
    pub setting: String,
    /// What is wrong, e.g. "appointmentAssignments needs appointments".
    pub message: String,
}

impl std::fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

impl ResourceSelection {
    /// The selection of `model` (empty for models without optional resources).
    pub fn for_model(&self, model: Model) -> &BTreeSet<Resource> {
        static EMPTY: BTreeSet<Resource> = BTreeSet::new();
        match model {
            Model::Job => &self.job,
            Model::Membership => &self.membership,
            Model::InboundCall => &EMPTY,
        }
    }

    /// Whether `model` reads `resource`: it is selected, available for the model, and what it
    /// needs is selected too. The sync engine asks this, so an invalid stored selection (e.g.
    /// assignments without appointments) degrades to the valid part instead of failing.
    pub fn uses(&self, model: Model, resource: Resource) -> bool {
        let selected = self.for_model(model);
        selected.contains(&resource)
            && Resource::optional_for(model).contains(&resource)
            && resource.requires().iter().all(|r| selected.contains(r))
    }

    /// Every problem at once (SPEC.md §2 "Validation returns every problem at once with the
    /// setting's name"): a resource the model does not offer (`zones` for membership), and a
    /// resource whose dependency is not selected (assignments without appointments).
    pub fn validate(&self) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        for model in [Model::Job, Model::Membership] {
            let setting = format!("resources.{model}");
            let selected = self.for_model(model);
            for r in selected {
                if !Resource::optional_for(model).contains(r) {
                    let offered: Vec<&str> = Resource::optional_for(model)
                        .iter()
                        .map(|r| r.name())
                        .collect();
                    problems.push(SettingProblem {
                        setting: setting.clone(),
                        message: format!(
                            "`{r}` is not a resource of the {model} model (choose from {})",
                            offered.join(", ")
                        ),
                    });
                    continue;
                }
                for needed in r.requires() {
                    if !selected.contains(needed) {
                        problems.push(SettingProblem {
                            setting: setting.clone(),
                            message: format!(
                                "`{r}` needs `{needed}`: select {} too or deselect {}",
                                needed.label(),
                                r.label()
                            ),
                        });
                    }
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_follow_the_spec() {
        let s = ResourceSelection::default();
        assert!(s.uses(Model::Job, Resource::Estimates));
        assert!(s.uses(Model::Job, Resource::Appointments));
        assert!(s.uses(Model::Job, Resource::Campaigns));
        assert!(s.uses(Model::Job, Resource::Invoices));
        assert!(!s.uses(Model::Job, Resource::AppointmentAssignments));
        assert!(!s.uses(Model::Job, Resource::Zones));
        assert!(s.uses(Model::Membership, Resource::RecurringServices));
        assert!(!s.uses(Model::Membership, Resource::Invoices));
        assert!(s.validate().is_empty());
        // stored JSON without the setting, or with one model only, gets the defaults
        let parsed: ResourceSelection = serde_json::from_value(json!({})).unwrap();
        assert_eq!(parsed, s);
        let parsed: ResourceSelection = serde_json::from_value(json!({"job": ["zones"]})).unwrap();
        assert_eq!(parsed.job, [Resource::Zones].into());
        assert_eq!(parsed.membership, s.membership);
    }

    #[test]
    fn validation_names_every_problem() {
        let s: ResourceSelection = serde_json::from_value(json!({
            "job": ["appointmentAssignments", "recurringServices"],
            "membership": ["zones", "estimates", "invoices"]
        }))
        .unwrap();
        let problems = s.validate();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 4, "{text:#?}");
        assert!(text.iter().any(|p| p.starts_with("resources.job:")
            && p.contains("`appointmentAssignments` needs `appointments`")));
        assert!(text
            .iter()
            .any(|p| p.starts_with("resources.job:") && p.contains("`recurringServices`")));
        assert!(text
            .iter()
            .any(|p| p.starts_with("resources.membership:") && p.contains("`zones`")));
        assert!(text
            .iter()
            .any(|p| p.starts_with("resources.membership:") && p.contains("`estimates`")));
        // an invalid selection degrades to its valid part
        assert!(!s.uses(Model::Job, Resource::AppointmentAssignments));
        assert!(!s.uses(Model::Membership, Resource::Zones));
        assert!(s.uses(Model::Membership, Resource::Invoices));
    }

    #[test]
    fn names_parse_and_print() {
        for r in Resource::ALL {
            assert_eq!(r.name().parse::<Resource>().unwrap(), r);
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::Value::String(r.name().to_owned())
            );
        }
        assert!("Estimates".parse::<Resource>().is_ok());
        assert!("nope"
            .parse::<Resource>()
            .unwrap_err()
            .contains("appointmentAssignments"));
    }
}
