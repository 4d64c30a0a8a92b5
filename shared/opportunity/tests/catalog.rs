//! The field catalog stays current (`docs/fields.md` is generated from the code) and complete
//! (every key the mapping writes is in it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use opportunity::catalog::{self, catalog, normalize_key, render_markdown};
use opportunity::{map_job, map_membership, JobBundle, MappingConfig, MembershipBundle, Model};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn catalog_doc_is_current() {
    let path = repo_root().join("docs/fields.md");
    let fresh = render_markdown();
    if std::env::var_os("STSYNC_UPDATE_CATALOG").is_some() {
        std::fs::write(&path, &fresh).expect("write docs/fields.md");
        println!("wrote {}", path.display());
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "docs/fields.md is out of date with the mapping code; regenerate it with:\n    {}",
        catalog::REGENERATE
    );
}

fn names(model: Model) -> BTreeSet<String> {
    catalog(model).into_iter().map(|f| f.name).collect()
}

fn assert_cataloged(model: Model, what: &str, details: &opportunity::Details) {
    let known = names(model);
    let missing: Vec<String> = details
        .keys()
        .filter(|k| !catalog::is_omitted_marker(k))
        .map(|k| normalize_key(k))
        .filter(|k| !known.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "{what}: the mapping writes fields the {model} catalog does not list: {missing:?}"
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

#[test]
fn catalog_lists_every_field_the_mapping_writes() {
    let config = MappingConfig::default();
    let job_files = [
        repo_root().join("tests/fixtures/job-bundle.json"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/job-bundle.json"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/job-bundle-commercial.json"),
    ];
    for file in &job_files {
        let bundle: JobBundle = serde_json::from_str(&read(file)).expect("job bundle");
        let o = map_job(&bundle, &config).expect("maps");
        assert_cataloged(Model::Job, &file.display().to_string(), &o.details);
    }
    let file = repo_root().join("tests/fixtures/membership-bundle.json");
    let bundle: MembershipBundle = serde_json::from_str(&read(&file)).expect("membership bundle");
    let o = map_membership(&bundle, &config).expect("maps");
    assert_cataloged(Model::Membership, "membership-bundle.json", &o.details);
    // the check has teeth
    let mut extra = o.details.clone();
    extra.insert("surprise:0:field".into(), serde_json::json!(1));
    let known = names(Model::Membership);
    assert!(!known.contains(&normalize_key("surprise:0:field")));
}
