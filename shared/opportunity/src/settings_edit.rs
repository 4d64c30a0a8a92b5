//! Editing integration settings from `key=value` text (`stsync config set`, `stsync connect
//! --set`): which keys exist, how each value is written, and applying a batch so that every
//! problem is reported at once and nothing changes on error (SPEC.md §2).
//!
//! Keys are the settings' JSON names, the same names [`Integration::validate`] uses in its
//! messages. Lists are comma-separated; an empty value is the empty list.
//!
//! | key | value |
//! |---|---|
//! | `models` | `job`, `membership`, `inbound_call`, comma-separated |
//! | `resources.job`, `resources.membership` | optional resource names (`estimates,appointments`), `default`, or empty |
//! | `placeholderEmails` | patterns (`noemail@*,*@example.com`), or empty |
//! | `phoneRegion` | ISO 3166 alpha-2 (`US`) |
//! | `pollIntervalMinutes` | 1 to 60 |
//! | `push.{outgoingCampaign,incoming,outgoingManual}.destination` | `none`, `job`, `customer`, `location` |
//! | `push.{outgoingCampaign,incoming,outgoingManual}.includeContent` | `true`/`false` (`yes`/`no`, `on`/`off`) |
//! | `push.campaignEvents.destination` | as above |
//! | `push.campaignEvents.{launched,firstMessageSent,removed,completed}` | `true`/`false` |
//!
//! `environment`, `tenantId` and `clientId` are credentials: they change only through a new
//! activation (`stsync connect`), which checks them; `workspaceId`, `secretId`, `status` and
//! `activatedAt` are not settings a user edits.

use std::collections::BTreeSet;

use crate::resources::{Resource, ResourceSelection, SettingProblem};
use crate::settings::{ClassPush, Destination, Integration};
use crate::Model;

/// Every key [`apply`] accepts, with a one-line description (for help texts and docs).
pub const KEYS: &[(&str, &str)] = &[
    ("models", "job, membership, inbound_call (comma-separated)"),
    (
        "resources.job",
        "optional job resources (comma-separated), `default`, or empty",
    ),
    (
        "resources.membership",
        "optional membership resources (comma-separated), `default`, or empty",
    ),
    (
        "placeholderEmails",
        "placeholder e-mail patterns (comma-separated), or empty",
    ),
    ("phoneRegion", "default phone region, ISO 3166 alpha-2"),
    ("pollIntervalMinutes", "1 to 60"),
    (
        "push.outgoingCampaign.destination",
        "none, job, customer, location",
    ),
    ("push.outgoingCampaign.includeContent", "true or false"),
    ("push.incoming.destination", "none, job, customer, location"),
    ("push.incoming.includeContent", "true or false"),
    (
        "push.outgoingManual.destination",
        "none, job, customer, location",
    ),
    ("push.outgoingManual.includeContent", "true or false"),
    (
        "push.campaignEvents.destination",
        "none, job, customer, location",
    ),
    ("push.campaignEvents.launched", "true or false"),
    ("push.campaignEvents.firstMessageSent", "true or false"),
    ("push.campaignEvents.removed", "true or false"),
    ("push.campaignEvents.completed", "true or false"),
];

/// Keys that exist but change only through activation (they are checked against ServiceTitan).
const CONNECT_ONLY: &[&str] = &["environment", "tenantId", "clientId"];
/// Keys that exist but are not user settings.
const NOT_SETTINGS: &[&str] = &["workspaceId", "secretId", "status", "activatedAt"];

fn problem(setting: &str, message: impl Into<String>) -> SettingProblem {
    SettingProblem {
        setting: setting.to_owned(),
        message: message.into(),
    }
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_bool(key: &str, value: &str) -> Result<bool, SettingProblem> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(problem(key, format!("`{value}` is not true or false"))),
    }
}

fn parse_destination(key: &str, value: &str) -> Result<Destination, SettingProblem> {
    let v = value.trim();
    Destination::ALL
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(v))
        .ok_or_else(|| {
            problem(
                key,
                format!("`{value}` is not a destination (none, job, customer, location)"),
            )
        })
}

/// `resources.job` / `resources.membership`: `default`, or resource names. An unknown name's
/// problem lists the names that model offers ([`Resource::optional_for`]); a known name of the
/// other model is left to [`ResourceSelection::validate`].
fn parse_resources(key: &str, value: &str) -> Result<BTreeSet<Resource>, Vec<SettingProblem>> {
    let model = if key == "resources.job" {
        Model::Job
    } else {
        Model::Membership
    };
    if value.trim().eq_ignore_ascii_case("default") {
        let d = ResourceSelection::default();
        return Ok(d.for_model(model).clone());
    }
    let mut out = BTreeSet::new();
    let mut problems = Vec::new();
    for name in list(value) {
        match name.parse::<Resource>() {
            Ok(r) => {
                out.insert(r);
            }
            Err(_) => {
                let offered: Vec<&str> = Resource::optional_for(model)
                    .iter()
                    .map(|r| r.name())
                    .collect();
                problems.push(problem(
                    key,
                    format!(
                        "unknown resource `{name}` (the {model} model offers {})",
                        offered.join(", ")
                    ),
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Apply one `key`/`value` to `integration` (no validation across settings: see [`apply_all`]).
///
/// Errors: every problem with this one value, naming `key` (unknown key, a credential key, a
/// value that does not parse).
pub fn apply(
    integration: &mut Integration,
    key: &str,
    value: &str,
) -> Result<(), Vec<SettingProblem>> {
    let one = |p: SettingProblem| vec![p];
    match key {
        "models" => {
            let mut models = Vec::new();
            let mut problems = Vec::new();
            for name in list(value) {
                match name.parse::<Model>() {
                    Ok(m) => models.push(m),
                    Err(e) => problems.push(problem(key, e)),
                }
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            integration.models = models;
        }
        "resources.job" => integration.resources.job = parse_resources(key, value)?,
        "resources.membership" => integration.resources.membership = parse_resources(key, value)?,
        "placeholderEmails" => {
            integration.placeholder_emails = list(value).map(str::to_owned).collect();
        }
        "phoneRegion" => integration.phone_region = value.trim().to_ascii_uppercase(),
        "pollIntervalMinutes" => {
            integration.poll_interval_minutes = value.trim().parse().map_err(|_| {
                one(problem(
                    key,
                    format!("`{value}` is not a whole number of minutes (1 to 60)"),
                ))
            })?;
        }
        _ => {
            if let Some(rest) = key.strip_prefix("push.") {
                return apply_push(integration, key, rest, value).map_err(one);
            }
            if CONNECT_ONLY.contains(&key) {
                return Err(one(problem(
                    key,
                    "is a credential setting: change it with `stsync connect`, which checks it against ServiceTitan",
                )));
            }
            if NOT_SETTINGS.contains(&key) {
                return Err(one(problem(key, "is not a setting you can change")));
            }
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            return Err(one(problem(
                key,
                format!("unknown setting (known: {})", known.join(", ")),
            )));
        }
    }
    Ok(())
}

fn apply_push(
    integration: &mut Integration,
    key: &str,
    rest: &str,
    value: &str,
) -> Result<(), SettingProblem> {
    let push = &mut integration.push;
    let (class, field) = rest
        .split_once('.')
        .ok_or_else(|| problem(key, "unknown push setting"))?;
    let class_push: Option<&mut ClassPush> = match class {
        "outgoingCampaign" => Some(&mut push.outgoing_campaign),
        "incoming" => Some(&mut push.incoming),
        "outgoingManual" => Some(&mut push.outgoing_manual),
        _ => None,
    };
    if let Some(c) = class_push {
        match field {
            "destination" => c.destination = parse_destination(key, value)?,
            "includeContent" => c.include_content = parse_bool(key, value)?,
            _ => {
                return Err(problem(
                    key,
                    "unknown push setting (destination, includeContent)",
                ))
            }
        }
        return Ok(());
    }
    if class != "campaignEvents" {
        return Err(problem(
            key,
            "unknown push class (outgoingCampaign, incoming, outgoingManual, campaignEvents)",
        ));
    }
    let events = &mut push.campaign_events;
    match field {
        "destination" => events.destination = parse_destination(key, value)?,
        "launched" => events.launched = parse_bool(key, value)?,
        "firstMessageSent" => events.first_message_sent = parse_bool(key, value)?,
        "removed" => events.removed = parse_bool(key, value)?,
        "completed" => events.completed = parse_bool(key, value)?,
        _ => {
            return Err(problem(
                key,
                "unknown campaign event setting (destination, launched, firstMessageSent, removed, completed)",
            ))
        }
    }
    Ok(())
}

/// Apply `key=value` assignments to a copy of `integration` and validate the result: the edited
/// settings when everything is fine, else every problem at once (parse problems of each
/// assignment, then [`Integration::validate`] of the result). `integration` itself is never
/// changed, so a caller that stores only on `Ok` writes nothing on error.
///
/// Errors: the problems, each naming its setting (`pollIntervalMinutes: 0 is outside 1 to 60
/// minutes`); an assignment without `=` is named by its position (`argument 2`).
pub fn apply_all(
    integration: &Integration,
    assignments: &[String],
) -> Result<Integration, Vec<SettingProblem>> {
    let mut edited = integration.clone();
    let mut problems = Vec::new();
    for (i, assignment) in assignments.iter().enumerate() {
        match assignment.split_once('=') {
            Some((key, value)) => {
                if let Err(p) = apply(&mut edited, key.trim(), value) {
                    problems.extend(p);
                }
            }
            None => problems.push(problem(
                &format!("argument {}", i + 1),
                format!("`{assignment}` is not key=value"),
            )),
        }
    }
    if problems.is_empty() {
        problems = edited.validate();
    } else {
        // Report the cross-setting problems too, except for keys that already failed to parse
        // (their old value would be blamed for the new one).
        let failed: Vec<String> = problems.iter().map(|p| p.setting.clone()).collect();
        problems.extend(
            edited
                .validate()
                .into_iter()
                .filter(|p| !failed.iter().any(|f| p.setting.starts_with(f.as_str()))),
        );
    }
    if problems.is_empty() {
        Ok(edited)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Environment, IntegrationStatus};

    fn base() -> Integration {
        serde_json::from_str(
            r#"{"workspaceId":"w","environment":"integration","tenantId":1,"clientId":"cid.x",
            "secretId":"s","models":["job"],"status":"active","activatedAt":"2024-05-01T00:00:00Z"}"#,
        )
        .unwrap()
    }

    fn set(args: &[&str]) -> Result<Integration, Vec<String>> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        apply_all(&base(), &args).map_err(|p| p.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn every_key_listed_is_accepted() {
        for (key, _) in KEYS {
            let value = match *key {
                "models" => "job",
                k if k.starts_with("resources.") => "default",
                "placeholderEmails" => "noemail@*",
                "phoneRegion" => "CA",
                "pollIntervalMinutes" => "30",
                k if k.ends_with(".destination") => "customer",
                _ => "true",
            };
            let edited = set(&[&format!("{key}={value}")]);
            assert!(edited.is_ok(), "{key}: {edited:?}");
        }
    }

    #[test]
    fn a_good_batch_edits_everything() {
        let i = set(&[
            "models=job,inbound_call",
            "resources.job=estimates,appointments,appointmentAssignments,invoices",
            "placeholderEmails=noemail@*, *@example.com",
            "pollIntervalMinutes=5",
            "phoneRegion=ca",
            "push.incoming.destination=job",
            "push.incoming.includeContent=yes",
            "push.campaignEvents.destination=location",
            "push.campaignEvents.removed=off",
        ])
        .unwrap();
        assert_eq!(i.models, vec![Model::Job, Model::InboundCall]);
        assert!(i.resources.job.contains(&Resource::AppointmentAssignments));
        assert_eq!(i.placeholder_emails, vec!["noemail@*", "*@example.com"]);
        assert_eq!(i.poll_interval_minutes, 5);
        assert_eq!(i.phone_region, "CA");
        assert_eq!(i.push.incoming.destination, Destination::Job);
        assert!(i.push.incoming.include_content);
        assert_eq!(i.push.campaign_events.destination, Destination::Location);
        assert!(!i.push.campaign_events.removed);
        // untouched
        assert_eq!(i.environment, Environment::Integration);
        assert_eq!(i.status, IntegrationStatus::Active);
    }

    #[test]
    fn every_problem_at_once_and_nothing_changed() {
        let before = base();
        let problems = set(&[
            "pollIntervalMinutes=0",
            "models=membership",
            "resources.job=appointmentAssignments,bogus",
            "push.incoming.destination=job",
            "placeholderEmails=nobody, ok@*",
            "tenantId=5",
            "colour=blue",
            "phoneRegion=Narnia",
            "oops",
        ])
        .unwrap_err();
        let has = |prefix: &str, needle: &str| {
            problems
                .iter()
                .any(|p| p.starts_with(prefix) && p.contains(needle))
        };
        assert!(
            has("pollIntervalMinutes:", "outside 1 to 60"),
            "{problems:#?}"
        );
        assert!(
            has("resources.job:", "unknown resource `bogus`"),
            "{problems:#?}"
        );
        // the names offered are the job model's, not every resource's
        let bogus = problems.iter().find(|p| p.contains("`bogus`")).unwrap();
        assert!(bogus.contains("estimates"), "{bogus}");
        assert!(!bogus.contains("recurringServices"), "{bogus}");
        assert!(
            has("push.incoming.destination:", "needs the job model"),
            "{problems:#?}"
        );
        assert!(has("placeholderEmails[0]:", "no `@`"), "{problems:#?}");
        assert!(has("tenantId:", "stsync connect"), "{problems:#?}");
        assert!(has("colour:", "unknown setting"), "{problems:#?}");
        assert!(has("phoneRegion:", "ISO 3166"), "{problems:#?}");
        assert!(has("argument 9:", "key=value"), "{problems:#?}");
        assert!(!has("placeholderEmails[1]", ""), "{problems:#?}");
        assert_eq!(before, base());
    }

    #[test]
    fn dependencies_between_resources_are_checked_after_the_edit() {
        let problems = set(&["resources.job=appointmentAssignments"]).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("`appointmentAssignments` needs `appointments`"));
        assert!(set(&["resources.job=appointments,appointmentAssignments"]).is_ok());
        let problems = set(&["models="]).unwrap_err();
        assert!(problems[0].starts_with("models:"), "{problems:?}");
    }
}
