//! The related resources of the Job and Membership models, generated after jobs, customers and
//! locations (so the walking skeleton's data stays the same for a seed): appointments (the ids
//! the jobs already reference), technician assignments, estimates (sold ones with a Sold By),
//! one invoice per job (money as decimal text), cancel logs of canceled jobs, memberships of
//! some customers with their recurring services, events and billing invoices, and the reference
//! data they point at (tag types, campaigns, zones, employees, technicians, cancel reasons,
//! membership types). Some rows of every kind are inactive. Linear in the number of jobs.

use chrono::{DateTime, Duration, Utc};
use rand::RngExt;
use servicetitan::wire::{
    Appointment, AppointmentAssignment, Campaign, CampaignCategory, CustomField, Employee,
    Estimate, EstimateItem, EstimateSku, EstimateStatus, Id, Invoice, InvoiceAddress,
    InvoiceEmployeeInfo, InvoiceItem, InvoiceJob, Job, JobCancelReason, JobCanceledLog, Membership,
    MembershipType, NamedField, RecurringService, RecurringServiceEvent, TagType, Technician, Zone,
};

use super::{Generator, BUSINESS_UNITS, EMPLOYEES, JOB_TYPES, TECHNICIANS};
use crate::dataset::Dataset;

/// (id, name, colour, importance, active); ids are the ones jobs and customers already use.
const TAG_TYPE_SPECS: &[(Id, &str, &str, &str, bool)] = &[
    (77, "VIP", "#FFAA00", "High", true),
    (102, "Financing Interest", "#00AAFF", "Medium", true),
    (115, "Rental Property", "#888888", "Medium", true),
    (131, "Do Not Call Before 9", "#CC0000", "High", true),
    (140, "Legacy Import", "#444444", "Medium", false),
];
/// (id, name, category, source, medium); the last one is inactive.
const CAMPAIGN_SPECS: &[(Id, &str, &str, &str, &str)] = &[
    (884, "Google Ads - Heating", "Paid Search", "Google", "CPC"),
    (885, "Google Ads - Cooling", "Paid Search", "Google", "CPC"),
    (
        886,
        "Spring Tune-Up Mailer",
        "Direct Mail",
        "Mailer",
        "Print",
    ),
    (887, "Fall Tune-Up Email", "Email", "Newsletter", "Email"),
    (888, "Yelp", "Referral Sites", "Yelp", "Listing"),
    (889, "Truck Wrap", "Brand", "Vehicle", "Offline"),
    (
        890,
        "Customer Referral",
        "Referral",
        "Word of mouth",
        "Referral",
    ),
    (891, "Facebook Ads", "Social", "Facebook", "Paid Social"),
    (892, "Yellow Pages 2019", "Print", "Yellow Pages", "Print"),
];
/// (id, name, user role) of office employees; ids as jobs' `createdById` use them.
const EMPLOYEE_SPECS: &[(Id, &str, &str)] = &[
    (5120, "Jordan Office", "CSR"),
    (5133, "Casey Dispatch", "Dispatch"),
    (5141, "Morgan Sales", "SalesManager"),
    (5150, "Taylor Books", "Accounting"),
];
/// (id, name, team) of technicians; the last one left the company (inactive).
const TECHNICIAN_SPECS: &[(Id, &str, &str)] = &[
    (6021, "Riley Placeholder", "HVAC A"),
    (6022, "Sam Sample", "HVAC A"),
    (6035, "Kim Example", "Plumbing"),
    (6040, "Alex Testcase", "Electrical"),
    (6041, "Pat Former", "HVAC B"),
];
/// (id, name, active).
const CANCEL_REASONS: &[(Id, &str, bool)] = &[
    (11, "Scheduling conflict", true),
    (12, "Customer went with competitor", true),
    (13, "Price too high", true),
    (14, "Issue resolved itself", true),
    (15, "Duplicate job", true),
    (16, "Weather (legacy)", false),
];
/// (id, name, business unit, billing, recurring services (name, months), active).
type MembershipTypeSpec = (
    Id,
    &'static str,
    Id,
    &'static str,
    &'static [(&'static str, &'static str)],
    bool,
);
const MEMBERSHIP_TYPES: &[MembershipTypeSpec] = &[
    (
        31,
        "Comfort Club",
        1001,
        "Monthly",
        &[
            ("Spring AC Tune-Up", "April"),
            ("Fall Furnace Tune-Up", "October"),
        ],
        true,
    ),
    (
        32,
        "Plumbing Protection Plan",
        1003,
        "Annual",
        &[("Annual Water Heater Flush", "March")],
        true,
    ),
    (
        33,
        "Total Home Club",
        1001,
        "Monthly",
        &[
            ("Spring AC Tune-Up", "April"),
            ("Fall Furnace Tune-Up", "October"),
            ("Plumbing Inspection", "June"),
        ],
        true,
    ),
    (
        34,
        "Legacy Club",
        1001,
        "Annual",
        &[("Annual Tune-Up", "May")],
        false,
    ),
];
const ZONE_NAMES: &[&str] = &[
    "North", "South", "East", "West", "Downtown", "Lakeside", "Hills", "Old Zone",
];

/// First ids of generated resources (each resource has its own id space).
const ASSIGNMENT_ID0: Id = 7_000_000;
const ESTIMATE_ID0: Id = 61_000_000;
const CANCEL_LOG_ID0: Id = 99_000_000;
const MEMBERSHIP_ID0: Id = 7_800_000;
const RECURRING_SERVICE_ID0: Id = 8_800_000;
const EVENT_ID0: Id = 9_900_000;
const MEMBERSHIP_INVOICE_ID0: Id = 65_000_000;

fn text_money(amount: f64) -> String {
    format!("{amount:.2}")
}

impl Generator {
    /// Adds every related resource to `data` (jobs, customers, locations already generated).
    pub(super) fn related(&mut self, data: &mut Dataset) {
        let created = self.now - Duration::days(3 * 365);
        data.tag_types = TAG_TYPE_SPECS
            .iter()
            .enumerate()
            .map(|(i, &(id, name, color, importance, active))| {
                let c = created + Duration::days(30 * i as i64);
                TagType {
                    id,
                    name: name.to_owned(),
                    color: color.to_owned(),
                    code: name.chars().filter(|c| c.is_ascii_uppercase()).collect(),
                    importance: Some(importance.to_owned()),
                    is_conversion_opportunity: id == 102,
                    allow_to_use_on_timesheet_activity: false,
                    is_visible_on_dispatch_board: id != 140,
                    active,
                    created_on: c,
                    modified_on: self.between(c, self.latest - Duration::days(20)),
                }
            })
            .collect();
        data.campaigns = CAMPAIGN_SPECS
            .iter()
            .enumerate()
            .map(|(i, &(id, name, category, source, medium))| {
                let c = created + Duration::days(20 * i as i64);
                Campaign {
                    id,
                    name: name.to_owned(),
                    modified_on: self.between(c, self.latest - Duration::days(5)),
                    created_on: c,
                    active: id != 892,
                    is_default_campaign: Some(id == 890),
                    category: Some(CampaignCategory {
                        id: 1 + i as Id % 4,
                        name: category.to_owned(),
                        active: true,
                    }),
                    source: Some(source.to_owned()),
                    other_source: None,
                    business_unit: Some(BUSINESS_UNITS[i % 5].1.to_owned()),
                    medium: Some(medium.to_owned()),
                    other_medium: None,
                    campaign_phone_numbers: Some(vec![format!("217555{:04}", 100 + i)]),
                }
            })
            .collect();
        data.zones = ZONE_NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let c = created + Duration::days(i as i64);
                Zone {
                    id: i as Id + 1,
                    active: i < 7,
                    name: Some((*name).to_owned()),
                    zips: Some(vec![format!("627{:02}", i)]),
                    cities: Some(vec!["Springfield".to_owned()]),
                    territory_numbers: Some(vec![format!("T-{}", i + 1)]),
                    locn_numbers: Some(Vec::new()),
                    created_by: EMPLOYEES[0],
                    created_on: c,
                    modified_on: self.between(c, self.latest - Duration::days(40)),
                    service_days_enabled: i % 3 == 0,
                    service_days: Some(if i % 3 == 0 {
                        vec!["Monday".to_owned(), "Thursday".to_owned()]
                    } else {
                        Vec::new()
                    }),
                    business_units: Some(vec![BUSINESS_UNITS[i % 5].0]),
                    technicians: Some(vec![TECHNICIANS[i % TECHNICIANS.len()]]),
                }
            })
            .collect();
        data.employees = EMPLOYEE_SPECS
            .iter()
            .map(|&(id, name, role)| {
                let handle = name.split(' ').next().unwrap_or(name).to_ascii_lowercase();
                Employee {
                    id,
                    user_id: id + 10_000,
                    name: name.to_owned(),
                    role: role.to_owned(),
                    role_ids: Some(vec![1]),
                    business_unit_id: Some(BUSINESS_UNITS[0].0),
                    created_on: created,
                    modified_on: self.between(created, self.latest - Duration::days(3)),
                    email: Some(format!("{handle}@sandbox-home-services.example.com")),
                    phone_number: Some("2175550100".to_owned()),
                    login_name: Some(handle),
                    active: true,
                }
            })
            .collect();
        data.technicians = TECHNICIAN_SPECS
            .iter()
            .enumerate()
            .map(|(i, &(id, name, team))| {
                let handle = name.split(' ').next().unwrap_or(name).to_ascii_lowercase();
                Technician {
                    id,
                    user_id: id + 10_000,
                    name: name.to_owned(),
                    role_ids: Some(vec![2]),
                    business_unit_id: Some(BUSINESS_UNITS[i % 5].0),
                    main_zone_id: Some(i as Id + 1),
                    zone_ids: Some(vec![i as Id + 1]),
                    created_on: created,
                    modified_on: self.between(created, self.latest - Duration::days(3)),
                    email: Some(format!("{handle}@sandbox-home-services.example.com")),
                    phone_number: Some(format!("217555{:04}", 120 + i)),
                    login_name: Some(handle),
                    daily_goal: 2500.0,
                    is_managed_tech: i % 2 == 0,
                    active: id != 6041,
                    burden_rate: 32.5,
                    team: Some(team.to_owned()),
                }
            })
            .collect();
        data.cancel_reasons = CANCEL_REASONS
            .iter()
            .map(|&(id, name, active)| JobCancelReason {
                id,
                name: name.to_owned(),
                active,
                created_on: created,
                modified_on: created + Duration::days(id),
            })
            .collect();
        data.membership_types = MEMBERSHIP_TYPES
            .iter()
            .map(|&(id, name, _, billing, _, active)| MembershipType {
                id,
                name: name.to_owned(),
                display_name: Some(format!("{name} Membership")),
                active,
                discount_mode: "Basic".to_owned(),
                location_target: "SingleLocation".to_owned(),
                revenue_recognition_mode: if billing == "Monthly" {
                    "PointOfSale"
                } else {
                    "Deferred"
                }
                .to_owned(),
                auto_calculate_invoice_templates: true,
                use_membership_pricing_table: true,
                show_membership_savings: id != 34,
                created_on: created,
                created_by_id: Some(EMPLOYEES[0]),
                modified_on: self.between(created, self.latest - Duration::days(60)),
                import_id: None,
                billing_template_id: Some(400 + id),
                duration_billing: None,
            })
            .collect();

        let jobs = std::mem::take(&mut data.jobs);
        let mut assignment_id = ASSIGNMENT_ID0;
        let mut estimate_id = ESTIMATE_ID0;
        let mut log_id = CANCEL_LOG_ID0;
        for job in &jobs {
            self.job_related(job, data, &mut assignment_id, &mut estimate_id, &mut log_id);
        }
        data.jobs = jobs;
        self.memberships(data);
    }

    /// Latest `modifiedOn` for a record created at `created` that belongs to a job last modified
    /// at `job_modified`: mostly at or before the job's, sometimes later (a related change the
    /// job itself did not see), never after the generator's `latest`.
    fn related_modified(
        &mut self,
        created: DateTime<Utc>,
        job_modified: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let created = created.min(self.latest);
        if self.chance(0.08) {
            self.between(created, self.latest)
        } else {
            self.between(created, job_modified.max(created))
        }
    }

    fn job_related(
        &mut self,
        job: &Job,
        data: &mut Dataset,
        assignment_id: &mut Id,
        estimate_id: &mut Id,
        log_id: &mut Id,
    ) {
        let spec = JOB_TYPES.iter().find(|s| s.0 == job.job_type_id);
        let duration = Duration::seconds(spec.map_or(7200, |s| s.4));
        let n = job.appointment_count.unwrap_or(1).max(1);
        let mut appointment_created = (job.created_on + Duration::seconds(3)).min(self.latest);
        let mut start = job.created_on + Duration::hours(self.rng.random_range(2..96));
        for k in 0..n {
            let id = job.id + 1 + k;
            let last = k == n - 1;
            let status = match job.job_status.as_str() {
                "Completed" => "Done",
                "Canceled" if last => "Canceled",
                "Canceled" => "Done",
                "Dispatched" if last => "Dispatched",
                "InProgress" if last => "Working",
                "Hold" if last => "Hold",
                _ if last => "Scheduled",
                _ => "Done",
            };
            let modified = self.related_modified(appointment_created, job.modified_on);
            let window = self.weighted(&[(70, 2i64), (30, 4)]);
            data.appointments.push(Appointment {
                id,
                job_id: job.id,
                appointment_number: Some(format!(
                    "{}-{}",
                    job.job_number.as_deref().unwrap_or(""),
                    k + 1
                )),
                start,
                end: start + duration,
                arrival_window_start: Some(start),
                arrival_window_end: Some(start + Duration::hours(window)),
                status: status.to_owned(),
                special_instructions: if self.chance(0.2) {
                    Some(
                        self.pick(&["Call 15 minutes ahead", "Use side gate", "Dog in yard"])
                            .to_owned(),
                    )
                } else {
                    None
                },
                created_on: appointment_created,
                modified_on: modified,
                customer_id: job.customer_id,
                unused: status == "Canceled" && self.chance(0.5),
                created_by_id: job.created_by_id.unwrap_or(EMPLOYEES[0]),
                is_confirmed: status != "Scheduled" || self.chance(0.6),
                active: Some(!self.chance(0.01)),
            });
            // technicians on the appointment
            let techs = self.weighted(&[(80, 1usize), (20, 2)]);
            for t in 0..techs {
                let (tech_id, tech_name, _) =
                    TECHNICIAN_SPECS[self.rng.random_range(0..TECHNICIAN_SPECS.len())];
                let assigned =
                    (appointment_created + Duration::minutes(1 + t as i64)).min(self.latest);
                *assignment_id += 1;
                data.appointment_assignments.push(AppointmentAssignment {
                    id: *assignment_id,
                    technician_id: tech_id,
                    technician_name: tech_name.to_owned(),
                    assigned_by_id: self.pick(EMPLOYEES),
                    assigned_on: assigned,
                    status: match status {
                        "Done" | "Canceled" => "Done",
                        "Working" => "Working",
                        "Dispatched" => "Dispatched",
                        _ => "Scheduled",
                    }
                    .to_owned(),
                    is_paused: status == "Hold",
                    job_id: job.id,
                    appointment_id: id,
                    created_on: assigned,
                    modified_on: self.related_modified(assigned, job.modified_on),
                    // an unassigned technician stays as an inactive row
                    active: !self.chance(0.04),
                });
            }
            appointment_created = self.between(
                appointment_created,
                job.modified_on.max(appointment_created),
            );
            start += Duration::days(self.rng.random_range(1..5));
        }

        // estimates: mostly on install and service jobs
        let class = spec.map_or("Service", |s| s.3);
        let estimate_chance = match class {
            "Install" => 0.7,
            "Service" => 0.3,
            _ => 0.1,
        };
        if self.chance(estimate_chance) {
            let count = self.weighted(&[(50, 1usize), (30, 2), (20, 3)]);
            let sold_one = job.job_status == "Completed" && self.chance(0.6);
            let sold_index = self.rng.random_range(0..count);
            let base_price = self.money(150.0, 9000.0);
            for e in 0..count {
                *estimate_id += 1;
                let e_created = self.between(
                    job.created_on,
                    (job.created_on + Duration::days(2)).min(self.latest),
                );
                let sold = sold_one && e == sold_index;
                let status = if sold {
                    "Sold"
                } else if sold_one || (job.job_status == "Canceled" && self.chance(0.7)) {
                    "Dismissed"
                } else {
                    "Open"
                };
                let tier = ["Good", "Better", "Best"][e % 3];
                let price = ((base_price * (1.0 + 0.35 * e as f64)) * 100.0).round() / 100.0;
                let modified = self.related_modified(e_created, job.modified_on);
                let sold_on = sold.then(|| self.between(e_created, modified));
                let sold_by = if sold {
                    Some(if self.chance(0.7) {
                        self.pick(TECHNICIANS)
                    } else {
                        5141
                    })
                } else {
                    None
                };
                let job_type = spec.map_or("Service", |s| s.1);
                let sku_id = 90_000 + (job.job_type_id % 100) * 10 + e as Id;
                let items = vec![EstimateItem {
                    id: *estimate_id * 10,
                    sku: EstimateSku {
                        id: sku_id,
                        name: format!("SKU-{sku_id}"),
                        display_name: format!("{job_type} - {tier}"),
                        kind: if class == "Install" {
                            "Equipment"
                        } else {
                            "Service"
                        }
                        .to_owned(),
                        sold_hours: duration.num_minutes() as f64 / 60.0,
                        general_ledger_account_id: 4001,
                        general_ledger_account_name: "Sales".to_owned(),
                        modified_on: e_created - Duration::days(30),
                    },
                    sku_account: "Sales".to_owned(),
                    description: format!("<p>{job_type} ({tier})</p>"),
                    membership_type_id: None,
                    qty: 1.0,
                    unit_rate: price,
                    total: price,
                    unit_cost: (price * 0.45 * 100.0).round() / 100.0,
                    total_cost: (price * 0.45 * 100.0).round() / 100.0,
                    item_group_name: String::new(),
                    item_group_root_id: None,
                    created_on: e_created,
                    modified_on: e_created,
                    chargeable: Some(true),
                }];
                data.estimates.push(Estimate {
                    id: *estimate_id,
                    job_id: Some(job.id),
                    project_id: job.project_id,
                    location_id: Some(job.location_id),
                    customer_id: Some(job.customer_id),
                    name: Some(format!("{job_type} - {tier}")),
                    job_number: job.job_number.clone(),
                    status: Some(EstimateStatus {
                        value: match status {
                            "Open" => 1,
                            "Sold" => 2,
                            _ => 3,
                        },
                        name: status.to_owned(),
                    }),
                    review_status: if sold { "Approved" } else { "None" }.to_owned(),
                    summary: Some(format!("{tier} option")),
                    created_on: e_created,
                    modified_on: modified,
                    sold_on,
                    sold_by,
                    active: !self.chance(0.03),
                    items: Some(items),
                    external_links: Some(Vec::new()),
                    subtotal: price,
                    tax: 0.0,
                    business_unit_id: Some(job.business_unit_id),
                    business_unit_name: BUSINESS_UNITS
                        .iter()
                        .find(|b| b.0 == job.business_unit_id)
                        .map(|b| b.1.to_owned()),
                });
            }
        }

        // one invoice per job (ServiceTitan opens it with the job)
        if let Some(invoice_id) = job.invoice_id {
            let total = job.total.unwrap_or(0.0);
            let balance = match job.job_status.as_str() {
                "Completed" => self.weighted(&[
                    (70, 0.0),
                    (20, total),
                    (10, (total / 2.0 * 100.0).round() / 100.0),
                ]),
                _ => 0.0,
            };
            let created_on = (job.created_on + Duration::seconds(3)).min(self.latest);
            let modified = self.related_modified(created_on, job.modified_on);
            let invoice_date = job.completed_on.map(|c| {
                c.date_naive()
                    .and_hms_opt(0, 0, 0)
                    .map(|t| t.and_utc())
                    .unwrap_or(c)
            });
            data.invoices.push(Invoice {
                id: invoice_id,
                sync_status: Some(
                    if job.job_status == "Completed" {
                        "Posted"
                    } else {
                        "Pending"
                    }
                    .to_owned(),
                ),
                reference_number: job.job_number.clone(),
                invoice_date,
                due_date: invoice_date.map(|d| d + Duration::days(30)),
                sub_total: Some(text_money(total)),
                sales_tax: Some(text_money(0.0)),
                total: Some(text_money(total)),
                balance: Some(text_money(balance)),
                discount_total: Some(text_money(0.0)),
                invoice_type: None,
                customer: Some(NamedField {
                    id: job.customer_id,
                    name: None,
                }),
                customer_address: None,
                location: Some(NamedField {
                    id: job.location_id,
                    name: None,
                }),
                location_address: None,
                business_unit: Some(NamedField {
                    id: job.business_unit_id,
                    name: BUSINESS_UNITS
                        .iter()
                        .find(|b| b.0 == job.business_unit_id)
                        .map(|b| b.1.to_owned()),
                }),
                term_name: Some("Due Upon Receipt".to_owned()),
                created_by: Some("sandbox.user".to_owned()),
                batch: None,
                deposited_on: None,
                paid_on: (balance == 0.0 && total > 0.0).then_some(modified),
                created_on,
                modified_on: if self.chance(0.02) {
                    None
                } else {
                    Some(modified)
                },
                adjustment_to_id: None,
                job: Some(InvoiceJob {
                    id: job.id,
                    number: job.job_number.clone(),
                    kind: spec.map(|s| s.1.to_owned()),
                }),
                project_id: job.project_id,
                membership_id: None,
                employee_info: Some(InvoiceEmployeeInfo {
                    id: EMPLOYEES[0],
                    name: Some("Jordan Office".to_owned()),
                    modified_on: created_on - Duration::days(90),
                }),
                sent_status: if job.job_status == "Completed" {
                    "Sent"
                } else {
                    "NotSent"
                }
                .to_owned(),
                review_status: if job.job_status == "Completed" {
                    "Reviewed"
                } else {
                    "NeedsReview"
                }
                .to_owned(),
                assigned_to: None,
                summary: job.summary.clone(),
                items: (total > 0.0).then(|| {
                    vec![InvoiceItem {
                        id: invoice_id * 10,
                        description: Some(format!("<p>{}</p>", spec.map_or("Service", |s| s.1))),
                        quantity: Some("1.00".to_owned()),
                        cost: Some(text_money(0.0)),
                        total_cost: Some(text_money(0.0)),
                        price: Some(text_money(total)),
                        kind: "Service".to_owned(),
                        sku_name: Some(format!("SVC-{}", job.job_type_id)),
                        sku_id: 80_000 + job.job_type_id % 1000,
                        total: Some(text_money(total)),
                        inventory: false,
                        taxable: false,
                        membership_type_id: 0,
                        display_name: spec.map(|s| s.1.to_owned()),
                        sold_hours: Some(duration.num_minutes() as f64 / 60.0),
                        created_on,
                        modified_on: created_on,
                        service_date: invoice_date,
                        order: 1,
                        add_on: false,
                        member_price: None,
                        technician_id: job.sold_by_id,
                        estimate_item_id: None,
                    }]
                }),
                custom_fields: Some(Vec::new()),
                active: !self.chance(0.02),
            });
        }

        // cancellation log
        let canceled = job.job_status == "Canceled";
        if canceled || self.chance(0.03) {
            *log_id += 1;
            let reason = CANCEL_REASONS[self.rng.random_range(0..5)].0;
            data.job_canceled_logs.push(JobCanceledLog {
                id: *log_id,
                job_id: job.id,
                reason_id: reason,
                memo: if self.chance(0.4) {
                    Some(
                        self.pick(&[
                            "Customer called to cancel",
                            "No answer at the door",
                            "Went with another contractor",
                        ])
                        .to_owned(),
                    )
                } else {
                    None
                },
                created_on: self.between(job.created_on, job.modified_on),
                created_by_id: self.pick(EMPLOYEES),
                // a cancellation later removed (the job went on) stays as an inactive row
                active: canceled,
            });
        }
    }

    /// Memberships of about one customer in six (active customers), with recurring services,
    /// their events and, for monthly plans, the last billing invoices.
    fn memberships(&mut self, data: &mut Dataset) {
        let mut membership_id = MEMBERSHIP_ID0;
        let mut service_id = RECURRING_SERVICE_ID0;
        let mut event_id = EVENT_ID0;
        let mut invoice_id = MEMBERSHIP_INVOICE_ID0;
        let history_start = self.history_start;
        let customers: Vec<(Id, DateTime<Utc>, Vec<Id>)> = data
            .customers
            .iter()
            .filter(|c| c.active)
            .map(|c| (c.id, c.created_on, c.tag_type_ids.clone()))
            .collect();
        let mut locations_of: std::collections::BTreeMap<Id, Id> =
            std::collections::BTreeMap::new();
        for l in &data.locations {
            locations_of.entry(l.customer_id).or_insert(l.id);
        }
        for (customer_id, customer_created, _) in customers {
            if !self.chance(0.17) {
                continue;
            }
            let spec = MEMBERSHIP_TYPES[self.weighted(&[(45, 0usize), (25, 1), (25, 2), (5, 3)])];
            let (type_id, type_name, bu, billing, services, _) = spec;
            membership_id += 1;
            let earliest = customer_created.max(history_start - Duration::days(400));
            let created = self.between(earliest, self.latest - Duration::days(1));
            let modified = self.between(created, self.latest);
            let from = created
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
                .unwrap_or(created);
            let status = self.weighted(&[
                (78, "Active"),
                (8, "Expired"),
                (7, "Canceled"),
                (4, "Suspended"),
                (3, "Deleted"),
            ]);
            let location_id = locations_of.get(&customer_id).copied();
            let sold_by = if self.chance(0.6) {
                self.pick(TECHNICIANS)
            } else {
                5141
            };
            let to = (status == "Expired" || self.chance(0.5)).then(|| from + Duration::days(365));
            data.memberships.push(Membership {
                id: membership_id,
                created_on: created,
                created_by_id: Some(self.pick(EMPLOYEES)),
                modified_on: modified,
                follow_up_on: to.unwrap_or(from + Duration::days(335)),
                cancellation_date: (status == "Canceled").then_some(modified),
                from: Some(from),
                next_scheduled_bill_date: (status == "Active")
                    .then(|| from + Duration::days(if billing == "Monthly" { 30 } else { 365 })),
                to,
                billing_frequency: billing.to_owned(),
                renewal_billing_frequency: to.map(|_| billing.to_owned()),
                status: status.to_owned(),
                follow_up_status: self
                    .pick(&[
                        "NotAttempted",
                        "NotAttempted",
                        "Contacted",
                        "Won",
                        "Unreachable",
                        "Dismissed",
                    ])
                    .to_owned(),
                active: status != "Deleted",
                initial_deferred_revenue: 0.0,
                duration: to.map(|_| 12),
                renewal_duration: to.map(|_| 12),
                business_unit_id: bu,
                customer_id,
                membership_type_id: type_id,
                activated_by_id: Some(self.pick(EMPLOYEES)),
                activated_from_id: None,
                billing_template_id: Some(400 + type_id),
                cancellation_balance_invoice_id: None,
                cancellation_invoice_id: None,
                follow_up_custom_status_id: None,
                location_id,
                payment_method_id: None,
                payment_type_id: Some(2),
                recurring_location_id: location_id,
                renewal_membership_task_id: None,
                renewed_by_id: None,
                sold_by_id: Some(sold_by),
                customer_po: None,
                import_id: None,
                memo: if self.chance(0.3) {
                    Some(format!("{type_name} - {}", billing.to_ascii_lowercase()))
                } else {
                    None
                },
                custom_fields: if self.chance(0.3) {
                    vec![CustomField {
                        type_id: Some(801),
                        name: Some("Filter Size".to_owned()),
                        value: Some(self.pick(&["16x25x1", "20x25x1", "16x20x1"]).to_owned()),
                    }]
                } else {
                    Vec::new()
                },
            });
            let Some(location_id) = location_id else {
                continue;
            };
            for (k, &(service_name, month)) in services.iter().enumerate() {
                service_id += 1;
                let s_created = (created + Duration::seconds(10 + k as i64)).min(self.latest);
                let s_modified = self.between(s_created, modified.max(s_created));
                data.recurring_services.push(RecurringService {
                    id: service_id,
                    name: service_name.to_owned(),
                    active: status != "Deleted" && !self.chance(0.05),
                    created_on: s_created,
                    created_by_id: Some(EMPLOYEES[0]),
                    modified_on: s_modified,
                    import_id: None,
                    membership_id: Some(membership_id),
                    location_id,
                    recurring_service_type_id: 500 + k as Id,
                    duration_type: "Continuous".to_owned(),
                    duration_length: 0,
                    from: Some(from),
                    to,
                    memo: None,
                    invoice_template_id: None,
                    invoice_template_for_following_years_id: None,
                    first_visit_complete: self.chance(0.5),
                    activated_from_id: None,
                    allocation: 0.0,
                    business_unit_id: Some(bu),
                    job_type_id: Some(2202),
                    campaign_id: if self.chance(0.7) {
                        Some(if month == "October" { 887 } else { 886 })
                    } else {
                        None
                    },
                    priority: "Normal".to_owned(),
                    job_summary: Some(service_name.to_owned()),
                    recurrence_type: "Seasonal".to_owned(),
                    recurrence_interval: 1,
                    recurrence_months: vec![month.to_owned()],
                    recurrence_days_of_week: Vec::new(),
                    recurrence_week: "None".to_owned(),
                    recurrence_day_of_nth_week: None,
                    recurrence_days_of_month: Vec::new(),
                    job_start_time: Some("08:00:00".to_owned()),
                    estimated_payroll_cost: None,
                });
                // events: one per year of the plan, the past ones worked
                let events = self.weighted(&[(60, 1i64), (40, 2)]);
                for e in 0..events {
                    event_id += 1;
                    let date = from + Duration::days(60 + 365 * e);
                    let e_created = s_created.min(self.latest);
                    let past = date < self.now;
                    let status = if past {
                        self.pick(&["Won", "Won", "Dismissed", "Contacted"])
                    } else {
                        "NotAttempted"
                    };
                    data.recurring_service_events.push(RecurringServiceEvent {
                        id: event_id,
                        location_recurring_service_id: service_id,
                        location_recurring_service_name: Some(service_name.to_owned()),
                        membership_id: Some(membership_id),
                        membership_name: Some(type_name.to_owned()),
                        status: status.to_owned(),
                        date,
                        created_on: e_created,
                        job_id: (status == "Won")
                            .then(|| 41_000_000 + self.rng.random_range(0..1000)),
                        created_by_id: Some(EMPLOYEES[0]),
                        modified_on: self.between(e_created, modified.max(e_created)),
                        active: Some(!self.chance(0.02)),
                    });
                }
            }
            // monthly dues: the last one to three invoices
            if billing == "Monthly" && status != "Deleted" {
                let dues = if type_id == 33 { 29.95 } else { 19.95 };
                let count = self.weighted(&[(40, 1i64), (30, 2), (30, 3)]);
                for k in 0..count {
                    invoice_id += 1;
                    let i_created = (modified - Duration::days(30 * k)).max(created);
                    let unpaid = k == 0 && self.chance(0.3);
                    data.invoices.push(Invoice {
                        id: invoice_id,
                        sync_status: Some("Posted".to_owned()),
                        reference_number: Some(format!("M-{invoice_id}")),
                        invoice_date: Some(i_created),
                        due_date: Some(i_created + Duration::days(15)),
                        sub_total: Some(text_money(dues)),
                        sales_tax: Some(text_money(0.0)),
                        total: Some(text_money(dues)),
                        balance: Some(text_money(if unpaid { dues } else { 0.0 })),
                        discount_total: Some(text_money(0.0)),
                        invoice_type: Some(NamedField {
                            id: 2,
                            name: Some("Membership".to_owned()),
                        }),
                        customer: Some(NamedField {
                            id: customer_id,
                            name: None,
                        }),
                        customer_address: Some(InvoiceAddress::default()),
                        location: Some(NamedField {
                            id: location_id,
                            name: None,
                        }),
                        location_address: None,
                        business_unit: Some(NamedField { id: bu, name: None }),
                        term_name: Some("Auto-pay".to_owned()),
                        created_by: Some("sandbox.user".to_owned()),
                        batch: None,
                        deposited_on: None,
                        paid_on: (!unpaid).then_some(i_created),
                        created_on: i_created,
                        modified_on: Some(i_created),
                        adjustment_to_id: None,
                        job: None,
                        project_id: None,
                        membership_id: Some(membership_id),
                        employee_info: None,
                        sent_status: "Sent".to_owned(),
                        review_status: "Reviewed".to_owned(),
                        assigned_to: None,
                        summary: Some(format!("<p>{type_name} monthly dues</p>")),
                        items: None,
                        custom_fields: None,
                        active: true,
                    });
                }
            }
        }
        // Show a deleted membership whenever there are a few.
        if data.memberships.len() >= 5 && data.memberships.iter().all(|m| m.active) {
            let m = &mut data.memberships[2];
            m.active = false;
            m.status = "Deleted".to_owned();
        }
    }
}
