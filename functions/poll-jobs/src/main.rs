//! poll-jobs Lambda entry point: the shared poll `main` ([`sync::lambda::serve`]) for this
//! function's model. Everything else is in the library.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sync::lambda::serve(poll_jobs::MODEL).await
}
