//! Hostile requests against a running `annals-server` on a private PostgreSQL: more than
//! 10,000 malformed or hostile requests from a seeded generator (the seed is printed; set
//! `ANNALS_HOSTILE_SEED` to replay one), sent over raw TCP so that nothing is normalized on
//! the way (methods, paths, headers, bodies, invalid UTF-8, slow bodies).
//!
//! Every request must be answered `4xx` with a JSON body `{ error, message }`, or, for a
//! well-formed push that is only semantically hostile (the same ids with other content,
//! expected-version games, another tenant's names), `200` with every append refused, skipped
//! or a repeat of the stored one. Requests malformed below HTTP (a garbage request line,
//! header bytes HTTP forbids, oversized headers) can only get hyper's bare `4xx` or a closed
//! connection: those are counted apart. Never a `5xx`, never a hang, never a panic (the
//! process still serves afterwards), never a write: both tenants' rows (events, streams,
//! head) and every table's row count are compared in PostgreSQL before and after.
//!
//! The figures go to `target/reliability/rows/hostile.json`.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::client::{append, event, id, push_of, Client};
use support::{database, unique, ServerProcess};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A small, seeded PRNG (xorshift64*): the same seed, the same requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One request, as bytes on the wire.
#[derive(Clone, Debug)]
struct Request {
    category: &'static str,
    method: Vec<u8>,
    target: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    /// Below HTTP: hyper may answer a bare status or close.
    raw: bool,
}

impl Request {
    fn new(category: &'static str, method: &str, target: &str) -> Request {
        Request {
            category,
            method: method.into(),
            target: target.into(),
            headers: Vec::new(),
            body: Vec::new(),
            raw: false,
        }
    }
    fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }
    fn token(self, token: &str) -> Request {
        self.header("authorization", format!("Bearer {token}"))
    }
    fn json(self, body: impl Into<Vec<u8>>) -> Request {
        let mut r = self.header("content-type", "application/json");
        r.body = body.into();
        r
    }
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 256);
        out.extend_from_slice(&self.method);
        out.push(b' ');
        out.extend_from_slice(&self.target);
        out.extend_from_slice(b" HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        if !self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(b"content-length") || n.eq_ignore_ascii_case(b"transfer-encoding")) {
            out.extend_from_slice(format!("content-length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// What came back.
#[derive(Debug)]
enum Answer {
    /// A status, the headers (lower-case names) and the body (de-chunked).
    Reply { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// The connection closed without a reply.
    Closed,
}

/// How long any one request may take before it counts as a hang (a guard, not a timing
/// assertion: replies normally come in milliseconds).
const HANG: Duration = Duration::from_secs(30);

async fn send(address: &str, bytes: Vec<u8>) -> Answer {
    let stream = TcpStream::connect(address).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    // Write while reading: the server may answer (413) before the body is all sent.
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&bytes).await;
        let _ = write.flush().await;
        write
    });
    let mut buffer = Vec::new();
    let result = tokio::time::timeout(HANG, read.read_to_end(&mut buffer)).await;
    assert!(result.is_ok(), "no answer in {} s (a hang)", HANG.as_secs());
    drop(writer.await);
    parse(&buffer)
}

fn parse(buffer: &[u8]) -> Answer {
    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else { return Answer::Closed };
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = buffer[end + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")) {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap_or("0").trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            let start = line_end + 2;
            out.extend_from_slice(&rest[start..(start + size).min(rest.len())]);
            rest = &rest[(start + size + 2).min(rest.len())..];
        }
        body = out;
    }
    Answer::Reply { status, headers, body }
}

/// The stored state of a tenant, and the row count of every table.
async fn state(url: &str, tenants: &[&str]) -> Vec<String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let mut out = Vec::new();
    for table in ["tenants", "streams", "events", "snapshots", "subscription_checkpoints"] {
        let n: i64 = client.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
        out.push(format!("{table}: {n} rows"));
    }
    for name in tenants {
        let row = client.query_one("SELECT id, head FROM tenants WHERE name = $1", &[name]).await.expect("tenant");
        let (tenant, head): (i64, i64) = (row.get(0), row.get(1));
        out.push(format!("{name}: head {head}"));
        for row in client
            .query(
                "SELECT position, id::text, stream, version, type, data::text, metadata::text, recorded_at, append_end, committed_at::text \
                 FROM events WHERE tenant = $1 ORDER BY position",
                &[&tenant],
            )
            .await
            .unwrap()
        {
            out.push(format!(
                "event {} {} {:?} v{} {:?} {} {} {} {} {}",
                row.get::<_, i64>(0),
                row.get::<_, String>(1),
                row.get::<_, String>(2),
                row.get::<_, i64>(3),
                row.get::<_, String>(4),
                row.get::<_, String>(5),
                row.get::<_, String>(6),
                row.get::<_, f64>(7),
                row.get::<_, i64>(8),
                row.get::<_, String>(9)
            ));
        }
        for row in client.query("SELECT stream, version FROM streams WHERE tenant = $1 ORDER BY stream", &[&tenant]).await.unwrap() {
            out.push(format!("stream {:?} v{}", row.get::<_, String>(0), row.get::<_, i64>(1)));
        }
    }
    out
}

/// The victim's stored pushes, replayed and altered by the generator.
struct Stored {
    /// Pushes as stored (JSON), each replayable as is.
    pushes: Vec<Value>,
}

const TOKEN_A: &str = "hostile-token-a";
const TOKEN_B: &str = "hostile-token-b";

/// Values of every wrong type and out-of-range number.
fn wrong_values(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = [
        "null", "true", "false", "0", "-1", "-0", "1.5", "-1.5", "1e400", "-1e400", "1e308", "5e-324",
        "18446744073709551616", "18446744073709551615", "9007199254740992", "9007199254740991", "-9007199254740993",
        "1E2", "0.0000001", "\"\"", "\"x\"", "\"any\"", "\"no_stream\"", "\"stream_exists\"", "\"ANY\"", "[]", "{}",
        "[null]", "{\"a\":1}", "\"\\u0000\"", "\"\\ud800\"", "\"\\uDFFF\\uD800\"", "\"\u{202e}\"", "\"a\\nb\"",
        "\"00000000-0000-4000-8000-000000000001\"", "\"{00000000-0000-4000-8000-000000000001}\"",
        "\"00000000000040008000000000000001\"", "\"urn:uuid:00000000-0000-4000-8000-000000000001\"",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    values.push(format!("\"{}\"", "x".repeat(257)).into_bytes());
    values.push(format!("\"{}\"", "é".repeat(200 + rng.below(100))).into_bytes());
    values.push(format!("{}{}", "[".repeat(200), "]".repeat(200)).into_bytes());
    values.push(format!("{}1{}", "{\"a\":".repeat(130), "}".repeat(130)).into_bytes());
    values.push(b"\"\xff\xfe\"".to_vec());
    values.push(b"\"\xc3\x28\"".to_vec());
    values.push(b"\"\xed\xa0\x80\"".to_vec());
    values.push("9".repeat(400).into_bytes());
    values.push(format!("0.{}1", "0".repeat(400)).into_bytes());
    values
}

/// The fields of a push an element can be swapped at: `(path in the JSON, key)`.
const FIELDS: &[(&[&str], &str)] = &[
    (&[], "appends"),
    (&["appends", "0"], "stream"),
    (&["appends", "0"], "expectedVersion"),
    (&["appends", "0"], "recordedAt"),
    (&["appends", "0"], "events"),
    (&["appends", "0", "events", "0"], "id"),
    (&["appends", "0", "events", "0"], "type"),
    (&["appends", "0", "events", "0"], "data"),
    (&["appends", "0", "events", "0"], "metadata"),
];

/// `push` with the value at `path`/`key` replaced by the raw JSON `raw` (spliced as text, so
/// it can be anything, valid JSON or not).
fn splice(push: &Value, path: &[&str], key: &str, raw: &[u8]) -> Vec<u8> {
    let mut with_marker = push.clone();
    let mut at = &mut with_marker;
    for step in path {
        at = match step.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[*step],
        };
    }
    at[key] = json!("\u{1}MARKER\u{1}");
    let text = serde_json::to_vec(&with_marker).unwrap();
    let marker = br#""\u0001MARKER\u0001""#;
    let i = text.windows(marker.len()).position(|w| w == marker).expect("marker");
    [&text[..i], raw, &text[i + marker.len()..]].concat()
}

fn generate(rng: &mut Rng, stored: &Stored, b_push: &Value) -> Vec<Request> {
    let mut out = Vec::new();
    let push = |category, body: Vec<u8>| Request::new(category, "POST", "/v1/push").token(TOKEN_A).json(body);

    // Truncated JSON: every prefix of a stored push.
    for base in &stored.pushes {
        let text = serde_json::to_vec(base).unwrap();
        for cut in 0..text.len() {
            out.push(push("truncated JSON", text[..cut].to_vec()));
        }
    }
    // Mutated JSON: one random edit of a stored push (replayed as is it is a repeat).
    let tokens: &[&[u8]] = &[
        b"{", b"}", b"[", b"]", b"\"", b"\\", b",", b":", b"null", b"1e400", b"-1", b"\"x\"", b"\xff", b"\x00",
        b"\xc3", b" ", b"\n", b"/*", b"NaN", b"Infinity", b"'", b"\\u0000", b"\\ud800",
    ];
    for _ in 0..4_500 {
        let mut text = serde_json::to_vec(rng.pick(&stored.pushes)).unwrap();
        let at = rng.below(text.len());
        match rng.below(4) {
            0 => text[at] = rng.next() as u8,
            1 => {
                let token = rng.pick(tokens);
                text.splice(at..at, token.iter().copied());
            }
            2 => {
                let end = (at + 1 + rng.below(8)).min(text.len());
                text.drain(at..end);
            }
            _ => {
                let token = rng.pick(tokens);
                let end = (at + token.len()).min(text.len());
                text.splice(at..end, token.iter().copied());
            }
        }
        out.push(push("bad JSON (one random edit)", text));
    }
    // Wrong types, huge and negative numbers, floats for integers, huge strings, deep
    // nesting, invalid UTF-8: every wrong value at every field.
    let values = wrong_values(rng);
    for base in &stored.pushes {
        for (path, key) in FIELDS {
            for value in &values {
                out.push(push("wrong type or value at a field", splice(base, path, key, value)));
            }
        }
    }
    // Unknown fields at every level: forged positions, versions, heads, tenants.
    let forged = ["position", "version", "head", "tenant", "tenantId", "streamVersion", "globalPosition", "__proto__", "constructor", "appendEnd", "committedAt", "Stream", "ID"];
    for base in &stored.pushes {
        for name in forged {
            for level in 0..3 {
                let mut p = base.clone();
                let at = match level {
                    0 => &mut p,
                    1 => &mut p["appends"][0],
                    _ => &mut p["appends"][0]["events"][0],
                };
                at[name] = json!(rng.below(1000));
                out.push(push("unknown or forged field", serde_json::to_vec(&p).unwrap()));
            }
        }
    }
    // Replays with the same ids and other content; expected-version games. Well formed:
    // 200 with every append refused or a repeat, nothing written.
    for _ in 0..2_000 {
        let mut p = rng.pick(&stored.pushes).clone();
        let a = &mut p["appends"][0];
        match rng.below(7) {
            0 => a["events"][0]["data"] = json!({ "altered": rng.below(1_000_000) }),
            1 => a["events"][0]["type"] = json!(format!("Altered{}", rng.below(100))),
            2 => a["events"][0]["metadata"] = json!({ "by": "mallory" }),
            3 => a["stream"] = json!(format!("{}-elsewhere", a["stream"].as_str().unwrap())),
            4 => a["recordedAt"] = json!(rng.next() as f64 / 7.0),
            5 => a["expectedVersion"] = json!(*rng.pick(&[json!("any"), json!("stream_exists"), json!(0), json!(1), json!(2), json!(7), json!(9007199254740991u64)])),
            _ => {
                // A new id where the expectation cannot hold: no_stream on a stream that has
                // events, or a version far off.
                a["events"][0]["id"] = json!(id(100_000 + rng.below(1000) as u32));
                a["expectedVersion"] = json!(*rng.pick(&[json!("no_stream"), json!(50), json!(9007199254740991u64)]));
            }
        }
        out.push(push("replayed ids, other content; expected-version games", serde_json::to_vec(&p).unwrap()));
    }
    // Another tenant's stream names and event ids, with expectations that cannot hold here.
    for _ in 0..300 {
        let mut p = b_push.clone();
        p["appends"][0]["expectedVersion"] = json!(*rng.pick(&[json!("stream_exists"), json!(1), json!(3)]));
        out.push(push("another tenant's streams and ids", serde_json::to_vec(&p).unwrap()));
        let after = rng.below(50);
        out.push(Request::new("another tenant's streams and ids", "GET", &format!("/v1/pull?after={after}&tenant=b")).token(TOKEN_A));
    }
    // Content types.
    let body = serde_json::to_vec(&stored.pushes[0]).unwrap();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "application/json-patch+json", "json", "", "application/xml", "*/*"] {
        for _ in 0..20 {
            let mut r = Request::new("wrong content type", "POST", "/v1/push").token(TOKEN_A).header("content-type", content_type);
            r.body = body.clone();
            out.push(r);
        }
    }
    let mut none = Request::new("wrong content type", "POST", "/v1/push").token(TOKEN_A);
    none.body = body.clone();
    out.push(none);
    // Methods, paths, query strings.
    for method in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "TRACE", "CONNECT", "FOO"] {
        out.push(Request::new("bad method, path or query", method, "/v1/push").token(TOKEN_A).json(body.clone()));
    }
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        for path in ["/v1/pull", "/v1/notices", "/v1/health"] {
            out.push(Request::new("bad method, path or query", method, path).token(TOKEN_A).json(body.clone()));
        }
    }
    let long = format!("/{}", "a".repeat(4000));
    for path in ["/", "/v1", "/v1/", "/v1/push/", "/v1//push", "/v2/push", "/V1/PUSH", "/v1/push/../pull", "/%2e%2e/v1/push", "/v1/%70ush", "/v1/push%00", "/v1/events", "/v1/pull/1", "*", long.as_str()] {
        out.push(Request::new("bad method, path or query", "POST", path).token(TOKEN_A).json(body.clone()));
        out.push(Request::new("bad method, path or query", "GET", path).token(TOKEN_A));
    }
    let queries = [
        "after=", "after=-1", "after=1e3", "after=1.5", "after=abc", "after=%00", "after=99999999999999999999", "after=9007199254740992",
        "after=0x10", "after=+1", "after=1;DROP%20TABLE%20events", "after='", "after=1&after=2", "limit=0", "limit=-1",
        "limit=10001", "limit=abc", "limit=", "tenant=other", "after", "&&&=", "=", "after=%ff%fe",
    ];
    for query in queries {
        out.push(Request::new("bad method, path or query", "GET", &format!("/v1/pull?{query}")).token(TOKEN_A));
    }
    for _ in 0..500 {
        let garbage: String = (0..1 + rng.below(20)).map(|_| *rng.pick(&['a', '1', '-', '.', 'e', '%', '&', '=', '9', '+', ';', '\''])).collect();
        out.push(Request::new("bad method, path or query", "GET", &format!("/v1/pull?after={garbage}x")).token(TOKEN_A));
    }
    // Bad or absent tokens, on every route.
    let bad_tokens: Vec<Vec<u8>> = vec![
        b"".to_vec(), b"Bearer".to_vec(), b"Bearer ".to_vec(), format!("Bearer {TOKEN_A}x").into_bytes(), format!("Bearer x{TOKEN_A}").into_bytes(),
        format!("Bearer {}", &TOKEN_A[..TOKEN_A.len() - 1]).into_bytes(), format!("Bearer {}", TOKEN_A.to_uppercase()).into_bytes(),
        format!("Basic {TOKEN_A}").into_bytes(), format!("Token {TOKEN_A}").into_bytes(), format!("Bearer\t{TOKEN_A}").into_bytes(),
        TOKEN_A.as_bytes().to_vec(), format!("Bearer {TOKEN_A} {TOKEN_A}").into_bytes(), format!("Bearer {TOKEN_A},{TOKEN_B}").into_bytes(),
        b"Bearer \xff\xfe".to_vec(), format!("Bearer {}", "x".repeat(5000)).into_bytes(),
    ];
    for _ in 0..200 {
        for (method, path) in [("POST", "/v1/push"), ("GET", "/v1/pull"), ("GET", "/v1/notices")] {
            let mut r = Request::new("bad or absent token", method, path);
            let token = rng.pick(&bad_tokens);
            if !token.is_empty() {
                r = r.header("authorization", token.clone());
            }
            if method == "POST" {
                r = r.json(body.clone());
            }
            out.push(r);
        }
    }
    // Two authorization headers: one good, one bad.
    out.push(Request::new("bad or absent token", "GET", "/v1/pull").header("authorization", "Bearer nope").token(TOKEN_A));
    // Oversized bodies (over --max-body-bytes), declared or chunked.
    for size in [65_537usize, 100_000, 1 << 20] {
        let mut big = b"{\"appends\":[".to_vec();
        big.resize(size, b' ');
        big.extend_from_slice(b"]}");
        out.push(push("oversized body", big.clone()));
        let mut r = Request::new("oversized body", "POST", "/v1/push").token(TOKEN_A).header("content-type", "application/json").header("transfer-encoding", "chunked");
        r.body = [format!("{:x}\r\n", big.len()).into_bytes(), big, b"\r\n0\r\n\r\n".to_vec()].concat();
        out.push(r);
    }
    let mut overflow = push("oversized body", Vec::new()).header("content-length", "99999999999999999999");
    overflow.raw = true;
    out.push(overflow);
    // Oversized headers, invalid header bytes, garbage request lines: below HTTP.
    for size in [10_000usize, 100_000, 500_000] {
        let mut r = push("oversized headers (below HTTP)", body.clone()).header("x-padding", "p".repeat(size));
        r.raw = true;
        out.push(r);
    }
    let mut many = push("oversized headers (below HTTP)", body.clone());
    for i in 0..200 {
        many = many.header(&format!("x-h{i}"), "v");
    }
    many.raw = true;
    out.push(many);
    for line in [&b"HELLO"[..], b"POST", b"POST /v1/push HTTP/9.9", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"GET /v1/pull?\xff HTTP/1.1", b"POST /v1/push HTTP/1.1\r\nbad header line"] {
        let mut r = Request::new("garbage request (below HTTP)", "", "");
        r.method = line.to_vec();
        r.raw = true;
        out.push(r);
    }
    let mut bad_header = push("garbage request (below HTTP)", body.clone()).header("x-bad\x01name", "v");
    bad_header.raw = true;
    out.push(bad_header);
    let mut conflicting = push("garbage request (below HTTP)", body.clone()).header("content-length", "3").header("transfer-encoding", "chunked");
    conflicting.raw = true;
    out.push(conflicting);
    out
}

#[tokio::test]
async fn ten_thousand_hostile_requests_get_4xx_and_write_nothing() {
    let seed: u64 = std::env::var("ANNALS_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    println!("hostile requests: seed {seed} (ANNALS_HOSTILE_SEED={seed} replays it)");
    let mut rng = Rng(seed);

    let (a, b) = (unique("hostile-a"), unique("hostile-b"));
    let server = ServerProcess::start(
        database(),
        &[(TOKEN_A, &a), (TOKEN_B, &b)],
        &["--max-body-bytes", "65536", "--read-timeout-ms", "2000"],
    );
    let address = server.url.strip_prefix("http://").unwrap().to_owned();
    let client_a = Client::new(&server.url, Some(TOKEN_A));
    let client_b = Client::new(&server.url, Some(TOKEN_B));
    // The victim's events: appends of one and two events, with metadata.
    let pushes = vec![
        push_of(vec![append("Cart-1", json!("no_stream"), vec![event(1, json!({ "sku": "tea", "qty": 2 }))])]),
        push_of(vec![append("Cart-2", json!("no_stream"), vec![event(2, json!([1, 2.5, "x"])), event(3, json!(null))])]),
        push_of(vec![append("Cart-1", json!(1), vec![json!({ "id": id(4), "type": "Paid", "data": { "total": 12.5 }, "metadata": { "by": "alice" } })])]),
    ];
    for p in &pushes {
        let reply = client_a.push(p).await;
        assert_eq!(reply.json["outcomes"][0]["status"], "accepted", "{}", reply.text);
    }
    let b_push = push_of(vec![append("B-Secret", json!("no_stream"), vec![event(500, json!({ "secret": "b" }))])]);
    assert_eq!(client_b.push(&b_push).await.json["outcomes"][0]["status"], "accepted");
    let before = state(database(), &[&a, &b]).await;

    let requests = generate(&mut rng, &Stored { pushes: pushes.clone() }, &b_push);
    assert!(requests.len() >= 10_000, "only {} requests generated", requests.len());

    let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut raw_closed = 0usize;
    let mut raw_bare = 0usize;
    let mut refused_pushes = 0usize;
    let mut repeated_pushes = 0usize;
    let started = Instant::now();
    // Eight at a time.
    for chunk in requests.chunks(8) {
        let answers = futures::future::join_all(chunk.iter().map(|r| send(&address, r.bytes()))).await;
        for (request, answer) in chunk.iter().zip(answers) {
            *by_category.entry(request.category).or_default() += 1;
            let describe = || format!("{} {} {}: {}", request.category, String::from_utf8_lossy(&request.method), String::from_utf8_lossy(&request.target[..request.target.len().min(80)]), String::from_utf8_lossy(&request.body[..request.body.len().min(300)]));
            match answer {
                Answer::Closed => {
                    *statuses.entry("closed".into()).or_default() += 1;
                    if request.raw {
                        raw_closed += 1;
                    } else {
                        failures.push(format!("closed without a reply: {}", describe()));
                    }
                }
                Answer::Reply { status, headers, body } => {
                    *statuses.entry(status.to_string()).or_default() += 1;
                    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let has_error = json["error"].as_str().is_some_and(|e| !e.is_empty()) && json["message"].as_str().is_some_and(|m| !m.is_empty());
                    let is_json = headers.iter().any(|(n, v)| n == "content-type" && v.starts_with("application/json"));
                    if status >= 500 {
                        failures.push(format!("{status}: {} — {}", String::from_utf8_lossy(&body), describe()));
                    } else if status == 200 && request.method == b"POST" {
                        // Only a well-formed push, and it must have written nothing.
                        let outcomes = json["outcomes"].as_array().cloned().unwrap_or_default();
                        let wrote = outcomes.is_empty()
                            || outcomes.iter().any(|o| o["status"] == "accepted" && o["repeat"] != true);
                        if wrote {
                            failures.push(format!("200 that may have written: {} — {}", String::from_utf8_lossy(&body), describe()));
                        } else if outcomes.iter().any(|o| o["status"] == "refused") {
                            refused_pushes += 1;
                        } else {
                            repeated_pushes += 1;
                        }
                    } else if status == 200 {
                        // A pull with a stray parameter would be a 400: no GET may succeed here.
                        failures.push(format!("200 to a hostile GET: {}", describe()));
                    } else if (400..500).contains(&status) && is_json && (has_error || request.method == b"HEAD") {
                        // The contract.
                    } else if request.raw && (400..500).contains(&status) {
                        raw_bare += 1;
                    } else {
                        failures.push(format!("{status} without a JSON error body ({}): {}", String::from_utf8_lossy(&body), describe()));
                    }
                }
            }
        }
    }
    let elapsed = started.elapsed();
    assert!(failures.is_empty(), "{} of {} requests broke the contract (seed {seed}); the first:\n{}", failures.len(), requests.len(), failures.iter().take(15).cloned().collect::<Vec<_>>().join("\n"));

    // Slow bodies: headers, then part of the body, then nothing, or a trickle. With more
    // such connections than the pool has PostgreSQL connections, the server keeps serving.
    let slow = 24;
    let mut stalled = Vec::new();
    for i in 0..slow {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        let head = format!("POST /v1/push HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN_A}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"appends\":[");
        stream.write_all(head.as_bytes()).await.unwrap();
        stalled.push((i % 2 == 0, stream));
    }
    // Meanwhile a pull is served at once.
    let reply = client_a.send(client_a.build(reqwest::Method::GET, "/v1/pull?after=0&limit=1")).await;
    assert_eq!(reply.status, 200, "a pull while {slow} bodies stall: {}", reply.text);
    let mut slow_answers: BTreeMap<String, usize> = BTreeMap::new();
    let trickle = futures::future::join_all(stalled.into_iter().map(|(trickles, mut stream)| async move {
        let mut buffer = Vec::new();
        let read = async {
            if trickles {
                // A byte every 100 ms, until the server gives up.
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                loop {
                    tokio::select! {
                        _ = tick.tick() => { if stream.write_all(b" ").await.is_err() { break; } }
                        n = stream.read_buf(&mut buffer) => { if n.unwrap_or(0) == 0 { break; } }
                    }
                }
            }
            let _ = stream.read_to_end(&mut buffer).await;
        };
        assert!(tokio::time::timeout(HANG, read).await.is_ok(), "a slow body held the connection past {} s", HANG.as_secs());
        parse(&buffer)
    }))
    .await;
    for answer in trickle {
        let key = match answer {
            Answer::Reply { status, body, .. } => {
                let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                assert_eq!(status, 408, "a slow body: {}", String::from_utf8_lossy(&body));
                assert_eq!(json["error"], "request_timeout", "{}", String::from_utf8_lossy(&body));
                "408".to_string()
            }
            Answer::Closed => "closed".to_string(),
        };
        *slow_answers.entry(key).or_default() += 1;
    }
    assert_eq!(slow_answers.get("408"), Some(&slow), "every slow body is answered 408: {slow_answers:?}");

    // Slow headers: a request line and part of the headers, then nothing; or a connection
    // that never says anything. The server closes them (or answers 408) once the read
    // timeout has passed, instead of keeping them open for ever.
    let mut slow_headers: BTreeMap<String, usize> = BTreeMap::new();
    let heads = futures::future::join_all((0..8).map(|i| {
        let address = address.clone();
        async move {
            let mut stream = TcpStream::connect(&address).await.unwrap();
            if i % 2 == 0 {
                stream.write_all(b"POST /v1/push HTTP/1.1\r\nhost: x\r\ncontent-type: appl").await.unwrap();
            }
            let mut buffer = Vec::new();
            let read = tokio::time::timeout(HANG, stream.read_to_end(&mut buffer)).await;
            assert!(read.is_ok(), "a connection with slow headers was held past {} s", HANG.as_secs());
            parse(&buffer)
        }
    }))
    .await;
    for answer in heads {
        let key = match answer {
            Answer::Reply { status, .. } => {
                assert!((400..500).contains(&status), "slow headers: {status}");
                status.to_string()
            }
            Answer::Closed => "closed".to_string(),
        };
        *slow_headers.entry(key).or_default() += 1;
    }

    // Still alive and serving, and nothing was written.
    let health = client_a.send(client_a.build(reqwest::Method::GET, "/v1/health")).await;
    assert_eq!(health.status, 200);
    assert_eq!(client_a.pull_all().await.0.len(), 4);
    let after = state(database(), &[&a, &b]).await;
    let writes = before.iter().zip(&after).filter(|(x, y)| x != y).count() + before.len().abs_diff(after.len());
    assert!(failures.is_empty(), "{} of {} requests broke the contract (seed {seed}); the first:\n{}", failures.len(), requests.len(), failures.iter().take(15).cloned().collect::<Vec<_>>().join("\n"));
    assert_eq!(before, after, "hostile requests changed the stored state (seed {seed})");
    let five_xx: usize = statuses.iter().filter(|(s, _)| s.starts_with('5')).map(|(_, n)| n).sum();
    assert_eq!(five_xx, 0);

    let total = requests.len() + slow + 8;
    println!("{total} requests in {:.1} s: {by_category:?}; statuses {statuses:?}; slow bodies {slow_answers:?}; slow headers {slow_headers:?}; below HTTP: {raw_bare} bare 4xx, {raw_closed} closed", elapsed.as_secs_f64());
    let categories = by_category.iter().map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(", ");
    let status_list = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect::<Vec<_>>().join(", ");
    let row = json!({
        "order": 50,
        "what": "Hostile requests to annals-server (`server/tests/hostile.rs`, raw TCP, seeded): bad and truncated JSON, wrong types and values at every field (huge and negative numbers, floats, 2^64, huge strings, deep nesting, invalid UTF-8), unknown and forged fields, replayed ids with other content, expected-version games, another tenant's streams and ids, wrong content types, bad methods, paths and queries, bad tokens, oversized headers and bodies, slow bodies; each must get a 4xx with a JSON error (or, for a well-formed push, every append refused or a repeat), never a 5xx, and write nothing (PostgreSQL compared before and after)",
        "tried": format!("{total} requests (seed {seed}): {categories}; slow bodies {slow}; slow headers 8"),
        "result": format!(
            "statuses {status_list}; slow bodies {}; slow headers {}; below HTTP {raw_bare} bare 4xx and {raw_closed} closed; the 200s: {refused_pushes} well-formed pushes refused, {repeated_pushes} repeats of a stored push; 5xx: {five_xx}; writes: {writes}",
            slow_answers.iter().map(|(s, n)| format!("{s}: {n}")).collect::<Vec<_>>().join(", "),
            slow_headers.iter().map(|(s, n)| format!("{s}: {n}")).collect::<Vec<_>>().join(", ")
        ),
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/reliability/rows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hostile.json"), serde_json::to_string_pretty(&row).unwrap() + "\n").unwrap();
    drop(server);
}
