//! The push part of `stsync demo`: a few platform events go through exactly the code the
//! note-pusher Lambda runs ([`sync::push::Pusher`]) and the notes are shown as the sandbox
//! received them. Event ids are derived from the stored opportunities, so a second demo run
//! sends the same events again and shows them as duplicates: nothing is posted twice.

use anyhow::Result;
use chrono::{Duration, Utc};
use opportunity::settings::{CampaignEventsPush, ClassPush, Destination};
use opportunity::{Model, PushSettings};
use secrets::StaticSecrets;
use serde::Serialize;
use st_sandbox::RunningSandbox;
use store::Store;
use sync::push::{Delivery, PushOptions, Pusher};
use sync::runner::Platform;

use crate::demo::DEMO_WORKSPACE;

/// The demo integration's push settings: campaign messages on the job with their content,
/// incoming calls and messages on the customer, campaign events on the location, manual
/// messages off.
pub fn demo_push_settings() -> PushSettings {
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
            ..CampaignEventsPush::default()
        },
    }
}

/// One demo event and what happened to it.
#[derive(Debug, Serialize)]
pub struct PushedEvent {
    /// What the event was.
    pub event: String,
    /// What the pusher did.
    pub outcome: String,
}

/// A note as the sandbox received it.
#[derive(Debug, Serialize)]
pub struct ReceivedNote {
    /// `job 123`, `customer 456`, `location 789`.
    pub on: String,
    /// The note text.
    pub text: String,
}

/// What the push part of the demo did.
#[derive(Debug, Serialize)]
pub struct DemoNotes {
    /// The events sent, in order.
    pub events: Vec<PushedEvent>,
    /// The notes the sandbox received in this run.
    pub received: Vec<ReceivedNote>,
}

/// Turn push on for the demo integration if it is off, send five events through the pusher and
/// read back what the sandbox received.
///
/// Errors: store failures, or an event that failed transiently (the sandbox is local, so that is
/// a bug worth seeing).
pub async fn run(
    store: &Store,
    sandbox: &RunningSandbox,
    secrets: &StaticSecrets,
    platform: &Platform,
) -> Result<DemoNotes> {
    if let Some(mut integration) = store.get_integration(DEMO_WORKSPACE).await? {
        if !integration.push.any_enabled() {
            integration.push = demo_push_settings();
            store.put_integration(&integration).await?;
        }
    }
    let opportunities = store
        .list_opportunities(DEMO_WORKSPACE, Some(Model::Job))
        .await?;
    let mut picked = opportunities
        .iter()
        .filter(|o| o.opportunity.external_contact_id.is_some());
    let (Some(first), Some(second)) = (picked.next(), picked.nth(3)) else {
        return Ok(DemoNotes {
            events: vec![],
            received: vec![],
        });
    };
    let job = &first.opportunity.external_id;
    let at = Utc::now() - Duration::minutes(5);
    let base = serde_json::json!({"workspaceId": DEMO_WORKSPACE, "occurredAt": at});
    let event = |fields: serde_json::Value| {
        let mut e = base.clone();
        for (k, v) in fields.as_object().into_iter().flatten() {
            e[k] = v.clone();
        }
        e
    };
    let campaign = serde_json::json!({"id": "cmp-spring", "name": "Spring Tune-Up"});
    let events = vec![
        (
            "campaign text about a named job (→ job note, with content)",
            event(serde_json::json!({
                "eventId": format!("demo-sms-{job}"), "contactId": first.contact_id,
                "opportunity": {"model": "job", "externalId": job},
                "kind": "message", "class": "outgoing_campaign", "channel": "sms",
                "content": "Hi! Your yearly tune-up is due. Reply YES and we will call to book.",
                "campaign": campaign,
            })),
        ),
        (
            "incoming call, no opportunity named (→ customer of the contact's latest)",
            event(serde_json::json!({
                "eventId": format!("demo-call-{}", second.opportunity.external_id),
                "contactId": second.contact_id,
                "kind": "call", "class": "incoming", "channel": "call",
            })),
        ),
        (
            "campaign completed (→ location note)",
            event(serde_json::json!({
                "eventId": format!("demo-done-{job}"), "contactId": first.contact_id,
                "kind": "campaign_event", "class": "outgoing_campaign", "channel": "sms",
                "campaignEvent": "completed", "campaign": campaign,
            })),
        ),
        (
            "manual email (push setting: none)",
            event(serde_json::json!({
                "eventId": format!("demo-mail-{job}"), "contactId": first.contact_id,
                "kind": "message", "class": "outgoing_manual", "channel": "email",
                "user": {"id": "u-1", "name": "Jane (office)"},
            })),
        ),
        (
            "text from a contact with no ServiceTitan record",
            event(serde_json::json!({
                "eventId": format!("demo-unknown-{job}"), "contactId": "no-such-contact",
                "kind": "message", "class": "incoming", "channel": "sms",
            })),
        ),
    ];

    let pusher = Pusher::new(
        store.clone(),
        secrets.clone(),
        platform.clone(),
        PushOptions::default(),
    );
    let before = sandbox.notes().len();
    let mut out = Vec::new();
    for (what, e) in events {
        let outcome = match pusher.push(&e.to_string(), Utc::now()).await {
            Ok(Delivery::Posted { target, .. }) => format!("posted on {target}"),
            Ok(Delivery::FoundPosted { target, .. }) => format!("already on {target}"),
            Ok(Delivery::Duplicate { .. }) => {
                "already handled in an earlier run: nothing posted".to_owned()
            }
            Ok(Delivery::Skipped { reason, .. }) => format!("not pushed ({reason}), recorded"),
            Err(err) => anyhow::bail!("pushing the demo event failed: {err}"),
        };
        out.push(PushedEvent {
            event: what.to_owned(),
            outcome,
        });
    }
    let received = sandbox
        .notes()
        .into_iter()
        .skip(before)
        .map(|n| ReceivedNote {
            on: n.target.to_string(),
            text: n.text,
        })
        .collect();
    Ok(DemoNotes {
        events: out,
        received,
    })
}

impl DemoNotes {
    /// The readable part of the demo summary.
    pub fn print(&self) {
        if self.events.is_empty() {
            return;
        }
        println!(
            "push: platform events → ServiceTitan notes (same code as the note-pusher Lambda)"
        );
        for e in &self.events {
            println!("  {:<72} {}", e.event, e.outcome);
        }
        match self.received.len() {
            0 => println!("  the sandbox received no notes in this run"),
            1 => println!("  the sandbox received 1 note:"),
            n => println!("  the sandbox received {n} notes:"),
        }
        for n in &self.received {
            println!("  ── on {}", n.on);
            for line in n.text.lines() {
                println!("     {line}");
            }
        }
    }
}
