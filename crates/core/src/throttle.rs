//! Brute-force protection, as pure arithmetic over failure counters.
//!
//! The store keeps counters (count, first and last failure); these functions decide
//! what they mean. Three keys are counted per failed sign-in: the e-mail address
//! (growing delay, then a temporary lock), the source address (throttle), and the
//! (address, e-mail) pair, from which the number of distinct accounts one address
//! tries is derived (credential stuffing). Nothing here locks anyone out for good:
//! every lock ends by itself, and a device that already signed in to the account
//! skips the account-wide lock (OWASP's device-cookie advice).

use crate::time::{HOUR, MINUTE, SECOND};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottleConfig {
    /// Failures per e-mail address before delays start.
    pub free_failures: u32,
    /// First delay; doubles with every further failure.
    pub base_delay_ms: i64,
    /// The longest an account is ever locked.
    pub max_delay_ms: i64,
    /// Counters are forgotten after this long without a failure.
    pub window_ms: i64,
    /// Failures from one source address per window before it is throttled.
    pub ip_max_failures: u32,
    /// Distinct e-mail addresses one source may fail on per window (credential stuffing).
    pub stuffing_accounts: u32,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay_ms: 30 * SECOND,
            max_delay_ms: 15 * MINUTE,
            window_ms: 12 * HOUR,
            ip_max_failures: 100,
            stuffing_accounts: 20,
        }
    }
}

/// A failure counter as the store keeps it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub count: u32,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
}

impl Counter {
    /// The counter as seen at `now`: empty once its window has passed.
    pub fn current(self, now: Timestamp, window_ms: i64) -> Counter {
        if self.count == 0 || now.since(self.last_at) >= window_ms {
            Counter::default()
        } else {
            self
        }
    }
}

/// Why a sign-in attempt is not even checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    /// Too many failures for this account: wait.
    AccountLocked,
    /// Too many failures from this address.
    AddressThrottled,
    /// This address tried too many different accounts.
    CredentialStuffing,
}

impl Block {
    pub fn as_str(self) -> &'static str {
        match self {
            Block::AccountLocked => "account_locked",
            Block::AddressThrottled => "address_throttled",
            Block::CredentialStuffing => "credential_stuffing",
        }
    }
}

impl ThrottleConfig {
    /// The delay after `failures` failures on one account: none for the first
    /// `free_failures`, then base, 2×base, 4×base, … up to `max_delay_ms`.
    pub fn delay_after(&self, failures: u32) -> i64 {
        if failures < self.free_failures.max(1) {
            return 0;
        }
        let step = (failures - self.free_failures.max(1)).min(30);
        self.base_delay_ms
            .saturating_mul(1_i64 << step)
            .min(self.max_delay_ms)
    }

    /// Whether an attempt may proceed, and if not, why and until when.
    pub fn check(
        &self,
        account: Counter,
        address: Counter,
        distinct_accounts: Counter,
        known_device: bool,
        now: Timestamp,
    ) -> Result<(), (Block, Timestamp)> {
        let distinct = distinct_accounts.current(now, self.window_ms);
        if distinct.count >= self.stuffing_accounts {
            return Err((
                Block::CredentialStuffing,
                distinct.last_at.plus(self.window_ms),
            ));
        }
        let address = address.current(now, self.window_ms);
        if address.count >= self.ip_max_failures {
            return Err((
                Block::AddressThrottled,
                address.last_at.plus(self.window_ms),
            ));
        }
        let account = account.current(now, self.window_ms);
        let until = account.last_at.plus(self.delay_after(account.count));
        if !known_device && account.count > 0 && until > now {
            return Err((Block::AccountLocked, until));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(count: u32, last: i64) -> Counter {
        Counter {
            count,
            first_at: Timestamp(0),
            last_at: Timestamp(last),
        }
    }

    #[test]
    fn delays_grow_then_cap() {
        let cfg = ThrottleConfig::default();
        let delays: Vec<i64> = (0..12).map(|n| cfg.delay_after(n)).collect();
        assert_eq!(&delays[..5], &[0, 0, 0, 0, 0]);
        assert_eq!(delays[5], 30 * SECOND);
        assert_eq!(delays[6], 60 * SECOND);
        assert_eq!(delays[7], 120 * SECOND);
        assert_eq!(delays[11], 15 * MINUTE);
        assert_eq!(cfg.delay_after(u32::MAX), 15 * MINUTE);
    }

    #[test]
    fn a_lock_ends_by_itself() {
        let cfg = ThrottleConfig::default();
        let z = Counter::default();
        let now = Timestamp(1_000_000);
        assert_eq!(
            cfg.check(c(6, now.0), z, z, false, now).map_err(|e| e.0),
            Err(Block::AccountLocked)
        );
        let later = now.plus(61 * SECOND);
        assert!(cfg.check(c(6, now.0), z, z, false, later).is_ok());
        // Even after a thousand failures the wait is at most max_delay.
        assert!(cfg
            .check(c(1000, now.0), z, z, false, now.plus(15 * MINUTE))
            .is_ok());
        // The owner's known device is not held back by the account-wide lock.
        assert!(cfg.check(c(6, now.0), z, z, true, now).is_ok());
    }

    #[test]
    fn addresses_and_stuffing_are_throttled() {
        let cfg = ThrottleConfig::default();
        let z = Counter::default();
        let now = Timestamp(5 * HOUR);
        assert_eq!(
            cfg.check(z, c(100, now.0), z, true, now).map_err(|e| e.0),
            Err(Block::AddressThrottled)
        );
        assert_eq!(
            cfg.check(z, z, c(20, now.0), true, now).map_err(|e| e.0),
            Err(Block::CredentialStuffing)
        );
        assert!(cfg
            .check(z, c(100, now.0), c(20, now.0), true, now.plus(13 * HOUR))
            .is_ok());
    }
}
