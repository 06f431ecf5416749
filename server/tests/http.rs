//! The wire protocol against a running `annals-server` on PostgreSQL: authentication and
//! tenant isolation, limits, malformed input, idempotent retries, refusals, pull paging,
//! ordering under concurrent writers, notices across processes, CORS, the command line.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::client::{append, event, id, push_of, Client};
use support::{database, unique, ServerProcess};

/// A server with one tenant; its client.
fn server(args: &[&str]) -> (ServerProcess, Client) {
    let tenant = unique("t");
    let server = ServerProcess::start(database(), &[("secret-1", &tenant)], args);
    let client = Client::new(&server.url, Some("secret-1"));
    (server, client)
}

/// A push or pull reply without the `limits` every reply carries (asserted on its own).
fn without_limits(reply: &Value) -> Value {
    let mut reply = reply.clone();
    reply.as_object_mut().map(|o| o.remove("limits"));
    reply
}

async fn head(client: &Client) -> u64 {
    client.pull(0, 1).await["head"].as_u64().expect("head")
}

#[tokio::test]
async fn no_token_or_a_wrong_one_is_401_and_writes_nothing() {
    let (server, client) = server(&[]);
    let body = push_of(vec![append("s", json!("any"), vec![event(1, json!(1))])]);
    for token in [None, Some("wrong"), Some("secret-1x"), Some("")] {
        let other = Client::new(&server.url, token);
        let reply = other.push(&body).await;
        assert_eq!(reply.status, 401, "{token:?}");
        assert_eq!(reply.json["error"], "unauthorized");
        for path in ["/v1/pull", "/v1/notices"] {
            let reply = other.send(other.build(Method::GET, path)).await;
            assert_eq!((reply.status, reply.json["error"].as_str()), (401, Some("unauthorized")), "{path}");
        }
    }
    // Another scheme with the right secret is no bearer token.
    let basic = reqwest::Client::new()
        .post(format!("{}/v1/push", server.url))
        .header("authorization", "Basic secret-1")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap());
    assert_eq!(client.send(basic).await.status, 401);
    assert_eq!(head(&client).await, 0, "nothing was written");
    let health = Client::new(&server.url, None).send(Client::new(&server.url, None).build(Method::GET, "/v1/health")).await;
    assert_eq!((health.status, health.json.clone()), (200, json!({ "ok": true })));
}

#[tokio::test]
async fn a_token_reaches_its_own_tenant_only() {
    let (a, b) = (unique("a"), unique("b"));
    let server = ServerProcess::start(database(), &[("token-a", &a), ("token-b", &b), ("token-a2", &a)], &[]);
    let (client_a, client_b, client_a2) = (
        Client::new(&server.url, Some("token-a")),
        Client::new(&server.url, Some("token-b")),
        Client::new(&server.url, Some("token-a2")),
    );
    let reply = client_a.push(&push_of(vec![append("Cart-1", json!("no_stream"), vec![event(1, json!("a"))])])).await;
    assert_eq!(reply.json["outcomes"][0]["status"], "accepted");
    // B sees nothing of A, and its own stream of the same name is its own.
    assert_eq!(client_b.pull_all().await, (vec![], 0));
    let reply = client_b.push(&push_of(vec![append("Cart-1", json!("no_stream"), vec![event(1, json!("b"))])])).await;
    assert_eq!(reply.json["outcomes"][0], json!({ "status": "accepted", "nextExpectedVersion": 1, "position": 1, "repeat": false }));
    let (events_a, head_a) = client_a.pull_all().await;
    let (events_b, _) = client_b.pull_all().await;
    assert_eq!((events_a.len(), head_a, events_a[0]["data"].clone()), (1, 1, json!("a")));
    assert_eq!(events_b[0]["data"], "b");
    // Two tokens of one tenant reach the same log.
    assert_eq!(client_a2.pull_all().await.0, events_a);
}

#[tokio::test]
async fn over_the_limits_is_413_with_the_limits_and_writes_nothing() {
    let (_server, client) = server(&["--max-body-bytes", "2000", "--max-appends", "2", "--max-events", "3", "--max-event-bytes", "500"]);
    let limits = json!({ "maxBodyBytes": 2000, "maxAppends": 2, "maxEvents": 3, "maxEventBytes": 500 });
    let one = |n: u32, stream: &str| append(stream, json!("any"), vec![event(n, json!(n))]);
    let cases = [
        ("body", push_of(vec![append("s", json!("any"), vec![event(1, json!("x".repeat(2100)))])])),
        ("appends", push_of(vec![one(1, "a"), one(2, "b"), one(3, "c")])),
        ("events", push_of(vec![append("s", json!("any"), (1..=4).map(|n| event(n, json!(n))).collect())])),
    ];
    for (what, body) in &cases {
        let reply = client.push(body).await;
        assert_eq!(reply.status, 413, "{what}: {}", reply.text);
        assert_eq!(reply.json["error"], "too_large", "{what}");
        assert_eq!(reply.json["limits"], limits, "{what}");
    }
    // A body sent without a length (chunked) is cut off at the limit too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(b"{\"appends\":[".to_vec()), Ok(vec![b' '; 3000]), Ok(b"]}".to_vec())];
    let reply = client.push_raw(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))).await;
    assert_eq!((reply.status, reply.json["error"].as_str()), (413, Some("too_large")));
    // An event over maxEventBytes is invalid, as in the browser.
    let reply = client.push(&push_of(vec![append("s", json!("any"), vec![event(1, json!("y".repeat(600)))])])).await;
    assert_eq!((reply.status, reply.json["field"].as_str()), (400, Some("appends[0].events[0]")));
    assert_eq!(head(&client).await, 0, "nothing was written");
    // At the limits, a push goes through; its reply and pull replies say the limits too, for
    // clients to pack their pushes under them.
    let reply = client.push(&push_of(vec![one(1, "a"), append("b", json!("any"), vec![event(2, json!(2)), event(3, json!(3))])])).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["limits"], limits);
    assert_eq!(client.pull(0, 10).await["limits"], limits);
}

#[tokio::test]
async fn a_body_well_over_the_limit_still_gets_its_413_not_a_broken_connection() {
    // The server reads and drops the rest of a body it refuses (up to a bound), so a client
    // still sending it receives the 413 and the limits rather than a reset connection.
    let (_server, client) = server(&["--max-body-bytes", "2000"]);
    let big = push_of(vec![append("s", json!("any"), vec![event(1, json!("x".repeat(1 << 20)))])]);
    for round in 0..5 {
        let reply = client.push(&big).await;
        assert_eq!((reply.status, reply.json["error"].as_str()), (413, Some("too_large")), "round {round}");
        assert_eq!(reply.json["limits"]["maxBodyBytes"], 2000);
        // Sent without a length: cut off at the limit, the rest read and dropped too.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(b"{\"appends\":[".to_vec()), Ok(vec![b' '; 1 << 20]), Ok(b"]}".to_vec())];
        let reply = client.push_raw(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))).await;
        assert_eq!((reply.status, reply.json["error"].as_str()), (413, Some("too_large")), "chunked, round {round}");
    }
    assert_eq!(head(&client).await, 0, "nothing was written");
}

#[tokio::test]
async fn malformed_requests_are_400_naming_the_field_and_write_nothing() {
    let (server, client) = server(&[]);
    let valid = || append("s", json!("any"), vec![event(1, json!(1))]);
    let mut unknown = valid();
    unknown["tenant"] = json!("other");
    let mut wrong_type = valid();
    wrong_type["events"][0]["type"] = json!(7);
    let mut bad_expected = valid();
    bad_expected["expectedVersion"] = json!("maybe");
    let mut bad_id = valid();
    bad_id["events"][0]["id"] = json!("0000");
    let mut empty_type = valid();
    empty_type["events"][0]["type"] = json!("");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "body"),
        (b"{\"appends\":[".to_vec(), "appends"),
        (br#"{"appends":{}}"#.to_vec(), "appends"),
        (serde_json::to_vec(&push_of(vec![valid(), unknown])).unwrap(), "appends[1].tenant"),
        (serde_json::to_vec(&push_of(vec![wrong_type])).unwrap(), "appends[0].events[0].type"),
        (serde_json::to_vec(&push_of(vec![bad_expected])).unwrap(), "appends[0].expectedVersion"),
        (serde_json::to_vec(&push_of(vec![bad_id])).unwrap(), "appends[0].events[0].id"),
        (serde_json::to_vec(&push_of(vec![valid(), empty_type])).unwrap(), "appends[1].events[0].type"),
        (serde_json::to_vec(&push_of(vec![])).unwrap(), "appends"),
        (vec![0xff, 0xfe], "body"),
    ];
    for (body, field) in cases {
        let reply = client.push_raw(body.clone()).await;
        assert_eq!(reply.status, 400, "{}: {}", String::from_utf8_lossy(&body), reply.text);
        assert_eq!(reply.json["error"], "invalid_request");
        assert_eq!(reply.json["field"], field, "{}", reply.text);
        assert!(reply.json["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Not declared JSON: 415.
    let plain = client.build(Method::POST, "/v1/push").header("content-type", "text/plain").body(serde_json::to_vec(&push_of(vec![valid()])).unwrap());
    let reply = client.send(plain).await;
    assert_eq!((reply.status, reply.json["error"].as_str()), (415, Some("unsupported_media_type")));
    // Bad pulls, unknown routes and methods: JSON errors too.
    for (method, path, status, code) in [
        (Method::GET, "/v1/pull?after=-1", 400, "invalid_request"),
        (Method::GET, "/v1/pull?limit=0", 400, "invalid_request"),
        (Method::GET, "/v1/pull?tenant=x", 400, "invalid_request"),
        (Method::GET, "/v1/nothing", 404, "not_found"),
        (Method::GET, "/v1/push", 405, "method_not_allowed"),
        (Method::DELETE, "/v1/pull", 405, "method_not_allowed"),
    ] {
        let reply = client.send(client.build(method.clone(), path)).await;
        assert_eq!((reply.status, reply.json["error"].as_str()), (status, Some(code)), "{method} {path}: {}", reply.text);
    }
    assert_eq!(head(&client).await, 0, "nothing was written");
    drop(server);
}

#[tokio::test]
async fn a_retried_push_is_answered_with_the_original_result_and_writes_nothing() {
    let (_server, client) = server(&[]);
    let body = push_of(vec![
        append("Cart-1", json!("no_stream"), vec![event(1, json!({ "sku": "tea", "qty": 2 })), event(2, json!(null))]),
        append("Cart-2", json!(0), vec![event(3, json!([1, 2.5, "x"]))]),
    ]);
    let first = client.push(&body).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        without_limits(&first.json),
        json!({ "outcomes": [
            { "status": "accepted", "nextExpectedVersion": 2, "position": 2, "repeat": false },
            { "status": "accepted", "nextExpectedVersion": 1, "position": 3, "repeat": false }
        ], "head": 3 })
    );
    // The stream moves on; the retry (same expectations) still gets the original result.
    client.push(&push_of(vec![append("Cart-1", json!("any"), vec![event(4, json!(4))])])).await;
    let retry = client.push(&body).await;
    assert_eq!(
        without_limits(&retry.json),
        json!({ "outcomes": [
            { "status": "accepted", "nextExpectedVersion": 2, "position": 2, "repeat": true },
            { "status": "accepted", "nextExpectedVersion": 1, "position": 3, "repeat": true }
        ], "head": 4 })
    );
    let (events, head) = client.pull_all().await;
    assert_eq!(head, 4);
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id(1), id(2), id(3), id(4)], "nothing duplicated");
    // The same id with other content is a duplicate, named, with the stream's version.
    let other = client.push(&push_of(vec![append("Cart-1", json!("any"), vec![event(1, json!({ "qty": 2, "sku": "tea" }))])])).await;
    assert_eq!(
        other.json["outcomes"][0],
        json!({ "status": "refused", "reason": "duplicate_event_id", "id": id(1), "actual": 3 })
    );
    assert_eq!(client.pull_all().await.1, 4);
}

#[tokio::test]
async fn a_stream_stops_at_its_first_refusal_in_a_push() {
    let (_server, client) = server(&[]);
    let reply = client
        .push(&push_of(vec![
            append("a", json!(5), vec![event(1, json!(1))]),
            append("b", json!("any"), vec![event(2, json!(2))]),
            append("a", json!("any"), vec![event(3, json!(3))]),
            append("b", json!(1), vec![event(4, json!(4))]),
            append("c", json!("stream_exists"), vec![event(5, json!(5))]),
        ]))
        .await;
    assert_eq!(
        without_limits(&reply.json),
        json!({ "outcomes": [
            { "status": "refused", "reason": "wrong_expected_version", "expected": 5, "actual": 0 },
            { "status": "accepted", "nextExpectedVersion": 1, "position": 1, "repeat": false },
            { "status": "skipped" },
            { "status": "accepted", "nextExpectedVersion": 2, "position": 2, "repeat": false },
            { "status": "refused", "reason": "wrong_expected_version", "expected": "stream_exists", "actual": 0 }
        ], "head": 2 })
    );
}

#[tokio::test]
async fn pull_pages_hold_whole_appends_contiguously_with_data_as_sent() {
    let (_server, client) = server(&[]);
    let sizes = [3u32, 1, 5, 2, 4];
    let mut n = 0;
    let mut ends = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let events = (0..*size)
            .map(|_| {
                n += 1;
                event(n, json!({ "z": n, "a": 0.1, "nested": { "y": [true, null], "b": -0.0 }, "big": 9007199254740991u64 }))
            })
            .collect();
        client.push(&push_of(vec![append(&format!("s{}", i % 2), json!("any"), events)])).await;
        ends.push(n as u64);
    }
    for limit in [1, 2, 4, 7, 100] {
        let mut after = 0;
        let mut seen = Vec::new();
        loop {
            let page = client.pull(after, limit).await;
            assert_eq!(page["head"], 15);
            let events = page["events"].as_array().unwrap();
            if events.is_empty() {
                break;
            }
            let positions: Vec<u64> = events.iter().map(|e| e["position"].as_u64().unwrap()).collect();
            assert_eq!(positions, (after + 1..=after + positions.len() as u64).collect::<Vec<_>>(), "contiguous");
            let last = *positions.last().unwrap();
            // At most `limit` events, unless the append holding the limit-th is longer: then
            // up to that append's last event, and no further.
            let limit_th = (after + limit).min(15);
            let end_of_its_append = *ends.iter().find(|&&e| e >= limit_th).unwrap();
            assert_eq!(last, end_of_its_append, "limit {limit}, after {after}");
            seen.extend(positions);
            after = last;
        }
        assert_eq!(seen, (1..=15).collect::<Vec<_>>(), "limit {limit}");
    }
    // Data comes back as sent: keys in order, integers as integers.
    let page = client.pull(0, 1).await;
    let first = &page["events"][0];
    assert_eq!(first["id"], id(1));
    assert_eq!(first["recordedAt"], 1764374400000u64);
    assert_eq!((first["stream"].as_str(), first["type"].as_str(), first["version"].as_u64()), (Some("s0"), Some("Happened"), Some(1)));
    let text = client.send(client.build(Method::GET, "/v1/pull?limit=1")).await.text;
    assert!(
        text.contains(r#""data":{"z":1,"a":0.1,"nested":{"y":[true,null],"b":0},"big":9007199254740991},"metadata":{}"#),
        "{text}"
    );
    // Beyond the head: no events, the head.
    assert_eq!(without_limits(&client.pull(99, 10).await), json!({ "events": [], "head": 15 }));
}

#[tokio::test]
async fn concurrent_writers_and_a_poller_see_one_gapless_order() {
    const WRITERS: u32 = 8;
    const PUSHES: u32 = 12;
    let (_server, client) = server(&[]);
    let writers = (0..WRITERS).map(|w| {
        let client = client.clone();
        tokio::spawn(async move {
            let mut pushed = Vec::new();
            for p in 0..PUSHES {
                let n = |k: u32| 100_000 * (w + 1) + 100 * p + k;
                // Batches of 1 and 10: one event; ten appends of one; one append of ten.
                let appends = match p % 3 {
                    0 => vec![append(&format!("w{w}"), json!("any"), vec![event(n(0), json!(n(0)))])],
                    1 => (0..10).map(|k| append(&format!("w{w}-{k}"), json!("any"), vec![event(n(k), json!(n(k)))])).collect(),
                    _ => vec![append(&format!("w{w}"), json!("any"), (0..10).map(|k| event(n(k), json!(n(k)))).collect())],
                };
                let reply = client.push(&push_of(appends.clone())).await;
                assert_eq!(reply.status, 200, "{}", reply.text);
                assert!(reply.json["outcomes"].as_array().unwrap().iter().all(|o| o["status"] == "accepted"));
                pushed.extend(appends.iter().flat_map(|a| a["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned())));
            }
            pushed
        })
    });
    let writers: Vec<_> = writers.collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (client, done) = (client.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen: Vec<(u64, String)> = Vec::new();
            loop {
                // Read the flag before pulling: a pull that starts after the writers finished
                // and finds nothing new means the poller has everything.
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let after = seen.last().map_or(0, |(p, _)| *p);
                let page = client.pull(after, 7).await;
                let events = page["events"].as_array().unwrap();
                for e in events {
                    seen.push((e["position"].as_u64().unwrap(), e["id"].as_str().unwrap().to_owned()));
                }
                if finished && events.is_empty() {
                    return seen;
                }
            }
        })
    };
    let mut pushed = Vec::new();
    for writer in writers {
        pushed.extend(writer.await.expect("writer"));
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = poller.await.expect("poller");
    let (log, head) = client.pull_all().await;
    let total = (WRITERS * (PUSHES / 3) * 21) as u64;
    assert_eq!(head, total);
    let log: Vec<(u64, String)> =
        log.iter().map(|e| (e["position"].as_u64().unwrap(), e["id"].as_str().unwrap().to_owned())).collect();
    assert_eq!(log.iter().map(|(p, _)| *p).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>(), "gapless");
    assert_eq!(seen, log, "the poller saw the final log, in order, none skipped");
    let mut logged: Vec<&String> = log.iter().map(|(_, id)| id).collect();
    let mut pushed: Vec<&String> = pushed.iter().collect();
    logged.sort();
    pushed.sort();
    assert_eq!(logged, pushed, "every pushed event once");
}

#[tokio::test]
async fn a_push_through_one_process_is_announced_by_another() {
    let tenant = unique("n");
    let a = ServerProcess::start(database(), &[("s", &tenant)], &[]);
    let b = ServerProcess::start(database(), &[("s", &tenant)], &[]);
    let (client_a, client_b) = (Client::new(&a.url, Some("s")), Client::new(&b.url, Some("s")));
    let mut notices = client_b.notices().await;
    assert_eq!(notices.next_head().await, Some(0), "the current head on connect");
    let reply = client_a.push(&push_of(vec![append("s", json!("any"), vec![event(1, json!(1)), event(2, json!(2))])])).await;
    assert_eq!(reply.json["head"], 2);
    assert_eq!(notices.wait_for(2).await, 2);
    // A late subscriber gets the current head at once.
    assert_eq!(client_a.notices().await.next_head().await, Some(2));
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully_ending_notice_streams() {
    let (server, client) = server(&[]);
    let mut notices = client.notices().await;
    assert_eq!(notices.next_head().await, Some(0));
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert_eq!(notices.next_head().await, None, "the stream ended");
}

#[tokio::test]
async fn cors_answers_only_the_allowed_origins() {
    let (open, _) = server(&["--allow-origin", "http://app.example:5173"]);
    let (closed, _) = server(&[]);
    let preflight = |url: &str, origin: &str| {
        reqwest::Client::new()
            .request(Method::OPTIONS, format!("{url}/v1/push"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
    };
    let allowed = preflight(&open.url, "http://app.example:5173").await.unwrap();
    assert_eq!(allowed.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap()), Some("http://app.example:5173"));
    let methods = allowed.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
    assert!(methods.contains("POST") && methods.contains("GET"), "{methods}");
    let headers = allowed.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
    for (url, origin) in [(&open.url, "http://evil.example"), (&closed.url, "http://app.example:5173")] {
        let refused = preflight(url, origin).await.unwrap();
        assert!(refused.headers().get("access-control-allow-origin").is_none(), "{url} {origin}");
    }
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_annals-server"))
            .args(args)
            .env_remove("ANNALS_TOKENS")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    for (args, says) in [
        (&["--database-url", "postgres://x"][..], "no token"),
        (&["--token", "s=t"][..], "no database"),
        (&["--token", "s=t", "--database-url", "u", "--max-events", "-3"][..], "not a positive integer"),
        (&["--frobnicate"][..], "unknown argument"),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says) && stderr.contains("usage:"), "{args:?}: {stderr}");
    }
    let help = run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--database-url"));
    // Unreachable database: exit 1, saying so.
    let out = run(&["--token", "s=t", "--database-url", "postgres://postgres@127.0.0.1:1/none", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("database"));
}
