//! The notes endpoints over HTTP: POST and paged GET on jobs, customers and locations, 404s,
//! validation, copies, the admin list, injected faults, and the OpenAPI shapes of the answers.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::{json, Value};

async fn post(api: &Api, module: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = api
        .http
        .post(api.url(module, path))
        .header("ST-App-Key", &api.app_key)
        .bearer_auth(&api.token)
        .json(&body)
        .send()
        .await
        .expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
}

/// OpenAPI 3.0 `nullable: true` → JSON Schema `type: [T, "null"]` (the specs' only 3.0-ism the
/// note schemas use).
fn nullable(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = m.get("type").cloned() {
                    m.insert("type".into(), json!([t, "null"]));
                }
            }
            m.values_mut().for_each(nullable);
        }
        Value::Array(a) => a.iter_mut().for_each(nullable),
        _ => {}
    }
}

/// The 200 schema of `method path` in `file`, with the components embedded.
fn validator(file: &str, path: &str, method: &str) -> Option<jsonschema::Validator> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/servicetitan/openapi");
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut schema = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        ["schema"]
        .clone();
    assert!(!schema.is_null(), "no schema for {method} {path}");
    schema["components"] = json!({ "schemas": doc["components"]["schemas"].clone() });
    nullable(&mut schema);
    Some(jsonschema::validator_for(&schema).unwrap())
}

fn conforms(v: &Option<jsonschema::Validator>, body: &Value) {
    if let Some(v) = v {
        let errors: Vec<String> = v.iter_errors(body).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?} in {body}");
    }
}

#[tokio::test]
async fn notes_post_list_page_and_conform() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let (job, customer, location) = sb.with_data(|d| {
        let l = d.locations.iter().find(|l| l.active).unwrap().clone();
        (d.jobs[0].id, l.customer_id, l.id)
    });

    // Job notes: no id in the answer (Jpm.V2.NoteResponse).
    let (status, body) = post(
        &api,
        "jpm",
        &format!("jobs/{job}/notes"),
        json!({"text": "first", "pinToTop": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["text"], "first");
    assert_eq!(body["isPinned"], true);
    assert!(body.get("id").is_none());
    conforms(
        &validator(
            "tenant-jpm-v2.json",
            "/tenant/{tenant}/jobs/{id}/notes",
            "post",
        ),
        &body,
    );
    for i in 0..4 {
        post(
            &api,
            "jpm",
            &format!("jobs/{job}/notes"),
            json!({"text": format!("n{i}")}),
        )
        .await;
    }
    let (status, page1) = api
        .get(
            "jpm",
            &format!("jobs/{job}/notes"),
            &[("pageSize", "2".into()), ("includeTotal", "true".into())],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(page1["totalCount"], 5);
    assert_eq!(page1["hasMore"], true);
    assert_eq!(page1["data"][0]["text"], "first");
    conforms(
        &validator(
            "tenant-jpm-v2.json",
            "/tenant/{tenant}/jobs/{id}/notes",
            "get",
        ),
        &page1,
    );
    let (_, page3) = api
        .get(
            "jpm",
            &format!("jobs/{job}/notes"),
            &[("pageSize", "2".into()), ("page", "3".into())],
        )
        .await;
    assert_eq!(page3["hasMore"], false);
    assert_eq!(page3["data"].as_array().unwrap().len(), 1);
    assert_eq!(page3["data"][0]["text"], "n3");

    // Customer notes carry an id; addToLocations copies to the active locations.
    let (status, body) = post(
        &api,
        "crm",
        &format!("customers/{customer}/notes"),
        json!({"text": "to the customer", "addToLocations": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id"].as_i64().is_some());
    conforms(
        &validator(
            "tenant-crm-v2.json",
            "/tenant/{tenant}/customers/{id}/notes",
            "post",
        ),
        &body,
    );
    let (_, loc_notes) = api
        .get("crm", &format!("locations/{location}/notes"), &[])
        .await;
    assert!(loc_notes["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["text"] == "to the customer"));
    conforms(
        &validator(
            "tenant-crm-v2.json",
            "/tenant/{tenant}/locations/{id}/notes",
            "get",
        ),
        &loc_notes,
    );
    let (status, body) = post(
        &api,
        "crm",
        &format!("locations/{location}/notes"),
        json!({"text": "gate code"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    conforms(
        &validator(
            "tenant-crm-v2.json",
            "/tenant/{tenant}/locations/{id}/notes",
            "post",
        ),
        &body,
    );

    // The admin list has them all, with their records.
    let admin: Value = reqwest::get(format!("{}/__admin/notes?kind=job", sb.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin["notes"].as_array().unwrap().len(), 5);
    assert_eq!(
        admin["notes"][0]["target"],
        json!({"kind": "job", "id": job})
    );
    assert!(sb.notes().len() >= 7);
    assert_eq!(
        sb.request_counts()
            .get("POST /jpm/v2/tenant/{tenant}/jobs/{id}/notes")
            .copied(),
        Some(5)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn unknown_records_bad_bodies_and_faults() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let job = sb.with_data(|d| d.jobs[0].id);

    for (module, path) in [
        ("jpm", "jobs/1/notes"),
        ("crm", "customers/1/notes"),
        ("crm", "locations/1/notes"),
    ] {
        let (status, body) = post(&api, module, path, json!({"text": "x"})).await;
        assert_eq!(status, 404, "{path}: {body}");
        let (status, _) = api.get(module, path, &[]).await;
        assert_eq!(status, 404, "GET {path}");
    }
    let (status, body) = post(
        &api,
        "jpm",
        &format!("jobs/{job}/notes"),
        json!({"text": "  "}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["text"].is_array(), "{body}");
    let (status, body) = post(
        &api,
        "jpm",
        &format!("jobs/{job}/notes"),
        json!({"text": 5}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["text"].is_array(), "{body}");

    // Injected faults apply to the notes routes like to every API path.
    let fault = json!({"status": 503, "times": 1, "endpoint": "POST /jpm/v2/tenant/{tenant}/jobs/{id}/notes"});
    reqwest::Client::new()
        .post(format!("{}/__admin/faults", sb.base_url()))
        .json(&fault)
        .send()
        .await
        .unwrap();
    let (status, _) = post(
        &api,
        "jpm",
        &format!("jobs/{job}/notes"),
        json!({"text": "a"}),
    )
    .await;
    assert_eq!(status, 503);
    let (status, _) = post(
        &api,
        "jpm",
        &format!("jobs/{job}/notes"),
        json!({"text": "a"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sb.notes().len(), 1, "the faulted POST stored nothing");

    reqwest::Client::new()
        .delete(format!("{}/__admin/notes", sb.base_url()))
        .send()
        .await
        .unwrap();
    assert!(sb.notes().is_empty());
    sb.shutdown().await;
}
