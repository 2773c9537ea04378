//! Limits on how fast one person or one address may act: failure counters in a sliding window (to
//! slow down password guessing) and token buckets (for messages, other frames, accounts and rooms).
//! In memory: a restart forgets the counts, which costs an abuser a restart's worth of extra tries.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Limits;
use crate::protocol::{ErrorCode, Rejection};

/// Forget keys whose window has passed once the map grows past this, so memory stays bounded.
const PRUNE_ABOVE: usize = 10_000;

pub struct Throttle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self { max_failures, window, failures: Mutex::new(HashMap::new()) }
    }

    /// `Err(wait)` while `key` has used up its failures in the current window.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let failures = self.lock();
        match failures.get(key) {
            Some(&(count, started)) if count >= self.max_failures && started.elapsed() < self.window => {
                Err(self.window - started.elapsed())
            }
            _ => Ok(()),
        }
    }

    pub fn fail(&self, key: &str) {
        let mut failures = self.lock();
        if failures.len() > PRUNE_ABOVE {
            let window = self.window;
            failures.retain(|_, (_, started)| started.elapsed() < window);
        }
        let entry = failures.entry(key.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A token bucket per key: `burst` actions at once, then `per_second` on average.
pub struct RateLimiter<K> {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self {
            per_second: per_second.max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// Takes one token for `key`; `Err(wait)` (until the next token) when there is none.
    pub fn try_take(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            // A full bucket says nothing a fresh one would not.
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(key.clone()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.per_second))
        }
    }
}

/// The limits every message and every other frame passes, from `[limits]` in the settings.
pub struct FrameLimits {
    messages_by_user: RateLimiter<i64>,
    messages_by_address: RateLimiter<IpAddr>,
    frames_by_user: RateLimiter<i64>,
}

impl FrameLimits {
    pub fn new(limits: &Limits) -> Self {
        Self {
            messages_by_user: RateLimiter::new(f64::from(limits.messages_per_second), limits.message_burst),
            messages_by_address: RateLimiter::new(
                f64::from(limits.address_messages_per_second),
                limits.address_message_burst,
            ),
            frames_by_user: RateLimiter::new(f64::from(limits.frames_per_second), limits.frame_burst),
        }
    }

    /// A message by `user_id`, sent from `address`: refused while either has posted too fast.
    pub fn message(&self, user_id: i64, address: Option<IpAddr>) -> Result<(), Rejection> {
        let by_address = || address.map_or(Ok(()), |address| self.messages_by_address.try_take(&address));
        self.messages_by_user.try_take(&user_id).and_then(|()| by_address()).map_err(too_fast)
    }

    /// Any other frame (typing, read, nick) by `user_id`.
    pub fn frame(&self, user_id: i64) -> Result<(), Rejection> {
        self.frames_by_user.try_take(&user_id).map_err(too_fast)
    }
}

fn too_fast(wait: Duration) -> Rejection {
    let seconds = wait.as_secs_f64().max(0.1);
    Rejection::new(ErrorCode::RateLimited, format!("Slow down: too many at once. Try again in {seconds:.1} s."))
}

/// Failed sign-ins allowed per nickname and per client address in 15 minutes.
const PER_NICKNAME: u32 = 5;
const PER_ADDRESS: u32 = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The two limits on password guessing: one nickname from anywhere, and anything from one address.
pub struct SignInThrottle {
    pub by_nickname: Throttle,
    pub by_address: Throttle,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self { by_nickname: Throttle::new(PER_NICKNAME, WINDOW), by_address: Throttle::new(PER_ADDRESS, WINDOW) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_blocked_after_its_failures_until_the_window_passes() {
        let throttle = Throttle::new(3, Duration::from_millis(200));
        for _ in 0..3 {
            assert!(throttle.check("alice").is_ok());
            throttle.fail("alice");
        }
        assert!(throttle.check("alice").is_err());
        assert!(throttle.check("bob").is_ok(), "other keys are unaffected");
        std::thread::sleep(Duration::from_millis(250));
        assert!(throttle.check("alice").is_ok());
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate_per_key() {
        let limiter = RateLimiter::new(20.0, 3);
        for _ in 0..3 {
            assert!(limiter.try_take(&1).is_ok());
        }
        let wait = limiter.try_take(&1).unwrap_err();
        assert!(wait <= Duration::from_millis(50), "{wait:?}");
        assert!(limiter.try_take(&2).is_ok(), "other keys are unaffected");
        std::thread::sleep(Duration::from_millis(60));
        assert!(limiter.try_take(&1).is_ok(), "a token came back");
        assert!(limiter.try_take(&1).is_err());
    }

    #[test]
    fn success_clears_the_count() {
        let throttle = Throttle::new(2, Duration::from_secs(60));
        throttle.fail("alice");
        throttle.clear("alice");
        throttle.fail("alice");
        assert!(throttle.check("alice").is_ok());
    }
}
