//! The text of a pushed note (SPEC.md §7): short, human, says what happened, when (UTC), through
//! which channel and campaign and in which direction; quotes the message only when the setting
//! says so, capped with a visible cut; and ends with the event's marker line
//! (`[hatch:evt:<eventId>]`), which lets a redelivered event recognise a note already posted.
//!
//! Example (outgoing campaign text, content included):
//!
//! ```text
//! Hatch: campaign "Spring Tune-Up" sent the customer a text message.
//! When: 2024-05-01 14:03 UTC · Channel: text message (SMS) · Direction: outgoing · Campaign: Spring Tune-Up
//! Message: "Hi Ada, your yearly tune-up is due. Reply YES to book."
//! [hatch:evt:evt-01HZX3]
//! ```
//!
//! Text from the event (content, campaign and user names) is made single-line where it is a name,
//! stripped of control characters, and any `[hatch:evt:` inside it is defused to `[hatch evt:`, so
//! no message can forge another event's marker.

use crate::push::{CampaignEvent, Channel, EventKind, MessageClass, PushEvent};

/// Who wrote the note, as the first word of its text.
pub const SOURCE: &str = "Hatch";
/// Start of the marker line; the event id and `]` follow.
pub const MARKER_PREFIX: &str = "[hatch:evt:";
/// Most characters of message content quoted; longer content is cut visibly.
pub const MAX_CONTENT_CHARS: usize = 500;
/// Most characters of a campaign or user name.
pub const MAX_NAME_CHARS: usize = 80;
/// Upper bound of a note's length in characters (the caps above guarantee it).
pub const MAX_NOTE_CHARS: usize = 1_200;

/// The marker line of an event: `[hatch:evt:<eventId>]`. Event ids are restricted to
/// `A-Z a-z 0-9 . _ : -` ([`PushEvent::parse`]), so a marker never contains `]` or a line
/// break and one id's marker is never part of another's.
pub fn marker(event_id: &str) -> String {
    format!("{MARKER_PREFIX}{event_id}]")
}

/// Whether `text` carries `event_id`'s marker as a line of its own (surrounding whitespace
/// ignored): how a redelivery recognises its note among a record's notes.
pub fn has_marker(text: &str, event_id: &str) -> bool {
    let m = marker(event_id);
    text.lines().any(|line| line.trim() == m)
}

/// The note for `event`; the message content is quoted only when `include_content` is true
/// (and the event has content). Always ends with [`marker`]; never longer than
/// [`MAX_NOTE_CHARS`] characters.
pub fn note_text(event: &PushEvent, include_content: bool) -> String {
    let campaign = event.campaign.as_ref().map(|c| name(&c.name));
    let user = event
        .user
        .as_ref()
        .and_then(|u| u.name.as_deref())
        .map(name)
        .filter(|n| !n.is_empty());
    let quoted = |c: &Option<String>| match c {
        Some(c) => format!("campaign \"{c}\""),
        None => "a campaign".to_owned(),
    };
    let who_user = user.clone().unwrap_or_else(|| "a user".to_owned());

    let headline = match event.kind {
        EventKind::Message => {
            let what = message_noun(event.channel);
            match event.class {
                MessageClass::OutgoingCampaign => {
                    format!("{} sent the customer {what}.", quoted(&campaign))
                }
                MessageClass::Incoming => match event.channel {
                    Channel::Voicemail => "the customer left a voicemail.".to_owned(),
                    _ => format!("the customer sent {what}."),
                },
                MessageClass::OutgoingManual => format!("{who_user} sent the customer {what}."),
            }
        }
        EventKind::Call => {
            let voicemail = event.channel == Channel::Voicemail;
            match event.class {
                MessageClass::Incoming if voicemail => {
                    "the customer called and left a voicemail.".to_owned()
                }
                MessageClass::Incoming => "the customer called.".to_owned(),
                MessageClass::OutgoingManual if voicemail => {
                    format!("{who_user} called the customer and left a voicemail.")
                }
                MessageClass::OutgoingManual => format!("{who_user} called the customer."),
                MessageClass::OutgoingCampaign if voicemail => {
                    format!("{} left the customer a voicemail.", quoted(&campaign))
                }
                MessageClass::OutgoingCampaign => {
                    format!("{} called the customer.", quoted(&campaign))
                }
            }
        }
        EventKind::CampaignEvent => match event.campaign_event {
            Some(CampaignEvent::Launched) => {
                format!("the customer was added to {}.", quoted(&campaign))
            }
            Some(CampaignEvent::FirstMessageSent) => format!(
                "{} sent the customer its first message ({}).",
                quoted(&campaign),
                channel_name(event.channel)
            ),
            Some(CampaignEvent::Removed) => format!(
                "the customer was removed from {} before it ended.",
                quoted(&campaign)
            ),
            Some(CampaignEvent::Completed) | None => {
                format!("the customer completed {}.", quoted(&campaign))
            }
        },
    };

    let mut facts = vec![
        format!("When: {}", event.occurred_at.format("%Y-%m-%d %H:%M UTC")),
        format!("Channel: {}", channel_name(event.channel)),
    ];
    if event.kind != EventKind::CampaignEvent {
        facts.push(format!("Direction: {}", event.class.direction()));
    }
    if let Some(c) = &campaign {
        facts.push(format!("Campaign: {c}"));
    }
    if let Some(e) = event.campaign_event {
        facts.push(format!("Campaign event: {}", e.as_str().replace('_', " ")));
    }
    if event.class == MessageClass::OutgoingManual && event.kind != EventKind::CampaignEvent {
        if let Some(u) = &user {
            facts.push(format!("By: {u}"));
        }
    }

    let mut lines = vec![format!("{SOURCE}: {headline}"), facts.join(" · ")];
    if include_content && event.kind != EventKind::CampaignEvent {
        if let Some(content) = event.content.as_deref().map(clean_content) {
            if !content.is_empty() {
                lines.push(quote_content(&content));
            }
        }
    }
    lines.push(marker(&event.event_id));
    lines.join("\n")
}

fn message_noun(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "a text message",
        Channel::Email => "an email",
        Channel::Voicemail => "a voicemail",
        Channel::Call => "a call",
    }
}

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "text message (SMS)",
        Channel::Email => "email",
        Channel::Voicemail => "voicemail",
        Channel::Call => "phone call",
    }
}

/// Defuse marker look-alikes (ASCII case-insensitive): `[hatch:evt:` → `[hatch evt:`.
fn defuse(text: &str) -> String {
    // ASCII lower-casing keeps byte offsets, so indices into `lower` are valid in `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (i, _) in lower.match_indices(MARKER_PREFIX) {
        out.push_str(&text[rest..i]);
        out.push_str(&text[i..i + 6]); // "[hatch" in its original case
        out.push(' ');
        out.push_str(&text[i + 7..i + MARKER_PREFIX.len()]); // "evt:"
        rest = i + MARKER_PREFIX.len();
    }
    out.push_str(&text[rest..]);
    out
}

/// A single-line, capped, defused name.
fn name(raw: &str) -> String {
    let one_line: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let defused = defuse(&one_line);
    if defused.chars().count() > MAX_NAME_CHARS {
        let mut cut: String = defused.chars().take(MAX_NAME_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        defused
    }
}

/// Content with line breaks normalized (`\r\n` → `\n`, at most one empty line in a row), other
/// control characters removed, surrounding whitespace trimmed, markers defused.
fn clean_content(raw: &str) -> String {
    let normalized = raw.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = normalized
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect();
    let mut out = String::with_capacity(kept.len());
    let mut blank_run = 0;
    for line in kept.trim().lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    defuse(&out)
}

/// `Message: "<content>"`, the content cut visibly after [`MAX_CONTENT_CHARS`] characters:
/// `Message: "<first part>…" [cut: N more characters]`.
fn quote_content(content: &str) -> String {
    let total = content.chars().count();
    if total <= MAX_CONTENT_CHARS {
        return format!("Message: \"{content}\"");
    }
    let kept: String = content.chars().take(MAX_CONTENT_CHARS).collect();
    let kept = kept.trim_end();
    let more = total - kept.chars().count();
    format!("Message: \"{kept}…\" [cut: {more} more characters]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(patch: serde_json::Value) -> PushEvent {
        let mut v = json!({
            "eventId": "evt-1", "workspaceId": "ws-1", "contactId": "c-1",
            "kind": "message", "class": "outgoing_campaign", "channel": "sms",
            "occurredAt": "2024-05-01T14:03:59Z", "content": "Hi Ada, your tune-up is due.",
            "campaign": {"id": "cmp-9", "name": "Spring Tune-Up"},
            "user": {"id": "u-1", "name": "Jane Doe"}
        });
        for (k, val) in patch.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        PushEvent::parse(&v.to_string()).unwrap()
    }

    /// Table: (event patch, include content, expected text).
    #[test]
    fn note_texts() {
        let cases: Vec<(serde_json::Value, bool, &str)> = vec![
            (
                json!({}),
                true,
                "Hatch: campaign \"Spring Tune-Up\" sent the customer a text message.\n\
                 When: 2024-05-01 14:03 UTC · Channel: text message (SMS) · Direction: outgoing · Campaign: Spring Tune-Up\n\
                 Message: \"Hi Ada, your tune-up is due.\"\n\
                 [hatch:evt:evt-1]",
            ),
            (
                json!({}),
                false,
                "Hatch: campaign \"Spring Tune-Up\" sent the customer a text message.\n\
                 When: 2024-05-01 14:03 UTC · Channel: text message (SMS) · Direction: outgoing · Campaign: Spring Tune-Up\n\
                 [hatch:evt:evt-1]",
            ),
            (
                json!({"class": "incoming", "channel": "email", "campaign": null}),
                true,
                "Hatch: the customer sent an email.\n\
                 When: 2024-05-01 14:03 UTC · Channel: email · Direction: incoming\n\
                 Message: \"Hi Ada, your tune-up is due.\"\n\
                 [hatch:evt:evt-1]",
            ),
            (
                json!({"class": "incoming", "kind": "call", "channel": "call", "content": null, "campaign": null}),
                true,
                "Hatch: the customer called.\n\
                 When: 2024-05-01 14:03 UTC · Channel: phone call · Direction: incoming\n\
                 [hatch:evt:evt-1]",
            ),
            (
                json!({"class": "outgoing_manual", "kind": "call", "channel": "voicemail", "content": null, "campaign": null}),
                false,
                "Hatch: Jane Doe called the customer and left a voicemail.\n\
                 When: 2024-05-01 14:03 UTC · Channel: voicemail · Direction: outgoing · By: Jane Doe\n\
                 [hatch:evt:evt-1]",
            ),
            (
                json!({"class": "outgoing_manual", "campaign": null, "user": null}),
                false,
                "Hatch: a user sent the customer a text message.\n\
                 When: 2024-05-01 14:03 UTC · Channel: text message (SMS) · Direction: outgoing\n\
                 [hatch:evt:evt-1]",
            ),
            (
                json!({"kind": "campaign_event", "campaignEvent": "launched"}),
                true,
                "Hatch: the customer was added to campaign \"Spring Tune-Up\".\n\
                 When: 2024-05-01 14:03 UTC · Channel: text message (SMS) · Campaign: Spring Tune-Up · Campaign event: launched\n\
                 [hatch:evt:evt-1]",
            ),
            (
                json!({"kind": "campaign_event", "campaignEvent": "first_message_sent", "channel": "email"}),
                false,
                "Hatch: campaign \"Spring Tune-Up\" sent the customer its first message (email).\n\
                 When: 2024-05-01 14:03 UTC · Channel: email · Campaign: Spring Tune-Up · Campaign event: first message sent\n\
                 [hatch:evt:evt-1]",
            ),
            (
                json!({"kind": "campaign_event", "campaignEvent": "removed"}),
                false,
                "Hatch: the customer was removed from campaign \"Spring Tune-Up\" before it ended.\n\
                 When: 2024-05-01 14:03 UTC · Channel: text message (SMS) · Campaign: Spring Tune-Up · Campaign event: removed\n\
                 [hatch:evt:evt-1]",
            ),
            (
                json!({"kind": "campaign_event", "campaignEvent": "completed"}),
                false,
                "Hatch: the customer completed campaign \"Spring Tune-Up\".\n\
                 When: 2024-05-01 14:03 UTC · Channel: text message (SMS) · Campaign: Spring Tune-Up · Campaign event: completed\n\
                 [hatch:evt:evt-1]",
            ),
        ];
        for (patch, include, want) in cases {
            let got = note_text(&event(patch.clone()), include);
            assert_eq!(got, want, "{patch} include={include}");
            assert!(has_marker(&got, "evt-1"));
        }
    }

    #[test]
    fn long_content_is_cut_visibly_and_the_note_stays_bounded() {
        let long = "é".repeat(2_000);
        let text = note_text(
            &event(json!({"content": long, "campaign": {"id": "c", "name": "N".repeat(300)}})),
            true,
        );
        assert!(text.contains("[cut: 1500 more characters]"), "{text}");
        assert!(text.contains(&format!("{}…", "N".repeat(79))));
        assert!(
            text.chars().count() <= MAX_NOTE_CHARS,
            "{}",
            text.chars().count()
        );
        assert!(text.ends_with("[hatch:evt:evt-1]"));
    }

    #[test]
    fn content_cannot_forge_a_marker_and_is_cleaned() {
        let text = note_text(
            &event(json!({"content": "a\r\n\r\n\r\n[HATCH:evt:other]\u{7}\nb"})),
            true,
        );
        assert!(!has_marker(&text, "other"), "{text}");
        assert!(
            text.contains("Message: \"a\n\n[HATCH evt:other]\nb\""),
            "{text}"
        );
        assert!(has_marker(&text, "evt-1"));
    }

    #[test]
    fn markers_match_whole_lines_only() {
        assert!(has_marker("x\n  [hatch:evt:e1]  \n", "e1"));
        assert!(!has_marker("x [hatch:evt:e1]", "e1"));
        assert!(!has_marker("[hatch:evt:e12]", "e1"));
        assert!(!has_marker("[hatch:evt:e1]", "e12"));
    }

    #[test]
    fn empty_content_or_campaign_events_quote_nothing() {
        let text = note_text(&event(json!({"content": "  \n "})), true);
        assert!(!text.contains("Message:"));
        let text = note_text(
            &event(json!({"kind": "campaign_event", "campaignEvent": "completed"})),
            true,
        );
        assert!(!text.contains("Message:"));
    }
}
