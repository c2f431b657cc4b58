//! Login rate limiting: failed attempts are counted per account and per client address inside a
//! sliding window; past the limit every attempt (even a correct one) is refused until the window
//! has passed. In memory: a restart forgets counts (documented in the README).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Millis;
use crate::error::{Error, Result};

#[derive(Debug)]
pub struct LoginThrottle {
    per_account: u32,
    per_address: u32,
    window_ms: i64,
    failures: Mutex<HashMap<String, Vec<Millis>>>,
}

impl LoginThrottle {
    pub fn new(per_account: u32, per_address: u32, window_minutes: u32) -> Self {
        Self {
            per_account,
            per_address,
            window_ms: i64::from(window_minutes) * 60_000,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Refuse if either key is over its limit.
    pub fn check(&self, account: &str, address: &str, now: Millis) -> Result<()> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for (key, limit) in [
            (format!("u:{account}"), self.per_account),
            (format!("a:{address}"), self.per_address),
        ] {
            if let Some(v) = map.get_mut(&key) {
                v.retain(|t| now - t < self.window_ms);
                if v.len() >= limit as usize {
                    let oldest = v.first().copied().unwrap_or(now);
                    let retry = (oldest + self.window_ms - now).max(1000) / 1000;
                    return Err(Error::LoginRateLimited {
                        retry_after_secs: retry as u64,
                    });
                }
            }
        }
        Ok(())
    }

    pub fn failed(&self, account: &str, address: &str, now: Millis) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            let w = self.window_ms;
            map.retain(|_, v| v.last().is_some_and(|t| now - t < w));
        }
        map.entry(format!("u:{account}")).or_default().push(now);
        map.entry(format!("a:{address}")).or_default().push(now);
    }

    pub fn succeeded(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("u:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_limit_and_unlocks_after_window() {
        let t = LoginThrottle::new(3, 100, 1);
        for i in 0..3 {
            t.check("zhang", "1.2.3.4", i).unwrap();
            t.failed("zhang", "1.2.3.4", i);
        }
        assert_eq!(
            t.check("zhang", "1.2.3.4", 10).unwrap_err().code(),
            "login_rate_limited"
        );
        assert!(t.check("li", "1.2.3.4", 10).is_ok());
        assert!(t.check("zhang", "1.2.3.4", 60_000 + 5).is_ok());
    }

    #[test]
    fn address_limit_spans_accounts() {
        let t = LoginThrottle::new(100, 2, 1);
        t.failed("a", "9.9.9.9", 0);
        t.failed("b", "9.9.9.9", 0);
        assert!(t.check("c", "9.9.9.9", 1).is_err());
        assert!(t.check("c", "8.8.8.8", 1).is_ok());
    }
}
