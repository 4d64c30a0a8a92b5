//! Wire types of the resources the Job and Membership models add to the walking skeleton's jobs,
//! customers, contacts, locations, business units and job types (API-NOTES §7): appointments,
//! appointment assignments, estimates, invoices, job canceled logs and cancel reasons, tag types,
//! campaigns, zones, employees, technicians, memberships, membership types, recurring services and
//! recurring service events. Re-exported from [`crate::wire`].
//!
//! Same rules as `wire.rs`: every timestamp is UTC; fields the OpenAPI schema marks nullable are
//! `Option` and serialize as `null`; unknown fields are ignored on input; export-only fields
//! (`active` where the list schema has none) are `Option` and skipped when `None`, so one type
//! serves the list and the export shape. Field sets follow the official schemas exactly (they set
//! `additionalProperties: false`), which the sandbox's conformance test checks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::wire::{CustomField, Id};

/// `Jpm.V2.AppointmentResponse` (`GET /jpm/v2/tenant/{tenant}/appointments`, `/export/appointments`).
/// API-NOTES §7.1. Technicians are not on the appointment: see [`AppointmentAssignment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    /// Appointment id.
    pub id: Id,
    /// The job it belongs to.
    pub job_id: Id,
    /// Human number, e.g. `41872305-1`.
    #[serde(default)]
    pub appointment_number: Option<String>,
    /// Scheduled start (UTC).
    pub start: DateTime<Utc>,
    /// Scheduled end (UTC).
    pub end: DateTime<Utc>,
    /// Arrival window start (UTC).
    #[serde(default)]
    pub arrival_window_start: Option<DateTime<Utc>>,
    /// Arrival window end (UTC).
    #[serde(default)]
    pub arrival_window_end: Option<DateTime<Utc>>,
    /// `Scheduled`, `Dispatched`, `Working`, `Hold`, `Done`, `Canceled` (others tolerated).
    pub status: String,
    /// Special instructions (free text).
    #[serde(default)]
    pub special_instructions: Option<String>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// The job's customer.
    pub customer_id: Id,
    /// Unused appointment (required in the spec).
    #[serde(default)]
    pub unused: bool,
    /// Created by (user id; required in the spec).
    #[serde(default)]
    pub created_by_id: Id,
    /// Confirmed with the customer (required in the spec).
    #[serde(default)]
    pub is_confirmed: bool,
    /// Export rows only: `false` for deleted appointments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// `Dispatch.V2.AppointmentAssignmentResponse` (`GET /dispatch/v2/tenant/{tenant}/appointment-assignments`,
/// `/export/appointment-assignments`): which technician is on which appointment. API-NOTES §7.4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentAssignment {
    /// Assignment id.
    pub id: Id,
    /// The technician.
    pub technician_id: Id,
    /// The technician's name; details key `appointments:#:assignments:#:technicianName`.
    pub technician_name: String,
    /// Who assigned (user id).
    #[serde(default)]
    pub assigned_by_id: Id,
    /// When assigned (UTC).
    pub assigned_on: DateTime<Utc>,
    /// `Scheduled`, `Dispatched`, `Working`, `Done` (others tolerated).
    pub status: String,
    /// Paused.
    #[serde(default)]
    pub is_paused: bool,
    /// The job.
    pub job_id: Id,
    /// The appointment.
    pub appointment_id: Id,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// `false` once the technician is unassigned (list and export).
    pub active: bool,
}

/// `{value, name}` status of an estimate; names `Open`, `Sold`, `Dismissed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstimateStatus {
    /// Numeric value (undocumented).
    pub value: i32,
    /// `Open`, `Sold`, `Dismissed` (others tolerated).
    pub name: String,
}

/// `Estimates.V2.SkuModel`: the SKU of an estimate item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EstimateSku {
    /// SKU id.
    pub id: Id,
    /// SKU code.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// `Service`, `Material`, `Equipment`…
    #[serde(rename = "type")]
    pub kind: String,
    /// Sold hours.
    pub sold_hours: f64,
    /// GL account id.
    pub general_ledger_account_id: Id,
    /// GL account name.
    pub general_ledger_account_name: String,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
}

/// `Estimates.V2.EstimateItemResponse` (money fields are JSON numbers here, unlike invoices).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EstimateItem {
    /// Item id.
    pub id: Id,
    /// The SKU.
    pub sku: EstimateSku,
    /// SKU account.
    pub sku_account: String,
    /// Description (HTML).
    pub description: String,
    /// Membership type the item is for.
    #[serde(default)]
    pub membership_type_id: Option<Id>,
    /// Quantity.
    pub qty: f64,
    /// Unit rate.
    pub unit_rate: f64,
    /// Total.
    pub total: f64,
    /// Unit cost.
    pub unit_cost: f64,
    /// Total cost.
    pub total_cost: f64,
    /// Item group name.
    pub item_group_name: String,
    /// Item group root id.
    #[serde(default)]
    pub item_group_root_id: Option<Id>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Chargeable.
    #[serde(default)]
    pub chargeable: Option<bool>,
}

/// `{name, url}` external link on an estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalLink {
    /// Link name.
    pub name: String,
    /// URL.
    pub url: String,
}

/// `Estimates.V2.EstimateResponse` (`GET /sales/v2/tenant/{tenant}/estimates`,
/// `/estimates/export`). API-NOTES §7.6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    /// Estimate id.
    pub id: Id,
    /// The job it was made on.
    #[serde(default)]
    pub job_id: Option<Id>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<Id>,
    /// Location.
    #[serde(default)]
    pub location_id: Option<Id>,
    /// Customer.
    #[serde(default)]
    pub customer_id: Option<Id>,
    /// Name, e.g. "Furnace replacement - Good".
    #[serde(default)]
    pub name: Option<String>,
    /// The job's number.
    #[serde(default)]
    pub job_number: Option<String>,
    /// Status (`estimates:#:status:name`).
    #[serde(default)]
    pub status: Option<EstimateStatus>,
    /// `None`, `NeedsApproval`, `Approved`, `NotApproved`.
    pub review_status: String,
    /// Summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// When sold (UTC).
    #[serde(default)]
    pub sold_on: Option<DateTime<Utc>>,
    /// Who sold it: an employee or technician id (`estimates:#:soldBy:name` when employees and
    /// technicians are selected).
    #[serde(default)]
    pub sold_by: Option<Id>,
    /// `false` for deleted estimates (list and export).
    pub active: bool,
    /// Line items.
    #[serde(default)]
    pub items: Option<Vec<EstimateItem>>,
    /// External links.
    #[serde(default)]
    pub external_links: Option<Vec<ExternalLink>>,
    /// Subtotal.
    pub subtotal: f64,
    /// Tax.
    pub tax: f64,
    /// Business unit.
    #[serde(default)]
    pub business_unit_id: Option<Id>,
    /// Business unit name.
    #[serde(default)]
    pub business_unit_name: Option<String>,
}

/// `{id, name}` as the accounting API nests it (`Accounting.V2.NamedFieldResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedField {
    /// Id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `Accounting.V2.AddressResponse`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvoiceAddress {
    /// Street.
    #[serde(default)]
    pub street: Option<String>,
    /// Unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// Zip.
    #[serde(default)]
    pub zip: Option<String>,
    /// Country.
    #[serde(default)]
    pub country: Option<String>,
}

/// `{id, number, type}`: the job of an invoice (`Accounting.V2.JobResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceJob {
    /// Job id.
    pub id: Id,
    /// Job number.
    #[serde(default)]
    pub number: Option<String>,
    /// Job type name.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// `{id, number, name}` accounting batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceBatch {
    /// Batch id.
    pub id: Id,
    /// Batch number.
    #[serde(default)]
    pub number: Option<String>,
    /// Batch name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `{id, name, modifiedOn}` employee info on an invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceEmployeeInfo {
    /// Employee id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
}

/// `{name, value}` custom field on an invoice (no `typeId` in the accounting schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceCustomField {
    /// Field name; details key `invoices:#:customFields:<name>`.
    #[serde(default)]
    pub name: Option<String>,
    /// Value as text.
    #[serde(default)]
    pub value: Option<String>,
}

/// `Accounting.V2.InvoiceItemResponse`. Money and quantity fields are **strings** (`"125.00"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceItem {
    /// Item id.
    pub id: Id,
    /// Description (HTML).
    #[serde(default)]
    pub description: Option<String>,
    /// Quantity (decimal text).
    #[serde(default)]
    pub quantity: Option<String>,
    /// Cost (decimal text).
    #[serde(default)]
    pub cost: Option<String>,
    /// Total cost (decimal text).
    #[serde(default)]
    pub total_cost: Option<String>,
    /// Price (decimal text).
    #[serde(default)]
    pub price: Option<String>,
    /// `Service`, `Material`, `Equipment`, `PriceModifier`, `Unspecified`.
    #[serde(rename = "type")]
    pub kind: String,
    /// SKU name.
    #[serde(default)]
    pub sku_name: Option<String>,
    /// SKU id.
    pub sku_id: Id,
    /// Total (decimal text).
    #[serde(default)]
    pub total: Option<String>,
    /// Inventory item.
    #[serde(default)]
    pub inventory: bool,
    /// Taxable.
    #[serde(default)]
    pub taxable: bool,
    /// Membership type (0 when none).
    #[serde(default)]
    pub membership_type_id: Id,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Sold hours.
    #[serde(default)]
    pub sold_hours: Option<f64>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Service date (UTC).
    #[serde(default)]
    pub service_date: Option<DateTime<Utc>>,
    /// Position on the invoice.
    #[serde(default)]
    pub order: i32,
    /// Add-on.
    #[serde(default)]
    pub add_on: bool,
    /// Member price (decimal text).
    #[serde(default)]
    pub member_price: Option<String>,
    /// Technician.
    #[serde(default)]
    pub technician_id: Option<Id>,
    /// The estimate item it came from.
    #[serde(default)]
    pub estimate_item_id: Option<Id>,
}

/// `Accounting.V2.InvoiceResponse` (`GET /accounting/v2/tenant/{tenant}/invoices`,
/// `/export/invoices`; there is no GET by id, use `?ids=`). API-NOTES §7.5. Money fields are
/// **strings** (`"389.50"`), kept as text in details (`invoices:#:balance`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    /// Invoice id.
    pub id: Id,
    /// `Pending`, `Posted`, `Exported`.
    #[serde(default)]
    pub sync_status: Option<String>,
    /// Invoice number.
    #[serde(default)]
    pub reference_number: Option<String>,
    /// Invoice date (UTC).
    #[serde(default)]
    pub invoice_date: Option<DateTime<Utc>>,
    /// Due date (UTC).
    #[serde(default)]
    pub due_date: Option<DateTime<Utc>>,
    /// Subtotal (decimal text).
    #[serde(default)]
    pub sub_total: Option<String>,
    /// Sales tax (decimal text).
    #[serde(default)]
    pub sales_tax: Option<String>,
    /// Total (decimal text).
    #[serde(default)]
    pub total: Option<String>,
    /// Balance still owed (decimal text).
    #[serde(default)]
    pub balance: Option<String>,
    /// Discount total (decimal text).
    #[serde(default)]
    pub discount_total: Option<String>,
    /// Invoice type.
    #[serde(default)]
    pub invoice_type: Option<NamedField>,
    /// Customer `{id, name}`.
    #[serde(default)]
    pub customer: Option<NamedField>,
    /// Customer address.
    #[serde(default)]
    pub customer_address: Option<InvoiceAddress>,
    /// Location `{id, name}`.
    #[serde(default)]
    pub location: Option<NamedField>,
    /// Location address.
    #[serde(default)]
    pub location_address: Option<InvoiceAddress>,
    /// Business unit `{id, name}`.
    #[serde(default)]
    pub business_unit: Option<NamedField>,
    /// Payment term name.
    #[serde(default)]
    pub term_name: Option<String>,
    /// Created by (a user name).
    #[serde(default)]
    pub created_by: Option<String>,
    /// Accounting batch.
    #[serde(default)]
    pub batch: Option<InvoiceBatch>,
    /// Deposited (UTC).
    #[serde(default)]
    pub deposited_on: Option<DateTime<Utc>>,
    /// Paid (UTC).
    #[serde(default)]
    pub paid_on: Option<DateTime<Utc>>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC; nullable in the spec).
    #[serde(default)]
    pub modified_on: Option<DateTime<Utc>>,
    /// Set on adjustment invoices.
    #[serde(default)]
    pub adjustment_to_id: Option<Id>,
    /// The job (`null` for non-job invoices).
    #[serde(default)]
    pub job: Option<InvoiceJob>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<Id>,
    /// Membership (membership billing invoices).
    #[serde(default)]
    pub membership_id: Option<Id>,
    /// Employee info.
    #[serde(default)]
    pub employee_info: Option<InvoiceEmployeeInfo>,
    /// `NotSent`, `Sent`, `Opened`.
    pub sent_status: String,
    /// `NeedsReview`, `OnHold`, `Reviewed`.
    pub review_status: String,
    /// Assigned to `{id, name}`.
    #[serde(default)]
    pub assigned_to: Option<NamedField>,
    /// Summary (HTML).
    #[serde(default)]
    pub summary: Option<String>,
    /// Line items.
    #[serde(default)]
    pub items: Option<Vec<InvoiceItem>>,
    /// Custom fields `{name, value}`.
    #[serde(default)]
    pub custom_fields: Option<Vec<InvoiceCustomField>>,
    /// `false` for voided/deleted invoices (list and export).
    pub active: bool,
}

impl Invoice {
    /// `modifiedOn`, or `createdOn` when ServiceTitan left it null.
    pub fn last_modified(&self) -> DateTime<Utc> {
        self.modified_on.unwrap_or(self.created_on)
    }
}

/// `Jpm.V2.ExportJobCanceledLogResponse` (`GET /jpm/v2/tenant/{tenant}/export/job-canceled-logs`):
/// one cancellation of a job, with its reason. Immutable: it has no `modifiedOn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCanceledLog {
    /// Log id.
    pub id: Id,
    /// The canceled job.
    pub job_id: Id,
    /// The cancel reason ([`JobCancelReason`]).
    pub reason_id: Id,
    /// Memo typed by the office.
    #[serde(default)]
    pub memo: Option<String>,
    /// When the job was canceled (UTC).
    pub created_on: DateTime<Utc>,
    /// Who canceled it (user id).
    #[serde(default)]
    pub created_by_id: Id,
    /// `false` when the cancellation was removed.
    pub active: bool,
}

/// `Jpm.V2.JobCancelReasonResponse` (`GET /jpm/v2/tenant/{tenant}/job-cancel-reasons`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCancelReason {
    /// Reason id.
    pub id: Id,
    /// Name, e.g. "Customer went with competitor" (`cancelReason:name`).
    pub name: String,
    /// Active.
    pub active: bool,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
}

/// `TenantSettings.V2.TagTypeResponse` (`GET /settings/v2/tenant/{tenant}/tag-types`,
/// `/export/tag-types`). API-NOTES §7.7.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagType {
    /// Tag type id (what `tagTypeIds` hold).
    pub id: Id,
    /// Name (`tagTypes:#:name`).
    pub name: String,
    /// Hex colour.
    pub color: String,
    /// Short code.
    pub code: String,
    /// `Medium`, `High`.
    #[serde(default)]
    pub importance: Option<String>,
    /// Conversion opportunity.
    #[serde(default)]
    pub is_conversion_opportunity: bool,
    /// Usable on timesheet activities.
    #[serde(default)]
    pub allow_to_use_on_timesheet_activity: bool,
    /// Shown on the dispatch board.
    #[serde(default)]
    pub is_visible_on_dispatch_board: bool,
    /// Active.
    pub active: bool,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
}

/// `{id, name, active}` campaign category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignCategory {
    /// Category id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// Active.
    pub active: bool,
}

/// `Marketing.V2.CampaignResponse` (`GET /marketing/v2/tenant/{tenant}/campaigns`; no export
/// feed). API-NOTES §7.8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    /// Campaign id.
    pub id: Id,
    /// Name (`campaign:name`).
    pub name: String,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Active.
    pub active: bool,
    /// The tenant's default campaign.
    #[serde(default)]
    pub is_default_campaign: Option<bool>,
    /// Category.
    #[serde(default)]
    pub category: Option<CampaignCategory>,
    /// Source.
    #[serde(default)]
    pub source: Option<String>,
    /// Other source.
    #[serde(default)]
    pub other_source: Option<String>,
    /// Business unit (a name, not an id).
    #[serde(default)]
    pub business_unit: Option<String>,
    /// Medium.
    #[serde(default)]
    pub medium: Option<String>,
    /// Other medium.
    #[serde(default)]
    pub other_medium: Option<String>,
    /// Tracking phone numbers.
    #[serde(default)]
    pub campaign_phone_numbers: Option<Vec<String>>,
}

/// `Dispatch.V2.ZoneResponse` (`GET /dispatch/v2/tenant/{tenant}/zones`; no export feed).
/// A location's `zoneId` points here (`zone:name`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    /// Zone id.
    pub id: Id,
    /// Active.
    pub active: bool,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Zip codes.
    #[serde(default)]
    pub zips: Option<Vec<String>>,
    /// Cities.
    #[serde(default)]
    pub cities: Option<Vec<String>>,
    /// Territory numbers.
    #[serde(default)]
    pub territory_numbers: Option<Vec<String>>,
    /// Locn numbers.
    #[serde(default)]
    pub locn_numbers: Option<Vec<String>>,
    /// Created by (user id).
    #[serde(default)]
    pub created_by: Id,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Service days restricted.
    #[serde(default)]
    pub service_days_enabled: bool,
    /// Service days.
    #[serde(default)]
    pub service_days: Option<Vec<String>>,
    /// Business unit ids.
    #[serde(default)]
    pub business_units: Option<Vec<Id>>,
    /// Technician ids.
    #[serde(default)]
    pub technicians: Option<Vec<Id>>,
}

/// `TenantSettings.V2.EmployeeResponse` (`GET /settings/v2/tenant/{tenant}/employees`,
/// `/export/employees`): office staff; a Sold By may be one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    /// Employee id.
    pub id: Id,
    /// User id.
    pub user_id: Id,
    /// Name.
    pub name: String,
    /// Role (`CSR`, `Admin`, `SalesManager`…).
    pub role: String,
    /// Role ids.
    #[serde(default)]
    pub role_ids: Option<Vec<Id>>,
    /// Business unit.
    #[serde(default)]
    pub business_unit_id: Option<Id>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Work e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Work phone.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Login name.
    #[serde(default)]
    pub login_name: Option<String>,
    /// Active.
    pub active: bool,
}

/// `TenantSettings.V2.TechnicianResponse` (`GET /settings/v2/tenant/{tenant}/technicians`,
/// `/export/technicians`): field staff; assignments and Sold By point here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Technician {
    /// Technician id.
    pub id: Id,
    /// User id.
    pub user_id: Id,
    /// Name.
    pub name: String,
    /// Role ids.
    #[serde(default)]
    pub role_ids: Option<Vec<Id>>,
    /// Business unit.
    #[serde(default)]
    pub business_unit_id: Option<Id>,
    /// Main zone.
    #[serde(default)]
    pub main_zone_id: Option<Id>,
    /// Zones.
    #[serde(default)]
    pub zone_ids: Option<Vec<Id>>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Work e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Work phone.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Login name.
    #[serde(default)]
    pub login_name: Option<String>,
    /// Daily goal (currency).
    #[serde(default)]
    pub daily_goal: f64,
    /// Managed technician.
    #[serde(default)]
    pub is_managed_tech: bool,
    /// Active.
    pub active: bool,
    /// Burden rate.
    #[serde(default)]
    pub burden_rate: f64,
    /// Team name.
    #[serde(default)]
    pub team: Option<String>,
}

/// `Memberships.V2.CustomerMembershipResponse` (`GET /memberships/v2/tenant/{tenant}/memberships`,
/// `/export/memberships`): the base record of the Membership opportunity. API-NOTES §7.3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    /// Membership id; the Membership opportunity's External ID.
    pub id: Id,
    /// Created (UTC); External Created At.
    pub created_on: DateTime<Utc>,
    /// Created by.
    #[serde(default)]
    pub created_by_id: Option<Id>,
    /// Last modified (UTC); External Updated At.
    pub modified_on: DateTime<Utc>,
    /// Follow-up date (UTC).
    pub follow_up_on: DateTime<Utc>,
    /// Cancellation date (UTC).
    #[serde(default)]
    pub cancellation_date: Option<DateTime<Utc>>,
    /// Start (UTC).
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Next scheduled bill date (UTC).
    #[serde(default)]
    pub next_scheduled_bill_date: Option<DateTime<Utc>>,
    /// End (UTC); `null` = ongoing.
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// `OneTime`, `Monthly`, `EveryOtherMonth`, `Quarterly`, `BiAnnual`, `Annual`.
    pub billing_frequency: String,
    /// Renewal billing frequency.
    #[serde(default)]
    pub renewal_billing_frequency: Option<String>,
    /// `Active`, `Suspended`, `Expired`, `Canceled`, `Deleted`.
    pub status: String,
    /// `NotAttempted`, `Unreachable`, `Contacted`, `Won`, `Dismissed`.
    pub follow_up_status: String,
    /// Active.
    pub active: bool,
    /// Initial deferred revenue.
    #[serde(default)]
    pub initial_deferred_revenue: f64,
    /// Duration in months (`null` = ongoing).
    #[serde(default)]
    pub duration: Option<i32>,
    /// Renewal duration in months.
    #[serde(default)]
    pub renewal_duration: Option<i32>,
    /// Business unit.
    pub business_unit_id: Id,
    /// Customer; External Contact ID.
    pub customer_id: Id,
    /// Membership type.
    pub membership_type_id: Id,
    /// Activated by.
    #[serde(default)]
    pub activated_by_id: Option<Id>,
    /// Activated from (invoice/estimate id).
    #[serde(default)]
    pub activated_from_id: Option<Id>,
    /// Billing template.
    #[serde(default)]
    pub billing_template_id: Option<Id>,
    /// Cancellation balance invoice.
    #[serde(default)]
    pub cancellation_balance_invoice_id: Option<Id>,
    /// Cancellation invoice.
    #[serde(default)]
    pub cancellation_invoice_id: Option<Id>,
    /// Custom follow-up status.
    #[serde(default)]
    pub follow_up_custom_status_id: Option<Id>,
    /// Location.
    #[serde(default)]
    pub location_id: Option<Id>,
    /// Payment method.
    #[serde(default)]
    pub payment_method_id: Option<Id>,
    /// Payment type.
    #[serde(default)]
    pub payment_type_id: Option<Id>,
    /// Recurring location.
    #[serde(default)]
    pub recurring_location_id: Option<Id>,
    /// Renewal task.
    #[serde(default)]
    pub renewal_membership_task_id: Option<Id>,
    /// Renewed by.
    #[serde(default)]
    pub renewed_by_id: Option<Id>,
    /// Sold by: an employee or technician id (`soldBy:name`).
    #[serde(default)]
    pub sold_by_id: Option<Id>,
    /// Customer PO.
    #[serde(default)]
    pub customer_po: Option<String>,
    /// Import id.
    #[serde(default)]
    pub import_id: Option<String>,
    /// Memo.
    #[serde(default)]
    pub memo: Option<String>,
    /// Custom fields (`customFields:<name>`).
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
}

/// `{duration, billingFrequency}` of a membership type (only with `includeDurationBilling=true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurationBilling {
    /// Months.
    #[serde(default)]
    pub duration: Option<i32>,
    /// Billing frequency.
    pub billing_frequency: String,
}

/// `Memberships.V2.MembershipTypeResponse` (`GET /memberships/v2/tenant/{tenant}/membership-types`,
/// `/export/membership-types`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipType {
    /// Type id.
    pub id: Id,
    /// Name (`membershipType:name`).
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Active.
    pub active: bool,
    /// `Basic`, `Units`, `Categories`.
    pub discount_mode: String,
    /// `AllLocations`, `SingleLocation`.
    pub location_target: String,
    /// `PointOfSale`, `Deferred`.
    pub revenue_recognition_mode: String,
    /// Auto-calculated invoice templates.
    #[serde(default)]
    pub auto_calculate_invoice_templates: bool,
    /// Uses the membership pricing table.
    #[serde(default)]
    pub use_membership_pricing_table: bool,
    /// Shows membership savings.
    #[serde(default)]
    pub show_membership_savings: bool,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Created by.
    #[serde(default)]
    pub created_by_id: Option<Id>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Import id.
    #[serde(default)]
    pub import_id: Option<String>,
    /// Billing template.
    #[serde(default)]
    pub billing_template_id: Option<Id>,
    /// Duration billing entries (absent unless asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_billing: Option<Vec<DurationBilling>>,
}

/// `Memberships.V2.LocationRecurringServiceResponse` (`GET /memberships/v2/tenant/{tenant}/recurring-services`,
/// `/export/recurring-services`): a service a membership entitles a location to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecurringService {
    /// Recurring service id.
    pub id: Id,
    /// Name (`recurringServices:#:name`).
    pub name: String,
    /// Active.
    pub active: bool,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// Created by.
    #[serde(default)]
    pub created_by_id: Option<Id>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Import id.
    #[serde(default)]
    pub import_id: Option<String>,
    /// The membership.
    #[serde(default)]
    pub membership_id: Option<Id>,
    /// The location.
    pub location_id: Id,
    /// Recurring service type.
    pub recurring_service_type_id: Id,
    /// `Continuous`, `NumberOfVisits`.
    pub duration_type: String,
    /// Duration length.
    pub duration_length: i32,
    /// Start (UTC).
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// End (UTC).
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// Memo.
    #[serde(default)]
    pub memo: Option<String>,
    /// Invoice template.
    #[serde(default)]
    pub invoice_template_id: Option<Id>,
    /// Invoice template for following years.
    #[serde(default)]
    pub invoice_template_for_following_years_id: Option<Id>,
    /// First visit done.
    #[serde(default)]
    pub first_visit_complete: bool,
    /// Activated from.
    #[serde(default)]
    pub activated_from_id: Option<Id>,
    /// Allocation.
    #[serde(default)]
    pub allocation: f64,
    /// Business unit.
    #[serde(default)]
    pub business_unit_id: Option<Id>,
    /// Job type of the visits.
    #[serde(default)]
    pub job_type_id: Option<Id>,
    /// Campaign of the visits (`recurringServices:#:campaign:name`).
    #[serde(default)]
    pub campaign_id: Option<Id>,
    /// `Low`, `Normal`, `High`, `Urgent`.
    pub priority: String,
    /// Summary of the visit jobs.
    #[serde(default)]
    pub job_summary: Option<String>,
    /// `Weekly`, `Monthly`, `Seasonal`, `Daily`, `NthWeekdayOfMonth`.
    pub recurrence_type: String,
    /// Interval.
    pub recurrence_interval: i32,
    /// Months (`January`…).
    #[serde(default)]
    pub recurrence_months: Vec<String>,
    /// Days of week (`Sunday`…).
    #[serde(default)]
    pub recurrence_days_of_week: Vec<String>,
    /// `None`, `First`…`Last`.
    pub recurrence_week: String,
    /// Day of the nth week.
    #[serde(default)]
    pub recurrence_day_of_nth_week: Option<String>,
    /// Days of month.
    #[serde(default)]
    pub recurrence_days_of_month: Vec<i32>,
    /// Job start time (.NET TimeSpan text, e.g. `08:00:00`).
    #[serde(default)]
    pub job_start_time: Option<String>,
    /// Estimated payroll cost.
    #[serde(default)]
    pub estimated_payroll_cost: Option<f64>,
}

/// `Memberships.V2.LocationRecurringServiceEventResponse`
/// (`GET /memberships/v2/tenant/{tenant}/recurring-service-events`, `/export/recurring-service-events`):
/// one due visit of a recurring service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecurringServiceEvent {
    /// Event id.
    pub id: Id,
    /// The recurring service.
    pub location_recurring_service_id: Id,
    /// Its name.
    #[serde(default)]
    pub location_recurring_service_name: Option<String>,
    /// The membership.
    #[serde(default)]
    pub membership_id: Option<Id>,
    /// The membership's name.
    #[serde(default)]
    pub membership_name: Option<String>,
    /// `NotAttempted`, `Unreachable`, `Contacted`, `Won`, `Dismissed`.
    pub status: String,
    /// Due date (UTC).
    pub date: DateTime<Utc>,
    /// Created (UTC).
    pub created_on: DateTime<Utc>,
    /// The visit job, once booked.
    #[serde(default)]
    pub job_id: Option<Id>,
    /// Created by.
    #[serde(default)]
    pub created_by_id: Option<Id>,
    /// Last modified (UTC).
    pub modified_on: DateTime<Utc>,
    /// Export rows only: `false` for deleted events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}
