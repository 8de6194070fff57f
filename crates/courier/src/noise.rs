//! Noise control for security notices (issue 9): a burst of new devices becomes one
//! digest, and a notice that is not security-critical is not repeated within a quiet
//! period. Pure: the caller passes what was already sent and `now`.

use crate::templates::Notice;
use hearth_core::time::HOUR;
use hearth_core::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoticePolicy {
    /// New-device sign-ins within `burst_window_ms` that are still notified one by one;
    /// beyond that they are folded into a single digest.
    pub burst_threshold: u32,
    pub burst_window_ms: i64,
    /// A notice that is not security-critical is not sent again within this period.
    pub quiet_ms: i64,
}

impl Default for NoticePolicy {
    fn default() -> Self {
        Self {
            burst_threshold: 3,
            burst_window_ms: HOUR,
            quiet_ms: 6 * HOUR,
        }
    }
}

/// A notice already sent (or queued) to the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentNotice {
    pub notice: Notice,
    pub at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeDecision {
    /// Send this notice as it is.
    Send(Notice),
    /// Send [`Notice::NewDevicesDigest`] for `count` sign-ins since `since` instead.
    Digest { count: u32, since: Timestamp },
    /// Nothing to send: already told.
    Suppress,
}

impl Notice {
    /// Notices that can neither be switched off nor quietened.
    pub fn is_security_critical(self) -> bool {
        matches!(
            self,
            Notice::PasswordChanged
                | Notice::PasswordReset
                | Notice::RecoveryContactChanged
                | Notice::AllDevicesSignedOut
        )
    }
}

/// Decides what to send for `notice` at `now`. `new_device_sign_ins` are the times of the
/// account's first-time sign-ins, this one included (only read for new-device notices).
pub fn decide(
    notice: Notice,
    sent: &[SentNotice],
    new_device_sign_ins: &[Timestamp],
    now: Timestamp,
    policy: &NoticePolicy,
) -> NoticeDecision {
    if notice.is_security_critical() {
        return NoticeDecision::Send(notice);
    }
    let sent_within = |kind: Notice, window: i64| {
        sent.iter()
            .any(|s| s.notice == kind && now.since(s.at) < window && now.since(s.at) >= 0)
    };
    match notice {
        Notice::NewDeviceHome | Notice::NewDeviceAway => {
            let burst: Vec<Timestamp> = new_device_sign_ins
                .iter()
                .copied()
                .filter(|t| now.since(*t) < policy.burst_window_ms && now.since(*t) >= 0)
                .collect();
            let count = u32::try_from(burst.len()).unwrap_or(u32::MAX).max(1);
            if count <= policy.burst_threshold {
                NoticeDecision::Send(notice)
            } else if sent_within(Notice::NewDevicesDigest, policy.burst_window_ms) {
                NoticeDecision::Suppress
            } else {
                let since = burst.iter().copied().min().unwrap_or(now);
                NoticeDecision::Digest { count, since }
            }
        }
        other if sent_within(other, policy.quiet_ms) => NoticeDecision::Suppress,
        other => NoticeDecision::Send(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_core::time::MINUTE;

    const T0: Timestamp = Timestamp(1_772_396_100_000);

    /// Plays a burst of first-time sign-ins through `decide`, recording what was sent.
    fn burst(n: i64, every: i64) -> Vec<NoticeDecision> {
        let policy = NoticePolicy::default();
        let mut sent = Vec::new();
        let mut sign_ins = Vec::new();
        let mut out = Vec::new();
        for i in 0..n {
            let now = T0.plus(i * every);
            sign_ins.push(now);
            let d = decide(Notice::NewDeviceAway, &sent, &sign_ins, now, &policy);
            match d {
                NoticeDecision::Send(notice) => sent.push(SentNotice { notice, at: now }),
                NoticeDecision::Digest { .. } => sent.push(SentNotice {
                    notice: Notice::NewDevicesDigest,
                    at: now,
                }),
                NoticeDecision::Suppress => {}
            }
            out.push(d);
        }
        out
    }

    #[test]
    fn a_resale_burst_of_40_devices_gives_one_digest_not_40_messages() {
        let decisions = burst(40, 30_000);
        let digests = decisions
            .iter()
            .filter(|d| matches!(d, NoticeDecision::Digest { .. }))
            .count();
        let singles = decisions
            .iter()
            .filter(|d| matches!(d, NoticeDecision::Send(_)))
            .count();
        assert_eq!((singles, digests), (3, 1), "{decisions:?}");
        assert_eq!(
            decisions[3],
            NoticeDecision::Digest {
                count: 4,
                since: T0
            }
        );
    }

    #[test]
    fn spread_out_devices_are_each_notified() {
        let decisions = burst(5, 2 * HOUR);
        assert!(decisions
            .iter()
            .all(|d| *d == NoticeDecision::Send(Notice::NewDeviceAway)));
    }

    #[test]
    fn quiet_period_and_critical_notices() {
        let policy = NoticePolicy::default();
        let sent = [
            SentNotice {
                notice: Notice::ClassifiedResold,
                at: T0,
            },
            SentNotice {
                notice: Notice::PasswordChanged,
                at: T0,
            },
        ];
        let cases = [
            (
                Notice::ClassifiedResold,
                T0.plus(MINUTE),
                NoticeDecision::Suppress,
            ),
            (
                Notice::ClassifiedResold,
                T0.plus(6 * HOUR),
                NoticeDecision::Send(Notice::ClassifiedResold),
            ),
            (
                Notice::ClassifiedShared,
                T0.plus(MINUTE),
                NoticeDecision::Send(Notice::ClassifiedShared),
            ),
            (
                Notice::PasswordChanged,
                T0.plus(MINUTE),
                NoticeDecision::Send(Notice::PasswordChanged),
            ),
        ];
        for (notice, now, expected) in cases {
            assert_eq!(
                decide(notice, &sent, &[], now, &policy),
                expected,
                "{notice:?}"
            );
        }
    }
}
