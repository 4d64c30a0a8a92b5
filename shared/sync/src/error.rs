//! Errors of the sync engine.

/// A sync run could not go on. Progress already committed stays committed; the next run resumes
/// from the last committed token.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// ServiceTitan failed (after the client's retries).
    #[error("workspace {workspace}: ServiceTitan: {source}")]
    Api {
        /// Workspace.
        workspace: String,
        /// The API error.
        #[source]
        source: servicetitan::client::ApiError,
    },
    /// The store failed.
    #[error("workspace {workspace}: store: {source}")]
    Store {
        /// Workspace.
        workspace: String,
        /// The store error.
        #[source]
        source: store::StoreError,
    },
    /// Credentials could not be read.
    #[error("workspace {workspace}: credentials: {source}")]
    Secret {
        /// Workspace.
        workspace: String,
        /// The secret error (names the secret id, never its value).
        #[source]
        source: secrets::SecretError,
    },
    /// The integration's settings cannot be used.
    #[error("workspace {workspace}: {message}")]
    Config {
        /// Workspace.
        workspace: String,
        /// What is wrong.
        message: String,
    },
}

impl SyncError {
    /// True when a later run may succeed without anyone changing anything (throttling, 5xx,
    /// timeouts, store throttling).
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Api { source, .. } => source.is_retryable(),
            SyncError::Store { source, .. } => source.is_retryable(),
            SyncError::Secret { .. } | SyncError::Config { .. } => false,
        }
    }
}

pub(crate) trait Ctx<T> {
    fn ws(self, workspace: &str) -> Result<T, SyncError>;
}

impl<T> Ctx<T> for Result<T, servicetitan::client::ApiError> {
    fn ws(self, workspace: &str) -> Result<T, SyncError> {
        self.map_err(|source| SyncError::Api {
            workspace: workspace.to_owned(),
            source,
        })
    }
}

impl<T> Ctx<T> for Result<T, store::StoreError> {
    fn ws(self, workspace: &str) -> Result<T, SyncError> {
        self.map_err(|source| SyncError::Store {
            workspace: workspace.to_owned(),
            source,
        })
    }
}

impl<T> Ctx<T> for Result<T, secrets::SecretError> {
    fn ws(self, workspace: &str) -> Result<T, SyncError> {
        self.map_err(|source| SyncError::Secret {
            workspace: workspace.to_owned(),
            source,
        })
    }
}
