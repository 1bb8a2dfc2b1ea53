//! Login throttling: failed attempts counted per account and per address in a
//! fixed window; past the limit, further attempts are refused until the window
//! of the oldest counted failure has passed, without checking the password.
//!
//! Limitation: the counters live in this process's memory; several API
//! instances each allow the limit, and a restart forgets them.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// Limits for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Failures allowed within `window`.
    pub max_failures: u32,
    /// How long a failure counts.
    pub window: Duration,
}

/// Failure counters for one kind of key (accounts, or addresses).
#[derive(Debug)]
pub struct Throttle {
    limit: Limit,
    failures: HashMap<String, Vec<Instant>>,
}

impl Throttle {
    /// An empty throttle.
    pub fn new(limit: Limit) -> Self {
        Self {
            limit,
            failures: HashMap::new(),
        }
    }

    /// `None` when `key` may try now, or how long it must wait.
    pub fn check(&mut self, key: &str, now: Instant) -> Option<Duration> {
        let window = self.limit.window;
        let list = self.failures.get_mut(key)?;
        list.retain(|&t| now.duration_since(t) < window);
        if list.len() < self.limit.max_failures as usize {
            return None;
        }
        list.first()
            .map(|&oldest| window - now.duration_since(oldest))
    }

    /// Counts a failure of `key`.
    pub fn fail(&mut self, key: &str, now: Instant) {
        let window = self.limit.window;
        let list = self.failures.entry(key.to_owned()).or_default();
        list.retain(|&t| now.duration_since(t) < window);
        list.push(now);
        // Forget keys whose failures have all expired, so a spray of made-up
        // usernames cannot grow the map without bound for long.
        if self.failures.len() > 10_000 {
            self.failures
                .retain(|_, l| l.last().is_some_and(|&t| now.duration_since(t) < window));
        }
    }

    /// Forgets `key`'s failures (after a successful login).
    pub fn succeed(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_limit_holds_until_the_window_passes() {
        let limit = Limit {
            max_failures: 3,
            window: Duration::from_secs(60),
        };
        let mut t = Throttle::new(limit);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(t.check("ann", Instant::now()), None);
            t.fail("ann", Instant::now());
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        let wait = t.check("ann", Instant::now()).expect("throttled");
        assert_eq!(wait, Duration::from_secs(57));
        assert_eq!(
            t.check("bob", Instant::now()),
            None,
            "other keys unaffected"
        );
        tokio::time::advance(wait).await;
        assert_eq!(t.check("ann", Instant::now()), None);
        assert!(Instant::now() >= start + Duration::from_secs(60));
        t.fail("ann", Instant::now());
        t.succeed("ann");
        assert_eq!(t.check("ann", Instant::now()), None);
    }
}

/// Request rate limiting: a token bucket per key (client address) that
/// refills at `per_sec` up to `burst`.
///
/// Limitation: per process, like [`Throttle`]; clients behind one proxy share
/// a bucket.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: HashMap<String, (f64, Instant)>,
}

impl RateLimiter {
    /// A limiter allowing `per_sec` requests a second with bursts of `burst`.
    pub fn new(per_sec: u32, burst: u32) -> Self {
        Self {
            per_sec: f64::from(per_sec.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
        }
    }

    /// Takes one token for `key`: `None` when allowed, or how long until a
    /// token is available.
    pub fn take(&mut self, key: &str, now: Instant) -> Option<Duration> {
        if self.buckets.len() > 10_000 {
            let (per_sec, burst) = (self.per_sec, self.burst);
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < burst
            });
        }
        let (tokens, at) = self
            .buckets
            .entry(key.to_owned())
            .or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - *tokens) / self.per_sec))
        }
    }
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_are_allowed_then_the_rate_holds() {
        let mut r = RateLimiter::new(2, 3);
        for _ in 0..3 {
            assert_eq!(r.take("a", Instant::now()), None);
        }
        let wait = r.take("a", Instant::now()).expect("limited");
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(r.take("b", Instant::now()), None, "per key");
        tokio::time::advance(wait).await;
        assert_eq!(r.take("a", Instant::now()), None);
        assert!(r.take("a", Instant::now()).is_some());
    }
}
