//! [`SandboxError`]: what can go wrong outside a single HTTP request.

/// Errors of the sandbox's Rust API (request-level errors become problem-details responses).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A fixture document is not what [`crate::Dataset::from_fixture_json`] accepts.
    /// `location` names the record (`jobs[3] (id 41000012)`) or key; `message` the field and problem.
    #[error("fixture {location}: {message}")]
    Fixture {
        /// Where: a top-level key or `resource[index] (id N)`.
        location: String,
        /// What is wrong, naming the field when there is one.
        message: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// An admin merge-patch could not be applied to a record.
    #[error("patch {resource}/{id}: {message}")]
    Patch {
        /// Resource name as in the admin path (`jobs`, `customers`, ...).
        resource: String,
        /// Record id.
        id: i64,
        /// What is wrong.
        message: String,
    },
    /// An injected fault cannot be queued (module `faults`).
    #[error("fault: {0}")]
    Fault(String),
}

impl SandboxError {
    pub(crate) fn fixture(location: impl Into<String>, message: impl Into<String>) -> Self {
        SandboxError::Fixture {
            location: location.into(),
            message: message.into(),
        }
    }
}
