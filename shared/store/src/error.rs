//! The store's one error type.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// A boxed error source kept inside [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed DynamoDB request, with its context.
#[derive(Debug, thiserror::Error)]
#[error(
    "DynamoDB {operation} failed (workspace {workspace}, key {key}): {code}: {message}",
    workspace = workspace.as_deref().unwrap_or("-"),
    code = code.as_deref().unwrap_or("no error code"),
    message = message.as_deref().unwrap_or("no message"),
)]
pub struct DynamoError {
    /// The DynamoDB operation (`PutItem`, `Query`, ...).
    pub operation: &'static str,
    /// The workspace concerned, when the call is about one.
    pub workspace: Option<String>,
    /// The item key or key prefix concerned (`pk/sk`), or the table for table operations.
    pub key: String,
    /// The service error code (`ThrottlingException`, ...), when the service answered.
    pub code: Option<String>,
    /// The service error message, when there is one.
    pub message: Option<String>,
    /// Throttling, 5xx, timeouts and dropped connections.
    pub retryable: bool,
    /// The SDK error.
    #[source]
    pub source: BoxError,
}

/// Everything that can go wrong in the store. Each variant says which workspace and which item
/// (key) it concerns and why; sources are kept. [`StoreError::is_retryable`] tells a caller (a
/// Lambda, the sync engine) whether trying again later can help.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A workspace id that cannot be used in a key (empty, contains `#`, too long, control or
    /// whitespace characters).
    #[error("invalid workspace id {workspace:?}: {reason}")]
    InvalidWorkspace {
        /// The rejected id.
        workspace: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// Any other input that cannot become part of a key (feed name, external id, contact id).
    #[error("workspace {workspace}: invalid {what} {value:?}: {reason}")]
    InvalidInput {
        /// The workspace of the call.
        workspace: String,
        /// Which input (`feed`, `external id`, ...).
        what: &'static str,
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A DynamoDB request failed (service error, throttling, network, timeout); boxed to keep
    /// `Result<_, StoreError>` small.
    #[error(transparent)]
    Dynamo(Box<DynamoError>),

    /// A request could not be built (a bug in the adapter rather than a data problem).
    #[error("building the DynamoDB {operation} request failed")]
    Request {
        /// The DynamoDB operation.
        operation: &'static str,
        /// The builder error.
        #[source]
        source: aws_sdk_dynamodb::error::BuildError,
    },

    /// An item could not be converted to or from DynamoDB attributes.
    #[error("workspace {workspace}, item {key}: cannot {direction} {what}")]
    Codec {
        /// The workspace.
        workspace: String,
        /// The item key (`pk/sk`).
        key: String,
        /// `encode` or `decode`.
        direction: &'static str,
        /// What was being converted (`opportunity`, `contact`, ...).
        what: &'static str,
        /// The conversion error (serde_dynamo or serde_json).
        #[source]
        source: BoxError,
    },

    /// A stored item does not have the shape the adapter writes (missing attribute, bad key).
    #[error("workspace {workspace}, item {key}: corrupt item: {reason}")]
    Corrupt {
        /// The workspace.
        workspace: String,
        /// The item key (`pk/sk`).
        key: String,
        /// What is wrong.
        reason: String,
    },

    /// An opportunity item would exceed the store's size limit (below DynamoDB's 400 KB).
    #[error(
        "workspace {workspace}: opportunity {model}/{external_id} is {bytes} bytes as a DynamoDB \
         item, over the {limit}-byte limit; shorten its details"
    )]
    ItemTooLarge {
        /// The workspace.
        workspace: String,
        /// The opportunity model.
        model: opportunity::Model,
        /// The opportunity's external id.
        external_id: String,
        /// Estimated DynamoDB item size in bytes.
        bytes: usize,
        /// The limit in bytes.
        limit: usize,
    },

    /// A new contact's item would exceed the store's size limit (below DynamoDB's 400 KB,
    /// SPEC.md §5). Nothing was written. Names the ServiceTitan customer and the largest field.
    #[error(
        "workspace {workspace}: contact of customer {customer} is {bytes} bytes as a DynamoDB \
         item, over the {limit}-byte limit; largest field `{field}` ({field_bytes} bytes)",
        customer = customer_id.map_or_else(|| "-".to_owned(), |c| c.to_string()),
    )]
    ContactTooLarge {
        /// The workspace.
        workspace: String,
        /// The ServiceTitan customer id (External Contact ID) the contact was created for.
        customer_id: Option<i64>,
        /// The largest attribute of the item (`firstName`, `lastName`, `email`, `phone`...).
        field: String,
        /// That attribute's estimated size in bytes (name and value).
        field_bytes: usize,
        /// Estimated DynamoDB item size in bytes.
        bytes: usize,
        /// The limit in bytes.
        limit: usize,
    },

    /// Contact resolution kept losing races against concurrent writers.
    #[error("workspace {workspace}: contact resolution did not settle after {attempts} attempts")]
    ResolutionContended {
        /// The workspace.
        workspace: String,
        /// How many attempts were made.
        attempts: u32,
    },

    /// A batch call (BatchGetItem, BatchWriteItem) kept returning unprocessed keys.
    #[error("workspace {workspace}: {operation} left {count} keys unprocessed after retries")]
    Unprocessed {
        /// The batch operation.
        operation: &'static str,
        /// The workspace.
        workspace: String,
        /// How many keys were still unprocessed.
        count: usize,
    },

    /// The table exists but does not have the expected key schema or indexes, or never became
    /// ACTIVE.
    #[error("table {table}: {reason}")]
    Table {
        /// The table name.
        table: String,
        /// What is wrong.
        reason: String,
    },

    /// The embedded engine (dynoxide) could not be started.
    #[error("embedded DynamoDB engine: {what}")]
    Embedded {
        /// What failed (`bind 127.0.0.1:0`, `open /path/db.sqlite`).
        what: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// Whether trying the same call again later can succeed: throttling, 5xx, timeouts, dropped
    /// connections, unprocessed batch keys and contended contact resolution. Validation errors,
    /// corrupt items and too-large items are permanent.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Dynamo(e) => e.retryable,
            StoreError::ResolutionContended { .. } | StoreError::Unprocessed { .. } => true,
            _ => false,
        }
    }

    /// Whether the error is a permanent problem of the one record being written, not of the
    /// store or the run: an item over the size limit ([`StoreError::ItemTooLarge`],
    /// [`StoreError::ContactTooLarge`]), a value that cannot be a key ([`StoreError::InvalidInput`]),
    /// an item that cannot be encoded, or a DynamoDB `ValidationException` about a size (item
    /// over 400 KB, key attribute over 2 048 / 1 024 bytes). A caller skips that record and
    /// reports it as a bad record (SPEC.md §4), and the rest of the run goes on. Never true for a
    /// retryable error, nor for errors that would hit every record (invalid workspace, missing
    /// table, access denied, malformed requests).
    pub fn is_record_problem(&self) -> bool {
        match self {
            StoreError::ItemTooLarge { .. }
            | StoreError::ContactTooLarge { .. }
            | StoreError::InvalidInput { .. } => true,
            StoreError::Codec { direction, .. } => *direction == "encode",
            StoreError::Dynamo(e) => {
                !e.retryable
                    && e.code.as_deref() == Some("ValidationException")
                    && e.message
                        .as_deref()
                        .is_some_and(|m| m.to_ascii_lowercase().contains("size"))
            }
            _ => false,
        }
    }

    /// Map an SDK error, classifying it as retryable or not.
    pub(crate) fn sdk<E>(
        operation: &'static str,
        workspace: Option<&str>,
        key: impl Into<String>,
        err: SdkError<E, HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let code = err.code().map(str::to_owned);
        let message = err.message().map(str::to_owned);
        let retryable = classify(&err, code.as_deref());
        StoreError::Dynamo(Box::new(DynamoError {
            operation,
            workspace: workspace.map(str::to_owned),
            key: key.into(),
            code,
            message,
            retryable,
            source: Box::new(err),
        }))
    }

    pub(crate) fn build(
        operation: &'static str,
    ) -> impl FnOnce(aws_sdk_dynamodb::error::BuildError) -> StoreError {
        move |source| StoreError::Request { operation, source }
    }
}

/// Error codes DynamoDB documents as transient.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
    "LimitExceededException",
];

fn classify<E>(err: &SdkError<E, HttpResponse>, code: Option<&str>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(d) => d.is_timeout() || d.is_io(),
        SdkError::ServiceError(_) => {
            code.is_some_and(|c| RETRYABLE_CODES.contains(&c))
                || err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() >= 500)
        }
        _ => false,
    }
}
