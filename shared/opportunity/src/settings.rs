//! Integration settings (SPEC.md §1, §2): the stored [`Integration`], its push settings, and the
//! one validation entry point, [`Integration::validate`], which reports every problem at once,
//! each naming its setting (resource selection rules live in [`crate::resources`], placeholder
//! pattern syntax in [`crate::email`]; both are called from here, not repeated).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::resources::SettingProblem;
use crate::Model;

/// Shortest and longest poll interval, minutes (SPEC.md §2: 1 to 60).
pub const POLL_INTERVAL_RANGE: std::ops::RangeInclusive<u32> = 1..=60;
/// Longest accepted client id, bytes (ServiceTitan's are `cid.` + ~20 characters; this is a
/// sanity bound, not ServiceTitan's rule).
pub const MAX_CLIENT_ID_LEN: usize = 200;
/// Longest accepted placeholder pattern, characters (an e-mail address is at most 254).
pub const MAX_PLACEHOLDER_LEN: usize = 254;
/// Most placeholder patterns one integration may add to the built-in list.
pub const MAX_PLACEHOLDERS: usize = 200;

/// ServiceTitan environment of an integration (API-NOTES §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// `api.servicetitan.io` / `auth.servicetitan.io`.
    Production,
    /// `api-integration.servicetitan.io` / `auth-integration.servicetitan.io`.
    Integration,
}

/// Lifecycle of an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    /// Connected and syncing.
    Active,
    /// Disconnected: no polling, data kept.
    Disconnected,
}

/// One workspace's connection to one ServiceTitan tenant. Secrets are never part of it: the client
/// secret lives in AWS Secrets Manager under `secret_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    /// Our workspace id (every store key starts with it).
    pub workspace_id: String,
    /// ServiceTitan environment.
    pub environment: Environment,
    /// ServiceTitan tenant id.
    pub tenant_id: i64,
    /// OAuth client id (not secret).
    pub client_id: String,
    /// Where the client secret is kept (Secrets Manager secret id or ARN).
    pub secret_id: String,
    /// Enabled models.
    pub models: Vec<Model>,
    /// The user's placeholder e-mail addresses and patterns (`noemail@*`, `*@example.com`), added
    /// to the built-in list.
    #[serde(default)]
    pub placeholder_emails: Vec<String>,
    /// Default phone region for numbers without a country code (ISO 3166 alpha-2), e.g. `US`.
    #[serde(default = "default_region")]
    pub phone_region: String,
    /// Poll interval in minutes (1 to 60).
    #[serde(default = "default_poll")]
    pub poll_interval_minutes: u32,
    /// Active or disconnected.
    pub status: IntegrationStatus,
    /// When the integration was activated (UTC): incremental polling starts here and the backfill
    /// covers the 90 days before it.
    pub activated_at: DateTime<Utc>,
    /// Push settings: which platform events become ServiceTitan notes, where (SPEC.md §2, §7).
    /// Absent in stored JSON = everything off.
    #[serde(default)]
    pub push: PushSettings,
    /// Optional ServiceTitan resources per model (SPEC.md §2). Absent in stored JSON = the
    /// defaults (job: estimates, appointments, campaigns, invoices; membership: recurring
    /// services).
    #[serde(default)]
    pub resources: crate::resources::ResourceSelection,
}

fn default_region() -> String {
    "US".to_owned()
}

fn default_poll() -> u32 {
    15
}

/// Where the note of a pushed event goes (SPEC.md §2). Serialized `none`, `job`, `customer`,
/// `location`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// Not pushed (the default).
    #[default]
    None,
    /// The job (job opportunities only; see [`crate::push::resolve_target`]).
    Job,
    /// The ServiceTitan customer.
    Customer,
    /// The ServiceTitan location (service address).
    Location,
}

impl Destination {
    /// Every destination, in settings order.
    pub const ALL: [Destination; 4] = [
        Destination::None,
        Destination::Job,
        Destination::Customer,
        Destination::Location,
    ];

    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Destination::None => "none",
            Destination::Job => "job",
            Destination::Customer => "customer",
            Destination::Location => "location",
        }
    }
}

/// Push settings of one message class (SPEC.md §2): where its notes go and whether the message
/// content is quoted in them. JSON `{"destination": "job", "includeContent": true}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClassPush {
    /// Where the notes go (`none` = not pushed).
    pub destination: Destination,
    /// Quote the message content (a call has none). Off by default: content is personal data.
    pub include_content: bool,
}

/// Push settings of campaign events (SPEC.md §2): one destination, and each of the four events
/// on or off. The events default to on, so choosing a destination pushes all four; the
/// destination defaults to `none`, so nothing is pushed until someone chooses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CampaignEventsPush {
    /// Where the notes go (`none` = not pushed).
    pub destination: Destination,
    /// A contact was launched (added) into a campaign.
    pub launched: bool,
    /// A contact was sent the campaign's first message.
    pub first_message_sent: bool,
    /// A contact was removed from a campaign before it ended.
    pub removed: bool,
    /// A contact completed a campaign.
    pub completed: bool,
}

impl Default for CampaignEventsPush {
    fn default() -> Self {
        CampaignEventsPush {
            destination: Destination::None,
            launched: true,
            first_message_sent: true,
            removed: true,
            completed: true,
        }
    }
}

/// Which platform events become ServiceTitan notes (SPEC.md §2, §7; the article's "Sync
/// Communications"). Everything defaults to `none`. JSON:
///
/// ```json
/// {"outgoingCampaign": {"destination": "job", "includeContent": true},
///  "incoming": {"destination": "customer", "includeContent": false},
///  "outgoingManual": {"destination": "none"},
///  "campaignEvents": {"destination": "job", "launched": true, "firstMessageSent": false,
///                     "removed": true, "completed": true}}
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PushSettings {
    /// Messages (text, e-mail, voicemail) a campaign sends to a contact.
    pub outgoing_campaign: ClassPush,
    /// Calls and messages a contact sends to the workspace.
    pub incoming: ClassPush,
    /// Calls and messages a user of the workspace sends to a contact.
    pub outgoing_manual: ClassPush,
    /// Campaign events (launched, first message sent, removed before the end, completed).
    pub campaign_events: CampaignEventsPush,
}

impl PushSettings {
    /// Whether any event is pushed at all.
    pub fn any_enabled(&self) -> bool {
        [
            self.outgoing_campaign.destination,
            self.incoming.destination,
            self.outgoing_manual.destination,
            self.campaign_events.destination,
        ]
        .iter()
        .any(|d| *d != Destination::None)
    }

    /// The four destination settings with their names (`push.incoming.destination`, ...).
    pub fn destinations(&self) -> [(&'static str, Destination); 4] {
        [
            (
                "push.outgoingCampaign.destination",
                self.outgoing_campaign.destination,
            ),
            ("push.incoming.destination", self.incoming.destination),
            (
                "push.outgoingManual.destination",
                self.outgoing_manual.destination,
            ),
            (
                "push.campaignEvents.destination",
                self.campaign_events.destination,
            ),
        ]
    }

    /// Problems of these settings with the integration's `models`, each naming the setting
    /// (SPEC.md §2: destination `job` needs the job model). Empty when usable.
    pub fn problems(&self, models: &[Model]) -> Vec<SettingProblem> {
        let mut out = Vec::new();
        for (name, destination) in self.destinations() {
            if destination == Destination::Job && !models.contains(&Model::Job) {
                out.push(SettingProblem {
                    setting: name.to_owned(),
                    message: format!(
                        "`job` needs the job model (enabled: {}); choose customer or location",
                        if models.is_empty() {
                            "none".to_owned()
                        } else {
                            models
                                .iter()
                                .map(|m| m.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                });
            }
        }
        out
    }
}

impl Integration {
    /// Every problem of these settings at once (SPEC.md §2 "Validation returns every problem at
    /// once with the setting's name"), in a stable order; empty when the settings are usable.
    /// Setting names are the JSON names (`pollIntervalMinutes`, `resources.job`,
    /// `push.incoming.destination`), the same `stsync config set` takes.
    ///
    /// Rules: `workspaceId` non-empty; `tenantId` positive (ServiceTitan tenant ids are positive
    /// int64, API-NOTES §1); `clientId` non-empty, at most [`MAX_CLIENT_ID_LEN`] bytes, no
    /// whitespace or control characters; `secretId` non-empty; `models` non-empty and without
    /// repeats; `pollIntervalMinutes` in [`POLL_INTERVAL_RANGE`]; `phoneRegion` an ISO 3166
    /// alpha-2 region libphonenumber knows; `placeholderEmails` each a pattern as
    /// [`crate::email::PlaceholderEmails`] reads it (contains `@`, no whitespace inside, at most
    /// [`MAX_PLACEHOLDER_LEN`] characters, at most [`MAX_PLACEHOLDERS`] of them); `resources`
    /// per [`crate::ResourceSelection::validate`]; `push` per [`PushSettings::problems`].
    /// Warnings (not errors) come from [`Integration::warnings`].
    pub fn validate(&self) -> Vec<SettingProblem> {
        let mut out = Vec::new();
        let mut problem = |setting: &str, message: String| {
            out.push(SettingProblem {
                setting: setting.to_owned(),
                message,
            })
        };
        if self.workspace_id.trim().is_empty() {
            problem("workspaceId", "must not be empty".into());
        }
        if self.tenant_id <= 0 {
            problem(
                "tenantId",
                format!(
                    "`{}` is not a ServiceTitan tenant id (a positive number; ServiceTitan shows it in Settings → Integrations → API Application Access)",
                    self.tenant_id
                ),
            );
        }
        let client_id = self.client_id.as_str();
        if client_id.trim().is_empty() {
            problem(
                "clientId",
                "must not be empty (copy the Client ID from the app's Application Details screen)"
                    .into(),
            );
        } else if client_id.len() > MAX_CLIENT_ID_LEN {
            problem(
                "clientId",
                format!(
                    "is {} bytes long (at most {MAX_CLIENT_ID_LEN})",
                    client_id.len()
                ),
            );
        } else if client_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            problem(
                "clientId",
                "contains spaces or control characters (paste the Client ID alone)".into(),
            );
        }
        if self.secret_id.trim().is_empty() {
            problem("secretId", "must not be empty".into());
        }
        if self.models.is_empty() {
            problem(
                "models",
                "choose at least one of job, membership, inbound_call".into(),
            );
        }
        let mut seen = Vec::new();
        for m in &self.models {
            if seen.contains(m) {
                problem("models", format!("`{m}` is listed twice"));
            } else {
                seen.push(*m);
            }
        }
        if !POLL_INTERVAL_RANGE.contains(&self.poll_interval_minutes) {
            problem(
                "pollIntervalMinutes",
                format!(
                    "{} is outside {} to {} minutes",
                    self.poll_interval_minutes,
                    POLL_INTERVAL_RANGE.start(),
                    POLL_INTERVAL_RANGE.end()
                ),
            );
        }
        if !crate::phone::is_known_region(&self.phone_region) {
            problem(
                "phoneRegion",
                format!(
                    "`{}` is not an ISO 3166 alpha-2 region code (e.g. US, CA, GB)",
                    self.phone_region
                ),
            );
        }
        if self.placeholder_emails.len() > MAX_PLACEHOLDERS {
            problem(
                "placeholderEmails",
                format!(
                    "{} patterns (at most {MAX_PLACEHOLDERS})",
                    self.placeholder_emails.len()
                ),
            );
        }
        for (i, pattern) in self.placeholder_emails.iter().enumerate() {
            if let Err(why) = crate::email::check_pattern(pattern) {
                problem(&format!("placeholderEmails[{i}]"), why);
            }
        }
        out.extend(self.resources.validate());
        out.extend(self.push.problems(&self.models));
        out
    }

    /// Advice that does not stop the settings from being saved (SPEC.md §2: warn when both job
    /// and membership are on; the article recommends one opportunity model per integration).
    pub fn warnings(&self) -> Vec<SettingProblem> {
        let mut out = Vec::new();
        if self.models.contains(&Model::Job) && self.models.contains(&Model::Membership) {
            out.push(SettingProblem {
                setting: "models".into(),
                message: "both job and membership are on; one opportunity model per integration is recommended (a customer then gets an opportunity from each)".into(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_settings_default_to_none_and_parse_partially() {
        let p: PushSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(p, PushSettings::default());
        assert!(!p.any_enabled());
        assert!(p.campaign_events.launched && p.campaign_events.completed);

        let p: PushSettings = serde_json::from_str(
            r#"{"incoming": {"destination": "location", "includeContent": true},
                "campaignEvents": {"destination": "job", "removed": false}}"#,
        )
        .unwrap();
        assert_eq!(p.incoming.destination, Destination::Location);
        assert!(p.incoming.include_content);
        assert_eq!(p.outgoing_campaign, ClassPush::default());
        assert_eq!(p.campaign_events.destination, Destination::Job);
        assert!(!p.campaign_events.removed && p.campaign_events.first_message_sent);
        assert!(p.any_enabled());
    }

    #[test]
    fn an_integration_stored_before_push_settings_reads_with_push_off() {
        let json = r#"{"workspaceId":"w","environment":"integration","tenantId":1,"clientId":"c",
            "secretId":"s","models":["job"],"status":"active","activatedAt":"2024-05-01T00:00:00Z"}"#;
        let i: Integration = serde_json::from_str(json).unwrap();
        assert_eq!(i.push, PushSettings::default());
    }

    #[test]
    fn job_destination_needs_the_job_model() {
        let p = PushSettings {
            incoming: ClassPush {
                destination: Destination::Job,
                include_content: false,
            },
            ..PushSettings::default()
        };
        assert!(p.problems(&[Model::Job]).is_empty());
        let problems = p.problems(&[Model::Membership]);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].setting, "push.incoming.destination",
            "{problems:?}"
        );
    }

    fn valid() -> Integration {
        serde_json::from_str(
            r#"{"workspaceId":"w","environment":"integration","tenantId":1,"clientId":"cid.x",
            "secretId":"s","models":["job"],"status":"active","activatedAt":"2024-05-01T00:00:00Z"}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_default_integration_is_valid() {
        assert!(valid().validate().is_empty(), "{:?}", valid().validate());
        assert!(valid().warnings().is_empty());
    }

    #[test]
    fn validation_reports_every_problem_naming_the_setting() {
        let mut i = valid();
        i.workspace_id = " ".into();
        i.tenant_id = 0;
        i.client_id = "cid x".into();
        i.secret_id = String::new();
        i.models = vec![Model::Membership, Model::Membership];
        i.poll_interval_minutes = 61;
        i.phone_region = "USA".into();
        i.placeholder_emails = vec!["noemail@*".into(), "".into(), "a@b@c".into(), "*@*".into()];
        i.resources
            .job
            .insert(crate::Resource::AppointmentAssignments);
        i.resources.job.remove(&crate::Resource::Appointments);
        i.push.outgoing_manual.destination = Destination::Job;
        let problems: Vec<String> = i.validate().iter().map(ToString::to_string).collect();
        for prefix in [
            "workspaceId:",
            "tenantId:",
            "clientId:",
            "secretId:",
            "models: `membership` is listed twice",
            "pollIntervalMinutes: 61 is outside 1 to 60",
            "phoneRegion:",
            "placeholderEmails[1]: is empty",
            "placeholderEmails[2]: has more than one `@`",
            "placeholderEmails[3]: matches every address",
            "resources.job: `appointmentAssignments` needs `appointments`",
            "push.outgoingManual.destination: `job` needs the job model",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(prefix)),
                "{prefix} missing from {problems:#?}"
            );
        }
        assert_eq!(problems.len(), 12, "{problems:#?}");
        i.models.clear();
        assert!(i.validate().iter().any(|p| p.setting == "models"));
    }

    #[test]
    fn both_polled_models_warn_but_validate() {
        let mut i = valid();
        i.models = vec![Model::Job, Model::Membership];
        assert!(i.validate().is_empty());
        assert_eq!(i.warnings()[0].setting, "models");
    }
}
