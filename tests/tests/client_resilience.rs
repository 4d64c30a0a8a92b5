//! The ServiceTitan client against the sandbox's injected faults (SPEC.md §3 "HTTP"): 429 with
//! Retry-After, 5xx bursts, a token expiring mid-run, problem-details errors, the rate budget.

use std::time::Duration;

use chrono::Utc;
use e2e::World;
use secrecy::SecretString;
use servicetitan::client::{endpoints, ApiError, Client, ClientConfig};
use servicetitan::{BusinessUnit, Page};

async fn world() -> World {
    World::start(20, 10, 21, Utc::now()).await
}

/// The client configuration for the sandbox of `world`, with the defaults of SPEC.md §3.
fn config(world: &World) -> ClientConfig {
    ClientConfig::new(
        &world.sandbox.base_url(),
        &world.sandbox.token_url(),
        world.config.tenant_id,
        world.config.client_id.clone(),
        SecretString::from(world.config.client_secret.clone()),
        SecretString::from(world.config.app_key.clone()),
    )
    .unwrap()
}

fn client(world: &World, rps: u32) -> Client {
    let mut cfg = config(world);
    cfg.requests_per_second = rps;
    cfg.min_backoff = Duration::from_millis(10);
    cfg.max_retries = 3;
    Client::new(cfg).unwrap()
}

async fn admin(world: &World, path: &str, body: serde_json::Value) {
    let url = format!("{}/__admin/{path}", world.sandbox.base_url());
    let res = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "admin {path}: {}", res.status());
}

const BU: &str = "GET /settings/v2/tenant/{tenant}/business-units";

async fn list_business_units(c: &Client) -> Result<Page<BusinessUnit>, ApiError> {
    c.list_page(endpoints::BUSINESS_UNITS, &[], 1, 50).await
}

#[tokio::test]
async fn a_429_storm_is_waited_out_using_retry_after() {
    let w = world().await;
    let c = client(&w, 100);
    admin(
        &w,
        "faults",
        serde_json::json!({"status": 429, "times": 2, "endpoint": BU, "retryAfterSecs": 1}),
    )
    .await;
    let page = list_business_units(&c)
        .await
        .expect("succeeds after the storm");
    assert!(!page.data.is_empty());
    let stats = c.stats();
    assert_eq!(stats.throttled, 2);
    assert_eq!(stats.api_calls, 3, "two throttled tries and one good one");
}

#[tokio::test]
async fn a_5xx_burst_is_retried_with_backoff() {
    let w = world().await;
    let c = client(&w, 100);
    admin(
        &w,
        "faults",
        serde_json::json!({"status": 503, "times": 2, "endpoint": BU}),
    )
    .await;
    list_business_units(&c)
        .await
        .expect("succeeds after the burst");
    assert_eq!(c.stats().api_calls, 3);
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_max_retries_with_a_retryable_error() {
    let w = world().await;
    let c = client(&w, 100);
    admin(
        &w,
        "faults",
        serde_json::json!({"status": 500, "times": 10, "endpoint": BU}),
    )
    .await;
    let err = list_business_units(&c).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.is_retryable());
    assert_eq!(c.stats().api_calls, 4, "first try + 3 retries");
}

#[tokio::test]
async fn an_expired_token_is_renewed_once() {
    let w = world().await;
    let c = client(&w, 100);
    list_business_units(&c).await.unwrap();
    assert_eq!(c.stats().token_requests, 1);
    let url = format!("{}/__admin/tokens/expire", w.sandbox.base_url());
    reqwest::Client::new().post(url).send().await.unwrap();
    list_business_units(&c)
        .await
        .expect("a new token is fetched after the 401");
    let stats = c.stats();
    assert_eq!(stats.token_requests, 2);
    assert_eq!(stats.api_calls, 3, "one call, then a 401 and its retry");
}

#[tokio::test]
async fn a_bad_request_is_a_typed_problem_and_not_retried() {
    let w = world().await;
    let c = client(&w, 100);
    let ids: Vec<String> = (1..=51).map(|i| i.to_string()).collect();
    let err = c
        .get::<Page<BusinessUnit>>(endpoints::BUSINESS_UNITS, &[("ids", ids.join(","))])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_retryable());
    match &err {
        ApiError::Status {
            problem: Some(p), ..
        } => {
            assert!(
                p.errors.as_ref().is_some_and(|e| e.contains_key("ids")),
                "{p:?}"
            )
        }
        other => panic!("expected a problem-details status error, got {other:?}"),
    }
    assert!(err.to_string().contains("ids"), "{err}");
    assert_eq!(c.stats().api_calls, 1);
}

#[tokio::test]
async fn wrong_credentials_are_a_token_error_naming_the_oauth_error() {
    let w = world().await;
    let mut cfg = ClientConfig::new(
        &w.sandbox.base_url(),
        &w.sandbox.token_url(),
        w.config.tenant_id,
        "cid.wrong",
        SecretString::from("cs1.wrong".to_owned()),
        SecretString::from(w.config.app_key.clone()),
    )
    .unwrap();
    cfg.max_retries = 0;
    let err = list_business_units(&Client::new(cfg).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Token { status: 400, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(
        !err.to_string().contains("cs1.wrong"),
        "the secret never appears in errors"
    );
}

#[tokio::test]
async fn the_rate_budget_keeps_the_client_under_the_sandbox_limit() {
    let config = st_sandbox::SandboxConfig {
        jobs: 5,
        customers: 5,
        rate_limit_per_sec: Some(5),
        ..st_sandbox::SandboxConfig::default()
    };
    let data = st_sandbox::Dataset::generate(&config);
    let w = World::with_data(config, data).await;
    let c = client(&w, 4);
    for _ in 0..12 {
        list_business_units(&c).await.unwrap();
    }
    assert_eq!(
        c.stats().throttled,
        0,
        "a 4/s budget never meets the 5/s limit"
    );
    assert_eq!(c.stats().api_calls, 12);
}

#[tokio::test]
async fn a_429_storm_stops_after_max_retries() {
    let w = world().await;
    let c = client(&w, 100);
    admin(
        &w,
        "faults",
        serde_json::json!({"status": 429, "times": 50, "endpoint": BU, "retryAfterSecs": 0}),
    )
    .await;
    let err = list_business_units(&c).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert!(err.is_retryable());
    assert_eq!(
        c.stats().api_calls,
        4,
        "first try + 3 retries, not one per 429 forever"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_not_slept_out() {
    let w = world().await;
    let c = client(&w, 100);
    admin(
        &w,
        "faults",
        serde_json::json!({"status": 429, "times": 1, "endpoint": BU, "retryAfterSecs": 3600}),
    )
    .await;
    let err = list_business_units(&c).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert!(err.is_retryable(), "the caller may come back later");
    assert_eq!(c.stats().api_calls, 1, "no hour-long sleep, no second try");
}

/// A Lambda's calls end before its deadline (`ClientConfig::deadline`): a request that never
/// answers is cut at the deadline instead of the 30 s timeout, and no retry starts after it.
#[tokio::test]
async fn calls_end_at_the_deadline_with_a_retryable_error() {
    let w = world().await;
    let mut cfg = config(&w);
    assert_eq!(cfg.timeout, Duration::from_secs(30));
    let started = std::time::Instant::now();
    cfg.deadline = Some(started + Duration::from_millis(1500));
    let c = Client::new(cfg).unwrap();
    admin(
        &w,
        "faults",
        serde_json::json!({"hang": true, "times": 10, "endpoint": BU}),
    )
    .await;
    let err = list_business_units(&c).await.unwrap_err();
    let took = started.elapsed();
    assert!(err.is_retryable(), "{err}");
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(10),
        "ended after {took:?}"
    );
    // The hanging try was cut at the deadline, and no retry started after it.
    assert_eq!(c.stats().api_calls, 1, "{:?}", c.stats());
}
