//! A circuit breaker per endpoint: after `failures` calls in a row that found the endpoint
//! unavailable (throttled or 5xx after every retry, no answer in time, no connection, an answer
//! that cannot be read), the breaker *opens* and calls fail at once for `open_for`, sparing the
//! endpoint and the caller's time; then one call is let through (*half-open*): its success
//! closes the breaker, its failure opens it again. Answers that say the input or the model is at
//! fault (a validation error, a model error) are not the endpoint's health and count neither way.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Breaker settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Unavailable calls in a row that open the breaker (0: never opens).
    pub failures: u32,
    /// How long it stays open before one call may probe the endpoint.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig { failures: 5, open_for: Duration::from_secs(30) }
    }
}

/// The breaker's state, as a gauge reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed = 0,
    /// One probe call is going through; the others fail at once.
    HalfOpen = 1,
    /// Calls fail at once.
    Open = 2,
}

impl BreakerState {
    /// `closed`, `half-open` or `open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::HalfOpen => "half-open",
            BreakerState::Open => "open",
        }
    }
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// One endpoint's breaker.
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
    opened: AtomicU64,
}

/// Why a call may not go through now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Time until a probe may go through.
    pub retry_in: Duration,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Breaker { config, inner: Mutex::new(Inner::Closed { failures: 0 }), opened: AtomicU64::new(0) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks to make a call: `Ok` lets it through (it must then report [`Breaker::success`],
    /// [`Breaker::failure`] or [`Breaker::neutral`]).
    ///
    /// # Errors
    /// [`Refused`] while the breaker is open, or half-open with its probe in flight.
    pub fn admit(&self) -> Result<(), Refused> {
        let mut g = self.lock();
        match &mut *g {
            Inner::Closed { .. } => Ok(()),
            Inner::Open { until } => {
                let now = Instant::now();
                if now >= *until {
                    *g = Inner::HalfOpen { probing: true };
                    Ok(())
                } else {
                    Err(Refused { retry_in: *until - now })
                }
            }
            Inner::HalfOpen { probing } => {
                if *probing {
                    Err(Refused { retry_in: Duration::ZERO })
                } else {
                    *probing = true;
                    Ok(())
                }
            }
        }
    }

    /// The endpoint answered.
    pub fn success(&self) {
        *self.lock() = Inner::Closed { failures: 0 };
    }

    /// The endpoint was unavailable.
    pub fn failure(&self) {
        let mut g = self.lock();
        let open = match &mut *g {
            Inner::Closed { failures } => {
                *failures += 1;
                self.config.failures > 0 && *failures >= self.config.failures
            }
            Inner::HalfOpen { .. } => true,
            Inner::Open { .. } => false,
        };
        if open {
            *g = Inner::Open { until: Instant::now() + self.config.open_for };
            self.opened.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The call ended in a way that says nothing about the endpoint's health (a validation or
    /// model error, an interrupted call): a half-open probe slot is freed.
    pub fn neutral(&self) {
        let mut g = self.lock();
        if let Inner::HalfOpen { probing } = &mut *g {
            *probing = false;
        }
    }

    /// The state now.
    pub fn state(&self) -> BreakerState {
        match &*self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
            Inner::Open { until } if Instant::now() >= *until => BreakerState::HalfOpen,
            Inner::Open { .. } => BreakerState::Open,
        }
    }

    /// How many times it opened.
    pub fn times_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_and_recovers_through_one_probe() {
        let b = Breaker::new(BreakerConfig { failures: 3, open_for: Duration::from_millis(40) });
        for _ in 0..2 {
            b.admit().unwrap();
            b.failure();
        }
        b.admit().unwrap();
        b.success(); // a success resets the count
        for _ in 0..2 {
            b.admit().unwrap();
            b.failure();
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.admit().unwrap();
        b.failure();
        assert_eq!((b.state(), b.times_opened()), (BreakerState::Open, 1));
        assert!(b.admit().unwrap_err().retry_in > Duration::ZERO);
        std::thread::sleep(Duration::from_millis(50));
        b.admit().unwrap(); // the probe
        assert!(b.admit().is_err(), "only one probe at a time");
        b.failure(); // the probe failed: open again
        assert_eq!((b.state(), b.times_opened()), (BreakerState::Open, 2));
        std::thread::sleep(Duration::from_millis(50));
        b.admit().unwrap();
        b.neutral(); // a validation error: the probe slot is freed, still half-open
        b.admit().unwrap();
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
    }
}
