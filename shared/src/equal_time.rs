//! Answers whose timing must not tell a fact the caller may not learn (whether an email has an
//! account): the fast path waits until the slow path's usual time, within the request, so no
//! work is left for after the answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A per-process estimate of the slow path's duration, and the wait that meets it.
#[derive(Debug)]
pub struct EqualTime {
    estimate_us: AtomicU64,
    floor_us: u64,
}

impl EqualTime {
    /// An estimate that starts at, and never falls below, `floor`: until a slow path has been
    /// seen in this process, the floor is all there is to go by.
    pub fn new(floor: Duration) -> EqualTime {
        let floor_us = micros(floor);
        EqualTime { estimate_us: AtomicU64::new(floor_us), floor_us }
    }

    /// The current estimate.
    pub fn estimate(&self) -> Duration {
        Duration::from_micros(self.estimate_us.load(Ordering::Relaxed))
    }

    /// Records how long the slow path took. The estimate moves a quarter of the way towards a
    /// longer time and a sixteenth towards a shorter one, so it sits in the slow path's upper
    /// range and most slow answers wait for it too.
    pub fn record(&self, took: Duration) {
        let took = micros(took);
        let _ = self.estimate_us.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
            let next = if took > current { current + (took - current) / 4 } else { current - (current - took) / 16 };
            Some(next.max(self.floor_us))
        });
    }

    /// Waits until `started` plus the estimate (at once when that has passed).
    pub async fn wait(&self, started: Instant) {
        tokio::time::sleep_until((started + self.estimate()).into()).await;
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_rises_fast_falls_slowly_and_keeps_its_floor() {
        let eq = EqualTime::new(Duration::from_millis(10));
        assert_eq!(eq.estimate(), Duration::from_millis(10));
        eq.record(Duration::from_millis(50));
        assert_eq!(eq.estimate(), Duration::from_millis(20));
        eq.record(Duration::from_millis(4));
        assert_eq!(eq.estimate(), Duration::from_millis(19));
        for _ in 0..200 {
            eq.record(Duration::ZERO);
        }
        assert_eq!(eq.estimate(), Duration::from_millis(10));
    }

    #[tokio::test]
    async fn a_fast_path_waits_for_the_estimate() {
        let eq = EqualTime::new(Duration::from_millis(30));
        let started = Instant::now();
        eq.wait(started).await;
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
