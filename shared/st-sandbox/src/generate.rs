//! [`Dataset::generate`]: deterministic, messy, tenant-like data from a seeded `StdRng`.
//!
//! The mess is deliberate (SPEC.md §10): "Last, First" and "First Last" names with stray spaces,
//! companies with legal suffixes, unicode names and streets, placeholder and invalid e-mails,
//! mixed-case e-mails with spaces, shared household e-mails and phones, phones in many formats
//! with extensions (all in the fictional 555-01xx range), inactive and merged customers, deleted
//! jobs and contacts. Every step is O(n log n) at most.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use servicetitan::wire::{
    Address, BusinessUnit, ContactPreferences, CustomField, Customer, CustomerContact, Id, Job,
    JobGeneratedLeadSource, JobType, Location, NamedRef, PhoneSettings,
};

use crate::config::SandboxConfig;
use crate::dataset::Dataset;

mod more;

/// Placeholder e-mails offices type when the customer has none (SPEC.md §2 list, mixed case).
pub(crate) const PLACEHOLDER_EMAILS: &[&str] = &[
    "noemail@servicetitan.com",
    "none@none.com",
    "NoEmail@Gmail.com",
    "na@na.com",
    "test@test.com",
];

/// (area code, city, state, zip prefix, latitude, longitude): real area codes, fictional numbers.
const PLACES: &[(&str, &str, &str, &str, f64, f64)] = &[
    ("217", "Springfield", "IL", "627", 39.78, -89.65),
    ("312", "Chicago", "IL", "606", 41.88, -87.63),
    ("415", "San Francisco", "CA", "941", 37.77, -122.42),
    ("512", "Austin", "TX", "787", 30.27, -97.74),
    ("614", "Columbus", "OH", "432", 39.96, -83.00),
    ("702", "Las Vegas", "NV", "891", 36.17, -115.14),
    ("801", "Salt Lake City", "UT", "841", 40.76, -111.89),
    ("919", "Raleigh", "NC", "276", 35.78, -78.64),
    ("206", "Seattle", "WA", "981", 47.61, -122.33),
    ("303", "Denver", "CO", "802", 39.74, -104.99),
    ("404", "Atlanta", "GA", "303", 33.75, -84.39),
    ("480", "Mesa", "AZ", "852", 33.42, -111.83),
    ("503", "Portland", "OR", "972", 45.52, -122.68),
    ("617", "Boston", "MA", "021", 42.36, -71.06),
    ("713", "Houston", "TX", "770", 29.76, -95.37),
    ("305", "Miami", "FL", "331", 25.76, -80.19),
    ("612", "Minneapolis", "MN", "554", 44.98, -93.27),
    ("816", "Kansas City", "MO", "641", 39.10, -94.58),
    ("904", "Jacksonville", "FL", "322", 30.33, -81.66),
    ("916", "Sacramento", "CA", "958", 38.58, -121.49),
];

const FIRST: &[&str] = &[
    "John",
    "Mary",
    "James",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Avery",
    "Jordan",
];

const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "O'Brien",
    "McAllister",
    "Van Der Berg",
    "St. James",
];

/// (first, last, ascii e-mail handle, name written in its natural order without comma).
const UNICODE_PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("José", "Núñez", "jose.nunez", "José Núñez"),
    ("Zoë", "Ångström", "zoe.angstrom", "Zoë Ångström"),
    (
        "Łukasz",
        "Wiśniewski",
        "lukasz.wisniewski",
        "Łukasz Wiśniewski",
    ),
    ("小龍", "李", "xiaolong.li", "李 小龍"),
    ("Văn An", "Nguyễn", "an.nguyen", "Nguyễn Văn An"),
    ("Siobhán", "O'Brien", "siobhan.obrien", "Siobhán O'Brien"),
    (
        "François",
        "Lefèvre",
        "francois.lefevre",
        "François Lefèvre",
    ),
    ("Søren", "Kierkegård", "soren.k", "Søren Kierkegård"),
    ("Ana María", "Peña", "anamaria.pena", "Ana María Peña"),
    (
        "Renée",
        "Müller-Schmidt",
        "renee.ms",
        "Renée Müller-Schmidt",
    ),
];

const COMPANIES: &[&str] = &[
    "Acme Heating, Inc.",
    "Fictional Widgets LLC",
    "Blue Ridge Plumbing Co",
    "Summit Dental, PLLC",
    "Riverside Property Management",
    "Northgate Apartments, LLC",
    "Lakeside Community Church",
    "Golden Spoon Diner",
    "Pinecrest HOA",
    "Metro Self Storage, Inc",
    "Harbor View Hotel",
    "Sunrise Senior Living, L.P.",
    "Oakwood Veterinary Clinic, P.C.",
    "Evergreen Landscaping Ltd",
    "Quick Lube Corp.",
    "Café Olé, LLC",
];
const COMPANY_KINDS: &[&str] = &[
    "Properties",
    "Dental",
    "Realty",
    "Bakery",
    "Auto Repair",
    "Construction",
    "Holdings",
    "Law Group",
    "Medical Center",
    "Storage",
];
const COMPANY_SUFFIXES: &[&str] = &[
    ", Inc.", " LLC", ", LLC", " Co", " Corp", ", Ltd.", ", PLLC", " PC", "", " LP",
];

const STREETS: &[&str] = &[
    "Maple Ave",
    "Oak St",
    "Sample Creek Rd",
    "Elm Dr",
    "Cedar Ln",
    "Washington Blvd",
    "Lakeview Ter",
    "Hillcrest Rd",
    "Sunset Blvd",
    "Park Pl",
    "Ridge Rd",
    "Mill St",
    "N 3rd St",
    "County Road 12",
];
const UNICODE_STREETS: &[&str] = &[
    "Calle Niño",
    "Avenida Peñasco",
    "Rue Ste-Thérèse",
    "Große Allee",
    "Ōhiʻa Loop",
    "Łąkowa St",
];
const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "example.org",
    "mail.example.com",
    "inbox.example.net",
];
const INVALID_EMAILS: &[&str] = &[
    "jsmith@",
    "john at gmail.com",
    "smith.john@example",
    "@example.com",
    "mary..jones@example.com",
];
const EMPLOYEES: &[Id] = &[5120, 5133, 5141, 5150];
const TECHNICIANS: &[Id] = &[6021, 6022, 6035, 6040];
const CAMPAIGNS: &[Id] = &[884, 885, 886, 887, 888, 889, 890, 891, 892];
const TAG_TYPES: &[Id] = &[77, 102, 115, 131, 140];
const JOB_STATUSES: &[&str] = &[
    "Scheduled",
    "Dispatched",
    "InProgress",
    "Hold",
    "Completed",
    "Canceled",
];

/// (id, name, trade, active).
const BUSINESS_UNITS: &[(Id, &str, &str, bool)] = &[
    (1001, "HVAC Service", "HVAC", true),
    (1002, "HVAC Install", "HVAC", true),
    (1003, "Plumbing Service", "Plumbing", true),
    (1004, "Plumbing Install", "Plumbing", true),
    (1005, "Electrical Service", "Electrical", true),
    (1006, "Legacy Remodel", "Remodel", false),
];
/// (id, name, business unit, class, duration seconds, active, summaries).
type JobTypeSpec = (
    Id,
    &'static str,
    Id,
    &'static str,
    i64,
    bool,
    &'static [&'static str],
);
const JOB_TYPES: &[JobTypeSpec] = &[
    (
        2201,
        "No Heat",
        1001,
        "Service",
        7200,
        true,
        &[
            "No heat upstairs. Furnace short-cycling per caller.",
            "Furnace blowing cold air",
        ],
    ),
    (
        2202,
        "AC Tune-Up",
        1001,
        "Maintenance",
        3600,
        true,
        &["Annual AC tune-up", "Spring maintenance visit"],
    ),
    (
        2203,
        "Furnace Install",
        1002,
        "Install",
        28800,
        true,
        &["Replace 20 yr old furnace", "New furnace quote accepted"],
    ),
    (
        2204,
        "AC Replacement",
        1002,
        "Install",
        28800,
        true,
        &["AC replacement, 3 ton", "Condenser replacement"],
    ),
    (
        2205,
        "Drain Cleaning",
        1003,
        "Service",
        5400,
        true,
        &["Kitchen sink backed up", "Main line clog, basement"],
    ),
    (
        2206,
        "Water Heater Repair",
        1003,
        "Service",
        7200,
        true,
        &["No hot water", "Water heater leaking at base"],
    ),
    (
        2207,
        "Water Heater Install",
        1004,
        "Install",
        14400,
        true,
        &["Tankless install", "50 gal gas water heater swap"],
    ),
    (
        2208,
        "Repipe",
        1004,
        "Install",
        57600,
        true,
        &["Whole-house PEX repipe"],
    ),
    (
        2209,
        "Panel Upgrade",
        1005,
        "Install",
        21600,
        true,
        &["200A panel upgrade", "Replace Federal Pacific panel"],
    ),
    (
        2210,
        "Outlet Repair",
        1005,
        "Service",
        3600,
        true,
        &["GFCI outlet tripping in bathroom", "Dead outlets in garage"],
    ),
    (
        2211,
        "Legacy Estimate",
        1006,
        "Estimate",
        3600,
        false,
        &["Remodel estimate"],
    ),
];

impl Dataset {
    /// Generates a tenant's worth of data, deterministically: the same `cfg.seed`, `cfg.customers`,
    /// `cfg.jobs`, `cfg.history_days` and `cfg.now` always give the same dataset.
    ///
    /// Shapes (SPEC.md §10): ~60% residential "Last, First"/"First Last" names (some with extra
    /// spaces), ~25% companies, ~15% unicode names; 0–4 contacts per customer (Phone, MobilePhone,
    /// Email, Fax) with ~8% placeholder e-mails, some invalid ones, mixed case and spaces, ~5%
    /// shared household e-mails/phones, phones in many formats with extensions; ~4% inactive and
    /// ~2% merged customers; 1–3 locations each; 6 business units; 11 job types; `cfg.jobs` jobs
    /// created uniformly in `[now - history_days, now - 1 h]` with `modifiedOn` in
    /// `[createdOn, now - 20 min]`. Ids: jobs from 41 000 000, customers from 3 300 000,
    /// locations from 5 000 000, contacts from 880 000; all timestamps UTC with 100 ns precision.
    pub fn generate(cfg: &SandboxConfig) -> Dataset {
        Generator::new(cfg).run()
    }
}

/// What the generator remembers about a customer while building its dependants.
struct CustomerPlan {
    place: usize,
    person: bool,
    locations: Vec<usize>,
}

struct Generator {
    rng: StdRng,
    now: DateTime<Utc>,
    latest: DateTime<Utc>,
    history_start: DateTime<Utc>,
    customers_n: usize,
    jobs_n: usize,
    phone_pool: Vec<(usize, u32)>,
    phone_next: usize,
}

fn ticks(t: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = t.timestamp_subsec_nanos();
    t - Duration::nanoseconds(i64::from(nanos % 100))
}

impl Generator {
    fn new(cfg: &SandboxConfig) -> Generator {
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let now = ticks(cfg.now);
        let mut phone_pool: Vec<(usize, u32)> = (0..PLACES.len())
            .flat_map(|p| (0..100u32).map(move |n| (p, n)))
            .collect();
        // Fisher-Yates with our rng (deterministic).
        for i in (1..phone_pool.len()).rev() {
            let j = rng.random_range(0..=i);
            phone_pool.swap(i, j);
        }
        Generator {
            rng,
            now,
            latest: now - Duration::minutes(20),
            history_start: now - Duration::days(cfg.history_days.max(1)),
            customers_n: cfg.customers,
            jobs_n: cfg.jobs,
            phone_pool,
            phone_next: 0,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(&mut self.rng).unwrap_or(&items[0])
    }

    /// Weighted pick among `(weight, value)`.
    fn weighted<T: Copy>(&mut self, items: &[(u32, T)]) -> T {
        let total: u32 = items.iter().map(|(w, _)| *w).sum();
        let mut roll = self.rng.random_range(0..total.max(1));
        for (w, v) in items {
            if roll < *w {
                return *v;
            }
            roll -= w;
        }
        items[items.len() - 1].1
    }

    /// Uniform time in `[a, b]` at 100 ns precision (`a` when the range is empty).
    fn between(&mut self, a: DateTime<Utc>, b: DateTime<Utc>) -> DateTime<Utc> {
        let span = (b - a).num_nanoseconds().unwrap_or(i64::MAX) / 100;
        if span <= 0 {
            return ticks(a);
        }
        ticks(a + Duration::nanoseconds(self.rng.random_range(0..=span) * 100))
    }

    fn money(&mut self, lo: f64, hi: f64) -> f64 {
        let cents = self
            .rng
            .random_range((lo * 100.0) as i64..=(hi * 100.0) as i64);
        cents as f64 / 100.0
    }

    fn next_phone(&mut self) -> (usize, u32) {
        let p = self.phone_pool[self.phone_next % self.phone_pool.len()];
        self.phone_next += 1;
        p
    }

    fn run(mut self) -> Dataset {
        let business_units = self.business_units();
        let job_types = self.job_types();
        let (customers, plans, contacts, locations) = self.customers();
        let jobs = self.jobs(&customers, &plans, &locations, &job_types);
        let mut data = Dataset {
            jobs,
            customers,
            contacts,
            locations,
            business_units,
            job_types,
            ..Dataset::default()
        };
        self.related(&mut data);
        data.sort_by_id();
        data
    }

    fn business_units(&mut self) -> Vec<BusinessUnit> {
        let created = self.now - Duration::days(3 * 365);
        BUSINESS_UNITS
            .iter()
            .map(|&(id, name, trade, active)| {
                let modified = self.between(created, self.latest - Duration::days(30));
                BusinessUnit {
                    id,
                    active,
                    name: name.to_owned(),
                    official_name: Some(format!("Sandbox Home Services LLC – {name}")),
                    email: Some(format!(
                        "{}@sandbox-home-services.example.com",
                        trade.to_ascii_lowercase()
                    )),
                    currency: Some("USD".to_owned()),
                    phone_number: Some("(217) 555-0100".to_owned()),
                    trade: Some(NamedRef {
                        id: id - 1000,
                        name: Some(trade.to_owned()),
                    }),
                    division: Some(NamedRef {
                        id: 1,
                        name: Some("Residential".to_owned()),
                    }),
                    tag_type_ids: Vec::new(),
                    created_on: created,
                    modified_on: modified,
                }
            })
            .collect()
    }

    fn job_types(&mut self) -> Vec<JobType> {
        let created = self.now - Duration::days(3 * 365);
        JOB_TYPES
            .iter()
            .map(|&(id, name, bu, class, duration, active, _)| {
                let modified = self.between(created, self.latest - Duration::days(10));
                let skill = BUSINESS_UNITS
                    .iter()
                    .find(|b| b.0 == bu)
                    .map_or("General", |b| b.2);
                JobType {
                    id,
                    name: name.to_owned(),
                    business_unit_ids: vec![bu],
                    skills: vec![skill.to_owned()],
                    tag_type_ids: Vec::new(),
                    priority: Some("Normal".to_owned()),
                    duration: Some(duration),
                    sold_threshold: if class == "Install" {
                        Some(1500.0)
                    } else {
                        None
                    },
                    class: Some(class.to_owned()),
                    summary: Some(format!("{name} ({class})")),
                    no_charge: Some(false),
                    invoice_signatures_required: Some(class == "Install"),
                    is_smart_dispatched: Some(false),
                    external_data: Vec::new(),
                    active,
                    created_on: created,
                    modified_on: modified,
                }
            })
            .collect()
    }

    /// A display name: `(name, person, first, last, email handle)`.
    fn name(&mut self) -> (String, bool, String, String, String) {
        let roll = self.rng.random_range(0..100);
        if roll < 60 {
            let first = self.pick(FIRST);
            let last = self.pick(LAST);
            let handle =
                format!("{}.{}", first, last.replace([' ', '\'', '.'], "")).to_ascii_lowercase();
            let name = match self.rng.random_range(0..100) {
                0..50 => format!("{last}, {first}"),
                50..80 => format!("{first} {last}"),
                80..90 => format!("  {last} ,  {first}  "),
                90..95 => format!("{last}, {first} & {}", self.pick(FIRST)),
                _ => format!(
                    "{first} {}. {last}",
                    (b'A' + self.rng.random_range(0..26u8)) as char
                ),
            };
            (name, true, first.to_owned(), last.to_owned(), handle)
        } else if roll < 85 {
            let name = if self.chance(0.5) {
                self.pick(COMPANIES).to_owned()
            } else {
                format!(
                    "{} {}{}",
                    self.pick(LAST),
                    self.pick(COMPANY_KINDS),
                    self.pick(COMPANY_SUFFIXES)
                )
            };
            let handle = name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(16)
                .collect::<String>()
                .to_ascii_lowercase();
            (name, false, String::new(), String::new(), handle)
        } else {
            let (first, last, handle, natural) = self.pick(UNICODE_PEOPLE);
            let name = if self.chance(0.5) {
                format!("{last}, {first}")
            } else {
                natural.to_owned()
            };
            (
                name,
                true,
                first.to_owned(),
                last.to_owned(),
                handle.to_owned(),
            )
        }
    }

    /// A phone number in one of the formats offices type; `(value, digits for phoneSettings)`.
    fn phone_text(&mut self, place: usize, line: u32) -> (String, String) {
        let area = PLACES[place].0;
        let n = format!("01{line:02}");
        let digits = format!("{area}555{n}");
        let value = match self.rng.random_range(0..100) {
            0..25 => format!("({area}) 555-{n}"),
            25..45 => format!("{area}-555-{n}"),
            45..55 => format!("{area}.555.{n}"),
            55..73 => digits.clone(),
            73..81 => format!("+1 {area} 555 {n}"),
            81..85 => format!("1-{area}-555-{n}"),
            85..91 => format!("{area}-555-{n} x{}", self.rng.random_range(100..999)),
            91..96 => format!("({area}) 555-{n} ext. {}", self.rng.random_range(1..99)),
            96..98 => format!("+1{digits}"),
            _ => {
                return if self.chance(0.5) {
                    ("555".to_owned(), "555".to_owned())
                } else {
                    ("call office".to_owned(), String::new())
                }
            }
        };
        (value, digits)
    }

    #[allow(clippy::type_complexity)]
    fn customers(
        &mut self,
    ) -> (
        Vec<Customer>,
        Vec<CustomerPlan>,
        Vec<CustomerContact>,
        Vec<Location>,
    ) {
        let n = self.customers_n;
        let old_start = self.history_start - Duration::days(4 * 365);
        let old_end = self.history_start - Duration::days(1);
        let new_end = self.now - Duration::hours(2);
        let mut created: Vec<DateTime<Utc>> = (0..n)
            .map(|_| {
                if self.chance(0.75) {
                    self.between(old_start, old_end)
                } else {
                    self.between(self.history_start, new_end)
                }
            })
            .collect();
        created.sort();

        let mut customers = Vec::with_capacity(n);
        let mut plans = Vec::with_capacity(n);
        let mut contacts = Vec::with_capacity(n * 3);
        let mut locations = Vec::with_capacity(n * 5 / 4);
        // Household values other customers may share: (e-mail, phone place+line).
        let mut household_emails: Vec<String> = Vec::new();
        let mut household_phones: Vec<(usize, u32)> = Vec::new();
        let mut customer_id: Id = 3_300_000;
        let mut location_id: Id = 5_000_000;
        let mut contact_id: Id = 880_000;

        for (ci, &c_created) in created.iter().enumerate() {
            customer_id += self.rng.random_range(1..=7);
            let (name, person, _first, _last, handle) = self.name();
            let place = self.rng.random_range(0..PLACES.len());
            let c_modified = if self.chance(0.5) {
                self.between(
                    c_created,
                    (c_created + Duration::minutes(5)).min(self.latest),
                )
            } else {
                self.between(c_created, self.latest)
            };

            // Activity: ~4% inactive, ~2% merged into an earlier active customer.
            let roll = self.rng.random_range(0..100);
            let mut active = true;
            let mut merged_to_id = None;
            if roll < 4 {
                active = false;
            } else if roll < 6 && ci > 0 {
                let target = self.rng.random_range(0..ci);
                let t: &Customer = &customers[target];
                if t.active && t.merged_to_id.is_none() {
                    active = false;
                    merged_to_id = Some(t.id);
                }
            }

            // Locations.
            let loc_count = self.weighted(&[(75, 1usize), (20, 2), (5, 3)]);
            let mut loc_indexes = Vec::with_capacity(loc_count);
            let mut first_address = None;
            for li in 0..loc_count {
                location_id += self.rng.random_range(1..=9);
                let l_place = if li == 0 || self.chance(0.7) {
                    place
                } else {
                    self.rng.random_range(0..PLACES.len())
                };
                let address = self.address(l_place);
                if first_address.is_none() {
                    first_address = Some(address.clone());
                }
                let l_created = if li == 0 {
                    self.between(
                        c_created,
                        (c_created + Duration::minutes(10)).min(self.latest),
                    )
                } else {
                    self.between(c_created, self.latest)
                };
                let l_modified = self.between(l_created, self.latest);
                let l_name = self.location_name(&name, person, li, &address);
                let l_active = active && !self.chance(0.02);
                locations.push(Location {
                    id: location_id,
                    customer_id,
                    active: l_active,
                    name: l_name,
                    address: Some(address),
                    custom_fields: Vec::new(),
                    created_on: l_created,
                    created_by_id: Some(self.pick(EMPLOYEES)),
                    modified_on: l_modified,
                    merged_to_id: None,
                    zone_id: if self.chance(0.9) {
                        Some(self.rng.random_range(1..=8))
                    } else {
                        None
                    },
                    tax_exempt: Some(!person && self.chance(0.2)),
                    tag_type_ids: self.tags(),
                    external_data: Vec::new(),
                    tax_zone_id: if self.chance(0.5) {
                        Some(self.rng.random_range(1..=3))
                    } else {
                        None
                    },
                });
                loc_indexes.push(locations.len() - 1);
            }

            // Contacts.
            let has_email = self.chance(if person { 0.8 } else { 0.85 });
            let has_phone = self.chance(0.88);
            let mut planned: Vec<&'static str> = Vec::new();
            if has_phone {
                planned.push(if person && self.chance(0.6) {
                    "MobilePhone"
                } else {
                    "Phone"
                });
                if self.chance(0.25) {
                    planned.push(if planned[0] == "Phone" {
                        "MobilePhone"
                    } else {
                        "Phone"
                    });
                }
            }
            if has_email {
                planned.push("Email");
                if !person && self.chance(0.15) {
                    planned.push("Email");
                }
            }
            if self.chance(if person { 0.03 } else { 0.3 }) {
                planned.push("Fax");
            }
            planned.truncate(4);
            // E-mails before phones sometimes, as offices enter them in any order.
            if self.chance(0.3) {
                planned.reverse();
            }
            let share_household = person && self.chance(0.05);
            let mut shared_done = false;
            for kind in planned {
                contact_id += self.rng.random_range(1..=3);
                let k_created = self.between(
                    c_created,
                    (c_created + Duration::minutes(1)).min(self.latest),
                );
                let k_modified = if self.chance(0.85) {
                    k_created
                } else {
                    self.between(k_created, self.latest)
                };
                let (value, phone_settings, memo) = if kind == "Email" {
                    let value = if share_household && !shared_done && !household_emails.is_empty() {
                        shared_done = true;
                        household_emails[self.rng.random_range(0..household_emails.len())].clone()
                    } else {
                        let v = self.email(&handle, person);
                        if person && !PLACEHOLDER_EMAILS.contains(&v.as_str()) {
                            household_emails.push(v.clone());
                        }
                        v
                    };
                    let memo =
                        self.weighted(&[(70, None), (15, Some("primary")), (15, Some("billing"))]);
                    // The schema makes phoneSettings required even on e-mail contacts.
                    (
                        value,
                        PhoneSettings {
                            phone_number: Some(String::new()),
                            do_not_text: Some(true),
                        },
                        memo,
                    )
                } else {
                    let (pp, line) =
                        if share_household && !shared_done && !household_phones.is_empty() {
                            shared_done = true;
                            household_phones[self.rng.random_range(0..household_phones.len())]
                        } else {
                            let p = self.next_phone();
                            if person && kind != "Fax" {
                                household_phones.push(p);
                            }
                            p
                        };
                    let (value, digits) = self.phone_text(pp, line);
                    let memo = match kind {
                        "Fax" => Some("office fax"),
                        "MobilePhone" => self.weighted(&[
                            (50, None),
                            (30, Some("cell")),
                            (20, Some("wife's cell")),
                        ]),
                        _ => self.weighted(&[
                            (50, None),
                            (25, Some("home")),
                            (15, Some("work")),
                            (10, Some("after 5pm")),
                        ]),
                    };
                    let dnt = kind != "MobilePhone" || self.chance(0.15);
                    (
                        value,
                        PhoneSettings {
                            phone_number: Some(digits),
                            do_not_text: Some(dnt),
                        },
                        memo,
                    )
                };
                let preferences = if kind == "Fax" || self.chance(0.1) {
                    None
                } else {
                    Some(ContactPreferences {
                        job_reminders_enabled: Some(self.chance(0.85)),
                        marketing_updates_enabled: Some(self.chance(0.3)),
                        invoice_statement_notification: Some(self.chance(0.7)),
                    })
                };
                contacts.push(CustomerContact {
                    id: contact_id,
                    kind: kind.to_owned(),
                    value,
                    memo: memo.map(str::to_owned),
                    phone_settings: Some(phone_settings),
                    preferences,
                    created_on: k_created,
                    modified_on: k_modified,
                    customer_id: Some(customer_id),
                    active: Some(!self.chance(0.03)),
                });
            }

            let custom_fields = if self.chance(0.2) {
                let v = self.pick(&["Any", "Mike R.", "No preference", "Same as last time"]);
                vec![CustomField {
                    type_id: Some(610),
                    name: Some("Preferred Tech".to_owned()),
                    value: Some(v.to_owned()),
                }]
            } else {
                Vec::new()
            };
            let balance = if self.chance(0.8) {
                0.0
            } else {
                self.money(0.0, 2500.0)
            };
            customers.push(Customer {
                id: customer_id,
                active,
                name,
                kind: Some(if person { "Residential" } else { "Commercial" }.to_owned()),
                address: first_address,
                custom_fields,
                balance: Some(balance),
                tax_exempt: Some(!person && self.chance(0.2)),
                tag_type_ids: self.tags(),
                do_not_mail: Some(self.chance(0.05)),
                do_not_service: Some(self.chance(0.01)),
                national_account: Some(!person && self.chance(0.05)),
                created_on: c_created,
                created_by_id: Some(self.pick(EMPLOYEES)),
                modified_on: c_modified,
                merged_to_id,
                payment_term_id: if !person && self.chance(0.5) {
                    Some(12)
                } else {
                    None
                },
                external_data: Vec::new(),
            });
            plans.push(CustomerPlan {
                place,
                person,
                locations: loc_indexes,
            });
        }
        (customers, plans, contacts, locations)
    }

    fn email(&mut self, handle: &str, person: bool) -> String {
        let roll = self.rng.random_range(0..100);
        if roll < 8 {
            return self.pick(PLACEHOLDER_EMAILS).to_owned();
        }
        if roll < 11 {
            return self.pick(INVALID_EMAILS).to_owned();
        }
        let domain = self.pick(EMAIL_DOMAINS);
        let base = if person {
            match self.rng.random_range(0..4) {
                0 => format!("{handle}@{domain}"),
                1 => format!(
                    "{}{}@{domain}",
                    handle.replace('.', ""),
                    self.rng.random_range(1..99)
                ),
                2 => format!(
                    "{}@{domain}",
                    handle.split('.').rev().collect::<Vec<_>>().join(".")
                ),
                _ => format!(
                    "{}_{}@{domain}",
                    handle.replace('.', ""),
                    self.rng.random_range(60..99)
                ),
            }
        } else {
            format!(
                "{}@{handle}.{domain}",
                self.pick(&["office", "billing", "info", "facilities"])
            )
        };
        match self.rng.random_range(0..100) {
            0..10 => {
                // Mixed case: capitalise each dot-separated part.
                base.split('.')
                    .map(|p| {
                        let mut c = p.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect::<String>())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(".")
            }
            10..15 => format!(" {base} "),
            15..18 => format!("{} ", base.to_uppercase()),
            _ => base,
        }
    }

    fn address(&mut self, place: usize) -> Address {
        let (_, city, state, zip3, lat, lon) = PLACES[place];
        let street = if self.chance(0.08) {
            self.pick(UNICODE_STREETS)
        } else {
            self.pick(STREETS)
        };
        let unit = self.weighted(&[
            (85, None),
            (5, Some("Apt 2B")),
            (5, Some("Suite 300")),
            (5, Some("Unit 4")),
        ]);
        let coords = self.chance(0.9);
        let jitter_lat = self.rng.random_range(-0.08..0.08);
        let jitter_lon = self.rng.random_range(-0.08..0.08);
        Address {
            street: Some(format!("{} {street}", self.rng.random_range(100..9999))),
            unit: unit.map(str::to_owned),
            city: Some(city.to_owned()),
            state: Some(state.to_owned()),
            zip: Some(format!("{zip3}{:02}", self.rng.random_range(0..100))),
            country: Some("USA".to_owned()),
            latitude: coords.then_some(((lat + jitter_lat) * 10_000.0_f64).round() / 10_000.0),
            longitude: coords.then_some(((lon + jitter_lon) * 10_000.0_f64).round() / 10_000.0),
        }
    }

    fn location_name(
        &mut self,
        customer: &str,
        person: bool,
        index: usize,
        address: &Address,
    ) -> String {
        let base = customer.trim();
        let street = address.street.clone().unwrap_or_default();
        match (person, index) {
            (true, 0) => {
                if self.chance(0.5) {
                    base.to_owned()
                } else {
                    format!("{base} - Home")
                }
            }
            (true, _) => format!("Rental - {street}"),
            (false, 0) => format!("{base} - Main Office"),
            (false, _) => format!(
                "{base} - {}",
                self.pick(&["Warehouse", "Store #12", "North Campus", "Unit B"])
            ),
        }
    }

    fn tags(&mut self) -> Vec<Id> {
        let n = self.weighted(&[(70, 0usize), (22, 1), (8, 2)]);
        let mut t: Vec<Id> = (0..n).map(|_| self.pick(TAG_TYPES)).collect();
        t.sort_unstable();
        t.dedup();
        t
    }

    fn jobs(
        &mut self,
        customers: &[Customer],
        plans: &[CustomerPlan],
        locations: &[Location],
        job_types: &[JobType],
    ) -> Vec<Job> {
        let n = self.jobs_n;
        if customers.is_empty() {
            return Vec::new();
        }
        let created_end = self.now - Duration::hours(1);
        let mut created: Vec<DateTime<Utc>> = (0..n)
            .map(|_| self.between(self.history_start, created_end))
            .collect();
        created.sort();
        let active_types: Vec<&JobType> = job_types.iter().filter(|t| t.active).collect();
        let mut jobs = Vec::with_capacity(n);
        let mut job_id: Id = 41_000_000;
        for t in created {
            job_id += self.rng.random_range(5..=37);
            // A customer that existed when the job was booked (customers are sorted by creation).
            let k = customers.partition_point(|c| c.created_on <= t).max(1);
            let mut ci = self.rng.random_range(0..k);
            if !customers[ci].active && self.chance(0.8) {
                ci = self.rng.random_range(0..k);
            }
            let customer = &customers[ci];
            let plan = &plans[ci];
            let li = plan.locations[self.rng.random_range(0..plan.locations.len())];
            let location = &locations[li];
            let jt = if self.chance(0.97) || job_types.len() == active_types.len() {
                *active_types.choose(&mut self.rng).unwrap_or(&&job_types[0])
            } else {
                &job_types[self.rng.random_range(0..job_types.len())]
            };
            let spec = JOB_TYPES.iter().find(|s| s.0 == jt.id);
            let bu = jt
                .business_unit_ids
                .first()
                .copied()
                .unwrap_or(BUSINESS_UNITS[0].0);
            let age = self.now - t;
            let status = if age < Duration::days(1) {
                self.weighted(&[
                    (40, "Scheduled"),
                    (20, "Dispatched"),
                    (20, "InProgress"),
                    (5, "Hold"),
                    (5, "Canceled"),
                    (10, "Completed"),
                ])
            } else if age < Duration::days(7) {
                self.weighted(&[
                    (20, "Scheduled"),
                    (5, "Dispatched"),
                    (5, "InProgress"),
                    (8, "Hold"),
                    (10, "Canceled"),
                    (52, "Completed"),
                ])
            } else {
                self.weighted(&[
                    (78, "Completed"),
                    (12, "Canceled"),
                    (4, "Hold"),
                    (6, "Scheduled"),
                ])
            };
            let completed_on = (status == "Completed").then(|| {
                let hi = (t + Duration::days(5)).min(self.now - Duration::minutes(25));
                self.between((t + Duration::minutes(30)).min(hi), hi)
            });
            let base = completed_on.unwrap_or(t);
            let modified_on = if self.chance(0.15) {
                self.between(t, self.latest)
            } else {
                self.between(base, (base + Duration::hours(2)).min(self.latest))
            }
            .max(t);
            let appointments = self.weighted(&[(75, 1i64), (20, 2), (5, 3)]);
            let summary = match self.rng.random_range(0..100) {
                0..35 => spec.map(|s| format!("<p>{}</p>", self.pick(s.6))),
                35..80 => spec.map(|s| self.pick(s.6).to_owned()),
                _ => None,
            };
            let mut custom_fields = Vec::new();
            if self.chance(0.3) {
                let v = self.pick(&["4412", "#1234", "1379*", "call on arrival"]);
                custom_fields.push(CustomField {
                    type_id: Some(501),
                    name: Some("Gate Code".to_owned()),
                    value: Some(v.to_owned()),
                });
            }
            if self.chance(0.2) {
                let v = self.pick(&["Yes", "No", "Yes - friendly lab", "No - cat only"]);
                custom_fields.push(CustomField {
                    type_id: Some(502),
                    name: Some("Dog on site".to_owned()),
                    value: Some(v.to_owned()),
                });
            }
            if self.chance(0.1) {
                let v = self.pick(&["Morning", "Afternoon", "Anytime"]);
                custom_fields.push(CustomField {
                    type_id: Some(503),
                    name: Some("Preferred Arrival".to_owned()),
                    value: Some(v.to_owned()),
                });
            }
            let total = match status {
                "Completed" => Some(self.money(89.0, 6500.0)),
                "Canceled" => Some(0.0),
                _ => {
                    if self.chance(0.5) {
                        Some(0.0)
                    } else {
                        None
                    }
                }
            };
            let recall_for_id = if self.chance(0.03) && !jobs.is_empty() {
                let j: &Job = &jobs[self.rng.random_range(0..jobs.len())];
                Some(j.id)
            } else {
                None
            };
            let customer_po = if !plan.person && self.chance(0.3) {
                format!("PO-{}", self.rng.random_range(10_000..99_999))
            } else {
                String::new()
            };
            let _ = plan.place;
            jobs.push(Job {
                id: job_id,
                job_number: Some(job_id.to_string()),
                project_id: if self.chance(0.03) {
                    Some(90_000 + self.rng.random_range(0..500))
                } else {
                    None
                },
                customer_id: customer.id,
                location_id: location.id,
                job_status: status.to_owned(),
                completed_on,
                business_unit_id: bu,
                job_type_id: jt.id,
                priority: Some(
                    self.weighted(&[(70, "Normal"), (15, "High"), (8, "Low"), (7, "Urgent")])
                        .to_owned(),
                ),
                campaign_id: Some(self.pick(CAMPAIGNS)),
                appointment_count: Some(appointments),
                first_appointment_id: Some(job_id + 1),
                last_appointment_id: Some(job_id + appointments),
                recall_for_id,
                warranty_id: None,
                job_generated_lead_source: if self.chance(0.9) {
                    Some(JobGeneratedLeadSource::default())
                } else {
                    None
                },
                no_charge: Some(self.chance(0.03)),
                notifications_enabled: Some(self.chance(0.92)),
                created_on: t,
                created_by_id: Some(self.pick(EMPLOYEES)),
                modified_on,
                tag_type_ids: self.tags(),
                lead_call_id: if self.chance(0.4) {
                    Some(90_000_000 + self.rng.random_range(0..1_000_000))
                } else {
                    None
                },
                partner_lead_call_id: None,
                booking_id: if self.chance(0.1) {
                    Some(70_000 + self.rng.random_range(0..10_000))
                } else {
                    None
                },
                sold_by_id: if status == "Completed" && self.chance(0.5) {
                    Some(self.pick(TECHNICIANS))
                } else {
                    None
                },
                customer_po: Some(customer_po),
                invoice_id: Some(job_id + appointments + 1),
                membership_id: if self.chance(0.15) {
                    Some(7_700_000 + self.rng.random_range(0..50_000))
                } else {
                    None
                },
                total,
                summary,
                custom_fields,
                external_data: Vec::new(),
                active: Some(!self.chance(0.02)),
            });
        }
        // Make sure every status value appears when there is room for it.
        if jobs.len() >= JOB_STATUSES.len() * 4 {
            for (i, s) in JOB_STATUSES.iter().enumerate() {
                if !jobs.iter().any(|j| j.job_status == *s) {
                    let j = &mut jobs[i * 3 + 1];
                    j.job_status = (*s).to_owned();
                    j.completed_on = None;
                }
            }
        }
        jobs
    }
}

/// `len` characters of seeded noise over 64 URL-safe symbols (6 bits of entropy each): text that
/// deflate cannot shrink below about 3/4 of its length, unlike repeated characters. For tests
/// of size limits on data the store keeps deflated (opportunity details and sources, README
/// "Decisions"); the same seed gives the same text.
pub fn incompressible_text(len: usize, seed: u64) -> String {
    const SYMBOLS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len)
        .map(|_| char::from(SYMBOLS[rng.random_range(0..64usize)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_dataset_is_consistent() {
        let cfg = SandboxConfig {
            customers: 50,
            jobs: 120,
            ..SandboxConfig::default()
        };
        let d = Dataset::generate(&cfg);
        assert_eq!(d.customers.len(), 50);
        assert_eq!(d.jobs.len(), 120);
        let latest = ticks(cfg.now) - Duration::minutes(20);
        for j in &d.jobs {
            assert!(
                j.modified_on >= j.created_on && j.modified_on <= latest,
                "job {}",
                j.id
            );
            let loc = d
                .locations
                .iter()
                .find(|l| l.id == j.location_id)
                .expect("location exists");
            assert_eq!(loc.customer_id, j.customer_id);
        }
        assert!(d.contacts.iter().all(|c| c.customer_id.is_some()));
    }
}
