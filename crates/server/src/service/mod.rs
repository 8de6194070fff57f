//! What Hearth does, without HTTP: account, session and access operations over the
//! store and the pure core. Handlers in `http` only translate to and from JSON.

pub mod access;
pub mod accounts;
pub mod codes;
pub mod devices;
pub mod effects;
pub mod notify;
mod owner;
pub mod phishing;
pub mod writer;

use hearth_core::password::PasswordReport;
use hearth_core::throttle::Block;
use hearth_store::StoreError;
use std::net::IpAddr;

/// Where a request came from.
#[derive(Clone, Debug)]
pub struct Client {
    pub ip: IpAddr,
    pub user_agent: Option<String>,
}

/// Failures a caller can act on; each maps to one HTTP status and code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the password does not meet the policy")]
    WeakPassword(PasswordReport),
    #[error("{0}")]
    Code(hearth_core::codes::CodeError),
    #[error("no valid code for this: it is wrong, expired or used up; ask for a new one")]
    NoCode,
    #[error("too many codes sent; try again in {retry_after_secs} s")]
    TooManySends { retry_after_secs: u64 },
    #[error("e-mail or password is wrong")]
    InvalidCredentials,
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyAttempts { block: Block, retry_after_secs: u64 },
    #[error("sign in first: the session token is missing, expired or signed out")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("change your password before doing anything else")]
    PasswordChangeRequired,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the service is temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ServiceError::Unavailable(m),
            StoreError::NotFound(what) => ServiceError::NotFound(what),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// `+` then 8 to 15 digits, the first not zero (ITU-T E.164).
pub fn valid_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A deliberately plain check: one `@`, a dotted domain, no spaces, at most 254 bytes.
pub fn normalize_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    if e.len() > 254 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = e.split_once('@')?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return None;
    }
    Some(e)
}

/// Random identifiers and tokens, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// The clock sign-in locks, code lifetimes and send limits read: the system time plus
/// an offset that only tests move, to live through hours or days in a second.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl Clock {
    pub fn now(&self) -> hearth_core::Timestamp {
        now().plus(self.offset_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Moves this clock forward by `ms` (tests and simulations only).
    pub fn advance(&self, ms: i64) {
        self.offset_ms
            .fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

pub fn now() -> hearth_core::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    hearth_core::Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_emails() {
        for ok in ["+351912345678", "+14155550123", "+4420794600"] {
            assert!(valid_e164(ok), "{ok}");
        }
        for bad in [
            "351912345678",
            "+0351912345",
            "+12",
            "+35191234567890123",
            "+3519 1234567",
            "",
        ] {
            assert!(!valid_e164(bad), "{bad}");
        }
        assert_eq!(
            normalize_email(" Owner@Example.COM ").as_deref(),
            Some("owner@example.com")
        );
        for bad in [
            "", "a", "a@b", "@b.pt", "a@b@c.pt", "a b@c.pt", "a@.pt", "a@pt.",
        ] {
            assert!(normalize_email(bad).is_none(), "{bad}");
        }
    }
}
