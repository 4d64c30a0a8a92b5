//! poll-memberships: the EventBridge-scheduled Lambda that syncs the Membership model of this
//! shard's integrations (SPEC.md §3): the memberships export feed and the feeds of the selected
//! related resources (recurring services, recurring service events, invoices). Same engine and
//! same shared handler as poll-jobs ([`sync::lambda::handle_scheduled`]); only the model differs.

use lambda_runtime::LambdaEvent;
use opportunity::Model;
use secrets::SecretSource;
use serde_json::Value;
use sync::runner::RunSummary;

pub use sync::lambda::{parse_input, soft_deadline, App, Config};

/// The model this function polls.
pub const MODEL: Model = Model::Membership;

/// The handler: decode, run the membership sync of this shard, return the summary.
///
/// Errors: bad input, or the integrations could not be listed (the invocation fails and
/// EventBridge's retry policy applies); per-integration failures are in the summary.
pub async fn handle<S: SecretSource>(
    app: &App<S>,
    event: LambdaEvent<Value>,
) -> Result<RunSummary, lambda_runtime::Error> {
    sync::lambda::handle_scheduled(app, MODEL, event).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync::runner::Shard;

    #[test]
    fn sample_schedule_events_decode() {
        for (text, expected) in [
            (
                include_str!("../../../events/poll-memberships.schedule.json"),
                Shard { shard: 0, of: 1 },
            ),
            (
                include_str!("../../../events/poll-memberships.scheduled-event.json"),
                Shard::default(),
            ),
        ] {
            let sample: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse_input(&sample).unwrap(), expected);
        }
    }

    #[test]
    fn sample_continuation_event_decodes() {
        let sample: Value = serde_json::from_str(include_str!(
            "../../../events/poll-memberships.continue.json"
        ))
        .unwrap();
        let input = sync::lambda::parse_poll_input(&sample).unwrap();
        let sync::lambda::PollInput::Continue(messages) = input else {
            panic!("an SQS event is a continuation: {input:?}");
        };
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].model, MODEL);
    }
}
