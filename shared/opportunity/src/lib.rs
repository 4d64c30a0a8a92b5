//! The domain: opportunities, contacts, integration settings, and the pure mapping from
//! ServiceTitan records to an opportunity's details and standard fields (SPEC.md §1, §2, §4).
//!
//! What belongs here: types and rules with no I/O, no AWS types, no HTTP and no clock (time comes
//! in as an argument). What does not: fetching records (crate `servicetitan`), storing them (crate
//! `store`), deciding what to sync when (crate `sync`).

pub mod bundle;
pub mod call;
pub mod catalog;
pub mod contact;
pub mod details;
pub mod email;
pub mod error;
pub mod map;
pub mod map_membership;
pub mod model;
pub mod name;
pub mod note;
pub mod phone;
pub mod push;
pub mod resources;
pub mod scopes;
pub mod settings;
pub mod settings_edit;

pub use bundle::{JobBundle, MembershipBundle};
pub use call::map_inbound_call;
pub use contact::ContactCandidate;
pub use error::MapError;
pub use map::{map_job, MappingConfig};
pub use map_membership::map_membership;
pub use model::{Details, Model, Opportunity, StandardFields};
pub use resources::{Resource, ResourceSelection, SettingProblem};
pub use settings::{Environment, Integration, IntegrationStatus, PushSettings};
