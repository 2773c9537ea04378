//! Limits on how fast one person or one address may act: growing waits and failure counters (to slow
//! down password guessing) and token buckets (for messages, other frames, accounts and rooms).
//! In memory: a restart forgets the counts, which costs an abuser a restart's worth of extra tries.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::protocol::{ErrorCode, Rejection, UserId};
use crate::server::config::Limits;

/// Forget keys whose window has passed once the map grows past this, so memory stays bounded.
const PRUNE_ABOVE: usize = 10_000;

pub(crate) struct Throttle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    pub(crate) fn new(max_failures: u32, window: Duration) -> Self {
        Self { max_failures, window, failures: Mutex::new(HashMap::new()) }
    }

    /// `Err(wait)` while `key` has used up its failures in the current window.
    pub(crate) fn check(&self, key: &str) -> Result<(), Duration> {
        let failures = self.lock();
        match failures.get(key) {
            Some(&(count, started)) if count >= self.max_failures && started.elapsed() < self.window => {
                Err(self.window - started.elapsed())
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn fail(&self, key: &str) {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A token bucket per key: `burst` actions at once, then `per_second` on average.
pub(crate) struct RateLimiter<K> {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub(crate) fn new(per_second: f64, burst: u32) -> Self {
        Self {
            per_second: per_second.max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// Takes one token for `key`; `Err(wait)` (until the next token) when there is none.
    pub(crate) fn try_take(&self, key: &K) -> Result<(), Duration> {
        self.with_bucket(key, |tokens| {
            if *tokens >= 1.0 {
                *tokens -= 1.0;
                Ok(())
            } else {
                Err(())
            }
        })
        .map_err(|tokens| {
            // A rate of 0 (allowed in the settings: a burst and nothing more) makes the wait
            // longer than a Duration holds, which `from_secs_f64` would panic on.
            Duration::try_from_secs_f64((1.0 - tokens) / self.per_second).unwrap_or(Duration::MAX)
        })
    }

    /// Takes a token for `key` for something done elsewhere (on another Natter), which could not
    /// be refused here: the bucket may go into debt, down to a burst's worth, which later actions
    /// here wait out.
    pub(crate) fn charge(&self, key: &K) {
        let floor = -self.burst;
        let _ = self.with_bucket(key, |tokens| {
            *tokens = (*tokens - 1.0).max(floor);
            Ok::<(), ()>(())
        });
    }

    /// Runs `act` on `key`'s bucket, refilled for the time since it was last used; on `Err`, the
    /// tokens left.
    fn with_bucket<T>(&self, key: &K, act: impl FnOnce(&mut f64) -> Result<T, ()>) -> Result<T, f64> {
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
        act(tokens).map_err(|()| *tokens)
    }
}

/// The limits every message and every other frame passes, from `[limits]` in the settings.
pub(crate) struct FrameLimits {
    messages_by_user: RateLimiter<UserId>,
    messages_by_address: RateLimiter<IpAddr>,
    frames_by_user: RateLimiter<UserId>,
}

impl FrameLimits {
    pub(crate) fn new(limits: &Limits) -> Self {
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
    pub(crate) fn message(&self, user_id: UserId, address: Option<IpAddr>) -> Result<(), Rejection> {
        let by_address = || address.map_or(Ok(()), |address| self.messages_by_address.try_take(&address));
        self.messages_by_user.try_take(&user_id).and_then(|()| by_address()).map_err(too_fast)
    }

    /// Messages other Natters on the database stored, by author: they count against the same
    /// per-user budget, so one person posting through three Natters gets one person's rate (as
    /// far as the stream has told this Natter: within its lag, a burst on each is possible).
    pub(crate) fn posted_elsewhere(&self, authors: &[UserId]) {
        for author in authors {
            self.messages_by_user.charge(author);
        }
    }

    /// Any other frame (typing, read, nick) by `user_id`.
    pub(crate) fn frame(&self, user_id: UserId) -> Result<(), Rejection> {
        self.frames_by_user.try_take(&user_id).map_err(too_fast)
    }
}

fn too_fast(wait: Duration) -> Rejection {
    let seconds = wait.as_secs_f64().max(0.1);
    Rejection::new(ErrorCode::RateLimited, format!("Slow down: too many at once. Try again in {seconds:.1} s."))
}

/// Wrong passwords one address may try for one nickname before each further try must wait.
const FREE_TRIES: u32 = 3;
/// The first wait after the free tries; each further failure doubles it, up to `LONGEST_WAIT`.
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// A nickname and address pair with no failure for this long starts afresh.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Failed sign-ins allowed from one address, whatever the nicknames, in 15 minutes.
const PER_ADDRESS: u32 = 20;
const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Password guessing is slowed where it comes from, never stopped at the account: failures are
/// counted per nickname *and* address, and after a few each further try from there must wait
/// twice as long as the last (OWASP's authentication cheat sheet: throttling rather than account
/// lockout, which would let anyone who knows a nickname lock its owner out). One address guessing
/// across many nicknames is also cut off after `PER_ADDRESS` failures. The owner, signing in from
/// their own address, is never kept waiting by someone else's guesses.
pub(crate) struct SignInThrottle {
    by_pair: Mutex<HashMap<(String, String), Backoff>>,
    by_address: Throttle,
}

/// Failures of one nickname from one address, and when the last one was.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    failures: u32,
    last: Instant,
}

impl Backoff {
    /// How long after the last failure the next try is allowed.
    fn wait(&self) -> Duration {
        let doublings = self.failures.saturating_sub(FREE_TRIES);
        if doublings == 0 {
            return Duration::ZERO;
        }
        FIRST_WAIT.saturating_mul(1 << (doublings - 1).min(20)).min(LONGEST_WAIT)
    }
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self { by_pair: Mutex::default(), by_address: Throttle::new(PER_ADDRESS, ADDRESS_WINDOW) }
    }
}

impl SignInThrottle {
    /// `Err(wait)` while a try for `nickname_key` from `address` must wait.
    pub(crate) fn check(&self, nickname_key: &str, address: &str) -> Result<(), Duration> {
        self.check_at(nickname_key, address, Instant::now())
    }

    fn check_at(&self, nickname_key: &str, address: &str, now: Instant) -> Result<(), Duration> {
        self.by_address.check(address)?;
        let pairs = self.pairs();
        let Some(backoff) = pairs.get(&(nickname_key.to_owned(), address.to_owned())) else { return Ok(()) };
        let allowed_at = backoff.last + backoff.wait();
        if now < allowed_at {
            Err(allowed_at - now)
        } else {
            Ok(())
        }
    }

    /// A wrong password (or an unknown nickname) for `nickname_key` from `address`.
    pub(crate) fn fail(&self, nickname_key: &str, address: &str) {
        self.fail_at(nickname_key, address, Instant::now());
    }

    fn fail_at(&self, nickname_key: &str, address: &str, now: Instant) {
        self.by_address.fail(address);
        let mut pairs = self.pairs();
        if pairs.len() > PRUNE_ABOVE {
            pairs.retain(|_, backoff| now.duration_since(backoff.last) < FORGET_AFTER);
        }
        let backoff =
            pairs.entry((nickname_key.to_owned(), address.to_owned())).or_insert(Backoff { failures: 0, last: now });
        if now.duration_since(backoff.last) >= FORGET_AFTER {
            backoff.failures = 0;
        }
        backoff.failures = backoff.failures.saturating_add(1);
        backoff.last = now;
    }

    /// The right password from `address`: its failures for that nickname are forgotten.
    pub(crate) fn succeed(&self, nickname_key: &str, address: &str) {
        self.pairs().remove(&(nickname_key.to_owned(), address.to_owned()));
    }

    fn pairs(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Backoff>> {
        self.by_pair.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
    fn what_was_posted_elsewhere_uses_the_same_budget_and_can_leave_it_in_debt() {
        let limits = RateLimiter::new(0.0, 3);
        limits.charge(&1);
        limits.charge(&1);
        assert!(limits.try_take(&1).is_ok(), "one of three left");
        assert!(limits.try_take(&1).is_err());
        for _ in 0..10 {
            limits.charge(&1);
        }
        let refill = RateLimiter::new(10.0, 2);
        for _ in 0..10 {
            refill.charge(&1);
        }
        assert!(refill.try_take(&1).is_err(), "in debt");
        // Debt is at most a burst: two tokens' debt plus the one to take, at 10 per second.
        std::thread::sleep(Duration::from_millis(350));
        assert!(refill.try_take(&1).is_ok());
        assert!(limits.try_take(&2).is_ok(), "other users are unaffected");
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
    fn a_bucket_with_no_rate_allows_its_burst_and_then_refuses_without_panicking() {
        let limiter = RateLimiter::new(0.0, 1);
        assert!(limiter.try_take(&1).is_ok());
        assert!(limiter.try_take(&1).unwrap_err() > Duration::from_secs(3600));
        assert_eq!(too_fast(Duration::MAX).code, ErrorCode::RateLimited);
    }

    #[test]
    fn guessing_one_nickname_from_one_address_waits_twice_as_long_each_time() {
        let throttle = SignInThrottle::default();
        let start = Instant::now();
        for _ in 0..FREE_TRIES {
            assert!(throttle.check_at("bob", "10.0.0.9", start).is_ok());
            throttle.fail_at("bob", "10.0.0.9", start);
        }
        assert!(throttle.check_at("bob", "10.0.0.9", start).is_ok(), "the free tries cost no wait");
        let mut at = start;
        for expected in [1, 2, 4, 8] {
            throttle.fail_at("bob", "10.0.0.9", at);
            assert_eq!(throttle.check_at("bob", "10.0.0.9", at), Err(Duration::from_secs(expected)));
            at += Duration::from_secs(expected);
            assert!(throttle.check_at("bob", "10.0.0.9", at).is_ok(), "allowed once {expected} s passed");
        }
    }

    #[test]
    fn the_wait_stops_growing_and_is_forgotten_after_an_hour() {
        let throttle = SignInThrottle::default();
        let start = Instant::now();
        // Enough to pass the longest wait, fewer than cut the whole address off.
        for _ in 0..PER_ADDRESS - 2 {
            throttle.fail_at("bob", "10.0.0.9", start);
        }
        assert_eq!(throttle.check_at("bob", "10.0.0.9", start), Err(LONGEST_WAIT));
        let later = start + FORGET_AFTER;
        throttle.fail_at("bob", "10.0.0.9", later);
        assert!(throttle.check_at("bob", "10.0.0.9", later).is_ok(), "one failure after an hour's quiet is free");
    }

    #[test]
    fn someone_elses_guesses_never_keep_the_owner_waiting() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        for _ in 0..12 {
            throttle.fail_at("bob", "10.0.0.66", now);
        }
        assert!(throttle.check_at("bob", "10.0.0.66", now).is_err(), "the guesser waits");
        assert!(throttle.check_at("bob", "192.168.1.5", now).is_ok(), "the owner, elsewhere, does not");
        assert!(throttle.check_at("alice", "10.0.0.66", now).is_ok(), "other nicknames from there: not yet");
    }

    #[test]
    fn an_address_guessing_across_nicknames_is_cut_off() {
        let throttle = SignInThrottle::default();
        for n in 0..PER_ADDRESS {
            throttle.fail(&format!("user{n}"), "10.0.0.66");
        }
        assert!(throttle.check("someone-new", "10.0.0.66").is_err());
        assert!(throttle.check("someone-new", "10.0.0.7").is_ok());
    }

    #[test]
    fn the_right_password_forgets_that_addresss_failures() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        for _ in 0..6 {
            throttle.fail_at("bob", "10.0.0.9", now);
        }
        throttle.succeed("bob", "10.0.0.9");
        assert!(throttle.check_at("bob", "10.0.0.9", now).is_ok());
    }
}
