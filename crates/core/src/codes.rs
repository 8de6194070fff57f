//! One-time codes: issued from the caller's CSPRNG, stored only as a keyed hash bound to
//! a purpose, an account and a subject (device or account), single use, short-lived and
//! voided after a few wrong tries; plus the pure send-rate limits.
//!
//! Nothing here touches the clock, the OS or a store: the caller hands in the random
//! source, the server key, `now` and the recent send history.

use crate::time::{DAY, HOUR, MINUTE};
use crate::{AccountId, Timestamp};
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Domain-separation tag of the hash; bump the version if the framing ever changes.
const HASH_TAG: &[u8] = b"hearth/one-time-code/v1";

/// What a code is for. A code issued for one purpose never verifies another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    DeviceVerification,
    SignInCode,
    PasswordReset,
    HouseholdUpdate,
    TravelPass,
}

impl Purpose {
    pub const ALL: [Purpose; 5] = [
        Purpose::DeviceVerification,
        Purpose::SignInCode,
        Purpose::PasswordReset,
        Purpose::HouseholdUpdate,
        Purpose::TravelPass,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::DeviceVerification => "device_verification",
            Purpose::SignInCode => "sign_in_code",
            Purpose::PasswordReset => "password_reset",
            Purpose::HouseholdUpdate => "household_update",
            Purpose::TravelPass => "travel_pass",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How codes are made. Loaded from configuration, so it is validated before use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodePolicy {
    /// Number of decimal digits, 6 to 8 (6 digits are about 20 bits, NIST's floor).
    pub digits: u8,
    /// Lifetime in milliseconds, at most 15 minutes.
    pub ttl_ms: i64,
    /// Wrong tries after which a code is void, 1 to 5.
    pub max_attempts: u32,
}

pub const MAX_TTL_MS: i64 = 15 * MINUTE;
pub const MAX_ATTEMPTS_CEILING: u32 = 5;

impl Default for CodePolicy {
    fn default() -> Self {
        Self {
            digits: 6,
            ttl_ms: 10 * MINUTE,
            max_attempts: 5,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodePolicyError {
    #[error("codes must have 6 to 8 digits, not {0}")]
    Digits(u8),
    #[error("codes must live between 1 second and 15 minutes, not {0} ms")]
    Ttl(i64),
    #[error("codes must allow 1 to 5 wrong attempts, not {0}")]
    Attempts(u32),
}

impl CodePolicy {
    pub fn validate(&self) -> Result<(), CodePolicyError> {
        if !(6..=8).contains(&self.digits) {
            return Err(CodePolicyError::Digits(self.digits));
        }
        if !(1_000..=MAX_TTL_MS).contains(&self.ttl_ms) {
            return Err(CodePolicyError::Ttl(self.ttl_ms));
        }
        if !(1..=MAX_ATTEMPTS_CEILING).contains(&self.max_attempts) {
            return Err(CodePolicyError::Attempts(self.max_attempts));
        }
        Ok(())
    }

    /// Lifetime in whole minutes, rounded up, for the message that carries the code.
    pub fn ttl_minutes(&self) -> i64 {
        (self.ttl_ms + MINUTE - 1) / MINUTE
    }
}

/// What the store keeps of a code: never the code itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    pub purpose: Purpose,
    pub account: AccountId,
    /// The device that asked, or the account id for account-level purposes.
    pub subject: String,
    /// HMAC-SHA256 under the server key of the framed (purpose, account, subject, code).
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Wrong tries so far.
    pub attempts: u32,
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    pub used: bool,
}

fn default_max_attempts() -> u32 {
    MAX_ATTEMPTS_CEILING
}

impl CodeRecord {
    /// Whether the code can still be tried at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        !self.used && self.attempts < self.max_attempts && now < self.expires_at
    }
}

/// Why a code was refused. Each maps to a stable snake_case code for the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code has expired; ask for a new one")]
    Expired,
    #[error("the code was already used; ask for a new one")]
    AlreadyUsed,
    #[error("too many wrong codes; this code is void, ask for a new one")]
    TooManyAttempts,
    #[error("this code was issued for something else")]
    WrongPurpose,
    #[error("this code was issued for another account")]
    WrongAccount,
    #[error("this code was issued for another device")]
    WrongSubject,
    #[error("wrong code; {attempts_left} tries left")]
    Mismatch { attempts_left: u32 },
}

impl CodeError {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeError::Expired => "code_expired",
            CodeError::AlreadyUsed => "code_already_used",
            CodeError::TooManyAttempts => "code_too_many_attempts",
            CodeError::WrongPurpose => "code_wrong_purpose",
            CodeError::WrongAccount => "code_wrong_account",
            CodeError::WrongSubject => "code_wrong_subject",
            CodeError::Mismatch { .. } => "code_mismatch",
        }
    }
}

/// Draws a fresh code and the record to store. `policy` must have been validated; an
/// invalid one is clamped into range rather than trusted.
pub fn issue<R: RngCore + CryptoRng>(
    rng: &mut R,
    key: &[u8],
    policy: &CodePolicy,
    purpose: Purpose,
    account: &AccountId,
    subject: &str,
    now: Timestamp,
) -> (String, CodeRecord) {
    let digits = policy.digits.clamp(6, 8);
    let ttl = policy.ttl_ms.clamp(1_000, MAX_TTL_MS);
    let plain = random_digits(rng, usize::from(digits));
    let record = CodeRecord {
        purpose,
        account: account.clone(),
        subject: subject.to_owned(),
        hash: code_hash(key, purpose, account, subject, &plain),
        created_at: now,
        expires_at: now.plus(ttl),
        attempts: 0,
        max_attempts: policy.max_attempts.clamp(1, MAX_ATTEMPTS_CEILING),
        used: false,
    };
    (plain, record)
}

/// Checks `attempt` against `record` for this purpose, account and subject at `now`.
/// Every refused try on a live code counts against it; success marks it used.
pub fn verify(
    record: &mut CodeRecord,
    key: &[u8],
    purpose: Purpose,
    account: &AccountId,
    subject: &str,
    attempt: &str,
    now: Timestamp,
) -> Result<(), CodeError> {
    if record.used {
        return Err(CodeError::AlreadyUsed);
    }
    if record.attempts >= record.max_attempts {
        return Err(CodeError::TooManyAttempts);
    }
    if now >= record.expires_at {
        return Err(CodeError::Expired);
    }
    let binding = if record.purpose != purpose {
        Err(CodeError::WrongPurpose)
    } else if &record.account != account {
        Err(CodeError::WrongAccount)
    } else if record.subject != subject {
        Err(CodeError::WrongSubject)
    } else {
        Ok(())
    };
    // The hash is computed from what the caller asks for, not from the record, so even
    // a record whose fields were mixed up cannot be satisfied by another binding's code.
    let matches = match normalise(attempt) {
        Some(code) => {
            let h = code_hash(key, purpose, account, subject, &code);
            bool::from(h.ct_eq(&record.hash)) && record.hash != [0u8; 32]
        }
        None => false,
    };
    match binding {
        Ok(()) if matches => {
            record.used = true;
            Ok(())
        }
        Ok(()) => {
            record.attempts = record.attempts.saturating_add(1);
            Err(CodeError::Mismatch {
                attempts_left: record.max_attempts.saturating_sub(record.attempts),
            })
        }
        Err(e) => {
            record.attempts = record.attempts.saturating_add(1);
            Err(e)
        }
    }
}

/// Removes the spaces and dashes people type or paste; `None` if anything else but
/// ASCII digits remains (or nothing does).
pub fn normalise(attempt: &str) -> Option<String> {
    let code: String = attempt
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '\u{2010}'..='\u{2015}'))
        .collect();
    if code.is_empty() || code.len() > 16 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(code)
}

/// Uniform decimal digits: bytes of 250 and above are redrawn so `% 10` has no bias.
fn random_digits<R: RngCore + CryptoRng>(rng: &mut R, n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 16];
    while out.len() < n {
        rng.fill_bytes(&mut buf);
        for b in buf {
            if out.len() == n {
                break;
            }
            if b < 250 {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    out
}

fn code_hash(
    key: &[u8],
    purpose: Purpose,
    account: &AccountId,
    subject: &str,
    code: &str,
) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; if it ever did, the all-zero
    // hash fails closed because `verify` never accepts it.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0u8; 32];
    };
    for field in [
        HASH_TAG,
        purpose.as_str().as_bytes(),
        account.as_str().as_bytes(),
        subject.as_bytes(),
        code.as_bytes(),
    ] {
        // Length-prefixed so ("ab","c") and ("a","bc") never hash alike.
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field);
    }
    mac.finalize().into_bytes().into()
}

/// How many codes may be sent in a sliding hour and day, per account and per destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SendLimit {
    pub per_hour: u32,
    pub per_day: u32,
}

impl Default for SendLimit {
    fn default() -> Self {
        Self {
            per_hour: 5,
            per_day: 20,
        }
    }
}

/// A send refused by [`check_send`]: how long until one more would be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many codes sent; try again in {} s", (.ms + 999) / 1000)]
pub struct RetryAfter {
    pub ms: i64,
}

impl RetryAfter {
    /// Whole seconds, rounded up, for a `Retry-After` header.
    pub fn secs(&self) -> i64 {
        (self.ms + 999) / 1000
    }
}

/// Whether one more code may be sent at `now`, given the times of earlier sends (to the
/// same account, or the same destination: the caller checks each history).
pub fn check_send(
    recent_send_times: &[Timestamp],
    now: Timestamp,
    limit: SendLimit,
) -> Result<(), RetryAfter> {
    let wait = [(HOUR, limit.per_hour), (DAY, limit.per_day)]
        .into_iter()
        .filter_map(|(window, max)| wait_for_window(recent_send_times, now, window, max))
        .max();
    match wait {
        Some(ms) => Err(RetryAfter { ms: ms.max(1) }),
        None => Ok(()),
    }
}

/// Milliseconds until fewer than `max` sends fall in the window ending at `now`.
fn wait_for_window(times: &[Timestamp], now: Timestamp, window: i64, max: u32) -> Option<i64> {
    let mut inside: Vec<Timestamp> = times
        .iter()
        .copied()
        .filter(|t| now.since(*t) < window)
        .collect();
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if inside.len() < max {
        return None;
    }
    inside.sort_unstable();
    // Once the oldest (len - max + 1) sends leave the window, one more fits.
    let pivot = inside.get(inside.len() - max).copied()?;
    Some(pivot.plus(window).since(now))
}

mod hex32 {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(64);
        for b in v {
            out.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(de::Error::custom("expected 64 hex digits"));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(de::Error::custom)?;
            let b = u8::from_str_radix(hex, 16).map_err(de::Error::custom)?;
            if let Some(slot) = out.get_mut(i) {
                *slot = b;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const KEY: &[u8] = b"test server key, 32 bytes long!!";
    const T0: Timestamp = Timestamp(1_772_396_100_000);

    fn account() -> AccountId {
        AccountId::from("a-17")
    }

    fn fresh(seed: u64) -> (String, CodeRecord) {
        let mut rng = StdRng::seed_from_u64(seed);
        issue(
            &mut rng,
            KEY,
            &CodePolicy::default(),
            Purpose::DeviceVerification,
            &account(),
            "d-3",
            T0,
        )
    }

    fn try_code(rec: &mut CodeRecord, code: &str, at: Timestamp) -> Result<(), CodeError> {
        verify(
            rec,
            KEY,
            Purpose::DeviceVerification,
            &account(),
            "d-3",
            code,
            at,
        )
    }

    fn wrong(code: &str) -> String {
        // Same length, every digit shifted: never the right code.
        code.bytes()
            .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
            .collect()
    }

    #[test]
    fn right_code_verifies_once_with_spaces_and_dashes() {
        let (code, mut rec) = fresh(1);
        let typed = format!("{}-{} ", &code[..3], &code[3..]);
        assert_eq!(try_code(&mut rec, &typed, T0.plus(1_000)), Ok(()));
        assert!(rec.used);
        assert_eq!(
            try_code(&mut rec, &code, T0.plus(2_000)),
            Err(CodeError::AlreadyUsed)
        );
    }

    #[test]
    fn record_never_holds_the_code() {
        let (code, rec) = fresh(2);
        let json = serde_json::to_string(&rec).unwrap();
        assert!(!json.contains(&code), "{json}");
        let back: CodeRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rec);
    }

    /// Every refusal, one row each: (name, what happens before, attempt, when, expected).
    #[test]
    fn refusals() {
        type Setup = fn(&mut CodeRecord, &str);
        let none: Setup = |_, _| {};
        let five_wrong: Setup = |rec, code| {
            for left in (0..5).rev() {
                assert_eq!(
                    try_code(rec, &wrong(code), T0),
                    Err(CodeError::Mismatch {
                        attempts_left: left
                    })
                );
            }
        };
        let used: Setup = |rec, code| assert_eq!(try_code(rec, code, T0), Ok(()));
        let cases: Vec<(&str, Setup, bool, Timestamp, CodeError)> = vec![
            (
                "wrong code",
                none,
                false,
                T0,
                CodeError::Mismatch { attempts_left: 4 },
            ),
            (
                "right code after 5 wrong",
                five_wrong,
                true,
                T0,
                CodeError::TooManyAttempts,
            ),
            (
                "expired",
                none,
                true,
                T0.plus(10 * MINUTE),
                CodeError::Expired,
            ),
            ("long expired", none, true, T0.plus(DAY), CodeError::Expired),
            ("reused", used, true, T0, CodeError::AlreadyUsed),
        ];
        for (name, setup, right, at, expected) in cases {
            let (code, mut rec) = fresh(3);
            setup(&mut rec, &code);
            let attempt = if right { code.clone() } else { wrong(&code) };
            assert_eq!(try_code(&mut rec, &attempt, at), Err(expected), "{name}");
        }
    }

    #[test]
    fn a_code_is_bound_to_purpose_account_and_device() {
        let other = AccountId::from("a-18");
        let me = account();
        let cases: Vec<(&str, Purpose, &AccountId, &str, CodeError)> = vec![
            (
                "other purpose",
                Purpose::PasswordReset,
                &me,
                "d-3",
                CodeError::WrongPurpose,
            ),
            (
                "other purpose",
                Purpose::SignInCode,
                &me,
                "d-3",
                CodeError::WrongPurpose,
            ),
            (
                "other account",
                Purpose::DeviceVerification,
                &other,
                "d-3",
                CodeError::WrongAccount,
            ),
            (
                "other device",
                Purpose::DeviceVerification,
                &me,
                "d-4",
                CodeError::WrongSubject,
            ),
            (
                "prefix device",
                Purpose::DeviceVerification,
                &me,
                "d-",
                CodeError::WrongSubject,
            ),
        ];
        for (name, purpose, acct, subject, expected) in cases {
            let (code, mut rec) = fresh(4);
            assert_eq!(
                verify(&mut rec, KEY, purpose, acct, subject, &code, T0),
                Err(expected),
                "{name}"
            );
            assert_eq!(rec.attempts, 1, "{name}: a misdirected try counts");
            assert!(!rec.used);
        }
    }

    #[test]
    fn a_record_relabelled_for_another_binding_still_refuses() {
        // Even if a store mixed up rows, the hash binds the code to its own subject.
        let (code, mut rec) = fresh(5);
        rec.subject = "d-4".into();
        let got = verify(
            &mut rec,
            KEY,
            Purpose::DeviceVerification,
            &account(),
            "d-4",
            &code,
            T0,
        );
        assert_eq!(got, Err(CodeError::Mismatch { attempts_left: 4 }));
        let (code, mut rec) = fresh(5);
        let got = verify(
            &mut rec,
            b"another key",
            Purpose::DeviceVerification,
            &account(),
            "d-3",
            &code,
            T0,
        );
        assert_eq!(got, Err(CodeError::Mismatch { attempts_left: 4 }));
    }

    #[test]
    fn non_digits_are_a_mismatch() {
        for junk in ["", "   ", "12a456", "１２３４５６", "123456\u{0}", "0x1234"] {
            let (_, mut rec) = fresh(6);
            assert_eq!(
                try_code(&mut rec, junk, T0),
                Err(CodeError::Mismatch { attempts_left: 4 }),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn framing_is_unambiguous() {
        let a = code_hash(
            KEY,
            Purpose::TravelPass,
            &AccountId::from("a-1"),
            "2",
            "123456",
        );
        let b = code_hash(
            KEY,
            Purpose::TravelPass,
            &AccountId::from("a-"),
            "12",
            "123456",
        );
        assert_ne!(a, b);
    }

    #[test]
    fn policy_validation() {
        assert_eq!(CodePolicy::default().validate(), Ok(()));
        let cases = [
            (5, 10 * MINUTE, 5, Err(CodePolicyError::Digits(5))),
            (9, 10 * MINUTE, 5, Err(CodePolicyError::Digits(9))),
            (8, 15 * MINUTE, 5, Ok(())),
            (
                6,
                15 * MINUTE + 1,
                5,
                Err(CodePolicyError::Ttl(15 * MINUTE + 1)),
            ),
            (6, 0, 5, Err(CodePolicyError::Ttl(0))),
            (6, 10 * MINUTE, 0, Err(CodePolicyError::Attempts(0))),
            (6, 10 * MINUTE, 6, Err(CodePolicyError::Attempts(6))),
        ];
        for (digits, ttl_ms, max_attempts, expected) in cases {
            let p = CodePolicy {
                digits,
                ttl_ms,
                max_attempts,
            };
            assert_eq!(p.validate(), expected, "{p:?}");
        }
        let p: CodePolicy = serde_json::from_str(r#"{"digits":8}"#).unwrap();
        assert_eq!((p.digits, p.ttl_minutes()), (8, 10));
    }

    #[test]
    fn purposes_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
        }
        assert_eq!(Purpose::parse("login"), None);
    }

    fn sends(start: Timestamp, n: i64, every: i64) -> Vec<Timestamp> {
        (0..n).map(|i| start.plus(i * every)).collect()
    }

    #[test]
    fn send_limits() {
        let limit = SendLimit::default();
        // (name, history, now, expected)
        type Case = (
            &'static str,
            Vec<Timestamp>,
            Timestamp,
            Result<(), RetryAfter>,
        );
        let cases: Vec<Case> = vec![
            ("first send", vec![], T0, Ok(())),
            (
                "fifth in the hour",
                sends(T0, 4, MINUTE),
                T0.plus(10 * MINUTE),
                Ok(()),
            ),
            (
                "sixth in the hour: wait until the first leaves the window",
                sends(T0, 5, MINUTE),
                T0.plus(10 * MINUTE),
                Err(RetryAfter { ms: 50 * MINUTE }),
            ),
            (
                "sixth after the hour",
                sends(T0, 5, MINUTE),
                T0.plus(HOUR),
                Ok(()),
            ),
            (
                "21st in a day",
                sends(T0, 20, HOUR),
                T0.plus(20 * HOUR),
                Err(RetryAfter { ms: 4 * HOUR }),
            ),
            (
                "21st after a day",
                sends(T0, 20, HOUR),
                T0.plus(DAY),
                Ok(()),
            ),
            (
                "both windows full: the longer wait wins",
                [sends(T0, 15, HOUR), sends(T0.plus(15 * HOUR), 5, MINUTE)].concat(),
                T0.plus(15 * HOUR + 10 * MINUTE),
                Err(RetryAfter {
                    ms: 9 * HOUR - 10 * MINUTE,
                }),
            ),
        ];
        for (name, history, now, expected) in cases {
            assert_eq!(check_send(&history, now, limit), expected, "{name}");
        }
        let e = RetryAfter { ms: 1_001 };
        assert_eq!(e.secs(), 2);
    }

    proptest! {
        #[test]
        fn codes_have_the_right_length_and_are_decimal(seed in any::<u64>(), digits in 6u8..=8) {
            let mut rng = StdRng::seed_from_u64(seed);
            let policy = CodePolicy { digits, ..CodePolicy::default() };
            let (code, rec) = issue(&mut rng, KEY, &policy, Purpose::SignInCode, &account(), "a-17", T0);
            prop_assert_eq!(code.len(), usize::from(digits));
            prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(rec.expires_at, T0.plus(10 * MINUTE));
        }
    }

    #[test]
    fn digits_are_roughly_uniform() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = [0u32; 10];
        for _ in 0..5_000 {
            for b in random_digits(&mut rng, 6).bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 30 000 draws, 3 000 expected per digit; a biased generator drifts far further.
        for c in counts {
            assert!((2_700..3_300).contains(&c), "{counts:?}");
        }
    }
}
