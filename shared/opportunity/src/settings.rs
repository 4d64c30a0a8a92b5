//! Integration settings (SPEC.md §1, §2). The walking skeleton carries the settings the job sync
//! needs; issue 7 completes validation, resources and push settings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Model;

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

    /// Problems of these settings with the integration's `models`, each naming the setting
    /// (SPEC.md §2: destination `job` needs the job model). Empty when usable.
    pub fn problems(&self, models: &[Model]) -> Vec<String> {
        let mut out = Vec::new();
        let named = [
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
        ];
        for (name, destination) in named {
            if destination == Destination::Job && !models.contains(&Model::Job) {
                out.push(format!(
                    "{name}: `job` needs the job model (enabled: {}); choose customer or location",
                    models
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
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
        assert!(
            problems[0].starts_with("push.incoming.destination"),
            "{problems:?}"
        );
    }
}
