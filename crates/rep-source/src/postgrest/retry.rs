//! Which failed requests are tried again, and how long to wait before the next try.

use std::time::Duration;

use backon::ExponentialBuilder;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

/// First wait; doubles on every retry (with jitter) up to [`MAX_DELAY`].
const MIN_DELAY: Duration = Duration::from_millis(200);

/// Longest wait between two tries of the backoff itself.
const MAX_DELAY: Duration = Duration::from_secs(10);

/// Longest `Retry-After` honoured: a gateway asking for more is treated as down for now,
/// and the run fails as unreachable rather than hanging an operator's shell for an hour.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// The backoff for up to `max_retries` retries after the first try.
pub(crate) fn backoff(max_retries: u32) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(MIN_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(max_retries as usize)
}

/// True for statuses worth another try: the gateway or database was overloaded or briefly
/// away (5xx) or asked us to slow down (429). Every other 4xx is an answer about the request
/// itself and would only be refused again.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// The wait a `Retry-After` value asks for: delta-seconds or an HTTP-date, capped at
/// [`MAX_RETRY_AFTER`]; `None` when absent or unreadable.
pub(crate) fn retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        Duration::from_secs(value.parse().ok()?)
    } else {
        let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
        let delta = at - now;
        if delta.is_negative() {
            Duration::ZERO
        } else {
            delta.unsigned_abs()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;
    use time::macros::datetime;

    #[test]
    fn retries_only_server_side_trouble() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 406, 416] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn reads_retry_after_seconds_and_dates() {
        let now = datetime!(2026-03-01 12:00:00 UTC);
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after("Sun, 01 Mar 2026 12:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-1", now), None);
    }

    #[test]
    fn backoff_gives_exactly_max_retries_waits() {
        assert_eq!(backoff(3).build().count(), 3);
        assert_eq!(backoff(0).build().count(), 0);
    }
}
