//! Platform events that become ServiceTitan notes (SPEC.md §2, §7; the article's "Hatch →
//! ServiceTitan: Sync Communications"): the event schema with its validation, the decision the
//! workspace's push settings make for an event, and where on an opportunity's ServiceTitan
//! records a note can go. Pure: no I/O, no clock.
//!
//! # Event (one SQS message body)
//!
//! ```json
//! {"eventId": "evt-01HZX3", "workspaceId": "ws-1", "contactId": "c-uuid",
//!  "opportunity": {"model": "job", "externalId": "61234567"},
//!  "kind": "message", "class": "outgoing_campaign", "channel": "sms",
//!  "occurredAt": "2024-05-01T14:03:00Z", "content": "Hi Ada, ...",
//!  "campaign": {"id": "cmp-9", "name": "Spring Tune-Up"},
//!  "campaignEvent": null, "user": {"id": "u-1", "name": "Jane Doe"}}
//! ```
//!
//! Unknown fields are ignored (newer producers may add some). Rules beyond the shapes, each
//! reported with the field's name:
//! - `eventId`: 1 to 128 characters of `A-Z a-z 0-9 . _ : -` (it becomes a store key and the
//!   note's marker, see [`crate::note::marker`]);
//! - `workspaceId`: non-empty, at most 128 bytes, no `#`, whitespace or control characters;
//! - `contactId`, `opportunity.externalId`, `campaign.id`, `user.id`: non-empty, at most 512 bytes,
//!   no control characters (ids may be JSON strings or integers);
//! - `kind: campaign_event` needs `campaignEvent` and `campaign`; any other kind must not have
//!   `campaignEvent`;
//! - `kind: call` needs `channel` `call` or `voicemail`; `kind: message` needs `sms`, `email` or
//!   `voicemail`;
//! - `class: outgoing_campaign` (messages and calls) needs `campaign`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use servicetitan::notes::NoteTarget;

use crate::settings::{Destination, PushSettings};
use crate::{Details, Model};

/// Longest accepted `eventId`, in characters.
pub const MAX_EVENT_ID_LEN: usize = 128;
/// Longest accepted workspace id, in bytes (as the store).
pub const MAX_WORKSPACE_LEN: usize = 128;
/// Longest accepted other id, in bytes (as the store).
pub const MAX_ID_LEN: usize = 512;

/// What happened (SPEC.md §7 `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A text, e-mail or voicemail message.
    Message,
    /// A phone call.
    Call,
    /// Something happened to the contact in a campaign (see [`CampaignEvent`]).
    CampaignEvent,
}

/// Who sent it (SPEC.md §7 `class`); picks the push setting of messages and calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageClass {
    /// Sent by a campaign to the contact.
    OutgoingCampaign,
    /// Sent (or called) by the contact to the workspace.
    Incoming,
    /// Sent (or called) by a user of the workspace to the contact.
    OutgoingManual,
}

impl MessageClass {
    /// `outgoing` or `incoming`.
    pub fn direction(self) -> &'static str {
        match self {
            MessageClass::Incoming => "incoming",
            MessageClass::OutgoingCampaign | MessageClass::OutgoingManual => "outgoing",
        }
    }
}

/// Through what (SPEC.md §7 `channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Text message.
    Sms,
    /// E-mail.
    Email,
    /// Voicemail (left by the contact, or dropped by a campaign or user).
    Voicemail,
    /// Phone call.
    Call,
}

/// The four campaign events of the article (SPEC.md §7 `campaignEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignEvent {
    /// The contact was launched (added) into the campaign.
    Launched,
    /// The contact was sent the campaign's first message.
    FirstMessageSent,
    /// The contact was removed from the campaign before it ended.
    Removed,
    /// The contact completed the campaign.
    Completed,
}

impl CampaignEvent {
    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignEvent::Launched => "launched",
            CampaignEvent::FirstMessageSent => "first_message_sent",
            CampaignEvent::Removed => "removed",
            CampaignEvent::Completed => "completed",
        }
    }
}

/// The opportunity an event is about: `{"model": "job", "externalId": "61234567"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpportunityRef {
    /// Job, membership or inbound call.
    pub model: Model,
    /// The opportunity's External ID (string or integer in the JSON).
    #[serde(deserialize_with = "id_text")]
    pub external_id: String,
}

/// A campaign: `{"id": "cmp-9", "name": "Spring Tune-Up"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRef {
    /// The platform's campaign id (string or integer in the JSON).
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    /// Its name, as users see it.
    pub name: String,
}

/// A user of the workspace: `{"id": "u-1", "name": "Jane Doe"}` (`name` optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// The platform's user id (string or integer in the JSON).
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
}

/// One platform event (SPEC.md §7), validated: build it with [`PushEvent::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushEvent {
    /// Unique per event; the exactly-once key and the note's marker.
    pub event_id: String,
    /// The workspace (our tenant).
    pub workspace_id: String,
    /// The platform contact the event is about.
    #[serde(deserialize_with = "id_text")]
    pub contact_id: String,
    /// The opportunity it is about, when the platform knows one.
    #[serde(default)]
    pub opportunity: Option<OpportunityRef>,
    /// Message, call or campaign event.
    pub kind: EventKind,
    /// Outgoing campaign, incoming, outgoing manual.
    pub class: MessageClass,
    /// SMS, e-mail, voicemail or call.
    pub channel: Channel,
    /// When it happened (any RFC 3339 offset; kept in UTC).
    pub occurred_at: DateTime<Utc>,
    /// The message text (personal data: only in a note when the setting says so, never logged).
    #[serde(default)]
    pub content: Option<String>,
    /// The campaign, for campaign messages and campaign events.
    #[serde(default)]
    pub campaign: Option<CampaignRef>,
    /// Which campaign event (only with `kind: campaign_event`).
    #[serde(default)]
    pub campaign_event: Option<CampaignEvent>,
    /// The workspace user who sent the message or made the call.
    #[serde(default)]
    pub user: Option<UserRef>,
}

/// Why an event is not a valid [`PushEvent`]: the JSON path of the field and what is wrong,
/// plus the event and workspace ids when they could be read (so the outcome can be recorded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event: field `{field}`: {reason}")]
pub struct EventError {
    /// JSON path (`eventId`, `campaign.name`, `.` for the whole body).
    pub field: String,
    /// What is wrong (never echoes the content).
    pub reason: String,
    /// `eventId`, when it was present and valid.
    pub event_id: Option<String>,
    /// `workspaceId`, when it was present and valid.
    pub workspace_id: Option<String>,
}

impl PushEvent {
    /// Parse and validate one event from its JSON text.
    ///
    /// Errors: [`EventError`] naming the first wrong field (shape errors through
    /// `serde_path_to_error`, then the rules in the module docs).
    pub fn parse(json: &str) -> Result<PushEvent, EventError> {
        // A UTF-8 byte order mark in front of the body is not part of the JSON.
        let json = json.strip_prefix('\u{feff}').unwrap_or(json);
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| EventError {
            field: ".".into(),
            reason: format!(
                "not JSON (line {}, column {}): {}",
                e.line(),
                e.column(),
                classify(&e)
            ),
            event_id: None,
            workspace_id: None,
        })?;
        let event_id = value
            .get("eventId")
            .and_then(|v| v.as_str())
            .filter(|id| check_event_id(id).is_ok())
            .map(str::to_owned);
        let workspace_id = value
            .get("workspaceId")
            .and_then(|v| v.as_str())
            .filter(|ws| check_workspace(ws).is_ok())
            .map(str::to_owned);
        let fail = |field: &str, reason: String| EventError {
            field: field.to_owned(),
            reason,
            event_id: event_id.clone(),
            workspace_id: workspace_id.clone(),
        };
        if !value.is_object() {
            return Err(fail(".", "the event must be a JSON object".into()));
        }
        let event: PushEvent = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            // A missing field is reported at its parent; name the field itself.
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next());
            let field = match (missing, path.as_str()) {
                (Some(name), ".") => name.to_owned(),
                (Some(name), parent) => format!("{parent}.{name}"),
                (None, _) => path,
            };
            fail(&field, message)
        })?;
        event
            .check()
            .map_err(|(field, reason)| fail(field, reason))?;
        Ok(event)
    }

    fn check(&self) -> Result<(), (&'static str, String)> {
        check_event_id(&self.event_id).map_err(|r| ("eventId", r))?;
        check_workspace(&self.workspace_id).map_err(|r| ("workspaceId", r))?;
        check_id(&self.contact_id).map_err(|r| ("contactId", r))?;
        if let Some(o) = &self.opportunity {
            check_id(&o.external_id).map_err(|r| ("opportunity.externalId", r))?;
        }
        if let Some(c) = &self.campaign {
            check_id(&c.id).map_err(|r| ("campaign.id", r))?;
            if c.name.trim().is_empty() {
                return Err(("campaign.name", "must not be empty".into()));
            }
        }
        if let Some(u) = &self.user {
            check_id(&u.id).map_err(|r| ("user.id", r))?;
        }
        match (self.kind, self.campaign_event) {
            (EventKind::CampaignEvent, None) => {
                return Err((
                    "campaignEvent",
                    "required when kind is campaign_event (launched, first_message_sent, \
                     removed or completed)"
                        .into(),
                ))
            }
            (EventKind::CampaignEvent, Some(_)) if self.campaign.is_none() => {
                return Err(("campaign", "required when kind is campaign_event".into()))
            }
            (EventKind::Message | EventKind::Call, Some(_)) => {
                return Err((
                    "campaignEvent",
                    format!(
                        "only allowed when kind is campaign_event (kind is {})",
                        kind_name(self.kind)
                    ),
                ))
            }
            _ => {}
        }
        match (self.kind, self.channel) {
            (EventKind::Call, Channel::Sms | Channel::Email) => {
                return Err(("channel", "a call's channel is call or voicemail".into()))
            }
            (EventKind::Message, Channel::Call) => {
                return Err((
                    "channel",
                    "a message's channel is sms, email or voicemail (use kind call for calls)"
                        .into(),
                ))
            }
            _ => {}
        }
        if self.kind != EventKind::CampaignEvent
            && self.class == MessageClass::OutgoingCampaign
            && self.campaign.is_none()
        {
            return Err((
                "campaign",
                "required when class is outgoing_campaign".into(),
            ));
        }
        Ok(())
    }
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Message => "message",
        EventKind::Call => "call",
        EventKind::CampaignEvent => "campaign_event",
    }
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of input",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "wrong type",
        serde_json::error::Category::Io => "read error",
    }
}

fn check_event_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    if id.chars().count() > MAX_EVENT_ID_LEN {
        return Err(format!("longer than {MAX_EVENT_ID_LEN} characters"));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
    {
        return Err("may only contain A-Z, a-z, 0-9, '.', '_', ':' and '-'".into());
    }
    Ok(())
}

fn check_workspace(ws: &str) -> Result<(), String> {
    if ws.is_empty() {
        Err("must not be empty".into())
    } else if ws.len() > MAX_WORKSPACE_LEN {
        Err(format!("longer than {MAX_WORKSPACE_LEN} bytes"))
    } else if ws.contains('#') {
        Err("must not contain '#'".into())
    } else if ws.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err("must not contain whitespace or control characters".into())
    } else {
        Ok(())
    }
}

fn check_id(id: &str) -> Result<(), String> {
    if id.trim().is_empty() {
        Err("must not be empty".into())
    } else if id.len() > MAX_ID_LEN {
        Err(format!("longer than {MAX_ID_LEN} bytes"))
    } else if id.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(())
    }
}

/// An id that may come as a JSON string or integer; kept as text.
fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(i64),
        UInt(u64),
    }
    match Raw::deserialize(d) {
        Ok(Raw::Text(s)) => Ok(s),
        Ok(Raw::Int(i)) => Ok(i.to_string()),
        Ok(Raw::UInt(u)) => Ok(u.to_string()),
        Err(_) => Err(serde::de::Error::custom(
            "expected an id (a string or an integer)",
        )),
    }
}

/// What the push settings say about one event: push it to `destination`, with or without the
/// message content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushPlan {
    /// Job, customer or location (never `none`).
    pub destination: Destination,
    /// Quote the message content in the note.
    pub include_content: bool,
}

/// Why the settings push nothing for an event (a permanent outcome, not an error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotPushed {
    /// The setting that decided (`push.incoming.destination`, `push.campaignEvents.removed`).
    pub setting: &'static str,
}

/// Apply the workspace's push settings to an event (SPEC.md §2): messages and calls by their
/// class, campaign events by the campaign-event destination and the event's on/off switch.
/// Campaign events never include content.
///
/// Errors: [`NotPushed`] naming the setting when the destination is `none` or the campaign
/// event is switched off.
pub fn plan(settings: &PushSettings, event: &PushEvent) -> Result<PushPlan, NotPushed> {
    if event.kind == EventKind::CampaignEvent {
        let c = &settings.campaign_events;
        if c.destination == Destination::None {
            return Err(NotPushed {
                setting: "push.campaignEvents.destination",
            });
        }
        let (on, setting) = match event.campaign_event {
            Some(CampaignEvent::Launched) => (c.launched, "push.campaignEvents.launched"),
            Some(CampaignEvent::FirstMessageSent) => {
                (c.first_message_sent, "push.campaignEvents.firstMessageSent")
            }
            Some(CampaignEvent::Removed) => (c.removed, "push.campaignEvents.removed"),
            Some(CampaignEvent::Completed) | None => (c.completed, "push.campaignEvents.completed"),
        };
        if !on {
            return Err(NotPushed { setting });
        }
        return Ok(PushPlan {
            destination: c.destination,
            include_content: false,
        });
    }
    let (class, setting) = match event.class {
        MessageClass::OutgoingCampaign => (
            settings.outgoing_campaign,
            "push.outgoingCampaign.destination",
        ),
        MessageClass::Incoming => (settings.incoming, "push.incoming.destination"),
        MessageClass::OutgoingManual => {
            (settings.outgoing_manual, "push.outgoingManual.destination")
        }
    };
    if class.destination == Destination::None {
        return Err(NotPushed { setting });
    }
    Ok(PushPlan {
        destination: class.destination,
        include_content: class.include_content,
    })
}

/// The ServiceTitan record of `destination` on one opportunity, when it has one:
/// - `job`: the opportunity itself when it is a job (its External ID is the job id); a
///   membership or an inbound call has no job → `None`;
/// - `customer`: the External Contact ID, else the details' `customerId` / `customer:id`;
/// - `location`: the details' `locationId` / `location:id`.
///
/// Ids must be positive integers (text or number); anything else is `None`.
pub fn target_on(
    destination: Destination,
    model: Model,
    external_id: &str,
    external_contact_id: Option<&str>,
    details: &Details,
) -> Option<NoteTarget> {
    let detail_id = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| details.get(*k).and_then(positive_id))
    };
    match destination {
        Destination::None => None,
        Destination::Job => (model == Model::Job)
            .then(|| parse_positive(external_id))
            .flatten()
            .map(NoteTarget::Job),
        Destination::Customer => external_contact_id
            .and_then(parse_positive)
            .or_else(|| detail_id(&["customerId", "customer:id"]))
            .map(NoteTarget::Customer),
        Destination::Location => {
            detail_id(&["locationId", "location:id"]).map(NoteTarget::Location)
        }
    }
}

fn parse_positive(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok().filter(|id| *id > 0)
}

fn positive_id(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().filter(|id| *id > 0),
        serde_json::Value::String(s) => parse_positive(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{CampaignEventsPush, ClassPush};
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({
            "eventId": "evt-1", "workspaceId": "ws-1", "contactId": "c-1",
            "opportunity": {"model": "job", "externalId": "61234567"},
            "kind": "message", "class": "outgoing_campaign", "channel": "sms",
            "occurredAt": "2024-05-01T16:03:00+02:00", "content": "Hi",
            "campaign": {"id": 9, "name": "Spring Tune-Up"},
            "user": {"id": "u-1", "name": "Jane Doe"},
            "someFutureField": true
        })
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_event() {
        let plain = base().to_string();
        let with_bom = format!("\u{feff}{plain}");
        assert_eq!(
            PushEvent::parse(&with_bom).unwrap(),
            PushEvent::parse(&plain).unwrap()
        );
    }

    fn with(patch: serde_json::Value) -> String {
        let mut v = base();
        for (k, val) in patch.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        v.to_string()
    }

    #[test]
    fn a_valid_event_parses_with_utc_time_and_text_ids() {
        let e = PushEvent::parse(&base().to_string()).unwrap();
        assert_eq!(e.occurred_at.to_rfc3339(), "2024-05-01T14:03:00+00:00");
        assert_eq!(e.campaign.unwrap().id, "9");
        assert_eq!(e.opportunity.unwrap().model, Model::Job);
    }

    /// Table: (patch, field named in the error).
    #[test]
    fn invalid_events_name_the_field() {
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (json!({"eventId": null}), "eventId"),
            (json!({"eventId": ""}), "eventId"),
            (json!({"eventId": "a]b"}), "eventId"),
            (json!({"eventId": "x".repeat(129)}), "eventId"),
            (json!({"workspaceId": "a#b"}), "workspaceId"),
            (json!({"contactId": ""}), "contactId"),
            (json!({"contactId": [1]}), "contactId"),
            (json!({"kind": "fax"}), "kind"),
            (json!({"class": "outbound"}), "class"),
            (json!({"channel": "pigeon"}), "channel"),
            (json!({"occurredAt": "yesterday"}), "occurredAt"),
            (json!({"occurredAt": null}), "occurredAt"),
            (
                json!({"opportunity": {"model": "deal", "externalId": "1"}}),
                "opportunity.model",
            ),
            (
                json!({"opportunity": {"model": "job", "externalId": ""}}),
                "opportunity.externalId",
            ),
            (
                json!({"campaign": {"id": "c", "name": " "}}),
                "campaign.name",
            ),
            (json!({"campaign": null}), "campaign"),
            (json!({"campaignEvent": "launched"}), "campaignEvent"),
            (json!({"kind": "campaign_event"}), "campaignEvent"),
            (json!({"kind": "call", "channel": "sms"}), "channel"),
            (json!({"kind": "message", "channel": "call"}), "channel"),
            (json!({"user": {"name": "no id"}}), "user.id"),
        ];
        for (patch, field) in cases {
            let err = PushEvent::parse(&with(patch.clone())).unwrap_err();
            assert_eq!(err.field, field, "{patch}: {err}");
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn an_invalid_event_keeps_its_ids_for_the_report() {
        let err = PushEvent::parse(&with(json!({"channel": 3}))).unwrap_err();
        assert_eq!(err.event_id.as_deref(), Some("evt-1"));
        assert_eq!(err.workspace_id.as_deref(), Some("ws-1"));
        let err = PushEvent::parse("{not json").unwrap_err();
        assert_eq!(err.field, ".");
        assert_eq!(err.event_id, None);
        let err = PushEvent::parse("[1]").unwrap_err();
        assert_eq!(err.field, ".");
    }

    #[test]
    fn campaign_events_parse() {
        let e = PushEvent::parse(&with(json!({
            "kind": "campaign_event", "campaignEvent": "removed", "content": null
        })))
        .unwrap();
        assert_eq!(e.campaign_event, Some(CampaignEvent::Removed));
    }

    fn settings() -> PushSettings {
        PushSettings {
            outgoing_campaign: ClassPush {
                destination: Destination::Job,
                include_content: true,
            },
            incoming: ClassPush {
                destination: Destination::Customer,
                include_content: false,
            },
            outgoing_manual: ClassPush::default(),
            campaign_events: CampaignEventsPush {
                destination: Destination::Location,
                removed: false,
                ..CampaignEventsPush::default()
            },
        }
    }

    #[test]
    fn settings_pick_destination_and_content_per_class_and_event() {
        let s = settings();
        let ev = |patch| PushEvent::parse(&with(patch)).unwrap();
        assert_eq!(
            plan(&s, &ev(json!({}))),
            Ok(PushPlan {
                destination: Destination::Job,
                include_content: true
            })
        );
        assert_eq!(
            plan(
                &s,
                &ev(json!({"class": "incoming", "kind": "call", "channel": "call"}))
            ),
            Ok(PushPlan {
                destination: Destination::Customer,
                include_content: false
            })
        );
        assert_eq!(
            plan(&s, &ev(json!({"class": "outgoing_manual"}))),
            Err(NotPushed {
                setting: "push.outgoingManual.destination"
            })
        );
        assert_eq!(
            plan(
                &s,
                &ev(json!({"kind": "campaign_event", "campaignEvent": "completed"}))
            ),
            Ok(PushPlan {
                destination: Destination::Location,
                include_content: false
            })
        );
        assert_eq!(
            plan(
                &s,
                &ev(json!({"kind": "campaign_event", "campaignEvent": "removed"}))
            ),
            Err(NotPushed {
                setting: "push.campaignEvents.removed"
            })
        );
        assert_eq!(
            plan(&PushSettings::default(), &ev(json!({}))),
            Err(NotPushed {
                setting: "push.outgoingCampaign.destination"
            })
        );
    }

    #[test]
    fn targets_on_opportunities() {
        let details: Details = [
            ("customerId".to_owned(), json!(3301457)),
            ("locationId".to_owned(), json!(3301460)),
        ]
        .into_iter()
        .collect();
        let job = |d| target_on(d, Model::Job, "61234567", Some("3301457"), &details);
        assert_eq!(job(Destination::Job), Some(NoteTarget::Job(61234567)));
        assert_eq!(
            job(Destination::Customer),
            Some(NoteTarget::Customer(3301457))
        );
        assert_eq!(
            job(Destination::Location),
            Some(NoteTarget::Location(3301460))
        );
        assert_eq!(job(Destination::None), None);
        // A membership has no job; its customer and location still work.
        let m = |d| target_on(d, Model::Membership, "77", None, &details);
        assert_eq!(m(Destination::Job), None);
        assert_eq!(
            m(Destination::Customer),
            Some(NoteTarget::Customer(3301457))
        );
        // An inbound call without customer or location has nothing.
        let empty = Details::new();
        for d in [
            Destination::Job,
            Destination::Customer,
            Destination::Location,
        ] {
            assert_eq!(target_on(d, Model::InboundCall, "5", None, &empty), None);
        }
        let related: Details = [("location:id".to_owned(), json!("12"))]
            .into_iter()
            .collect();
        assert_eq!(
            target_on(
                Destination::Location,
                Model::InboundCall,
                "5",
                None,
                &related
            ),
            Some(NoteTarget::Location(12))
        );
        assert_eq!(
            target_on(Destination::Job, Model::Job, "not-a-number", None, &empty),
            None
        );
    }
}
