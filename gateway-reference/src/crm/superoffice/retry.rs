//! Retries with exponential backoff and full jitter, honouring `Retry-After`
//! (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), bounded in attempts and in how long
//! one wait may be.

use std::time::Duration;

/// How a failed call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: no retry).
    pub max_attempts: u32,
    /// The backoff before the second attempt; it doubles for each further one.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// The longest `Retry-After` the client waits out; a longer one ends the retries (the
    /// sync then retries the user later with its own backoff).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 200 ms doubling up to 5 s, `Retry-After` up to 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries (Test Connection answers at once).
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed, or
    /// `None` when the attempts are used up or the server asks for a longer wait than
    /// [`RetryPolicy::max_retry_after`]. A `retry_after` the server sent is waited out as
    /// asked; otherwise the wait is drawn uniformly from the upper half of the exponential
    /// backoff (jitter keeps many clients from retrying in step).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        if let Some(wait) = retry_after {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        let exp = attempt.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1_u32 << exp)
            .min(self.max_delay);
        let half = full / 2;
        Some(half + half.mul_f64(jitter()))
    }
}

/// A random fraction in [0, 1) from the operating system's generator (a UUID v4's random
/// bits; no other random source is a dependency).
fn jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11;
    bits as f64 / (1_u64 << 53) as f64
}

/// The wait a `Retry-After` value asks for: delay-seconds, or an HTTP-date (IMF-fixdate,
/// which RFC 2822 parsing accepts) measured from `now`; a date in the past is no wait.
/// `None` for a value that is neither.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_bounded() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(2),
        };
        for _ in 0..50 {
            let d1 = p.delay(1, None).unwrap();
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d2 = p.delay(2, None).unwrap();
            assert!(d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200));
            let d4 = p.delay(4, None).unwrap();
            assert!(d4 >= Duration::from_millis(150) && d4 <= Duration::from_millis(300));
        }
        assert_eq!(p.delay(5, None), None);
        let draws: std::collections::HashSet<_> = (0..20).map(|_| p.delay(3, None)).collect();
        assert!(draws.len() > 1, "no jitter");
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(3))), None);
        assert_eq!(RetryPolicy::none().delay(1, None), None);
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:09 GMT", now),
            Some(Duration::from_secs(9))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
