//! Bearer tokens → tenants. The tenant comes from the token, never from the request.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};

use crate::error::ServerError;
use crate::http::App;
use crate::pg::TenantId;

/// A tenant the server serves.
#[derive(Debug, PartialEq, Eq)]
pub struct Tenant {
    /// Its name, as configured.
    pub name: String,
    /// Its row id.
    pub id: TenantId,
}

/// The configured tokens. Looking one up compares it with every secret, each comparison in
/// time independent of where the bytes differ (only a secret's length can be learned).
/// Secrets are never logged or shown by `Debug`.
pub struct Tokens {
    grants: Vec<(Box<[u8]>, Arc<Tenant>)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.grants.iter().map(|(_, t)| &t.name)).finish()
    }
}

impl Tokens {
    /// Tokens from `(secret, tenant)` pairs.
    pub fn new(grants: impl IntoIterator<Item = (String, Arc<Tenant>)>) -> Tokens {
        Tokens { grants: grants.into_iter().map(|(s, t)| (s.into_bytes().into_boxed_slice(), t)).collect() }
    }

    /// The tenant whose secret is `presented`.
    pub fn tenant(&self, presented: &[u8]) -> Option<Arc<Tenant>> {
        self.grant(presented).map(|(_, tenant)| tenant)
    }

    /// The grant whose secret is `presented`: its index (in the order given) and its tenant.
    /// Every secret is compared, whichever matches.
    pub fn grant(&self, presented: &[u8]) -> Option<(usize, Arc<Tenant>)> {
        let mut found = None;
        for (i, (secret, tenant)) in self.grants.iter().enumerate() {
            if constant_time_eq(secret, presented) {
                found = Some((i, tenant.clone()));
            }
        }
        found
    }

    /// How many grants there are.
    pub fn len(&self) -> usize {
        self.grants.len()
    }

    /// No grant at all.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// The tenants, each once.
    pub fn tenants(&self) -> Vec<Arc<Tenant>> {
        let mut all: Vec<Arc<Tenant>> = Vec::new();
        for (_, t) in &self.grants {
            if !all.iter().any(|u| u.id == t.id) {
                all.push(t.clone());
            }
        }
        all
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

/// The tenant a request's `Authorization: Bearer <token>` opens; `401 unauthorized` when
/// there is no such header or token, `429 rate_limited` when the token is over its rate limit
/// (checked here, before the body is read or the database asked anything).
#[derive(Debug)]
pub struct Authed(pub Arc<Tenant>);

impl FromRequestParts<App> for Authed {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ServerError> {
        let value = parts.headers.get(header::AUTHORIZATION).ok_or(ServerError::Unauthorized)?;
        let value = value.as_bytes();
        let token = match value.iter().position(|&b| b == b' ') {
            Some(space) if value[..space].eq_ignore_ascii_case(b"bearer") => value[space + 1..].trim_ascii(),
            _ => return Err(ServerError::Unauthorized),
        };
        let (grant, tenant) = app.tokens.grant(token).ok_or(ServerError::Unauthorized)?;
        if let Some(limiter) = &app.rate_limiter {
            limiter
                .take(grant, Instant::now())
                .map_err(|retry_after| ServerError::RateLimited { retry_after, limit: limiter.limit() })?;
        }
        Ok(Authed(tenant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_own_tenant_only() {
        let a = Arc::new(Tenant { name: "a".into(), id: TenantId(1) });
        let b = Arc::new(Tenant { name: "b".into(), id: TenantId(2) });
        let tokens = Tokens::new([("s1".to_string(), a.clone()), ("s2".to_string(), b.clone()), ("s3".to_string(), a.clone())]);
        assert_eq!(tokens.tenant(b"s1"), Some(a.clone()));
        assert_eq!(tokens.tenant(b"s2"), Some(b.clone()));
        assert_eq!(tokens.tenant(b"s3"), Some(a));
        for wrong in [&b""[..], b"s", b"s10", b"S1", b"s4"] {
            assert_eq!(tokens.tenant(wrong), None);
        }
        assert_eq!(tokens.tenants().len(), 2);
        assert!(!format!("{tokens:?}").contains("s1"));
    }

    #[test]
    fn secrets_compare_equal_exactly_when_every_byte_is() {
        let secret = b"0123456789abcdef";
        assert!(constant_time_eq(secret, b"0123456789abcdef"));
        assert!(constant_time_eq(b"", b""));
        for other in [
            &b"x123456789abcdef"[..], // first byte
            b"01234567x9abcdef",      // middle
            b"0123456789abcdex",      // last
            b"0123456789abcde",       // a prefix
            b"0123456789abcdef0",     // longer
            b"",
            b"0123456789ABCDEF",
        ] {
            assert!(!constant_time_eq(secret, other), "{}", String::from_utf8_lossy(other));
            assert!(!constant_time_eq(other, secret), "{}", String::from_utf8_lossy(other));
        }
        // Each bit counts.
        for i in 0..secret.len() {
            for bit in 0..8 {
                let mut flipped = *secret;
                flipped[i] ^= 1 << bit;
                assert!(!constant_time_eq(secret, &flipped));
            }
        }
    }

    /// The body of `fn <name>` in this file.
    fn body_of(name: &str) -> &'static str {
        const SOURCE: &str = include_str!("auth.rs");
        let start = SOURCE.find(&format!("fn {name}(")).unwrap_or_else(|| panic!("fn {name}"));
        let open = start + SOURCE[start..].find('{').unwrap();
        let mut depth = 0;
        for (i, c) in SOURCE[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return &SOURCE[open..open + i + 1];
                    }
                }
                _ => {}
            }
        }
        panic!("fn {name} does not end");
    }

    #[test]
    fn the_comparison_cannot_exit_early() {
        // Past the length check, every byte is XORed in; nothing branches on a byte.
        let compare = body_of("constant_time_eq");
        let (length_check, rest) = compare.split_once("return false;").expect("the length check");
        assert!(length_check.contains("a.len() != b.len()"), "{compare}");
        for early in ["return", "break", "&&", "||", "==", ".all(", ".any(", ".position(", ".find(", "?", "if "] {
            let rest = rest.replace("diff) == 0", "");
            assert!(!rest.contains(early), "`{early}` in the comparison:\n{compare}");
        }
        assert!(rest.contains("fold(") && rest.contains("x ^ y") && rest.contains("black_box"), "{compare}");
        // Looking a token up compares it with every secret, also after a match.
        let grant = body_of("grant");
        for early in ["return", "break", ".find(", ".position(", ".any(", "?"] {
            assert!(!grant.contains(early), "`{early}` in the lookup:\n{grant}");
        }
        assert!(grant.contains("for ") && grant.contains("constant_time_eq(secret, presented)"), "{grant}");
    }
}
