//! Security properties of `annals-server`, one test each: tokens are never written to its
//! output (stdout, stderr), whatever the request and even when the database is down; SQL is
//! only ever built with parameters (a look at every statement in `server/src`) and hostile
//! stream names, types and data are stored and read back verbatim; CORS answers preflights
//! of every route for the configured origins only, and none by default.
//! (That tokens are compared in constant time is a unit test in `server/src/auth.rs`.)

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{json, Value};
use support::client::{append, event, id, push_of, Client};
use support::{database, unique, Cluster, ServerProcess, Watchdog};

// ---- tokens are never logged ------------------------------------------------------------

#[tokio::test]
async fn tokens_never_appear_in_the_server_output() {
    let cluster = Cluster::start(&[("fsync", "off")]);
    support::migrate(&cluster.url);
    let good = "tok-GOOD-7c1f9a2e5b";
    let other = "tok-OTHER-44d0e8b1";
    let bad = ["tok-BAD-0aa3f6", "tok-GOOD-7c1f9a2e5", "tok-GOOD-7c1f9a2e5bX", "Basic-tok-b64"];
    let dir = std::env::temp_dir().join(unique("annals-token-log"));
    std::fs::create_dir_all(&dir).unwrap();
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_annals-server"))
        .args(["--listen", "127.0.0.1:0", "--database-url", &cluster.url, "--rate-limit", "1,2"])
        .env("ANNALS_TOKENS", format!("{good}=t1,{other}=t2"))
        // Every log it has: there is no log level to raise, but in case a logging crate comes
        // in, ask it for everything.
        .env("RUST_LOG", "trace")
        .env("RUST_BACKTRACE", "full")
        .env_remove("ANNALS_RATE_LIMIT")
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let watchdog = Watchdog::arm(&format!("kill -9 {} 2>/dev/null", child.id()));
    let url = wait_for_listening(&out_path, &mut child);

    let client = Client::new(&url, Some(good));
    // Good requests, failing ones (400, 413, 415, 404, 405), refusals, a rate limit.
    assert_eq!(client.push(&push_of(vec![append("s", json!("no_stream"), vec![event(1, json!(1))])])).await.status, 200);
    assert_eq!(client.push_raw("{not json").await.status, 400);
    assert_eq!(client.push_raw("{not json").await.status, 429);
    for token in bad.iter().chain([&other]) {
        let c = Client::new(&url, Some(token));
        let reply = c.send(c.build(Method::GET, "/v1/pull?after=x")).await;
        assert!(reply.status == 401 || reply.status == 400, "{}", reply.text);
        assert!(!reply.text.contains(token), "a reply shows the token: {}", reply.text);
    }
    let basic = reqwest::Client::new().get(format!("{url}/v1/pull")).header("authorization", format!("Basic {good}"));
    assert_eq!(client.send(basic).await.status, 401);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // The database down: 503 (logged), and the notice listener logs its reconnects.
    cluster.pause();
    let c = Client::new(&url, Some(other));
    let reply = c.push(&push_of(vec![append("s", json!("any"), vec![event(2, json!(2))])])).await;
    assert!(reply.status >= 500, "with the database down: {} {}", reply.status, reply.text);
    let reply = c.send(c.build(Method::GET, "/v1/pull")).await;
    assert!(reply.status >= 500, "{}", reply.text);
    assert!(!reply.text.contains(other), "{}", reply.text);
    let health = c.send(c.build(Method::GET, "/v1/health")).await;
    assert_eq!(health.status, 503);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    cluster.resume();
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    watchdog.disarm();

    let output = format!("{}\n{}", std::fs::read_to_string(&out_path).unwrap(), std::fs::read_to_string(&err_path).unwrap());
    assert!(output.contains("the database is unavailable"), "the 5xx was logged: {output}");
    for token in bad.iter().chain([&good, &other]) {
        assert!(!output.contains(token), "the output shows the token {token}:\n{output}");
    }
    // Nor a part of one long enough to help guess it.
    assert!(!output.contains("7c1f9a2e"), "{output}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn wait_for_listening(stdout: &Path, child: &mut std::process::Child) -> String {
    for _ in 0..600 {
        let text = std::fs::read_to_string(stdout).unwrap_or_default();
        if let Some(line) = text.lines().find_map(|l| l.strip_prefix("annals-server listening on ")) {
            return line.trim().to_owned();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("annals-server exited: {status:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("annals-server did not listen");
}

// ---- SQL only with parameters ------------------------------------------------------------

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Words that make a string SQL (upper case, as this code base writes its SQL).
const SQL_WORDS: &[&str] = &["SELECT", "INSERT", "UPDATE", "DELETE", "FROM", "WHERE", "VALUES", "JOIN", "LISTEN", "NOTIFY", "CREATE", "DROP", "ALTER", "SET"];

fn is_sql(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphabetic()).any(|w| SQL_WORDS.contains(&w))
}

/// The string literal starting at `text[0]` (`"…"` or `r#"…"#`): its contents and length.
fn literal(text: &str) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    if let Some(after_r) = text.strip_prefix('r') {
        let hashes = after_r.chars().take_while(|&c| c == '#').count();
        let open = 1 + hashes;
        if bytes.get(open) != Some(&b'"') {
            return None;
        }
        let close = format!("\"{}", "#".repeat(hashes));
        let end = text[open + 1..].find(&close)? + open + 1;
        return Some((text[open + 1..end].to_owned(), end + close.len()));
    }
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some((text[1..i].to_owned(), i + 1)),
            _ => i += 1,
        }
    }
    None
}

/// Placeholders in SQL that are not constants, each looked at: `(file, name, what binds it)`.
/// The test checks that the binding is still in the file.
const REVIEWED: &[(&str, &str, &str)] = &[(
    "read.rs",
    "order",
    "let order = match direction {\n        Direction::Forward => \"ASC\",\n        Direction::Backward => \"DESC\",\n    };",
)];

/// What is wrong with a formatting macro call whose string is SQL: any `{}` placeholder that is
/// not an upper-case constant, or any argument after the string.
fn format_problems(source: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for name in ["format!(", "format_args!(", "write!(", "writeln!(", "concat!(", "print!(", "println!("] {
        let mut from = 0;
        while let Some(at) = source[from..].find(name) {
            let start = from + at + name.len();
            from = start;
            let rest = &source[start..];
            // write!(f, "…"): skip the destination.
            let rest = if name.starts_with("write") { rest.split_once(',').map_or(rest, |(_, r)| r) } else { rest };
            let rest = rest.trim_start();
            let Some((text, len)) = literal(rest) else { continue };
            if !is_sql(&text) {
                continue;
            }
            let line = source[..start].lines().count();
            let after = rest[len..].trim_start();
            if !after.starts_with(')') {
                problems.push(format!("line {line}: {name}…) with SQL takes arguments: values must be parameters ($1, $2, …)"));
            }
            if name == "concat!(" {
                problems.push(format!("line {line}: concat! builds SQL"));
            }
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '{' {
                    if chars.peek() == Some(&'{') {
                        chars.next();
                        continue;
                    }
                    let inner: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let ident = inner.split(':').next().unwrap_or("");
                    let constant = !ident.is_empty()
                        && ident.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                        && ident.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                    if !constant {
                        problems.push(format!("line {line}: SQL interpolates {{{inner}}}: only upper-case constants may be, values are parameters"));
                    }
                }
            }
        }
    }
    // Strings glued together with SQL in them.
    for (n, l) in source.lines().enumerate() {
        if (l.contains(".push_str(") || l.contains("+ &") || l.contains("+= &")) && l.contains('"') && is_sql(l) {
            problems.push(format!("line {}: SQL built by concatenation: {}", n + 1, l.trim()));
        }
    }
    problems
}

#[test]
fn sql_is_only_built_from_constants_values_are_parameters() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = sources(&src);
    assert!(files.len() >= 10, "{} source files under {}", files.len(), src.display());
    let mut problems = Vec::new();
    let mut statements = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        statements += text.matches("SELECT").count() + text.matches("INSERT").count();
        let name = file.file_name().unwrap().to_str().unwrap();
        for problem in format_problems(&text) {
            let reviewed = REVIEWED.iter().any(|(f, placeholder, binding)| {
                *f == name && problem.contains(&format!("{{{placeholder}}}")) && text.contains(binding)
            });
            if !reviewed {
                problems.push(format!("{}: {problem}", file.display()));
            }
        }
    }
    assert!(statements >= 10, "the look found only {statements} statements: is the SQL elsewhere?");
    assert!(problems.is_empty(), "SQL built with values:\n{}", problems.join("\n"));
}

#[test]
fn the_sql_look_catches_values_in_sql() {
    let caught = |source: &str| !format_problems(source).is_empty();
    assert!(caught(r#"let q = format!("SELECT * FROM events WHERE stream = '{stream}'");"#));
    assert!(caught(r#"let q = format!("DELETE FROM events WHERE id = {}", id);"#));
    assert!(caught(r##"let q = format!(r#"UPDATE streams SET version = {v}"#);"##));
    assert!(caught(r#"write!(out, "INSERT INTO t VALUES ({})", n)?;"#));
    assert!(caught(r#"sql.push_str(" WHERE stream = "); "#));
    assert!(caught(r#"let q = concat!("SELECT ", "1");"#));
    assert!(!caught(r#"let q = format!("SELECT {EVENT_COLUMNS} FROM events e WHERE tenant = $1");"#));
    assert!(!caught(r#"let m = format!("the push holds {n} appends");"#));
    assert!(!caught(r#"client.query("SELECT id FROM tenants WHERE name = $1", &[&name])"#));
}

#[tokio::test]
async fn hostile_names_and_data_are_stored_and_read_back_verbatim() {
    let tenant = unique("sql");
    let server = ServerProcess::start(database(), &[("sql-token", &tenant)], &[]);
    let client = Client::new(&server.url, Some("sql-token"));
    let names = [
        "'; DROP TABLE events; --",
        "\"; DROP TABLE streams; --",
        "$1",
        "$2::text",
        "\\",
        "\\'",
        "' OR '1'='1",
        "%s %d {} {0}",
        "Robert'); DELETE FROM tenants WHERE ('1'='1",
        "é ☃ 😀 \u{202e}",
        "E'\\x41'",
    ];
    for (i, name) in names.iter().enumerate() {
        let n = i as u32 + 1;
        let data = json!({ "text": name, (name.to_string()): [name, 1] });
        let e = json!({ "id": id(n), "type": name, "data": data, "metadata": { (name.to_string()): name } });
        let reply = client.push(&push_of(vec![append(name, json!("no_stream"), vec![e])])).await;
        assert_eq!(reply.json["outcomes"][0]["status"], "accepted", "{name:?}: {}", reply.text);
        // The stream exists under that very name: an exact expectation on it holds.
        let again = client.push(&push_of(vec![append(name, json!(1), vec![event(1000 + n, json!(name))])])).await;
        assert_eq!(again.json["outcomes"][0]["status"], "accepted", "{name:?}: {}", again.text);
    }
    let (events, head) = client.pull_all().await;
    assert_eq!(head, 2 * names.len() as u64);
    for (i, name) in names.iter().enumerate() {
        let e = &events[2 * i];
        assert_eq!((e["stream"].as_str(), e["type"].as_str(), e["version"].as_u64()), (Some(*name), Some(*name), Some(1)));
        assert_eq!(e["data"], json!({ "text": name, (name.to_string()): [name, 1] }));
        assert_eq!(e["metadata"], json!({ (name.to_string()): name }));
        assert_eq!(events[2 * i + 1]["stream"].as_str(), Some(*name));
        assert_eq!(events[2 * i + 1]["version"].as_u64(), Some(2));
    }
    // And every table is still there, holding what it held.
    let (pg, connection) = tokio_postgres::connect(database(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let streams: i64 = pg
        .query_one("SELECT count(*) FROM streams s JOIN tenants t ON t.id = s.tenant WHERE t.name = $1", &[&tenant])
        .await
        .unwrap()
        .get(0);
    assert_eq!(streams, names.len() as i64);
    let stored: Vec<String> = pg
        .query("SELECT e.stream FROM events e JOIN tenants t ON t.id = e.tenant WHERE t.name = $1 AND e.version = 1 ORDER BY e.position", &[&tenant])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stored, names);
}

// ---- CORS --------------------------------------------------------------------------------

#[tokio::test]
async fn cors_preflights_every_route_for_the_allowed_origins_only() {
    const ORIGIN: &str = "http://app.example:5173";
    let tenant = unique("cors");
    let open = ServerProcess::start(database(), &[("cors-token", &tenant)], &["--allow-origin", ORIGIN]);
    let closed = ServerProcess::start(database(), &[("cors-token", &tenant)], &[]);
    let http = reqwest::Client::new();
    let allow_origin = |r: &reqwest::Response| r.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned());
    for (path, method) in [("/v1/push", "POST"), ("/v1/pull", "GET"), ("/v1/notices", "GET")] {
        let preflight = |url: &str, origin: &str| {
            http.request(Method::OPTIONS, format!("{url}{path}"))
                .header("origin", origin)
                .header("access-control-request-method", method)
                .header("access-control-request-headers", "authorization,content-type")
                .send()
        };
        let allowed = preflight(&open.url, ORIGIN).await.unwrap();
        assert!(allowed.status().is_success(), "{path}: {}", allowed.status());
        assert_eq!(allow_origin(&allowed).as_deref(), Some(ORIGIN), "{path}");
        let methods = allowed.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
        assert!(methods.contains(method), "{path}: {methods}");
        let headers = allowed.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
        assert!(headers.contains("authorization"), "{path}: {headers}");
        // Tokens go in a header, never cookies: no credentials mode.
        assert!(allowed.headers().get("access-control-allow-credentials").is_none(), "{path}");
        for (url, origin) in [
            (&open.url, "http://evil.example"),
            (&open.url, "http://app.example:5174"),
            (&open.url, "https://app.example:5173"),
            (&open.url, "null"),
            (&closed.url, ORIGIN),
        ] {
            let refused = preflight(url, origin).await.unwrap();
            assert_eq!(allow_origin(&refused), None, "{path} {url} {origin}");
        }
    }
    // Actual requests: the allowed origin can read the answer, errors included; another cannot.
    let pull = |url: &str, origin: &str, token: &str| {
        http.get(format!("{url}/v1/pull")).header("origin", origin).header("authorization", format!("Bearer {token}")).send()
    };
    let ok = pull(&open.url, ORIGIN, "cors-token").await.unwrap();
    assert_eq!((ok.status().as_u16(), allow_origin(&ok).as_deref()), (200, Some(ORIGIN)));
    let unauthorized = pull(&open.url, ORIGIN, "nope").await.unwrap();
    assert_eq!((unauthorized.status().as_u16(), allow_origin(&unauthorized).as_deref()), (401, Some(ORIGIN)));
    for (url, origin) in [(&open.url, "http://evil.example"), (&closed.url, ORIGIN)] {
        let reply = pull(url, origin, "cors-token").await.unwrap();
        assert_eq!(allow_origin(&reply), None, "{url} {origin}");
        // (The request is served: CORS is the browser's guard; the token is the server's.)
        let body: Value = serde_json::from_str(&reply.text().await.unwrap()).unwrap();
        assert!(body.get("head").is_some());
    }
}
