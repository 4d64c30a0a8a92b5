//! The sandbox over real HTTP (reqwest): auth, rate limit, lists, export feeds, admin, counters.

mod common;

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use common::*;
use serde_json::{json, Value};
use st_sandbox::{Dataset, SandboxConfig};

#[tokio::test]
async fn token_endpoint_issues_tokens_and_rejects_bad_clients() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let http = reqwest::Client::new();

    let ok: Value = http
        .post(sb.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "cid.sandbox"),
            ("client_secret", "cs1.sandbox"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token: servicetitan::wire::TokenResponse = serde_json::from_value(ok).unwrap();
    assert_eq!(token.expires_in, 900);
    assert_eq!(token.token_type, "Bearer");
    assert!(token.access_token.len() > 20);
    assert!(token
        .scope
        .as_deref()
        .unwrap()
        .split(' ')
        .any(|s| s == "tn.jpm.jobs:r"));

    for (form, expected) in [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "cid.sandbox"),
                ("client_secret", "wrong"),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "other"),
                ("client_secret", "cs1.sandbox"),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("client_id", "cid.sandbox"),
                ("client_secret", "cs1.sandbox"),
            ],
            "unsupported_grant_type",
        ),
    ] {
        let resp = http.post(sb.token_url()).form(&form).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], expected);
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn api_key_and_bearer_are_required() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let url = api.url("jpm", "jobs");

    let no_key = api
        .http
        .get(&url)
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status().as_u16(), 401);
    let body: servicetitan::wire::ApiErrorResponse = no_key.json().await.unwrap();
    assert!(body.title.unwrap().contains("ST-App-Key"));
    assert_eq!(body.status, Some(401));

    let bad_key = api
        .http
        .get(&url)
        .header("ST-App-Key", "ak1.wrong")
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_key.status().as_u16(), 401);
    let body: Value = bad_key.json().await.unwrap();
    assert!(body["title"].as_str().unwrap().contains("invalid"));

    let no_token = api
        .http
        .get(&url)
        .header("ST-App-Key", &api.app_key)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status().as_u16(), 401);

    let bad_token = api
        .http
        .get(&url)
        .header("ST-App-Key", &api.app_key)
        .bearer_auth("made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status().as_u16(), 401);
    let body: Value = bad_token.json().await.unwrap();
    assert!(body["traceId"].as_str().is_some());

    let (status, _) = api.get("jpm", "jobs", &[]).await;
    assert_eq!(status, 200);

    let wrong_tenant = api
        .http
        .get(format!("{}/jpm/v2/tenant/999/jobs", api.base))
        .header("ST-App-Key", &api.app_key)
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_tenant.status().as_u16(), 404);
    let body: Value = wrong_tenant.json().await.unwrap();
    assert_eq!(body["status"], 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_are_rejected() {
    let cfg = SandboxConfig {
        token_lifetime_secs: 1,
        ..small_config()
    };
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let (status, _) = api.get("jpm", "jobs", &[]).await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let (status, body) = api.get("jpm", "jobs", &[]).await;
    assert_eq!(status, 401);
    assert!(body["title"].as_str().unwrap().contains("expired"));
    sb.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let cfg = SandboxConfig {
        rate_limit_per_sec: Some(2),
        ..small_config()
    };
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let mut limited = None;
    for _ in 0..20 {
        let resp = api
            .http
            .get(api.url("settings", "business-units"))
            .header("ST-App-Key", &api.app_key)
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        if resp.status().as_u16() == 429 {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("20 quick requests exceed 2/s");
    assert_eq!(resp.headers().get("retry-after").unwrap(), "1");
    let body: servicetitan::wire::ApiErrorResponse = resp.json().await.unwrap();
    assert_eq!(body.status, Some(429));
    assert_eq!(body.title.as_deref(), Some("Too Many Requests"));
    sb.shutdown().await;
}

#[tokio::test]
async fn list_paging_reports_has_more_and_totals() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let active_jobs = sb.with_data(|d| d.jobs.iter().filter(|j| j.active != Some(false)).count());

    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let (status, body) = api
            .get(
                "jpm",
                "jobs",
                &[
                    ("page", page.to_string()),
                    ("pageSize", "40".into()),
                    ("includeTotal", "true".into()),
                ],
            )
            .await;
        assert_eq!(status, 200);
        let parsed: servicetitan::wire::Page<servicetitan::wire::Job> =
            serde_json::from_value(body).unwrap();
        assert_eq!(parsed.page, page);
        assert_eq!(parsed.page_size, 40);
        assert_eq!(parsed.total_count, Some(active_jobs as i32));
        assert!(
            parsed.data.iter().all(|j| j.active.is_none()),
            "list rows carry no `active`"
        );
        seen.extend(parsed.data.iter().map(|j| j.id));
        if !parsed.has_more {
            break;
        }
        page += 1;
    }
    assert_eq!(seen.len(), active_jobs);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "default order is id ascending"
    );

    let (_, body) = api.get("jpm", "jobs", &[]).await;
    assert_eq!(body["pageSize"], 50);
    assert!(body["totalCount"].is_null());
    assert_eq!(body["data"].as_array().unwrap().len(), 50);

    for bad in [
        ("page", "0"),
        ("pageSize", "5001"),
        ("pageSize", "abc"),
        ("includeTotal", "maybe"),
    ] {
        let (status, body) = api.get("jpm", "jobs", &[(bad.0, bad.1.to_owned())]).await;
        assert_eq!(status, 400, "{bad:?}");
        assert!(
            body["errors"][bad.0].is_array(),
            "{bad:?} names the parameter: {body}"
        );
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn ids_filter_and_its_limit() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let ids: Vec<i64> = sb.with_data(|d| {
        d.customers
            .iter()
            .filter(|c| c.active)
            .take(3)
            .map(|c| c.id)
            .collect()
    });
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let (status, body) = api.get("crm", "customers", &[("ids", list)]).await;
    assert_eq!(status, 200);
    assert_eq!(ids_of(&body), ids);

    let many = (1..=51)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let (status, body) = api.get("crm", "customers", &[("ids", many)]).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["ids"][0].as_str().unwrap().contains("50"));
    let fifty = (1..=50)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let (status, _) = api.get("crm", "customers", &[("ids", fifty)]).await;
    assert_eq!(status, 200);
    let (status, body) = api.get("crm", "customers", &[("ids", "1,x".into())]).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["ids"].is_array());
    sb.shutdown().await;
}

#[tokio::test]
async fn date_filters_and_sort() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let cut = cfg.now - Duration::days(30);
    let expected: BTreeSet<i64> = sb.with_data(|d| {
        d.jobs
            .iter()
            .filter(|j| j.active != Some(false) && j.modified_on >= cut)
            .map(|j| j.id)
            .collect()
    });
    let (status, body) = api
        .get(
            "jpm",
            "jobs",
            &[
                ("modifiedOnOrAfter", cut.to_rfc3339()),
                ("pageSize", "5000".into()),
                ("sort", "-ModifiedOn".into()),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let rows = body["data"].as_array().unwrap();
    let got: BTreeSet<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(got, expected);
    let mods: Vec<String> = rows
        .iter()
        .map(|r| r["modifiedOn"].as_str().unwrap().to_owned())
        .collect();
    let parsed: Vec<chrono::DateTime<Utc>> = mods.iter().map(|m| m.parse().unwrap()).collect();
    assert!(
        parsed.windows(2).all(|w| w[0] >= w[1]),
        "sorted by modifiedOn descending"
    );
    assert!(mods.iter().all(|m| m.ends_with('Z')));

    let (_, before) = api
        .get(
            "jpm",
            "jobs",
            &[
                ("modifiedBefore", cut.to_rfc3339()),
                ("pageSize", "5000".into()),
            ],
        )
        .await;
    let before: BTreeSet<i64> = ids_of(&before).into_iter().collect();
    assert!(
        before.is_disjoint(&got),
        "modifiedBefore is exclusive and complementary"
    );

    // An unencoded `+` arrives as a space; both spellings sort ascending by createdOn.
    let (status, body) = api
        .get(
            "jpm",
            "jobs",
            &[("sort", "+CreatedOn".into()), ("pageSize", "100".into())],
        )
        .await;
    assert_eq!(status, 200);
    let created: Vec<chrono::DateTime<Utc>> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["createdOn"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]));

    let (status, body) = api
        .get("jpm", "jobs", &[("modifiedOnOrAfter", "yesterday".into())])
        .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["modifiedOnOrAfter"].is_array());
    let (status, body) = api
        .get("crm", "customers", &[("sort", "+Name".into())])
        .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["sort"].is_array());
    sb.shutdown().await;
}

#[tokio::test]
async fn active_filter_semantics() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let (active, inactive) = sb.with_data(|d| {
        (
            d.customers.iter().filter(|c| c.active).count(),
            d.customers.iter().filter(|c| !c.active).count(),
        )
    });
    assert!(inactive > 0, "generated data has inactive customers");
    for (value, expected) in [
        (None, active),
        (Some("True"), active),
        (Some("any"), active + inactive),
        (Some("FALSE"), inactive),
    ] {
        let mut q = vec![
            ("pageSize", "5000".to_owned()),
            ("includeTotal", "true".to_owned()),
        ];
        if let Some(v) = value {
            q.push(("active", v.to_owned()));
        }
        let (status, body) = api.get("crm", "customers", &q).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["totalCount"].as_u64().unwrap() as usize,
            expected,
            "active={value:?}"
        );
        assert_eq!(body["data"].as_array().unwrap().len(), expected);
    }
    let (status, body) = api
        .get("crm", "customers", &[("active", "maybe".into())])
        .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["active"].is_array());
    sb.shutdown().await;
}

#[tokio::test]
async fn contacts_lists_and_single_records() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let (status, body) = api.get("crm", "customers/contacts", &[]).await;
    assert_eq!(status, 400, "needs customerIds or a modified filter");
    assert!(body["errors"]["customerIds"].is_array());

    let (customer, contact_ids): (i64, Vec<i64>) = sb.with_data(|d| {
        let c = d
            .customers
            .iter()
            .find(|c| {
                d.contacts
                    .iter()
                    .filter(|k| k.customer_id == Some(c.id))
                    .count()
                    >= 2
            })
            .unwrap();
        let ids = d
            .contacts
            .iter()
            .filter(|k| k.customer_id == Some(c.id) && k.active != Some(false))
            .map(|k| k.id)
            .collect();
        (c.id, ids)
    });
    let (status, body) = api
        .get(
            "crm",
            "customers/contacts",
            &[("customerIds", customer.to_string())],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids_of(&body), contact_ids);
    assert!(body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["customerId"] == customer));

    let (status, body) = api
        .get("crm", &format!("customers/{customer}/contacts"), &[])
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids_of(&body), contact_ids);
    assert!(body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.get("customerId").is_none()));

    let (status, body) = api.get("crm", &format!("customers/{customer}"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], customer);
    let (status, body) = api.get("crm", "customers/1", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(body["status"], 404);
    let (status, _) = api.get("crm", "customers/1/contacts", &[]).await;
    assert_eq!(status, 404);
    let job = sb.with_data(|d| d.jobs[0].clone());
    let (status, body) = api.get("jpm", &format!("jobs/{}", job.id), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["customerId"], job.customer_id);
    let (status, _) = api
        .get("crm", &format!("locations/{}", job.location_id), &[])
        .await;
    assert_eq!(status, 200);
    let (status, body) = api
        .get(
            "crm",
            "locations",
            &[("customerId", job.customer_id.to_string())],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        ids_of(&body).contains(&job.location_id) || body["data"].as_array().unwrap().is_empty()
    );
    sb.shutdown().await;
}

/// 25 customers in three groups sharing a `modifiedOn`, export pages of 4: boundaries fall inside
/// the ties, and the walk must still return every record exactly once.
fn tie_fixture() -> String {
    let mut customers = Vec::new();
    let groups = [
        ("2025-01-10T08:00:00Z", 7),
        ("2025-01-10T09:30:00.1234567Z", 10),
        ("2025-02-01T00:00:00Z", 8),
    ];
    let mut id = 3_300_100;
    for (modified, n) in groups {
        for _ in 0..n {
            // Ids deliberately not in modifiedOn order.
            id += if id % 2 == 0 { 7 } else { 3 };
            customers.push(customer_json(id, modified, id % 5 != 0));
        }
    }
    customers.reverse();
    json!({ "customers": customers }).to_string()
}

async fn walk_customers(
    api: &Api,
    from: Option<String>,
    recent: bool,
) -> (Vec<i64>, String, usize) {
    let mut ids = Vec::new();
    let mut token = from;
    let mut calls = 0;
    loop {
        let mut q = Vec::new();
        if let Some(t) = &token {
            q.push(("from", t.clone()));
        }
        if recent {
            q.push(("includeRecentChanges", "true".to_owned()));
        }
        let (status, body) = api.get("crm", "export/customers", &q).await;
        assert_eq!(status, 200, "{body}");
        calls += 1;
        let page: servicetitan::wire::ExportPage<servicetitan::wire::Customer> =
            serde_json::from_value(body).unwrap();
        ids.extend(page.data.iter().map(|c| c.id));
        token = Some(page.continue_from);
        if !page.has_more {
            break;
        }
        assert!(calls < 100, "feed must end");
    }
    (ids, token.unwrap_or_default(), calls)
}

#[tokio::test]
async fn export_walk_returns_every_record_once_across_modified_on_ties() {
    let cfg = SandboxConfig {
        export_page_size: 4,
        ..small_config()
    };
    let data = Dataset::from_fixture_json(&tie_fixture()).unwrap();
    let all: BTreeSet<i64> = data.customers.iter().map(|c| c.id).collect();
    let sb = start(cfg.clone(), data).await;
    let api = Api::connect(&sb, &cfg).await;

    let (ids, token, calls) = walk_customers(&api, None, false).await;
    assert_eq!(ids.len(), 25, "no duplicates, none skipped: {ids:?}");
    assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>(), all);
    assert_eq!(calls, 7);
    // Inactive rows are in the feed and carry `active`.
    let (_, first) = api.get("crm", "export/customers", &[]).await;
    assert!(first["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["active"].is_boolean()));

    // Caught up: the saved token gives nothing and echoes itself.
    let (_, body) = api
        .get("crm", "export/customers", &[("from", token.clone())])
        .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 0);
    assert_eq!(body["hasMore"], false);
    assert_eq!(body["continueFrom"], token.as_str());

    // Change one record through the admin surface: only it comes back on the next call.
    let changed = *all.iter().nth(5).unwrap();
    let resp = api
        .http
        .post(format!("{}/__admin/records/customers/{changed}", api.base))
        .body(json!({"name": "Changed, Name", "address": {"city": "Chicago"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let patched: Value = resp.json().await.unwrap();
    assert_eq!(patched["name"], "Changed, Name");
    assert_eq!(patched["address"]["city"], "Chicago");
    assert_eq!(patched["address"]["street"], "1 Main St");

    // Without includeRecentChanges the fresh change is held back (15 minutes).
    let (_, held) = api
        .get("crm", "export/customers", &[("from", token.clone())])
        .await;
    assert_eq!(held["data"].as_array().unwrap().len(), 0);
    assert_eq!(held["continueFrom"], token.as_str());

    let (ids, token2, _) = walk_customers(&api, Some(token.clone()), true).await;
    assert_eq!(ids, vec![changed]);
    let (ids, _, _) = walk_customers(&api, Some(token2), true).await;
    assert!(ids.is_empty());

    // `continueFrom` is tolerated as an alias of `from`.
    let (_, alias) = api
        .get(
            "crm",
            "export/customers",
            &[
                ("continueFrom", token),
                ("includeRecentChanges", "true".into()),
            ],
        )
        .await;
    assert_eq!(ids_of(&alias), vec![changed]);
    sb.shutdown().await;
}

#[tokio::test]
async fn include_recent_changes_and_from_dates() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let total_jobs = sb.with_data(|d| d.jobs.len());

    // A job modified 5 minutes ago (real clock) is held back unless includeRecentChanges=true.
    let recent_id = sb.with_data(|d| {
        let j = &mut d.jobs[3];
        j.modified_on = Utc::now() - Duration::minutes(5);
        j.id
    });
    let job_ids = |body: &Value| ids_of(body);
    let (_, body) = api.get("jpm", "export/jobs", &[]).await;
    assert_eq!(body["hasMore"], false);
    assert_eq!(job_ids(&body).len(), total_jobs - 1);
    assert!(!job_ids(&body).contains(&recent_id));
    assert!(body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["active"].is_boolean()));
    let (_, body) = api
        .get(
            "jpm",
            "export/jobs",
            &[("includeRecentChanges", "true".into())],
        )
        .await;
    assert_eq!(job_ids(&body).len(), total_jobs);
    assert_eq!(
        *job_ids(&body).last().unwrap(),
        recent_id,
        "ordered by modifiedOn"
    );

    // A date or date-time in `from` starts at that modifiedOn (inclusive).
    let day = (cfg.now - Duration::days(10)).date_naive();
    let expected = sb.with_data(|d| {
        d.jobs
            .iter()
            .filter(|j| j.modified_on.date_naive() >= day && j.id != recent_id)
            .count()
    });
    let (_, body) = api
        .get("jpm", "export/jobs", &[("from", day.to_string())])
        .await;
    assert_eq!(job_ids(&body).len(), expected);
    let (_, body2) = api
        .get(
            "jpm",
            "export/jobs",
            &[("from", format!("{day}T00:00:00Z"))],
        )
        .await;
    assert_eq!(job_ids(&body2), job_ids(&body));

    for garbage in ["not-a-token", "%%%", "Zm9vYmFy"] {
        let (status, body) = api
            .get("jpm", "export/jobs", &[("from", garbage.to_owned())])
            .await;
        assert_eq!(status, 400, "{garbage}");
        assert!(body["errors"]["from"].is_array(), "{body}");
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn request_counters_by_route_template() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let _ = api.get("jpm", "jobs", &[]).await;
    let _ = api.get("jpm", "jobs", &[("page", "2".into())]).await;
    let _ = api.get("jpm", "export/jobs", &[]).await;
    let id = sb.with_data(|d| d.customers[0].id);
    let _ = api.get("crm", &format!("customers/{id}"), &[]).await;
    let _ = api
        .http
        .get(format!("{}/__admin/health", api.base))
        .send()
        .await
        .unwrap();

    let counts = sb.request_counts();
    assert_eq!(counts.get("GET /jpm/v2/tenant/{tenant}/jobs"), Some(&2));
    assert_eq!(
        counts.get("GET /jpm/v2/tenant/{tenant}/export/jobs"),
        Some(&1)
    );
    assert_eq!(
        counts.get("GET /crm/v2/tenant/{tenant}/customers/{id}"),
        Some(&1)
    );
    assert_eq!(counts.get("POST /connect/token"), Some(&1));
    assert_eq!(
        sb.total_requests(),
        4,
        "token and admin calls are not in the total"
    );

    let admin: Value = api
        .http
        .get(format!("{}/__admin/requests", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin["total"], 4);
    assert_eq!(admin["byEndpoint"]["GET /jpm/v2/tenant/{tenant}/jobs"], 2);

    let reset = api
        .http
        .post(format!("{}/__admin/requests/reset", api.base))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    assert_eq!(sb.total_requests(), 0);
    assert!(sb.request_counts().is_empty());
    let _ = api.get("jpm", "jobs", &[]).await;
    sb.reset_counts();
    assert_eq!(sb.total_requests(), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn admin_fixture_replaces_data_and_reports_errors() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let health = api
        .http
        .get(format!("{}/__admin/health", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let resp = api
        .http
        .post(format!("{}/__admin/fixture", api.base))
        .body(tie_fixture())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let counts: Value = resp.json().await.unwrap();
    assert_eq!(counts["customers"], 25);
    assert_eq!(counts["jobs"], 0);
    let (_, body) = api.get("jpm", "jobs", &[]).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 0);
    let (_, body) = api
        .get(
            "crm",
            "customers",
            &[("active", "Any".into()), ("includeTotal", "true".into())],
        )
        .await;
    assert_eq!(body["totalCount"], 25);

    let bad = json!({"customers": [customer_json(1, "2025-01-01T00:00:00Z", true), {"id": 2, "name": "x"}]});
    let resp = api
        .http
        .post(format!("{}/__admin/fixture", api.base))
        .body(bad.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let err: Value = resp.json().await.unwrap();
    let msg = err["error"].as_str().unwrap();
    assert!(
        msg.contains("customers[1]") && msg.contains("id 2"),
        "{msg}"
    );

    let resp = api
        .http
        .post(format!("{}/__admin/records/customers/1", api.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let resp = api
        .http
        .post(format!("{}/__admin/records/widgets/1", api.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let some = sb.with_data(|d| d.customers[0].id);
    let resp = api
        .http
        .post(format!("{}/__admin/records/customers/{some}", api.base))
        .body(json!({"createdOn": "yesterday"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    sb.shutdown().await;
}

#[test]
fn fixture_errors_name_the_record_and_field() {
    let err = Dataset::from_fixture_json(r#"{"jobs": [{"id": 5, "customerId": "x"}]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("jobs[0]") && err.contains("customerId"),
        "{err}"
    );
    let err = Dataset::from_fixture_json(r#"{"job": []}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown key"), "{err}");
    let dup = json!({"customers": [customer_json(1, "2025-01-01T00:00:00Z", true), customer_json(1, "2025-01-01T00:00:00Z", true)]});
    let err = Dataset::from_fixture_json(&dup.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("duplicate"), "{err}");
    let contact = json!({"contacts": [{"id": 9, "type": "Email", "value": "a@example.com",
        "createdOn": "2025-01-01T00:00:00Z", "modifiedOn": "2025-01-01T00:00:00Z"}]});
    let err = Dataset::from_fixture_json(&contact.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("customerId"), "{err}");
    let empty = Dataset::from_fixture_json("{}").unwrap();
    assert_eq!(empty, Dataset::default());
    // Round trip through the fixture format.
    let cfg = small_config();
    let data = Dataset::generate(&cfg);
    let again = Dataset::from_fixture_json(&data.to_fixture_json().to_string()).unwrap();
    assert_eq!(again, data);
}

#[tokio::test]
async fn admin_faults_and_token_expiry() {
    let cfg = small_config();
    let sb = start_generated(cfg.clone()).await;
    let api = Api::connect(&sb, &cfg).await;
    let admin = |path: &str| format!("{}/__admin/{path}", api.base);

    let fault =
        json!({"status": 503, "times": 2, "endpoint": "GET /jpm/v2/tenant/{tenant}/export/jobs"});
    let resp = api
        .http
        .post(admin("faults"))
        .body(fault.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (status, _) = api.get("jpm", "jobs", &[]).await;
    assert_eq!(status, 200, "other endpoints are unaffected");
    for _ in 0..2 {
        let (status, body) = api.get("jpm", "export/jobs", &[]).await;
        assert_eq!(status, 503);
        assert_eq!(body["status"], 503);
    }
    let (status, _) = api.get("jpm", "export/jobs", &[]).await;
    assert_eq!(status, 200, "fault used up");

    let storm = json!({"status": 429, "times": 3, "retryAfterSecs": 2});
    api.http
        .post(admin("faults"))
        .body(storm.to_string())
        .send()
        .await
        .unwrap();
    let resp = api
        .http
        .get(api.url("crm", "customers"))
        .header("ST-App-Key", &api.app_key)
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers().get("retry-after").unwrap(), "2");
    let resp = api.http.delete(admin("faults")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (status, _) = api.get("crm", "customers", &[]).await;
    assert_eq!(status, 200, "faults cleared");

    let resp = api.http.post(admin("tokens/expire")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (status, _) = api.get("crm", "customers", &[]).await;
    assert_eq!(status, 401);
    let fresh = Api::connect(&sb, &cfg).await;
    let (status, _) = fresh.get("crm", "customers", &[]).await;
    assert_eq!(status, 200);
    sb.shutdown().await;
}
