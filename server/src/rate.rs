//! Per-token rate limits: a token bucket for each bearer token (each grant, not each tenant:
//! two tokens of one tenant have a bucket each), checked after authentication and before a
//! request's body is read or the database is asked anything.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests per second a token may make, sustained, and how many it may make at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests added to the bucket per second (≥ 1).
    pub per_second: u32,
    /// The bucket's size: requests a token may make at once after being idle (≥ 1).
    pub burst: u32,
}

impl Default for RateLimit {
    /// 50 requests per second, bursts of 100 (`docs/sync.md`): far above what a syncing
    /// client makes (a push and a pull per round, one notice stream), low enough that one
    /// runaway or stolen token cannot take the server's connections from the others.
    fn default() -> Self {
        RateLimit { per_second: 50, burst: 100 }
    }
}

/// One token's bucket.
#[derive(Debug)]
struct Bucket {
    /// Requests it may still make now (fractional between refills).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

/// The buckets of the configured tokens, by grant index.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Vec<Mutex<Bucket>>,
}

impl RateLimiter {
    /// Full buckets for `grants` tokens under `limit`, as of `now`.
    pub fn new(limit: RateLimit, grants: usize, now: Instant) -> RateLimiter {
        let full = || Mutex::new(Bucket { tokens: f64::from(limit.burst), at: now });
        RateLimiter { limit, buckets: (0..grants).map(|_| full()).collect() }
    }

    /// The limit it applies.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one request from grant `grant`'s bucket at `now`: `Ok` when there was one, else
    /// how long until there is (the bucket is left as it was, but refilled).
    pub fn take(&self, grant: usize, now: Instant) -> Result<(), Duration> {
        let Some(bucket) = self.buckets.get(grant) else { return Ok(()) };
        let mut bucket = bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * f64::from(self.limit.per_second)).min(f64::from(self.limit.burst));
        bucket.at = now.max(bucket.at);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / f64::from(self.limit.per_second);
            // Rounded up to whole milliseconds, at least one: a client that waits this long
            // finds a request in the bucket.
            Err(Duration::from_millis((wait * 1000.0).ceil().max(1.0) as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate_then_refused_with_the_wait() {
        let start = Instant::now();
        let limiter = RateLimiter::new(RateLimit { per_second: 10, burst: 3 }, 2, start);
        for _ in 0..3 {
            assert_eq!(limiter.take(0, start), Ok(()));
        }
        // Empty: one request comes back every 100 ms.
        assert_eq!(limiter.take(0, start), Err(Duration::from_millis(100)));
        assert_eq!(limiter.take(0, start + Duration::from_millis(40)), Err(Duration::from_millis(60)));
        // Another grant has its own bucket.
        assert_eq!(limiter.take(1, start), Ok(()));
        assert_eq!(limiter.take(0, start + Duration::from_millis(100)), Ok(()));
        assert!(limiter.take(0, start + Duration::from_millis(100)).is_err());
        // Idle long enough, the bucket is full again, and no fuller.
        let later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limiter.take(0, later), Ok(()));
        }
        assert!(limiter.take(0, later).is_err());
        // A clock read out of order never adds requests.
        assert!(limiter.take(0, start).is_err());
    }

    #[test]
    fn waits_round_up_to_whole_milliseconds() {
        let start = Instant::now();
        let limiter = RateLimiter::new(RateLimit { per_second: 3, burst: 1 }, 1, start);
        assert_eq!(limiter.take(0, start), Ok(()));
        // 1/3 s is 333.33… ms: waiting 333 ms would come too early.
        assert_eq!(limiter.take(0, start), Err(Duration::from_millis(334)));
    }
}
