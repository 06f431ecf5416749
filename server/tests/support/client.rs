//! A small client of the wire protocol for tests: pushes, pulls, and a notice stream reader.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};

/// What a request got back.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
    /// The body as text.
    pub text: String,
}

/// A client of one server with one token.
#[derive(Clone, Debug)]
pub struct Client {
    /// The server's base URL.
    pub url: String,
    /// The bearer token (`None`: no header).
    pub token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// A client of `url` sending `token`.
    pub fn new(url: &str, token: Option<&str>) -> Client {
        Client { url: url.to_owned(), token: token.map(str::to_owned), http: reqwest::Client::new() }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `request` and reads the reply (failing after [`NOTICE_GUARD`]: a guard against
    /// hanging, not a timing assertion).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.timeout(NOTICE_GUARD).send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, json, text }
    }

    /// `POST /v1/push` with `body` as JSON.
    pub async fn push(&self, body: &Value) -> Reply {
        self.push_raw(serde_json::to_vec(body).expect("json")).await
    }

    /// `POST /v1/push` with `body` as is, as `application/json`.
    pub async fn push_raw(&self, body: impl Into<reqwest::Body>) -> Reply {
        self.send(self.request(reqwest::Method::POST, "/v1/push").header("content-type", "application/json").body(body))
            .await
    }

    /// A request to `path`, for any other test.
    pub fn build(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.request(method, path)
    }

    /// `GET /v1/pull?after=…&limit=…`; the status must be 200.
    pub async fn pull(&self, after: u64, limit: u64) -> Value {
        let reply = self.send(self.request(reqwest::Method::GET, &format!("/v1/pull?after={after}&limit={limit}"))).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json
    }

    /// Every event, pulled page by page, and the head.
    pub async fn pull_all(&self) -> (Vec<Value>, u64) {
        let mut events = Vec::new();
        loop {
            let page = self.pull(events.len() as u64, 10_000).await;
            let got = page["events"].as_array().expect("events").clone();
            let head = page["head"].as_u64().expect("head");
            if got.is_empty() {
                return (events, head);
            }
            events.extend(got);
        }
    }

    /// Opens `GET /v1/notices`.
    pub async fn notices(&self) -> Notices {
        let response = self.request(reqwest::Method::GET, "/v1/notices").send().await.expect("notices");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Notices { stream: Box::pin(response.bytes_stream()), buffer: String::new() }
    }
}

/// A notice stream, read event by event.
pub struct Notices {
    stream: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

/// How long a test waits for a notice before failing (a guard against hanging, not a timing
/// assertion: notices normally come in milliseconds).
pub const NOTICE_GUARD: Duration = Duration::from_secs(60);

impl Notices {
    /// The next `head` notice's head; `None` when the stream ended.
    pub async fn next_head(&mut self) -> Option<u64> {
        tokio::time::timeout(NOTICE_GUARD, self.next_head_unguarded()).await.expect("a notice in time")
    }

    async fn next_head_unguarded(&mut self) -> Option<u64> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = Some(v.trim().to_owned());
                    }
                }
                if event.as_deref() == Some("head") {
                    let data: Value = serde_json::from_str(&data.expect("data")).expect("notice data is JSON");
                    return Some(data["head"].as_u64().expect("head"));
                }
                continue; // a comment (keep-alive)
            }
            let chunk = self.stream.next().await?;
            self.buffer.push_str(std::str::from_utf8(&chunk.ok()?).expect("UTF-8"));
        }
    }

    /// Reads notices until one says at least `head`.
    pub async fn wait_for(&mut self, head: u64) -> u64 {
        let wait = async {
            loop {
                let h = self.next_head_unguarded().await.expect("the notice stream ended");
                if h >= head {
                    return h;
                }
            }
        };
        tokio::time::timeout(NOTICE_GUARD, wait).await.expect("the notice in time")
    }
}

/// An event for a push: `{ id, type, data }`.
pub fn event(n: u32, data: Value) -> Value {
    json!({ "id": id(n), "type": "Happened", "data": data })
}

/// A fixed, valid id for event number `n`.
pub fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// An append for a push.
pub fn append(stream: &str, expected: Value, events: Vec<Value>) -> Value {
    json!({ "stream": stream, "expectedVersion": expected, "recordedAt": 1764374400000.0, "events": events })
}

/// A push body.
pub fn push_of(appends: Vec<Value>) -> Value {
    json!({ "appends": appends })
}
