//! Server secrets: the key that hashes codes and tokens, and the platform API keys.
//! Generated on first start when not configured, written with mode 0600, never logged.

use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use std::io::Write;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read or write secret file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("secret key in {0} must be hex of at least 32 bytes")]
    BadKey(String),
}

/// The HMAC key for tokens and codes.
pub struct ServerKey(SecretBox<Vec<u8>>);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

impl ServerKey {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    pub fn from_hex(hex_key: &str, origin: &str) -> Result<Self, SecretError> {
        let bytes =
            hex::decode(hex_key.trim()).map_err(|_| SecretError::BadKey(origin.to_owned()))?;
        if bytes.len() < 32 {
            return Err(SecretError::BadKey(origin.to_owned()));
        }
        Ok(Self::from_bytes(bytes))
    }

    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// HMAC-SHA256 of `parts`, each length-prefixed so that no two inputs collide.
    pub fn mac(&self, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
        #[allow(clippy::expect_used)] // HMAC takes keys of any length: this cannot fail.
        let mut m =
            <Hmac<Sha256> as Mac>::new_from_slice(self.expose()).expect("HMAC key of any length");
        for p in std::iter::once(domain.as_bytes()).chain(parts.iter().copied()) {
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }
}

/// Reads a hex secret from `path`, or creates it with `bytes` random bytes and mode 0600.
/// Returns the secret and whether it was created now.
pub fn load_or_create(path: &Path, bytes: usize) -> Result<(SecretString, bool), SecretError> {
    let io = |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((SecretString::from(text.trim().to_owned()), false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut raw = vec![0u8; bytes];
            rand::rngs::OsRng.fill_bytes(&mut raw);
            let text = hex::encode(raw);
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(path).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok((SecretString::from(text), true))
        }
        Err(e) => Err(io(e)),
    }
}

/// The platform's API keys, compared in constant time.
#[derive(Default)]
pub struct ApiKeys(Vec<SecretString>);

impl ApiKeys {
    pub fn new(keys: Vec<SecretString>) -> Self {
        Self(keys)
    }

    pub fn accepts(&self, presented: &str) -> bool {
        let mut ok = subtle::Choice::from(0);
        for k in &self.0 {
            let k = k.expose_secret().as_bytes();
            // Lengths are not secret: keys are generated with a fixed size.
            if k.len() == presented.len() {
                ok |= k.ct_eq(presented.as_bytes());
            }
        }
        bool::from(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_with_private_mode() {
        let dir = std::env::temp_dir().join(format!("hearth-secret-{}", std::process::id()));
        let path = dir.join("secret.key");
        let (a, created) = load_or_create(&path, 32).unwrap();
        assert!(created);
        let (b, created) = load_or_create(&path, 32).unwrap();
        assert!(!created);
        assert_eq!(a.expose_secret(), b.expose_secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn macs_are_framed_and_keys_redacted() {
        let k = ServerKey::from_bytes(vec![7; 32]);
        assert_ne!(k.mac("t", &[b"ab", b"c"]), k.mac("t", &[b"a", b"bc"]));
        assert_ne!(k.mac("t", &[b"x"]), k.mac("u", &[b"x"]));
        assert!(!format!("{k:?}").contains('7'));
        let keys = ApiKeys::new(vec![SecretString::from("k-123".to_owned())]);
        assert!(keys.accepts("k-123"));
        assert!(!keys.accepts("k-124"));
        assert!(!keys.accepts(""));
    }
}
