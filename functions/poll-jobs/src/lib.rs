//! poll-jobs: the EventBridge-scheduled Lambda that syncs the Job model of this shard's
//! integrations (SPEC.md §3). The handler only names its model; decoding the schedule input,
//! the soft deadline from the Lambda context, the run and the metrics are the shared
//! [`sync::lambda::handle_scheduled`] (poll-memberships runs the same code for memberships).

use lambda_runtime::LambdaEvent;
use opportunity::Model;
use secrets::SecretSource;
use serde_json::Value;
use sync::runner::RunSummary;

pub use sync::lambda::{parse_input, soft_deadline, App, Config};

/// The model this function polls.
pub const MODEL: Model = Model::Job;

/// The handler: decode, run the job sync of this shard, return the summary.
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
        for text in [
            include_str!("../../../events/poll-jobs.schedule.json"),
            include_str!("../../../events/poll-jobs.scheduled-event.json"),
        ] {
            let sample: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse_input(&sample).unwrap(), Shard::default());
        }
    }

    #[test]
    fn sample_continuation_event_decodes() {
        let sample: Value =
            serde_json::from_str(include_str!("../../../events/poll-jobs.continue.json")).unwrap();
        let input = sync::lambda::parse_poll_input(&sample).unwrap();
        let sync::lambda::PollInput::Continue(messages) = input else {
            panic!("an SQS event is a continuation: {input:?}");
        };
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].model, MODEL);
    }
}
