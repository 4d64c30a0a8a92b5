//! Injected faults over HTTP (module `faults`, docs/sandbox.md): `skip`, 5xx bursts, 429 storms
//! with `Retry-After` (seconds and HTTP date), token expiry after the Nth request, held (slow)
//! requests and the held counter a test uses to "kill" an invocation, repeated export rows and
//! changes between pages.

mod common;

use common::*;
use serde_json::{json, Value};
use st_sandbox::{Changes, Fault, SandboxConfig};

const EXPORT_JOBS: &str = "GET /jpm/v2/tenant/{tenant}/export/jobs";

fn config(page: usize) -> SandboxConfig {
    SandboxConfig {
        customers: 12,
        jobs: 30,
        export_page_size: page,
        ..small_config()
    }
}

async fn post_fault(api: &Api, fault: Value) -> (u16, Value) {
    let resp = api
        .http
        .post(format!("{}/__admin/faults", api.base))
        .body(fault.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Every row id of the jobs feed from `from` to its end, and the last token.
async fn drain(api: &Api, from: &str) -> (Vec<i64>, String) {
    let mut from = from.to_owned();
    let mut ids = Vec::new();
    loop {
        let (status, body) = api
            .get(
                "jpm",
                "export/jobs",
                &[
                    ("from", from.clone()),
                    ("includeRecentChanges", "true".into()),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        ids.extend(ids_of(&body));
        from = body["continueFrom"].as_str().unwrap().to_owned();
        if body["hasMore"] != json!(true) {
            return (ids, from);
        }
    }
}

#[tokio::test]
async fn skip_lets_requests_pass_then_a_5xx_burst_applies() {
    let cfg = config(5);
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let (status, _) = post_fault(
        &api,
        json!({"endpoint": EXPORT_JOBS, "skip": 2, "status": 502, "times": 2}),
    )
    .await;
    assert_eq!(status, 200);
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (status, _) = api.get("jpm", "export/jobs", &[]).await;
        seen.push(status);
        let (other, _) = api.get("jpm", "jobs", &[]).await;
        assert_eq!(other, 200, "other endpoints neither count nor fail");
    }
    assert_eq!(seen, vec![200, 200, 502, 502, 200]);
    assert_eq!(sb.faults_applied(), 2);
    assert!(sb.pending_faults().is_empty());
    sb.shutdown().await;
}

#[tokio::test]
async fn storms_of_429_carry_retry_after_as_seconds_or_http_date() {
    let cfg = config(5);
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    post_fault(
        &api,
        json!({"status": 429, "times": 2, "retryAfterSecs": 0}),
    )
    .await;
    post_fault(
        &api,
        json!({"status": 429, "retryAfterSecs": 30, "retryAfterHttpDate": true}),
    )
    .await;
    let get = || {
        api.http
            .get(api.url("crm", "customers"))
            .header("ST-App-Key", &api.app_key)
            .bearer_auth(&api.token)
            .send()
    };
    for _ in 0..2 {
        let resp = get().await.unwrap();
        assert_eq!(resp.status().as_u16(), 429);
        assert_eq!(resp.headers()["retry-after"], "0");
    }
    let resp = get().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let date = resp.headers()["retry-after"].to_str().unwrap().to_owned();
    assert!(date.ends_with(" GMT") && date.contains(", "), "{date}");
    let at = chrono::DateTime::parse_from_rfc2822(&date.replace("GMT", "+0000")).unwrap();
    let wait = at.signed_duration_since(chrono::Utc::now()).num_seconds();
    assert!((25..=31).contains(&wait), "{wait}");
    assert_eq!(get().await.unwrap().status().as_u16(), 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn tokens_expire_after_the_nth_request() {
    let cfg = config(5);
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    post_fault(&api, json!({"expireTokens": true, "skip": 2})).await;
    assert_eq!(api.get("jpm", "jobs", &[]).await.0, 200);
    assert_eq!(api.get("crm", "customers", &[]).await.0, 200);
    let (status, body) = api.get("jpm", "jobs", &[]).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        api.get("jpm", "jobs", &[]).await.0,
        401,
        "the old token stays invalid"
    );
    let fresh = Api::connect(&sb, &cfg).await;
    assert_eq!(fresh.get("jpm", "jobs", &[]).await.0, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn held_requests_are_counted_until_answered_or_abandoned() {
    let cfg = config(5);
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    // A slow response: answered after the latency.
    sb.add_fault(Fault {
        latency_ms: 150,
        endpoint: Some(EXPORT_JOBS.into()),
        ..Fault::default()
    })
    .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(api.get("jpm", "export/jobs", &[]).await.0, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    assert_eq!(sb.held_requests(), 0);

    // A "hang" on the 2nd request: the caller gives up while it is held (a killed invocation).
    sb.add_fault(Fault {
        hang: true,
        skip: 1,
        ..Fault::default()
    })
    .unwrap();
    assert_eq!(sb.hangs_started(), 0);
    let api = std::sync::Arc::new(api);
    let a = api.clone();
    let calls = tokio::spawn(async move {
        a.get("jpm", "jobs", &[]).await;
        a.get("jpm", "jobs", &[]).await;
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sb.hangs_started() == 0 {
        assert!(std::time::Instant::now() < deadline, "the request is held");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert_eq!(sb.held_requests(), 1);
    calls.abort();
    let _ = calls.await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sb.held_requests() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "an abandoned request is no longer counted as held"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn export_pages_repeat_rows_of_the_previous_page_and_within_the_page() {
    let cfg = config(5);
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let q = |from: &str| {
        vec![
            ("from", from.to_owned()),
            ("includeRecentChanges", "true".to_owned()),
        ]
    };
    let (_, first) = api.get("jpm", "export/jobs", &q("2000-01-01")).await;
    let token = first["continueFrom"].as_str().unwrap().to_owned();
    let (_, plain) = api.get("jpm", "export/jobs", &q(&token)).await;
    post_fault(
        &api,
        json!({"endpoint": EXPORT_JOBS, "repeatRows": 2, "duplicateRows": 1}),
    )
    .await;
    let (status, repeated) = api.get("jpm", "export/jobs", &q(&token)).await;
    assert_eq!(status, 200);
    let (first_ids, plain_ids) = (ids_of(&first), ids_of(&plain));
    let mut expected = first_ids[first_ids.len() - 2..].to_vec();
    expected.extend(&plain_ids);
    expected.push(plain_ids[0]);
    assert_eq!(ids_of(&repeated), expected);
    assert_eq!(repeated["continueFrom"], plain["continueFrom"]);
    assert_eq!(repeated["hasMore"], plain["hasMore"]);
    // At the start of history there is no previous page to repeat.
    post_fault(&api, json!({"endpoint": EXPORT_JOBS, "repeatRows": 3})).await;
    let (_, again) = api.get("jpm", "export/jobs", &q("2000-01-01")).await;
    assert_eq!(ids_of(&again), first_ids);
    sb.shutdown().await;
}

#[tokio::test]
async fn records_change_between_pages() {
    let cfg = config(5);
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let (all, _) = drain(&api, "2000-01-01").await;
    // After the first page is answered, three random jobs change.
    sb.add_fault(Fault {
        endpoint: Some(EXPORT_JOBS.into()),
        changes: Some(Changes {
            resource: "jobs".into(),
            count: 3,
            ids: None,
            patch: None,
            seed: 9,
        }),
        ..Fault::default()
    })
    .unwrap();
    let (status, first) = api
        .get(
            "jpm",
            "export/jobs",
            &[
                ("from", "2000-01-01".into()),
                ("includeRecentChanges", "true".into()),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        first["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["summary"] != json!("changed between pages 1")),
        "the page itself was served before the change"
    );
    let changed: Vec<i64> = sb.with_data(|d| {
        d.jobs
            .iter()
            .filter(|j| j.summary.as_deref() == Some("changed between pages 1"))
            .map(|j| j.id)
            .collect()
    });
    assert_eq!(changed.len(), 3);
    // The rest of the feed carries every changed job (moved to the end by its new modifiedOn).
    let token = first["continueFrom"].as_str().unwrap();
    let (rest, _) = drain(&api, token).await;
    assert_eq!(&rest[rest.len() - 3..], {
        let mut tail: Vec<i64> = changed.clone();
        // Changed one after the other, in id order: the feed has them in that order too.
        tail.sort();
        tail
    });
    let mut seen: Vec<i64> = ids_of(&first);
    seen.extend(&rest);
    for id in &all {
        assert!(seen.contains(id), "job {id} is not lost");
    }

    // Exact ids and a patch, through the admin surface; unknown resources are refused.
    let id = all[0];
    let (status, _) = post_fault(
        &api,
        json!({"changes": {"resource": "jobs", "ids": [id], "patch": {"jobStatus": "Hold"}}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(api.get("jpm", "jobs", &[]).await.0, 200);
    let status_now = sb.with_data(|d| {
        d.jobs
            .iter()
            .find(|j| j.id == id)
            .unwrap()
            .job_status
            .clone()
    });
    assert_eq!(status_now, "Hold");
    let (status, body) = post_fault(&api, json!({"changes": {"resource": "gadgets"}})).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("gadgets"),
        "{body}"
    );
    let (status, _) = post_fault(&api, json!({"changes": {"resource": "jobCanceledLogs"}})).await;
    assert_eq!(status, 400);

    // GET lists what is queued.
    post_fault(&api, json!({"status": 500, "skip": 4, "times": 2})).await;
    let listed: Value = api
        .http
        .get(format!("{}/__admin/faults", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["pending"][0]["skip"], 4);
    assert_eq!(listed["pending"][0]["times"], 2);
    assert_eq!(listed["held"], 0);
    sb.shutdown().await;
}
