//! poll-memberships Lambda entry point: the shared poll `main` ([`sync::lambda::serve`]) for this
//! function's model. Everything else is in the library.

// The `main` future nests the whole sync (runtime, handler, engine): built with the size-optimized
// Cargo.toml [profile.lambda-release], computing its layout overflows the default depth of 128.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sync::lambda::serve(poll_memberships::MODEL).await
}
