//! A verified, parsed call-completed event of an inbound call → the Inbound Call opportunity
//! (SPEC.md §4, §5, §6). The order of operations is what makes it safe:
//!
//! 1. **Map** the call (pure; a call that cannot be mapped is refused before anything is stored).
//! 2. **Claim** the event (`source` + `id`) with a conditional put: a delivery of an event that is
//!    already done is a duplicate (2xx, nothing else happens); one that another delivery is
//!    handling right now gets 409 so ServiceTitan retries it later.
//! 3. **Same call** already stored with the same or a newer External Updated At (e.g. the event
//!    was replayed from the portal under a new id) → duplicate, no ServiceTitan call.
//! 4. **Contact**: the call's customer id already linked in the store → that contact. Otherwise,
//!    when the call names a customer, the customer and its contacts are fetched from ServiceTitan
//!    (`customers?ids=`, `customers/contacts?customerIds=`) so the resolution can match an
//!    existing contact by the customer's e-mail or phone (SPEC.md §5 order), else by the caller's
//!    number; a new contact is created when nothing matches, linked to the customer id.
//! 5. **Upsert** the opportunity (idempotent), then mark the claim done.
//!
//! Any failure after the claim releases it, so the sender's retry is processed, not taken for a
//! duplicate. Transient ServiceTitan failures (429, 5xx, timeouts) are answered 503 so that
//! ServiceTitan retries (10, 30, 60, 300 s); permanent ones (the app lost a scope, the customer
//! is gone) do not lose the call: the contact is resolved from the call's own data and a warning
//! is logged. A crash leaves the claim pending; after the claim hold the next delivery takes it
//! over and, thanks to step 3 and the idempotent upsert, finishes the job without duplicates.

use std::time::Duration;

use chrono::{DateTime, Utc};
use opportunity::call::map_inbound_call;
use opportunity::map::{contacts_newest_first, select_email, select_phone};
use opportunity::name::split_name;
use opportunity::{ContactCandidate, Integration, MappingConfig, Model, Opportunity};
use secrecy::SecretString;
use secrets::IntegrationSecret;
use servicetitan::client::{
    endpoints, ApiError, Client, ClientConfig, INTEGRATION_API, INTEGRATION_AUTH, PRODUCTION_API,
    PRODUCTION_AUTH,
};
use servicetitan::webhook::{CallCompletedData, CloudEvent};
use servicetitan::{Customer, CustomerContact};
use store::{ClaimOutcome, MatchedBy, Store};
use tracing::{info, warn};

use crate::error::WebhookError;

/// Platform-wide ServiceTitan settings, read once at cold start (SPEC.md §1: one app key for the
/// platform; per-integration credentials come from the integration's secret).
#[derive(Clone)]
pub struct ServiceTitanAccess {
    /// The `ST-App-Key`.
    pub app_key: SecretString,
    /// Replaces the environment's API host and token URL (a sandbox); `None` in production.
    pub endpoint_override: Option<(String, String)>,
    /// Request budget per tenant, requests per second.
    pub requests_per_second: u32,
}

impl std::fmt::Debug for ServiceTitanAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTitanAccess")
            .field("app_key", &"***")
            .field("endpoint_override", &self.endpoint_override)
            .field("requests_per_second", &self.requests_per_second)
            .finish()
    }
}

/// Per-request timeout of ServiceTitan calls made while answering a webhook: the whole answer
/// must fit API Gateway's 30 s integration timeout.
const ST_TIMEOUT: Duration = Duration::from_secs(8);
/// Retries of a ServiceTitan call within one delivery (ServiceTitan's own retries come on top).
const ST_RETRIES: usize = 1;

/// What happened to a delivery that was accepted (answered 2xx).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The opportunity was written (created, or replaced by a newer version of the call).
    Recorded {
        /// The call id (External ID).
        external_id: String,
        /// The resolved contact.
        contact_id: String,
        /// How the contact was found.
        matched_by: MatchedBy,
        /// Whether the contact was created by this delivery.
        contact_created: bool,
        /// Whether the customer had to be fetched from ServiceTitan.
        customer_fetched: bool,
    },
    /// Nothing to do: this event, or this version of the call, was already handled.
    Duplicate {
        /// `event` (same CloudEvent) or `call` (same call, same or older version).
        by: &'static str,
        /// The call id, when known.
        external_id: Option<String>,
    },
}

impl Outcome {
    /// The label stored on the claim and returned as `status`: `created` or `duplicate`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Recorded { .. } => "created",
            Outcome::Duplicate { .. } => "duplicate",
        }
    }
}

/// The ServiceTitan client of an integration for webhook work: the integration's environment
/// hosts (or the platform override), its client id and secret, the platform app key, and short
/// timeouts ([`ST_TIMEOUT`], one retry) so the answer stays within API Gateway's limit.
///
/// Errors: [`WebhookError::Internal`] when the URLs are unusable.
pub fn client_for(
    integration: &Integration,
    secret: &IntegrationSecret,
    platform: &ServiceTitanAccess,
) -> Result<Client, WebhookError> {
    let (api, auth) = match (&platform.endpoint_override, integration.environment) {
        (Some((api, auth)), _) => (api.clone(), auth.clone()),
        (None, opportunity::Environment::Production) => {
            (PRODUCTION_API.to_owned(), PRODUCTION_AUTH.to_owned())
        }
        (None, opportunity::Environment::Integration) => {
            (INTEGRATION_API.to_owned(), INTEGRATION_AUTH.to_owned())
        }
    };
    let internal = |e: ApiError| WebhookError::Internal(format!("ServiceTitan client: {e}"));
    let mut config = ClientConfig::new(
        &api,
        &auth,
        integration.tenant_id,
        integration.client_id.clone(),
        SecretString::from(secret.client_secret.clone()),
        platform.app_key.clone(),
    )
    .map_err(internal)?;
    config.requests_per_second = platform.requests_per_second.max(1);
    config.timeout = ST_TIMEOUT;
    config.max_retries = ST_RETRIES;
    Client::new(config).map_err(internal)
}

/// The customer and its contacts, as ServiceTitan has them now. `Ok(None)` when ServiceTitan
/// does not know the customer.
async fn fetch_customer(
    client: &Client,
    customer_id: i64,
) -> Result<Option<(Customer, Vec<CustomerContact>)>, ApiError> {
    let ids = [customer_id];
    let (customers, contacts) = tokio::join!(
        client.list_by_ids::<Customer>(endpoints::CUSTOMERS, "ids", &ids, true),
        client.list_by_ids::<CustomerContact>(
            endpoints::CUSTOMER_CONTACTS,
            "customerIds",
            &ids,
            false,
        ),
    );
    let Some(customer) = customers?.into_iter().find(|c| c.id == customer_id) else {
        return Ok(None);
    };
    let contacts = contacts?
        .into_iter()
        .filter(|c| c.customer_id.is_none_or(|owner| owner == customer_id))
        .collect();
    Ok(Some((customer, contacts)))
}

/// The contact candidate enriched with what ServiceTitan holds for the customer: its e-mail
/// (SPEC.md §4 e-mail rules), its phone (mobile before phone; the caller's number when it has
/// none) and, when the call carried no name, the customer's name.
fn enrich(
    mut candidate: ContactCandidate,
    customer: &Customer,
    contacts: &[CustomerContact],
    mapping: &MappingConfig,
) -> ContactCandidate {
    let contacts = contacts_newest_first(contacts);
    candidate.email = select_email(&contacts, &mapping.placeholders);
    if let Some(phone) = select_phone(&contacts, &mapping.phone_region) {
        candidate.phone = Some(phone.e164);
    }
    if candidate.first_name.is_none() && candidate.last_name.is_none() {
        let (first, last) = split_name(&customer.name);
        candidate.first_name = first;
        candidate.last_name = last;
    }
    candidate
}

/// Everything [`record_inbound_call`] needs besides the event.
pub struct Deps<'a> {
    /// The store.
    pub store: &'a Store,
    /// The workspace's integration.
    pub integration: &'a Integration,
    /// Builds (or reuses) the integration's ServiceTitan client, only when a customer must be
    /// fetched.
    pub client: &'a (dyn Fn() -> Result<Client, WebhookError> + Send + Sync),
    /// How long this delivery's claim holds.
    pub claim_hold: Duration,
}

/// Handle a verified call-completed event of an inbound call (steps in the module docs). `now`
/// (UTC) stamps the claim, new contacts and `syncedAt`.
///
/// Errors: [`WebhookError::Malformed`] when the call cannot be mapped (nothing stored);
/// [`WebhookError::InProgress`] when another delivery holds the claim;
/// [`WebhookError::Unavailable`] for transient DynamoDB or ServiceTitan failures (the claim is
/// released); [`WebhookError::Internal`] for permanent store failures.
pub async fn record_inbound_call(
    deps: &Deps<'_>,
    event: &CloudEvent<CallCompletedData>,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    let integration = deps.integration;
    let ws = integration.workspace_id.as_str();
    let mapping = MappingConfig::from_integration(integration);
    let opportunity = map_inbound_call(&event.data.call, &mapping)
        .map_err(|e| WebhookError::malformed(format!("data.call.{}", e.field), e.reason))?;
    let hold = chrono::Duration::from_std(deps.claim_hold).unwrap_or(chrono::Duration::seconds(60));
    let claim = match deps
        .store
        .claim_webhook_event(ws, &event.source, &event.id, &event.kind, now, hold)
        .await?
    {
        ClaimOutcome::Claimed(claim) => claim,
        ClaimOutcome::Done { .. } => {
            return Ok(Outcome::Duplicate {
                by: "event",
                external_id: Some(opportunity.external_id),
            })
        }
        ClaimOutcome::InProgress => return Err(WebhookError::InProgress(event.id.clone())),
    };
    let result = store_call(deps, &mapping, opportunity, now).await;
    match &result {
        Ok(outcome) => {
            if !deps
                .store
                .complete_webhook_event(&claim, outcome.label(), now)
                .await?
            {
                warn!(workspace = ws, event_id = %event.id, "claim was taken over meanwhile; the other delivery completes it");
            }
        }
        Err(_) => {
            if let Err(e) = deps.store.release_webhook_event(&claim).await {
                warn!(workspace = ws, event_id = %event.id, error = %e, "claim not released; the next delivery takes it over after the hold");
            }
        }
    }
    result
}

async fn store_call(
    deps: &Deps<'_>,
    mapping: &MappingConfig,
    opportunity: Opportunity,
    now: DateTime<Utc>,
) -> Result<Outcome, WebhookError> {
    let ws = deps.integration.workspace_id.as_str();
    let store = deps.store;
    if let Some(stored) = store
        .get_opportunity(ws, Model::InboundCall, &opportunity.external_id)
        .await?
    {
        if stored.opportunity.standard.external_updated_at
            >= opportunity.standard.external_updated_at
        {
            return Ok(Outcome::Duplicate {
                by: "call",
                external_id: Some(opportunity.external_id),
            });
        }
    }
    let mut candidate = ContactCandidate::from_opportunity(&opportunity);
    let mut customer_fetched = false;
    if let Some(customer_id) = candidate.customer_id {
        if store.linked_contact(ws, customer_id).await?.is_none() {
            let client = (deps.client)()?;
            match fetch_customer(&client, customer_id).await {
                Ok(Some((customer, contacts))) => {
                    customer_fetched = true;
                    candidate = enrich(candidate, &customer, &contacts, mapping);
                }
                Ok(None) => {
                    warn!(workspace = ws, customer_id, "ServiceTitan does not know the call's customer; resolving by the caller's number");
                }
                Err(e) if e.is_retryable() => {
                    return Err(WebhookError::Unavailable {
                        what: "ServiceTitan",
                        message: e.to_string(),
                    })
                }
                Err(e) => {
                    warn!(workspace = ws, customer_id, error = %e, "customer lookup refused; resolving by the caller's number");
                }
            }
        }
    }
    let resolution = store.resolve_contact(ws, &candidate, now).await?;
    let external_id = opportunity.external_id.clone();
    let report = store
        .upsert_opportunities(ws, &[(opportunity, resolution.contact_id.clone())], now)
        .await?;
    if let Some(failure) = report.failed.first() {
        return Err(WebhookError::Internal(format!(
            "inbound call {} not stored: {}",
            failure.external_id, failure.error
        )));
    }
    if report.written == 0 {
        // Unchanged or refused (a newer version landed concurrently): nothing new.
        return Ok(Outcome::Duplicate {
            by: "call",
            external_id: Some(external_id),
        });
    }
    info!(
        workspace = ws,
        external_id = %external_id,
        matched_by = ?resolution.matched_by,
        contact_created = resolution.created,
        customer_fetched,
        "inbound call recorded"
    );
    Ok(Outcome::Recorded {
        external_id,
        contact_id: resolution.contact_id,
        matched_by: resolution.matched_by,
        contact_created: resolution.created,
        customer_fetched,
    })
}
