//! Password hashing with argon2id (RFC 9106) in PHC string form.
//!
//! Hashing costs tens of milliseconds by design, so callers run it on a
//! blocking thread. Verifying a login for an account that does not exist
//! still runs one full verification against [`Passwords::dummy_hash`], so the
//! response time does not reveal whether the account exists.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::SecureRandom;

/// Shortest password accepted (NIST SP 800-63B §5.1.1.2: at least 8).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted: long passphrases are welcome (800-63B asks for
/// at least 64), but an unbounded input would let a caller make us hash
/// megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A password could not be hashed or set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("a password is 8 to 1024 characters long")]
    Length,
    /// The random source or the hasher failed.
    #[error("password hashing failed")]
    Hashing,
}

/// The hasher with its cost parameters.
#[derive(Debug, Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    dummy: String,
}

impl Passwords {
    /// argon2id with `memory_kib` of memory and `iterations` passes, one lane.
    /// OWASP's minimum for argon2id is 19 MiB with 2 passes.
    ///
    /// # Errors
    ///
    /// [`PasswordError::Hashing`] when the parameters are out of range.
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Self, PasswordError> {
        let params =
            Params::new(memory_kib, iterations, 1, None).map_err(|_| PasswordError::Hashing)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut this = Self {
            argon,
            dummy: String::new(),
        };
        this.dummy = this.hash(
            "not a real password; equalises timing",
            &ring::rand::SystemRandom::new(),
        )?;
        Ok(this)
    }

    /// The PHC string of `password` with a fresh 16-byte salt.
    ///
    /// # Errors
    ///
    /// See [`PasswordError`].
    pub fn hash(&self, password: &str, rng: &dyn SecureRandom) -> Result<String, PasswordError> {
        if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::Length);
        }
        let mut salt = [0u8; 16];
        rng.fill(&mut salt).map_err(|_| PasswordError::Hashing)?;
        let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hashing)?;
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| PasswordError::Hashing)
    }

    /// Whether `password` matches the PHC string `stored`. A malformed stored
    /// hash never matches. With `stored = None` (no such account) it verifies
    /// against a dummy hash and returns false, taking as long as a real check.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        if password.len() > MAX_PASSWORD_BYTES {
            return false;
        }
        let (phc, real) = match stored {
            Some(s) => (s, true),
            None => (self.dummy.as_str(), false),
        };
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let ok = self
            .argon
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && real
    }

    /// The hash verified for unknown accounts.
    pub fn dummy_hash(&self) -> &str {
        &self.dummy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(256, 1).unwrap()
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let p = cheap();
        let rng = ring::rand::SystemRandom::new();
        let a = p.hash("correct horse", &rng).unwrap();
        let b = p.hash("correct horse", &rng).unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(p.verify("correct horse", Some(&a)));
        assert!(!p.verify("correct horsf", Some(&a)));
        assert!(!p.verify("correct horse", Some("garbage")));
    }

    #[test]
    fn unknown_accounts_never_verify_and_lengths_are_bounded() {
        let p = cheap();
        let rng = ring::rand::SystemRandom::new();
        assert!(!p.verify("not a real password; equalises timing", None));
        assert_eq!(p.hash("short", &rng), Err(PasswordError::Length));
        assert_eq!(p.hash(&"x".repeat(1025), &rng), Err(PasswordError::Length));
    }
}
