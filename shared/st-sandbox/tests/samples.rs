//! The hand-made sample bodies in `shared/servicetitan/samples` parse into the wire types the
//! sandbox serializes with (skipped when the folder is absent).

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use servicetitan::wire::{
    ApiErrorResponse, Customer, CustomerContact, ExportPage, Job, Location, Page, TokenResponse,
};

fn samples_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("ST_OPENAPI_DIR") {
        Some(d) => PathBuf::from(d).join("../samples"),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/servicetitan/samples")
        }
    };
    dir.is_dir().then_some(dir)
}

fn parse<T: DeserializeOwned>(dir: &std::path::Path, file: &str) -> T {
    let text =
        std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"));
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de)
        .unwrap_or_else(|e| panic!("{file}: field `{}`: {}", e.path(), e.inner()))
}

#[test]
fn samples_parse_into_wire_types() {
    let Some(dir) = samples_dir() else {
        println!("skipped: samples folder not found");
        return;
    };
    let jobs: Page<Job> = parse(&dir, "jobs-page.json");
    assert_eq!(jobs.data.len(), 2);
    assert_eq!(
        jobs.data[0].custom_fields[0].name.as_deref(),
        Some("Gate Code")
    );
    assert!(jobs.data[0].active.is_none());
    let export: ExportPage<Job> = parse(&dir, "jobs-export.json");
    assert!(export.has_more);
    assert!(export.data.iter().all(|j| j.active.is_some()));
    // The sample's token has our token's shape: base64 of "modifiedOn|id".
    let pos = st_sandbox::decode_position(&export.continue_from).expect("sample token decodes");
    assert_eq!(pos.map(|p| p.1), Some(41872305));
    let customers: Page<Customer> = parse(&dir, "customers-page.json");
    assert!(customers
        .data
        .iter()
        .any(|c| c.name == "Fictional Widgets LLC"));
    let contacts: Page<CustomerContact> = parse(&dir, "customer-contacts-page.json");
    let kinds: Vec<&str> = contacts.data.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["MobilePhone", "Phone", "Email", "Fax"]);
    let contacts_export: ExportPage<CustomerContact> = parse(&dir, "customer-contacts-export.json");
    assert!(contacts_export
        .data
        .iter()
        .all(|c| c.customer_id.is_some() && c.active.is_some()));
    let locations: Page<Location> = parse(&dir, "locations-page.json");
    assert_eq!(locations.data[0].zone_id, Some(14));
    let token: TokenResponse = parse(&dir, "token-response.json");
    assert_eq!(token.expires_in, 900);
    let e400: ApiErrorResponse = parse(&dir, "error-400.json");
    assert_eq!(e400.status, Some(400));
    assert!(e400.errors.unwrap().contains_key("Text"));
    let e429: ApiErrorResponse = parse(&dir, "error-429.json");
    assert_eq!(e429.status, Some(429));
}
