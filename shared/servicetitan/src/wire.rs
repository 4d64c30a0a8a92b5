//! Wire types: ServiceTitan's JSON shapes, one struct per resource.
//!
//! Every timestamp is UTC (`DateTime<Utc>`), parsed from RFC 3339 with any number of fractional
//! digits (ServiceTitan emits 0 to 7). Fields the OpenAPI schema marks required are plain fields;
//! the ones it marks nullable, or that real tenants leave null although the schema says required,
//! are `Option`. Unknown fields are ignored on input, so new API fields never break a sync.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::wire_more::*;

/// A ServiceTitan record id (int64 in every spec).
pub type Id = i64;

/// `PaginatedResponse_Of_*`: the envelope of every list ("GetList") endpoint. API-NOTES §5.1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The page returned, 1-based.
    pub page: i32,
    /// The page size requested (default 50).
    pub page_size: i32,
    /// More records exist after this page.
    pub has_more: bool,
    /// Only filled when `includeTotal=true`.
    pub total_count: Option<i32>,
    /// The records, never more than `page_size`.
    pub data: Vec<T>,
}

/// `ExportResponse_Of_*`: the envelope of every export feed (`/export/...`). API-NOTES §5.4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportPage<T> {
    /// `true`: call again at once with `continue_from`; `false`: caught up.
    pub has_more: bool,
    /// Opaque continuation token to pass as `from` next time.
    pub continue_from: String,
    /// The rows, roughly in modification order; may repeat rows across calls.
    pub data: Vec<T>,
}

/// `ApiErrorResponse` (RFC 7807 problem details), the body of every documented 4xx. API-NOTES §6.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiErrorResponse {
    /// URI identifying the problem type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Short summary.
    pub title: Option<String>,
    /// HTTP status.
    pub status: Option<i32>,
    /// ServiceTitan trace id (worth logging).
    pub trace_id: Option<String>,
    /// Per-field validation messages.
    pub errors: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// Extra machine-readable data.
    pub data: Option<serde_json::Value>,
}

/// OAuth2 client-credentials token response (`POST /connect/token`). API-NOTES §2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token (a JWT in production; opaque to us).
    pub access_token: String,
    /// Lifetime in seconds (900 in production).
    pub expires_in: u64,
    /// `"Bearer"`.
    pub token_type: String,
    /// Space-separated granted scopes, e.g. `tn.jpm.jobs:r tn.crm.customers:r`.
    #[serde(default)]
    pub scope: Option<String>,
}

/// `{typeId, name, value}`: a custom field on jobs, customers, locations, memberships.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomField {
    /// The custom field type id.
    #[serde(default)]
    pub type_id: Option<Id>,
    /// The field's display name; details key `customFields:<name>`.
    pub name: Option<String>,
    /// The value as text.
    pub value: Option<String>,
}

/// `{key, value}` external data an app stored on a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalData {
    /// Key.
    pub key: String,
    /// Value.
    pub value: Option<String>,
}

/// `{jobId, employeeId}` on a job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobGeneratedLeadSource {
    /// The job that generated the lead.
    pub job_id: Option<Id>,
    /// The employee who generated it.
    pub employee_id: Option<Id>,
}

/// `Jpm.V2.JobResponse` (`GET /jpm/v2/tenant/{tenant}/jobs`, `/export/jobs`). API-NOTES §7.1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Job id; the Job opportunity's External ID.
    pub id: Id,
    /// Human job number (often the id as text).
    pub job_number: Option<String>,
    /// Project, when the job belongs to one.
    pub project_id: Option<Id>,
    /// Customer; the opportunity's External Contact ID.
    pub customer_id: Id,
    /// Service location.
    pub location_id: Id,
    /// `Scheduled`, `Dispatched`, `InProgress`, `Hold`, `Completed`, `Canceled` (others tolerated).
    pub job_status: String,
    /// When the job was completed (UTC).
    pub completed_on: Option<DateTime<Utc>>,
    /// Business unit.
    pub business_unit_id: Id,
    /// Job type.
    pub job_type_id: Id,
    /// `Low`, `Normal`, `High`, `Urgent`.
    pub priority: Option<String>,
    /// Marketing campaign.
    pub campaign_id: Option<Id>,
    /// Number of appointments.
    #[serde(default)]
    pub appointment_count: Option<i64>,
    /// First appointment.
    pub first_appointment_id: Option<Id>,
    /// Last appointment.
    pub last_appointment_id: Option<Id>,
    /// Recall of another job.
    #[serde(default)]
    pub recall_for_id: Option<Id>,
    /// Warranty of another job.
    #[serde(default)]
    pub warranty_id: Option<Id>,
    /// Lead source.
    #[serde(default)]
    pub job_generated_lead_source: Option<JobGeneratedLeadSource>,
    /// No charge job.
    #[serde(default)]
    pub no_charge: Option<bool>,
    /// Notifications on.
    #[serde(default)]
    pub notifications_enabled: Option<bool>,
    /// Created (UTC); External Created At.
    pub created_on: DateTime<Utc>,
    /// Created by (user id).
    #[serde(default)]
    pub created_by_id: Option<Id>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Tag type ids.
    #[serde(default)]
    pub tag_type_ids: Vec<Id>,
    /// The call that produced the job.
    #[serde(default)]
    pub lead_call_id: Option<Id>,
    /// Partner lead call.
    #[serde(default)]
    pub partner_lead_call_id: Option<Id>,
    /// Booking.
    #[serde(default)]
    pub booking_id: Option<Id>,
    /// Sold by (technician id).
    #[serde(default)]
    pub sold_by_id: Option<Id>,
    /// Customer PO (required in the spec, null in practice).
    #[serde(default)]
    pub customer_po: Option<String>,
    /// Invoice.
    #[serde(default)]
    pub invoice_id: Option<Id>,
    /// Membership.
    #[serde(default)]
    pub membership_id: Option<Id>,
    /// Total (decimal).
    #[serde(default)]
    pub total: Option<f64>,
    /// Summary (HTML).
    #[serde(default)]
    pub summary: Option<String>,
    /// Custom fields.
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    /// External data of the calling app.
    #[serde(default)]
    pub external_data: Vec<ExternalData>,
    /// Export rows only: `false` for deleted/inactive jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// `Crm.V2.Customers.CustomerAddress` / location address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Street.
    pub street: Option<String>,
    /// Unit.
    pub unit: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Zip.
    pub zip: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
}

/// `Crm.V2.Customers.CustomerResponse` (`GET /crm/v2/tenant/{tenant}/customers`). API-NOTES §7.2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// Customer id; External Contact ID.
    pub id: Id,
    /// `false` when deleted or merged.
    pub active: bool,
    /// "Last, First", "First Last" or a company name.
    pub name: String,
    /// `Residential` or `Commercial`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Billing address.
    pub address: Option<Address>,
    /// Custom fields.
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    /// Balance (decimal).
    #[serde(default)]
    pub balance: Option<f64>,
    /// Tax exempt.
    #[serde(default)]
    pub tax_exempt: Option<bool>,
    /// Tag type ids.
    #[serde(default)]
    pub tag_type_ids: Vec<Id>,
    /// Do not mail.
    #[serde(default)]
    pub do_not_mail: Option<bool>,
    /// Do not service.
    #[serde(default)]
    pub do_not_service: Option<bool>,
    /// National account.
    #[serde(default)]
    pub national_account: Option<bool>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Created by.
    #[serde(default)]
    pub created_by_id: Option<Id>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Set when this customer was merged into another (then `active` is false).
    #[serde(default)]
    pub merged_to_id: Option<Id>,
    /// Payment term.
    #[serde(default)]
    pub payment_term_id: Option<Id>,
    /// External data of the calling app.
    #[serde(default)]
    pub external_data: Vec<ExternalData>,
}

/// `{phoneNumber, doNotText}` on a phone contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneSettings {
    /// The number as stored.
    pub phone_number: Option<String>,
    /// Opted out of texts.
    pub do_not_text: Option<bool>,
}

/// Contact preferences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactPreferences {
    /// Job reminders on.
    pub job_reminders_enabled: Option<bool>,
    /// Marketing updates on.
    pub marketing_updates_enabled: Option<bool>,
    /// Invoice statements on.
    pub invoice_statement_notification: Option<bool>,
}

/// `CustomerContactWithModifiedOn[AndCustomerId]Response` (`GET /crm/v2/tenant/{tenant}/customers/contacts`,
/// `/customers/{id}/contacts`, `/export/customers/contacts`). API-NOTES §7.2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerContact {
    /// Contact id.
    pub id: Id,
    /// `Phone`, `MobilePhone`, `Email`, `Fax` (compare case-insensitively).
    #[serde(rename = "type")]
    pub kind: String,
    /// Phone number or e-mail address, as typed by the office.
    pub value: String,
    /// Free-text label.
    #[serde(default)]
    pub memo: Option<String>,
    /// Phone settings (null on e-mail contacts).
    #[serde(default)]
    pub phone_settings: Option<PhoneSettings>,
    /// Preferences.
    #[serde(default)]
    pub preferences: Option<ContactPreferences>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Owning customer (on the cross-customer list and the export feed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Id>,
    /// Export rows only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// `Crm.V2.Locations.LocationResponse` (`GET /crm/v2/tenant/{tenant}/locations`). API-NOTES §7.2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// Location id.
    pub id: Id,
    /// Owning customer.
    pub customer_id: Id,
    /// Active.
    pub active: bool,
    /// Name, e.g. "Avery Testwell - Home".
    pub name: String,
    /// Service address.
    pub address: Option<Address>,
    /// Custom fields.
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Created by.
    #[serde(default)]
    pub created_by_id: Option<Id>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Set when merged into another location.
    #[serde(default)]
    pub merged_to_id: Option<Id>,
    /// Service zone.
    #[serde(default)]
    pub zone_id: Option<Id>,
    /// Tax exempt.
    #[serde(default)]
    pub tax_exempt: Option<bool>,
    /// Tag type ids.
    #[serde(default)]
    pub tag_type_ids: Vec<Id>,
    /// External data of the calling app.
    #[serde(default)]
    pub external_data: Vec<ExternalData>,
    /// Tax zone.
    #[serde(default)]
    pub tax_zone_id: Option<Id>,
}

/// `{id, name}` reference used inside several resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedRef {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: Option<String>,
}

/// Business unit (`GET /settings/v2/tenant/{tenant}/business-units`). API-NOTES §7.7.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessUnit {
    /// Id.
    pub id: Id,
    /// Active.
    pub active: bool,
    /// Name.
    pub name: String,
    /// Official name.
    #[serde(default)]
    pub official_name: Option<String>,
    /// E-mail of the business unit (not a customer's).
    #[serde(default)]
    pub email: Option<String>,
    /// Currency.
    #[serde(default)]
    pub currency: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Trade.
    #[serde(default)]
    pub trade: Option<NamedRef>,
    /// Division.
    #[serde(default)]
    pub division: Option<NamedRef>,
    /// Tag type ids.
    #[serde(default)]
    pub tag_type_ids: Vec<Id>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
}

/// `Jpm.V2.JobTypeResponse` (`GET /jpm/v2/tenant/{tenant}/job-types`). API-NOTES §7.1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobType {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// Business units the type is offered in.
    #[serde(default)]
    pub business_unit_ids: Vec<Id>,
    /// Required skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Tag type ids.
    #[serde(default)]
    pub tag_type_ids: Vec<Id>,
    /// Priority.
    #[serde(default)]
    pub priority: Option<String>,
    /// Duration in seconds.
    #[serde(default)]
    pub duration: Option<i64>,
    /// Sold threshold.
    #[serde(default)]
    pub sold_threshold: Option<f64>,
    /// Class.
    #[serde(default)]
    pub class: Option<String>,
    /// Summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// No charge.
    #[serde(default)]
    pub no_charge: Option<bool>,
    /// Invoice signatures required (required in the spec).
    #[serde(default)]
    pub invoice_signatures_required: Option<bool>,
    /// Smart-dispatched (required in the spec).
    #[serde(default)]
    pub is_smart_dispatched: Option<bool>,
    /// External data of the calling app (required in the spec).
    #[serde(default)]
    pub external_data: Vec<ExternalData>,
    /// Active.
    pub active: bool,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
}

/// `Telecom.V3.CallReasonModel`: why the customer called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallReason {
    /// Id.
    pub id: Id,
    /// Name, e.g. "No Heat"; details key `reason:name`.
    pub name: Option<String>,
    /// Whether this reason marks the call as a lead.
    #[serde(default)]
    pub lead: Option<bool>,
    /// Active.
    #[serde(default)]
    pub active: Option<bool>,
}

/// `Telecom.V3.CallAgentModel`: the CSR who took the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallAgent {
    /// Employee id.
    pub id: Id,
    /// Name; details key `agent:name`.
    pub name: Option<String>,
    /// Id in an external call center, when the agent is external.
    #[serde(default)]
    pub external_id: Option<Id>,
}

/// `Module.Telecom.Shared.TagResponseModel`: a tag on a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallTag {
    /// Tag type id.
    pub id: Id,
    /// Tag type name; details key `tags:#:typeName`.
    pub type_name: Option<String>,
}

/// `Telecom.V3.JobTypeModel`: the job type booked from a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallJobType {
    /// Job type id.
    pub id: Id,
    /// Name.
    pub name: Option<String>,
    /// Last modified (UTC).
    #[serde(default)]
    pub modified_on: Option<DateTime<Utc>>,
}

/// `Telecom.V3.CallModelResponse` (`leadCall` of a v3 call): the call itself. API-NOTES §7.9.
///
/// `direction` (`Inbound`, `Outbound`) and `callType` (`Abandoned`, `Unbooked`, `Excused`,
/// `Booked`, `NotLead`; `null` until classified and always for outbound calls) are kept as text
/// so that a value added by ServiceTitan later does not reject the call; compare them
/// case-insensitively. The nested `{id, name}` references are required in the spec but null on
/// real abandoned or unknown-caller calls (samples/calls-v3-page.json), hence `Option`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadCall {
    /// The call id: the Inbound Call opportunity's External ID.
    pub id: Id,
    /// Created (UTC); External Created At.
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC); External Updated At.
    pub modified_on: DateTime<Utc>,
    /// When the call was received (UTC).
    pub received_on: DateTime<Utc>,
    /// Active.
    #[serde(default)]
    pub active: Option<bool>,
    /// .NET TimeSpan text, `[d.]hh:mm:ss[.fffffff]`, e.g. `00:04:17` (API-NOTES §7.9, MED).
    pub duration: Option<String>,
    /// Caller's number as the telephony provider reported it (any format).
    pub from: String,
    /// Called number.
    pub to: String,
    /// `Inbound` or `Outbound`.
    pub direction: String,
    /// `Abandoned`, `Unbooked`, `Excused`, `Booked`, `NotLead`, or `None` (not classified).
    #[serde(default)]
    pub call_type: Option<String>,
    /// Call reason.
    #[serde(default)]
    pub reason: Option<CallReason>,
    /// Recording URL.
    #[serde(default)]
    pub recording_url: Option<String>,
    /// Voicemail URL.
    #[serde(default)]
    pub voice_mail_url: Option<String>,
    /// The user who created the call record.
    #[serde(default)]
    pub created_by: Option<NamedRef>,
    /// The ServiceTitan customer, when the caller is known: External Contact ID.
    #[serde(default)]
    pub customer: Option<NamedRef>,
    /// Marketing campaign (tracking number).
    #[serde(default)]
    pub campaign: Option<NamedRef>,
    /// The agent (CSR).
    #[serde(default)]
    pub agent: Option<CallAgent>,
    /// Telephony provider id.
    #[serde(default)]
    pub sid: Option<String>,
    /// Tags (nullable in the spec).
    #[serde(default)]
    pub tags: Option<Vec<CallTag>>,
}

/// `Telecom.V3.CallResponse` (`GET /telecom/v3/tenant/{tenant}/calls`, and the `call` of the
/// `tn.tlc.call-completed` / `tn.tlc.call-updated` webhooks). API-NOTES §7.9.
///
/// `id` is the *bundle* id; the call itself, with its own id, is `lead_call`. The two are equal in
/// the samples but nothing documents that they always are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallResponse {
    /// Bundle id.
    pub id: Id,
    /// Number of the job booked from this call (null when none was booked).
    #[serde(default)]
    pub job_number: Option<String>,
    /// Project (0 or null when none).
    #[serde(default)]
    pub project_id: Option<Id>,
    /// Business unit of the booked job.
    #[serde(default)]
    pub business_unit: Option<NamedRef>,
    /// Job type of the booked job.
    #[serde(default, rename = "type")]
    pub job_type: Option<CallJobType>,
    /// The call.
    pub lead_call: LeadCall,
}
