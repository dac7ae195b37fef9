//! A circuit breaker for one tenant's SuperOffice: after `failure_threshold` consecutive
//! transient failures (unreachable, 5xx, 429, timeouts) it opens and calls fail fast with
//! `Unavailable` for `cool_down`; then one probe call is let through (half-open): its success
//! closes the breaker, its failure opens it again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive transient failures that open it.
    pub failure_threshold: u32,
    /// How long it stays open before a probe.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    /// Opens after 5 consecutive transient failures, probes after 30 s.
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// The breaker's state, as [`CircuitBreaker::state`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; the count of consecutive transient failures so far.
    Closed(u32),
    /// Calls fail fast until the cool-down ends.
    Open,
    /// One probe call is in flight; others fail fast.
    HalfOpen,
}

#[derive(Debug)]
enum Inner {
    Closed(u32),
    Open(Instant),
    /// A probe went out at this instant (a probe whose outcome never comes, e.g. a dropped
    /// call, is replaced after another cool-down).
    HalfOpen(Instant),
}

/// A circuit breaker (see the module docs). Uses tokio's clock, so tests may pause it.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        CircuitBreaker {
            config,
            inner: Mutex::new(Inner::Closed(0)),
        }
    }

    /// The state now.
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            Inner::Closed(n) => BreakerState::Closed(n),
            Inner::Open(until) if Instant::now() < until => BreakerState::Open,
            Inner::Open(_) | Inner::HalfOpen(_) => BreakerState::HalfOpen,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// May a call go out now? `Err(wait)` while open (how long until a probe), or while a
    /// probe is in flight (`Duration::ZERO`).
    pub fn acquire(&self) -> Result<(), Duration> {
        let mut inner = self.lock();
        match *inner {
            Inner::Closed(_) => Ok(()),
            Inner::Open(until) => {
                let now = Instant::now();
                if now < until {
                    Err(until - now)
                } else {
                    *inner = Inner::HalfOpen(now);
                    Ok(())
                }
            }
            Inner::HalfOpen(since) => {
                let now = Instant::now();
                if now.duration_since(since) >= self.config.cool_down {
                    *inner = Inner::HalfOpen(now);
                    Ok(())
                } else {
                    Err(Duration::ZERO)
                }
            }
        }
    }

    /// Records the outcome of a call [`CircuitBreaker::acquire`] let through: `transient`
    /// failures count towards opening, anything else (a success, a 4xx answer) closes it.
    pub fn record(&self, transient_failure: bool) {
        let mut inner = self.lock();
        *inner = if !transient_failure {
            Inner::Closed(0)
        } else {
            match *inner {
                Inner::Closed(n) if n + 1 < self.config.failure_threshold => Inner::Closed(n + 1),
                _ => Inner::Open(Instant::now() + self.config.cool_down),
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_fails_fast_probes_and_closes() {
        let b = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 3,
            cool_down: Duration::from_secs(10),
        });
        for n in 0..2 {
            assert_eq!(b.state(), BreakerState::Closed(n));
            b.acquire().unwrap();
            b.record(true);
        }
        // A success in between resets the count.
        b.record(false);
        assert_eq!(b.state(), BreakerState::Closed(0));
        for _ in 0..3 {
            b.acquire().unwrap();
            b.record(true);
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.acquire().unwrap_err() > Duration::from_secs(9));
        tokio::time::advance(Duration::from_secs(10)).await;
        // One probe; a second caller fails fast while it is out.
        b.acquire().unwrap();
        assert_eq!(b.acquire(), Err(Duration::ZERO));
        b.record(true);
        assert_eq!(b.state(), BreakerState::Open);
        tokio::time::advance(Duration::from_secs(10)).await;
        b.acquire().unwrap();
        b.record(false);
        assert_eq!(b.state(), BreakerState::Closed(0));
        b.acquire().unwrap();
    }
}
