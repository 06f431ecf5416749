//! The command line and environment: where to listen, which database, which tokens, limits.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use annals::core::{validate_name, DEFAULT_MAX_EVENT_BYTES};

pub use crate::rate::RateLimit;

/// How much one push may carry. Over `max_body_bytes`, `max_appends` or `max_events` a push
/// is answered `413 too_large` with these limits; an event over `max_event_bytes` is invalid
/// (`400`), as in the browser. Every push and pull reply says them too (`limits`, camelCase),
/// so that clients pack their pushes under them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Bytes of request body.
    pub max_body_bytes: usize,
    /// Appends per push.
    pub max_appends: usize,
    /// Events per push, all appends together.
    pub max_events: usize,
    /// Bytes of one event (type, data and metadata as JSON), as the core measures them.
    pub max_event_bytes: usize,
}

impl Default for Limits {
    /// 8 MiB, 1,000 appends, 10,000 events, 1 MiB per event (`docs/sync.md`).
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 << 20,
            max_appends: 1_000,
            max_events: 10_000,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
        }
    }
}

/// One bearer token and the tenant it opens.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The secret, as sent after `Bearer `.
    pub secret: String,
    /// The tenant's name: 1..=256 characters, no control character.
    pub tenant: String,
}

impl fmt::Debug for TokenGrant {
    /// Never shows the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGrant").field("secret", &"…").field("tenant", &self.tenant).finish()
    }
}

/// Everything the server is started with. At least one token; every secret distinct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// A PostgreSQL connection string (`postgres://…` or `key=value …`).
    pub database_url: String,
    /// The bearer tokens.
    pub tokens: Vec<TokenGrant>,
    /// Origins a browser may call from (CORS); none by default.
    pub allow_origins: Vec<String>,
    /// Push limits.
    pub limits: Limits,
    /// Requests per bearer token (`None`: unlimited); [`RateLimit::default`] unless set.
    pub rate_limit: Option<RateLimit>,
    /// How long a request's headers may take to arrive (past it the connection is closed),
    /// and then a push's body (past it the push is answered `408 request_timeout` and the
    /// connection closed). An idle kept-alive connection is closed after it too.
    pub read_timeout: Duration,
}

/// The default [`Config::read_timeout`]: 30 s (8 MiB, the default `maxBodyBytes`, at about
/// 2 Mbit/s).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the arguments were refused; the message says what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `--help` was asked for: not an error, the usage is printed.
    Help,
    /// A bad or missing argument.
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Help => f.write_str(USAGE),
            ConfigError::Invalid(message) => write!(f, "{message}\n\n{USAGE}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The usage text.
pub const USAGE: &str = "\
usage: annals-server --database-url URL --token SECRET=TENANT [--token SECRET=TENANT …]
                     [--listen 127.0.0.1:8787] [--allow-origin ORIGIN …]
                     [--max-body-bytes N] [--max-appends N] [--max-events N] [--max-event-bytes N]
                     [--rate-limit PER_SECOND,BURST | --rate-limit off]   (default 50,100 per token)
                     [--read-timeout-ms N]   (default 30000)
environment: DATABASE_URL, ANNALS_TOKENS=\"s1=tenantA,s2=tenantB\", ANNALS_ALLOW_ORIGINS=\"o1,o2\",
             ANNALS_RATE_LIMIT=\"50,100\" or \"off\"
(a flag wins over its variable)";

fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(message.into())
}

impl Config {
    /// The configuration from `args` (without the program name) and the environment variables
    /// `env` looks up.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut listen = None;
        let mut database_url = None;
        let mut tokens = Vec::new();
        let mut allow_origins = Vec::new();
        let mut limits = Limits::default();
        let mut rate_limit = None;
        let mut read_timeout = DEFAULT_READ_TIMEOUT;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
                _ => (arg.clone(), None),
            };
            if flag == "--help" || flag == "-h" {
                return Err(ConfigError::Help);
            }
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| invalid(format!("{flag} needs a value")))
            };
            match flag.as_str() {
                "--listen" => {
                    let text = value()?;
                    let addr = text
                        .parse()
                        .map_err(|_| invalid(format!("--listen {text:?}: not an address such as 127.0.0.1:8787")))?;
                    listen = Some(addr);
                }
                "--database-url" => database_url = Some(value()?),
                "--token" => tokens.push(grant(&value()?)?),
                "--allow-origin" => allow_origins.push(origin(&value()?)?),
                "--max-body-bytes" => limits.max_body_bytes = count(&flag, &value()?)?,
                "--max-appends" => limits.max_appends = count(&flag, &value()?)?,
                "--max-events" => limits.max_events = count(&flag, &value()?)?,
                "--max-event-bytes" => limits.max_event_bytes = count(&flag, &value()?)?,
                "--rate-limit" => rate_limit = Some(rate(&flag, &value()?)?),
                "--read-timeout-ms" => read_timeout = Duration::from_millis(count(&flag, &value()?)? as u64),
                other => return Err(invalid(format!("unknown argument {other:?}"))),
            }
        }
        if tokens.is_empty() {
            if let Some(list) = env("ANNALS_TOKENS") {
                for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    tokens.push(grant(item)?);
                }
            }
        }
        if allow_origins.is_empty() {
            if let Some(list) = env("ANNALS_ALLOW_ORIGINS") {
                for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    allow_origins.push(origin(item)?);
                }
            }
        }
        let rate_limit = match rate_limit {
            Some(limit) => limit,
            None => match env("ANNALS_RATE_LIMIT").filter(|s| !s.trim().is_empty()) {
                Some(text) => rate("ANNALS_RATE_LIMIT", &text)?,
                None => Some(RateLimit::default()),
            },
        };
        let database_url = database_url
            .or_else(|| env("DATABASE_URL").filter(|s| !s.is_empty()))
            .ok_or_else(|| invalid("no database: give --database-url URL or set DATABASE_URL"))?;
        if tokens.is_empty() {
            return Err(invalid("no token: give --token SECRET=TENANT or set ANNALS_TOKENS"));
        }
        for (i, t) in tokens.iter().enumerate() {
            if tokens[..i].iter().any(|u| u.secret == t.secret) {
                return Err(invalid(format!(
                    "a token is given twice (for tenants {:?} and {:?})",
                    tokens[..i].iter().find(|u| u.secret == t.secret).map_or("", |u| &u.tenant),
                    t.tenant
                )));
            }
        }
        Ok(Config {
            listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8787))),
            database_url,
            tokens,
            allow_origins,
            limits,
            rate_limit,
            read_timeout,
        })
    }
}

/// `SECRET=TENANT`, split at the last `=` (secrets may end in base64 padding).
fn grant(text: &str) -> Result<TokenGrant, ConfigError> {
    let (secret, tenant) = text
        .rsplit_once('=')
        .ok_or_else(|| invalid("a token is SECRET=TENANT"))?;
    if secret.is_empty() || secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(format!(
            "the token of tenant {tenant:?}: a secret is at least one character, none of them white space"
        )));
    }
    validate_name("tenant", tenant).map_err(|e| invalid(format!("token: {e}")))?;
    Ok(TokenGrant { secret: secret.to_owned(), tenant: tenant.to_owned() })
}

fn origin(text: &str) -> Result<String, ConfigError> {
    let ok = (text.starts_with("http://") || text.starts_with("https://"))
        && !text.ends_with('/')
        && text.parse::<axum::http::HeaderValue>().is_ok();
    if ok {
        Ok(text.to_owned())
    } else {
        Err(invalid(format!("--allow-origin {text:?}: an origin is scheme://host[:port], no path")))
    }
}

/// `PER_SECOND,BURST` (positive integers) or `off`.
fn rate(flag: &str, text: &str) -> Result<Option<RateLimit>, ConfigError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let positive = |s: &str| s.trim().parse::<u32>().ok().filter(|&n| n > 0);
    text.split_once(',')
        .and_then(|(rate, burst)| Some(RateLimit { per_second: positive(rate)?, burst: positive(burst)? }))
        .map(Some)
        .ok_or_else(|| invalid(format!("{flag} {text:?}: not PER_SECOND,BURST (positive integers, such as 50,100) or off")))
}

fn count(flag: &str, text: &str) -> Result<usize, ConfigError> {
    text.parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| invalid(format!("{flag} {text:?}: not a positive integer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::parse(args.iter().map(|s| s.to_string()), |key| {
            env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn flags_win_over_the_environment() {
        let config = parse(
            &["--listen", "127.0.0.1:0", "--database-url=postgres://x", "--token", "a==b=tenant A", "--max-events", "5"],
            &[("ANNALS_TOKENS", "s=t"), ("DATABASE_URL", "postgres://y")],
        )
        .unwrap();
        assert_eq!(config.database_url, "postgres://x");
        assert_eq!(config.tokens, vec![TokenGrant { secret: "a==b".into(), tenant: "tenant A".into() }]);
        assert_eq!(config.limits.max_events, 5);
        assert_eq!(config.read_timeout, Duration::from_secs(30));
        assert_eq!(config.listen.port(), 0);
        let config = parse(&[], &[("ANNALS_TOKENS", "s1=a, s2=b"), ("DATABASE_URL", "postgres://y"), ("ANNALS_ALLOW_ORIGINS", "http://localhost:5173")]).unwrap();
        assert_eq!(config.tokens.iter().map(|t| t.tenant.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(config.allow_origins, ["http://localhost:5173"]);
        assert_eq!(config.listen.to_string(), "127.0.0.1:8787");
        // The rate limit: 50/s, bursts of 100 by default; the variable, or the flag over it.
        assert_eq!(config.rate_limit, Some(RateLimit { per_second: 50, burst: 100 }));
        let base = [("ANNALS_TOKENS", "s=t"), ("DATABASE_URL", "postgres://y")];
        let with = |args: &[&str], rate: Option<&str>| {
            let mut env = base.to_vec();
            env.extend(rate.map(|r| ("ANNALS_RATE_LIMIT", r)));
            parse(args, &env).unwrap().rate_limit
        };
        assert_eq!(with(&[], Some("5, 7")), Some(RateLimit { per_second: 5, burst: 7 }));
        assert_eq!(with(&[], Some("OFF")), None);
        assert_eq!(with(&["--rate-limit", "off"], Some("5,7")), None);
        assert_eq!(with(&["--rate-limit=2,3"], Some("off")), Some(RateLimit { per_second: 2, burst: 3 }));
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        let cases: &[(&[&str], &str)] = &[
            (&["--token", "s=t"], "no database"),
            (&["--database-url", "u"], "no token"),
            (&["--database-url", "u", "--token", "secret"], "SECRET=TENANT"),
            (&["--database-url", "u", "--token", "=t"], "secret is at least one character"),
            (&["--database-url", "u", "--token", "s="], "tenant"),
            (&["--database-url", "u", "--token", "s=a", "--token", "s=b"], "given twice"),
            (&["--database-url", "u", "--token", "s=a", "--max-appends", "0"], "not a positive integer"),
            (&["--database-url", "u", "--token", "s=a", "--listen", "nowhere"], "not an address"),
            (&["--database-url", "u", "--token", "s=a", "--allow-origin", "http://a/"], "an origin is"),
            (&["--database-url", "u", "--token", "s=a", "--bogus"], "unknown argument"),
            (&["--database-url"], "needs a value"),
            (&["--database-url", "u", "--token", "s=a", "--rate-limit", "50"], "PER_SECOND,BURST"),
            (&["--database-url", "u", "--token", "s=a", "--read-timeout-ms", "0"], "not a positive integer"),
            (&["--database-url", "u", "--token", "s=a", "--rate-limit", "0,10"], "PER_SECOND,BURST"),
            (&["--database-url", "u", "--token", "s=a", "--rate-limit", "5,-1"], "PER_SECOND,BURST"),
        ];
        for (args, expected) in cases {
            match parse(args, &[]) {
                Err(ConfigError::Invalid(message)) => assert!(message.contains(expected), "{args:?}: {message}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
        assert_eq!(parse(&["--help"], &[]), Err(ConfigError::Help));
    }
}
