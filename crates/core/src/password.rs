//! Password rules (S9) and password hashing.
//!
//! The policy is the seed's rule (at least 8 characters with upper and lower case, a
//! digit and a symbol), capped at 128 characters, screened against an embedded
//! common-password list and the e-mail address, and scored with zxcvbn. Every
//! rejection names the rule that failed with a stable code.

use argon2::password_hash::rand_core::CryptoRngCore;
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::Read;
use std::sync::{Arc, Mutex};

/// Django's list of 20,000 common passwords (BSD-3-Clause), lowercased.
const COMMON_PASSWORDS_GZ: &[u8] =
    include_bytes!("../../../data/passwords/common-passwords.txt.gz");

/// Why a candidate password is refused. Stable snake_case codes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordRule {
    TooShort,
    TooLong,
    MissingLowercase,
    MissingUppercase,
    MissingDigit,
    MissingSymbol,
    CommonPassword,
    ContainsEmail,
    TooWeak,
    Breached,
}

impl PasswordRule {
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordRule::TooShort => "too_short",
            PasswordRule::TooLong => "too_long",
            PasswordRule::MissingLowercase => "missing_lowercase",
            PasswordRule::MissingUppercase => "missing_uppercase",
            PasswordRule::MissingDigit => "missing_digit",
            PasswordRule::MissingSymbol => "missing_symbol",
            PasswordRule::CommonPassword => "common_password",
            PasswordRule::ContainsEmail => "contains_email",
            PasswordRule::TooWeak => "too_weak",
            PasswordRule::Breached => "breached",
        }
    }

    /// A sentence a person can act on.
    pub fn message(self, policy: &PasswordPolicy) -> String {
        match self {
            PasswordRule::TooShort => format!("use at least {} characters", policy.min_len),
            PasswordRule::TooLong => format!("use at most {} characters", policy.max_len),
            PasswordRule::MissingLowercase => "add a lower-case letter".into(),
            PasswordRule::MissingUppercase => "add an upper-case letter".into(),
            PasswordRule::MissingDigit => "add a digit".into(),
            PasswordRule::MissingSymbol => "add a symbol such as ! - # or %".into(),
            PasswordRule::CommonPassword => "this is one of the most common passwords".into(),
            PasswordRule::ContainsEmail => {
                "do not build the password from your e-mail address".into()
            }
            PasswordRule::TooWeak => {
                "this password is easy to guess: make it longer or less predictable".into()
            }
            PasswordRule::Breached => {
                "this password appeared in a data breach: choose another".into()
            }
        }
    }
}

/// The verdict of `hearth password check` and of sign-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordReport {
    pub accepted: bool,
    pub reasons: Vec<PasswordRule>,
    /// zxcvbn's score, 0 (trivial) to 4 (strong).
    pub strength: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordPolicyConfig {
    pub min_len: usize,
    pub max_len: usize,
    /// Minimum zxcvbn score, 0–4.
    pub min_strength: u8,
}

impl Default for PasswordPolicyConfig {
    fn default() -> Self {
        Self {
            min_len: 8,
            max_len: 128,
            min_strength: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the embedded common-password list is unreadable: {0}")]
    CommonList(String),
    #[error("password hashing parameters are invalid: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// The password policy with its common-password list loaded.
#[derive(Clone, Debug)]
pub struct PasswordPolicy {
    pub min_len: usize,
    pub max_len: usize,
    pub min_strength: u8,
    common: HashSet<String>,
}

impl PasswordPolicy {
    pub fn new(config: &PasswordPolicyConfig) -> Result<Self, PasswordError> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(COMMON_PASSWORDS_GZ)
            .read_to_string(&mut text)
            .map_err(|e| PasswordError::CommonList(e.to_string()))?;
        let common = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self {
            min_len: config.min_len.max(8),
            max_len: config.max_len.max(config.min_len.max(8)),
            min_strength: config.min_strength.min(4),
            common,
        })
    }

    pub fn common_count(&self) -> usize {
        self.common.len()
    }

    /// Checks a candidate. `email` (when known) must not be the root of the password;
    /// `breached` is the caller's answer from an optional breach corpus.
    pub fn check(&self, candidate: &str, email: Option<&str>, breached: bool) -> PasswordReport {
        let mut reasons = Vec::new();
        let len = candidate.chars().count();
        if len < self.min_len {
            reasons.push(PasswordRule::TooShort);
        }
        if len > self.max_len {
            reasons.push(PasswordRule::TooLong);
        }
        if !candidate.chars().any(char::is_lowercase) {
            reasons.push(PasswordRule::MissingLowercase);
        }
        if !candidate.chars().any(char::is_uppercase) {
            reasons.push(PasswordRule::MissingUppercase);
        }
        if !candidate.chars().any(|c| c.is_ascii_digit()) {
            reasons.push(PasswordRule::MissingDigit);
        }
        if !candidate.chars().any(is_symbol) {
            reasons.push(PasswordRule::MissingSymbol);
        }
        let lower = candidate.to_lowercase();
        if self.is_common(&lower) {
            reasons.push(PasswordRule::CommonPassword);
        }
        let email_parts = email.map(email_tokens).unwrap_or_default();
        if email_parts.iter().any(|p| lower.contains(p.as_str())) {
            reasons.push(PasswordRule::ContainsEmail);
        }
        // zxcvbn is quadratic-ish on long inputs: score only what we would accept.
        let strength = if len == 0 || len > self.max_len {
            0
        } else {
            let inputs: Vec<&str> = email_parts.iter().map(String::as_str).collect();
            u8::from(zxcvbn::zxcvbn(candidate, &inputs).score())
        };
        if strength < self.min_strength && len > 0 && len <= self.max_len {
            reasons.push(PasswordRule::TooWeak);
        }
        if breached {
            reasons.push(PasswordRule::Breached);
        }
        PasswordReport {
            accepted: reasons.is_empty(),
            reasons,
            strength,
        }
    }

    /// The list holds lowercase entries; a candidate made of a common word plus
    /// trailing digits and symbols ("Password1!") is common too.
    fn is_common(&self, lower: &str) -> bool {
        if self.common.contains(lower) {
            return true;
        }
        let stem = lower.trim_end_matches(|c: char| c.is_ascii_digit() || is_symbol(c));
        stem.len() >= 4 && stem.len() < lower.len() && self.common.contains(stem)
    }
}

fn is_symbol(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_control()
}

/// The parts of an e-mail address long enough to matter (local part and its pieces).
fn email_tokens(email: &str) -> Vec<String> {
    let lower = email.trim().to_lowercase();
    let local = lower.split('@').next().unwrap_or_default().to_owned();
    let mut out = Vec::new();
    if local.len() >= 4 {
        out.push(local.clone());
    }
    for piece in local.split(|c: char| !c.is_alphanumeric()) {
        if piece.len() >= 4 && piece != local {
            out.push(piece.to_owned());
        }
    }
    out
}

/// Argon2id parameters. NIST/OWASP floor: m = 19 MiB, t = 2, p = 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashCheck {
    Mismatch,
    Match,
    /// Correct, but hashed with weaker parameters than configured: re-hash it.
    MatchNeedsRehash,
}

/// Working buffers kept at most (more only while that many hashes run at once).
const MAX_KEPT_BUFFERS: usize = 8;

#[derive(Clone, Debug)]
pub struct PasswordHasher {
    params: HashParams,
    argon: Argon2<'static>,
    /// Argon2 working memory kept between hashes (one buffer per hash that ran at
    /// once, each `memory_kib` large). A fresh 19 MiB buffer per hash costs about a
    /// sixth of the hash again in page faults and zeroing.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl PasswordHasher {
    /// Refuses parameters under the floor so a configuration typo cannot weaken storage.
    pub fn new(params: HashParams) -> Result<Self, PasswordError> {
        let floor = HashParams::default();
        if params.memory_kib < floor.memory_kib
            || params.iterations < floor.iterations
            || params.parallelism < 1
        {
            return Err(PasswordError::Params(format!(
                "Argon2id needs at least m={} KiB, t={}, p=1 (got m={}, t={}, p={})",
                floor.memory_kib,
                floor.iterations,
                params.memory_kib,
                params.iterations,
                params.parallelism
            )));
        }
        Ok(Self {
            params,
            argon: build_argon(params)?,
            memory: Arc::default(),
        })
    }

    /// Runs Argon2 into `out` with a reused working buffer. Afterwards the first two
    /// blocks of each lane are cleared: they are a cheap function of the password, so
    /// left in memory they would let a process dump test guesses without the memory
    /// cost. Every later block costs the full hash to reproduce, like the stored hash.
    fn run(
        &self,
        argon: &Argon2<'_>,
        params: &Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> argon2::Result<()> {
        let n = params.block_count();
        let reused = self.memory.lock().ok().and_then(|mut pool| {
            pool.iter()
                .position(|b| b.len() >= n)
                .map(|i| pool.swap_remove(i))
        });
        let mut blocks = reused.unwrap_or_else(|| vec![Block::default(); n]);
        let r = argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..]);
        let lanes = (params.p_cost() as usize).max(1);
        let lane = n / lanes;
        for l in 0..lanes {
            for b in blocks.iter_mut().skip(l * lane).take(2) {
                *b = Block::default();
            }
        }
        if let Ok(mut pool) = self.memory.lock() {
            if pool.len() < MAX_KEPT_BUFFERS {
                pool.push(blocks);
            }
        }
        r
    }

    pub fn params(&self) -> HashParams {
        self.params
    }

    pub fn hash(
        &self,
        password: &str,
        rng: &mut impl CryptoRngCore,
    ) -> Result<String, PasswordError> {
        let salt = SaltString::generate(rng);
        let mut salt_bytes = [0u8; 64];
        let salt_raw = salt
            .as_salt()
            .decode_b64(&mut salt_bytes)
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        let params = self.argon.params().clone();
        let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let output = Output::init_with(len, |out| {
            self.run(&self.argon, &params, password.as_bytes(), salt_raw, out)
                .map_err(Into::into)
        })
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: (&params)
                .try_into()
                .map_err(|e: argon2::password_hash::Error| PasswordError::Hash(e.to_string()))?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` reproduces the stored hash, with the algorithm, version and
    /// parameters recorded in it. None when the stored string is not an Argon2 hash.
    fn matches(&self, password: &str, parsed: &PasswordHash<'_>) -> Option<bool> {
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt_bytes = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt_bytes).ok()?;
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = out.get_mut(..expected.len())?;
        let argon = Argon2::new(algorithm, version, params.clone());
        self.run(&argon, &params, password.as_bytes(), salt, out)
            .ok()?;
        // Output's equality is constant-time.
        Some(Output::new(out).ok()? == expected)
    }

    pub fn verify(&self, password: &str, stored: &str) -> HashCheck {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return HashCheck::Mismatch;
        };
        // Verify with the parameters recorded in the hash itself, then compare them.
        if self.matches(password, &parsed) != Some(true) {
            return HashCheck::Mismatch;
        }
        let stored_params = Params::try_from(&parsed).ok();
        let weaker = match stored_params {
            Some(p) => {
                parsed.algorithm.as_str() != "argon2id"
                    || p.m_cost() < self.params.memory_kib
                    || p.t_cost() < self.params.iterations
                    || p.p_cost() < self.params.parallelism
            }
            None => true,
        };
        if weaker {
            HashCheck::MatchNeedsRehash
        } else {
            HashCheck::Match
        }
    }

    /// A hash of a random password, verified against when the account does not exist
    /// so that an unknown e-mail costs the same time as a wrong password.
    pub fn dummy_hash(&self, rng: &mut impl CryptoRngCore) -> Result<String, PasswordError> {
        let mut bytes = [0u8; 24];
        rng.fill_bytes(&mut bytes);
        let pw: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.hash(&pw, rng)
    }
}

fn build_argon(p: HashParams) -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
        .map_err(|e| PasswordError::Params(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher as _;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::new(&PasswordPolicyConfig::default()).unwrap()
    }

    #[test]
    fn loads_the_common_list() {
        assert!(policy().common_count() > 19_000);
    }

    #[test]
    fn each_rule_is_named() {
        let p = policy();
        let cases: &[(&str, Option<&str>, PasswordRule)] = &[
            ("Ab1!", None, PasswordRule::TooShort),
            ("ABCDEFG1!", None, PasswordRule::MissingLowercase),
            ("abcdefg1!", None, PasswordRule::MissingUppercase),
            ("Abcdefgh!", None, PasswordRule::MissingDigit),
            ("Abcdefgh1", None, PasswordRule::MissingSymbol),
            ("password", None, PasswordRule::CommonPassword),
            ("Password1!", None, PasswordRule::CommonPassword),
            ("Password1!", None, PasswordRule::TooWeak),
            (
                "Marguerite-77!x",
                Some("marguerite@example.com"),
                PasswordRule::ContainsEmail,
            ),
        ];
        for (pw, email, rule) in cases {
            let r = p.check(pw, *email, false);
            assert!(!r.accepted, "{pw} accepted");
            assert!(
                r.reasons.contains(rule),
                "{pw}: {:?} lacks {:?}",
                r.reasons,
                rule
            );
        }
        let long = format!("Aa1!{}", "x".repeat(200));
        assert!(p
            .check(&long, None, false)
            .reasons
            .contains(&PasswordRule::TooLong));
        assert!(
            p.check("Correct-Horse-7-Battery", None, true).reasons == vec![PasswordRule::Breached]
        );
    }

    #[test]
    fn accepts_a_strong_password() {
        let r = policy().check("Correct-Horse-7-Battery", Some("owner@example.com"), false);
        assert!(r.accepted, "{r:?}");
        assert!(r.strength >= 3);
    }

    #[test]
    fn hashing_round_trips_and_flags_old_parameters() {
        let mut rng = argon2::password_hash::rand_core::OsRng;
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8_192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut rng);
        let old = weak
            .hash_password(b"Correct-Horse-7-Battery", &salt)
            .unwrap()
            .to_string();

        let hasher = PasswordHasher::new(HashParams::default()).unwrap();
        let h = hasher.hash("Correct-Horse-7-Battery", &mut rng).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            hasher.verify("Correct-Horse-7-Battery", &h),
            HashCheck::Match
        );
        assert_eq!(
            hasher.verify("correct-horse-7-battery", &h),
            HashCheck::Mismatch
        );
        assert_eq!(
            hasher.verify("Correct-Horse-7-Battery", &old),
            HashCheck::MatchNeedsRehash
        );
        assert_eq!(hasher.verify("x", "not a hash"), HashCheck::Mismatch);
    }

    #[test]
    fn reused_memory_hashes_like_the_argon2_crate_and_keeps_no_cheap_blocks() {
        use argon2::password_hash::PasswordVerifier as _;
        let hasher = PasswordHasher::new(HashParams::default()).unwrap();
        let reference = build_argon(HashParams::default()).unwrap();
        // Both ways, several times over the same buffer, from two threads at once.
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    let mut rng = argon2::password_hash::rand_core::OsRng;
                    for i in 0..3 {
                        let pw = format!("Correct-Horse-{i}-Battery");
                        let ours = hasher.hash(&pw, &mut rng).unwrap();
                        let parsed = PasswordHash::new(&ours).unwrap();
                        assert!(reference.verify_password(pw.as_bytes(), &parsed).is_ok());
                        assert!(reference.verify_password(b"wrong", &parsed).is_err());
                        let salt = SaltString::generate(&mut rng);
                        let theirs = reference
                            .hash_password(pw.as_bytes(), &salt)
                            .unwrap()
                            .to_string();
                        assert_eq!(hasher.verify(&pw, &theirs), HashCheck::Match);
                        assert_eq!(
                            hasher.verify("Correct-Horse-9-Batterz", &theirs),
                            HashCheck::Mismatch
                        );
                    }
                });
            }
        });
        let pool = hasher.memory.lock().unwrap();
        assert!(
            !pool.is_empty() && pool.len() <= 2,
            "{} buffers kept",
            pool.len()
        );
        let zero = Block::default();
        for blocks in pool.iter() {
            assert!(blocks[..2].iter().all(|b| b.as_ref() == zero.as_ref()));
            assert!(blocks[2..].iter().any(|b| b.as_ref() != zero.as_ref()));
        }
    }

    #[test]
    fn refuses_parameters_under_the_floor() {
        let weak = HashParams {
            memory_kib: 4096,
            ..HashParams::default()
        };
        assert!(PasswordHasher::new(weak).is_err());
    }
}
