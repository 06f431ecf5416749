//! Per-token rate limits against a running `annals-server`: over the burst a token gets
//! `429 rate_limited` with `Retry-After` and `retryAfterMs`, before its body is read and with
//! nothing written; other tokens (of the same tenant or another) keep their own buckets;
//! after the wait the token is served again; unauthenticated requests do not drain a bucket;
//! a notice stream costs one request, at connect.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use support::client::{append, event, push_of, Client, Reply};
use support::{database, unique, ServerProcess};

/// One event's push.
fn one(n: u32) -> serde_json::Value {
    push_of(vec![append("s", json!("any"), vec![event(n, json!(n))])])
}

/// Asserts `reply` is the 429 of the wire contract; its `retryAfterMs`.
fn assert_rate_limited(reply: &Reply, retry_after_header: Option<&str>) -> u64 {
    assert_eq!(reply.status, 429, "{}", reply.text);
    assert_eq!(reply.json["error"], "rate_limited", "{}", reply.text);
    assert!(reply.json["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", reply.text);
    let ms = reply.json["retryAfterMs"].as_u64().unwrap_or_else(|| panic!("retryAfterMs: {}", reply.text));
    assert!((1..=1000).contains(&ms), "at 1 request per second the wait is at most 1 s: {ms}");
    // Whole seconds, rounded up.
    assert_eq!(retry_after_header, Some(ms.div_ceil(1000).to_string().as_str()));
    ms
}

async fn send_with_header(client: &Client, request: reqwest::RequestBuilder) -> (Reply, Option<String>) {
    let response = request.timeout(Duration::from_secs(60)).send().await.expect("request");
    let header = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let _ = client;
    (Reply { status, json: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null), text }, header)
}

fn push_request(client: &Client, body: &serde_json::Value) -> reqwest::RequestBuilder {
    client.build(Method::POST, "/v1/push").header("content-type", "application/json").body(serde_json::to_vec(body).unwrap())
}

#[tokio::test]
async fn over_the_burst_a_token_is_told_to_wait_and_nothing_is_written() {
    let (tenant, other_tenant) = (unique("rate"), unique("rate-other"));
    let server = ServerProcess::start(
        database(),
        &[("token-a", &tenant), ("token-a2", &tenant), ("token-a3", &tenant), ("token-b", &other_tenant)],
        &["--rate-limit", "1,3"],
    );
    let a = Client::new(&server.url, Some("token-a"));
    let a2 = Client::new(&server.url, Some("token-a2"));
    let b = Client::new(&server.url, Some("token-b"));
    // Unknown tokens are refused 401, as cheaply as before, and drain no bucket.
    for _ in 0..10 {
        let wrong = Client::new(&server.url, Some("token-x"));
        assert_eq!(wrong.push(&one(99)).await.status, 401);
    }
    for n in 1..=3 {
        let reply = a.push(&one(n)).await;
        assert_eq!(reply.status, 200, "request {n} of the burst: {}", reply.text);
    }
    // Burst + 1: refused, whatever the body (not read: a malformed one is not a 400, an
    // oversized declared one not a 413).
    let (reply, header) = send_with_header(&a, push_request(&a, &one(4))).await;
    let wait = assert_rate_limited(&reply, header.as_deref());
    let (reply, header) = send_with_header(&a, a.build(Method::POST, "/v1/push").header("content-type", "application/json").body("{not json")).await;
    assert_rate_limited(&reply, header.as_deref());
    let (reply, header) = send_with_header(&a, a.build(Method::GET, "/v1/pull?after=garbage")).await;
    assert_rate_limited(&reply, header.as_deref());
    // A wrong token is still 401 (authentication first), not 429.
    assert_eq!(Client::new(&server.url, Some("token-y")).push(&one(98)).await.status, 401);
    // Another token of the same tenant has its own bucket, and sees that event 4 was not
    // written; so has a token of another tenant.
    let (events, head) = a2.pull_all().await;
    assert_eq!((events.len(), head), (3, 3), "the refused push wrote nothing");
    assert_eq!(b.push(&one(1)).await.status, 200);
    // After the wait, the token is served again (one request: the rate is 1 per second).
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let reply = a.push(&one(4)).await;
    assert_eq!(reply.status, 200, "after {wait} ms: {}", reply.text);
    // (Read with a third token: `pull_all` takes two requests, a2 has one left.)
    assert_eq!(Client::new(&server.url, Some("token-a3")).pull_all().await.1, 4);
}

#[tokio::test]
async fn a_notice_stream_costs_one_request_at_connect() {
    let tenant = unique("rate-sse");
    let server = ServerProcess::start(database(), &[("token-n", &tenant), ("token-w", &tenant)], &["--rate-limit", "1,2"]);
    let n = Client::new(&server.url, Some("token-n"));
    let w = Client::new(&server.url, Some("token-w"));
    let mut notices = n.notices().await; // 1
    assert_eq!(notices.next_head().await, Some(0));
    assert_eq!(n.pull(0, 10).await["head"], 0); // 2
    let (reply, header) = send_with_header(&n, n.build(Method::GET, "/v1/notices")).await;
    assert_rate_limited(&reply, header.as_deref());
    // The open stream is not cut off: it announces the pushes of another token.
    for k in 1..=2 {
        assert_eq!(w.push(&one(k)).await.status, 200);
        assert_eq!(notices.wait_for(u64::from(k)).await, u64::from(k));
    }
}
