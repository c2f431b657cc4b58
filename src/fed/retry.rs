//! What every long-lived federation task shares: waiting for shutdown, and reconnecting with a
//! capped, doubling backoff (the replica's follower, a county's shipper).

use std::time::Duration;

use tokio::sync::watch;

/// Resolves when `closing` turns true (or its sender is gone).
pub async fn closed(c: &mut watch::Receiver<bool>) {
    let _ = c.wait_for(|c| *c).await;
}

/// Sleep for `d`; `false` if shutdown began meanwhile.
pub async fn pause(d: Duration, closing: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        () = closed(closing) => false,
    }
}

/// The wait before the next attempt: `min` after a session that ended well, doubling (up to
/// `max`) after each failure in a row.
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The wait after a session that ended with `ok`.
    pub fn after(&mut self, ok: bool) -> Duration {
        if ok {
            self.next = self.min;
            return self.min;
        }
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    pub fn max(&self) -> Duration {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets_after_success() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(350));
        let waits: Vec<_> = [false, false, false, false, true, false]
            .into_iter()
            .map(|ok| b.after(ok))
            .collect();
        assert_eq!(
            waits,
            [ms(100), ms(200), ms(350), ms(350), ms(100), ms(100)]
        );
    }
}
