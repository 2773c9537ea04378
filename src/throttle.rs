//! Counting failures per key in a sliding window, to slow down password guessing. In memory: a
//! restart forgets the counts, which costs an attacker a restart's worth of extra tries at most.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    fn success_clears_the_count() {
        let throttle = Throttle::new(2, Duration::from_secs(60));
        throttle.fail("alice");
        throttle.clear("alice");
        throttle.fail("alice");
        assert!(throttle.check("alice").is_ok());
    }
}
