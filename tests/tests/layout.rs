//! One name runs through everything (STYLE.md): every `functions/<name>` crate has its SAM
//! resource `<Name>Function` built from binary `<name>` in `infra/template.yaml`, and sample
//! events `events/<name>.*.json` that parse as JSON.

use std::path::Path;

fn pascal(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn every_function_has_its_template_resource_and_events() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = std::fs::read_to_string(root.join("infra/template.yaml")).unwrap();
    let events: Vec<String> = std::fs::read_dir(root.join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut functions: Vec<String> = std::fs::read_dir(root.join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    functions.sort();
    assert_eq!(
        functions,
        [
            "call-webhook",
            "note-pusher",
            "poll-jobs",
            "poll-memberships"
        ]
    );
    for name in &functions {
        let logical = format!("\n  {}Function:\n", pascal(name));
        let at = template
            .find(&logical)
            .unwrap_or_else(|| panic!("{name}: no{logical}in the template"));
        // The resource's body ends where the next two-space-indented key (the next resource) begins.
        let body = &template[at + logical.len()..];
        let end = body
            .match_indices("\n  ")
            .find(|(i, _)| !body[i + 3..].starts_with(' '))
            .map_or(body.len(), |(i, _)| i);
        let resource = &body[..end];
        assert!(
            resource.contains("Type: AWS::Serverless::Function"),
            "{name}: {resource}"
        );
        assert!(
            resource.contains(&format!("Binary: {name}\n")),
            "{name}: builds binary {name}"
        );
        let samples: Vec<&String> = events
            .iter()
            .filter(|e| e.starts_with(&format!("{name}.")) && e.ends_with(".json"))
            .collect();
        assert!(!samples.is_empty(), "{name}: no events/{name}.*.json");
        for sample in samples {
            let text = std::fs::read_to_string(root.join("events").join(sample)).unwrap();
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("events/{sample}: {e}"));
        }
    }
}

/// The functions may read the integration secrets where `stsync connect` writes them
/// (`secrets::INTEGRATION_SECRET_PREFIX`; the prefix is not a template parameter, as nothing
/// would write under another one).
#[test]
fn the_template_grants_the_integration_secrets_where_connect_writes_them() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = std::fs::read_to_string(root.join("infra/template.yaml")).unwrap();
    let grant = format!("secret:{}*", secrets::INTEGRATION_SECRET_PREFIX);
    let secret_grants = template.matches(":secretsmanager:").count();
    let app_key_grants = template.matches("secret:${AppKeySecretId}-*").count();
    assert_eq!(app_key_grants, 4, "each function reads the app key");
    assert_eq!(
        template.matches(grant.as_str()).count(),
        secret_grants - app_key_grants,
        "every integration secret grant is `{grant}`"
    );
    assert_eq!(secret_grants - app_key_grants, 4);
}

#[test]
fn pascal_case_names() {
    assert_eq!(pascal("poll-jobs"), "PollJobs");
    assert_eq!(pascal("call-webhook"), "CallWebhook");
}
