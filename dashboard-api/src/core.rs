//! The authenticated API's shared parts: settings, keys, the database pool,
//! the password hasher and the login throttles.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};

use crate::auth::jwt::SigningKey;
use crate::auth::password::{PasswordError, Passwords};
use crate::auth::throttle::{Limit, RateLimiter, Throttle};
use crate::config::{ApiSecret, AuthConfig};
use crate::db::Pool;

/// Everything the authenticated routes need. Shared behind an `Arc`.
#[derive(Debug)]
pub struct ApiCore {
    /// The settings.
    pub config: AuthConfig,
    /// Connections for requests.
    pub pool: Pool,
    /// Signs and verifies access tokens.
    pub jwt: SigningKey,
    /// The password hasher.
    pub passwords: Passwords,
    /// The random source for salts, tokens and secrets.
    pub rng: SystemRandom,
    /// The hospital modules' live events.
    pub events: crate::events::ModuleEvents,
    seal: SealKey,
    phi: SealKey,
    mrn_lookup: ring::hmac::Key,
    throttles: Mutex<Throttles>,
    audit_writer: std::sync::OnceLock<crate::audit_writer::AuditWriter>,
}

#[derive(Debug)]
struct Throttles {
    accounts: Throttle,
    addresses: Throttle,
    requests: RateLimiter,
}

/// An AES-256-GCM key that seals secrets (TOTP) or protected health
/// information at rest.
struct SealKey(LessSafeKey);

impl SealKey {
    fn new(key: &[u8; 32]) -> Result<Self, CoreError> {
        UnboundKey::new(&AES_256_GCM, key)
            .map(|k| Self(LessSafeKey::new(k)))
            .map_err(|_| CoreError::Config {
                key: "secret",
                message: "unusable",
            })
    }

    /// A fresh 96-bit nonce, then the ciphertext and tag; `context` is bound
    /// as associated data.
    fn seal(
        &self,
        rng: &SystemRandom,
        plain: &[u8],
        context: &str,
    ) -> Result<Vec<u8>, ring::error::Unspecified> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce)?;
        let mut data = plain.to_vec();
        self.0.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut data,
        )?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(out)
    }

    fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, ring::error::Unspecified> {
        if sealed.len() < NONCE_LEN + aead::AES_256_GCM.tag_len() {
            return Err(ring::error::Unspecified);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)?;
        let mut data = rest.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)?;
        Ok(plain.to_vec())
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

/// The core could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A setting is out of range.
    #[error("api.auth.{key}: {message}")]
    Config {
        /// The key.
        key: &'static str,
        /// What is wrong.
        message: &'static str,
    },
    /// The password hasher rejected its parameters.
    #[error("password hashing parameters: {0}")]
    Passwords(#[from] PasswordError),
}

/// Labels for deriving the independent keys from the one secret (HKDF,
/// RFC 5869, with SHA-256).
const JWT_KEY_INFO: &[u8] = b"healthsphere api access-token hs256";
const SEAL_KEY_INFO: &[u8] = b"healthsphere api totp-seal aes256gcm";
/// Seals patients' identifiers and demographics. Limit: derived from the
/// API secret, so replacing that secret makes stored PHI unreadable; there
/// is no re-encryption tool yet.
const PHI_KEY_INFO: &[u8] = b"healthsphere api phi-seal aes256gcm";
const MRN_LOOKUP_INFO: &[u8] = b"healthsphere api mrn-lookup hmac-sha256";

fn derive(secret: &ApiSecret, info: &[u8]) -> [u8; 32] {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"healthsphere").extract(secret.bytes());
    let mut out = [0u8; 32];
    let info = [info];
    // Expanding 32 bytes from SHA-256 cannot fail: the limit is 255 * 32.
    if let Ok(okm) = prk.expand(&info, hkdf::HKDF_SHA256) {
        let _ = okm.fill(&mut out);
    }
    out
}

impl ApiCore {
    /// Builds the core.
    ///
    /// # Errors
    ///
    /// See [`CoreError`].
    pub fn new(config: AuthConfig, pool: Pool, secret: &ApiSecret) -> Result<Self, CoreError> {
        if let Some(&(key, message)) = config.problems().first() {
            return Err(CoreError::Config { key, message });
        }
        let jwt =
            SigningKey::new(&derive(secret, JWT_KEY_INFO)).map_err(|_| CoreError::Config {
                key: "secret",
                message: "too short",
            })?;
        let seal = SealKey::new(&derive(secret, SEAL_KEY_INFO))?;
        let phi = SealKey::new(&derive(secret, PHI_KEY_INFO))?;
        let mrn_lookup =
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &derive(secret, MRN_LOOKUP_INFO));
        let passwords = Passwords::new(config.password_memory_kib, config.password_iterations)?;
        let window = Duration::from_secs(config.throttle_window_secs);
        let throttles = Throttles {
            accounts: Throttle::new(Limit {
                max_failures: config.account_max_failures,
                window,
            }),
            addresses: Throttle::new(Limit {
                max_failures: config.address_max_failures,
                window,
            }),
            requests: RateLimiter::new(
                config.requests_per_sec_per_address,
                config.request_burst_per_address,
            ),
        };
        Ok(Self {
            config,
            pool,
            jwt,
            passwords,
            rng: SystemRandom::new(),
            events: crate::events::ModuleEvents::default(),
            seal,
            phi,
            mrn_lookup,
            throttles: Mutex::new(throttles),
            audit_writer: std::sync::OnceLock::new(),
        })
    }

    /// A shared core.
    pub fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }

    /// How long `account` or `address` must wait before trying to log in, if
    /// either is throttled.
    pub fn throttled(&self, account: &str, address: &str) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        let mut t = self
            .throttles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let a = t.accounts.check(account, now);
        let b = t.addresses.check(address, now);
        a.into_iter().chain(b).max()
    }

    /// Takes a request token for `address`: `None` when allowed, else how
    /// long to wait.
    pub fn rate_limited(&self, address: &str) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        let mut t = self
            .throttles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        t.requests.take(address, now)
    }

    /// Records an audit entry of a read through the group-commit writer
    /// (started on first use), waiting until it is durable.
    ///
    /// # Errors
    ///
    /// 500 when the entry could not be written: the read must then fail.
    pub async fn audit_read(
        &self,
        event: crate::audit::AuditEvent,
    ) -> Result<(), crate::problem::ApiError> {
        let writer = self
            .audit_writer
            .get_or_init(|| crate::audit_writer::AuditWriter::start(self.pool.sibling(1)));
        writer
            .record(event)
            .await
            .map_err(|e| crate::problem::ApiError::internal(&e))
    }

    /// Counts a failed login.
    pub fn login_failed(&self, account: &str, address: &str) {
        let now = tokio::time::Instant::now();
        let mut t = self
            .throttles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        t.accounts.fail(account, now);
        t.addresses.fail(address, now);
    }

    /// Clears an account's failures after a successful login.
    pub fn login_succeeded(&self, account: &str) {
        let mut t = self
            .throttles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        t.accounts.succeed(account);
    }

    /// `n` random bytes.
    ///
    /// # Errors
    ///
    /// When the system's random source fails.
    pub fn random(&self, n: usize) -> Result<Vec<u8>, ring::error::Unspecified> {
        let mut out = vec![0; n];
        self.rng.fill(&mut out)?;
        Ok(out)
    }

    /// Seals `plain` (a TOTP secret) for storage: a fresh 96-bit nonce, then
    /// the AES-256-GCM ciphertext and tag. `context` (the user id) is bound
    /// as associated data, so a sealed secret copied to another user's row
    /// does not open.
    ///
    /// # Errors
    ///
    /// When the random source fails.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<Vec<u8>, ring::error::Unspecified> {
        self.seal.seal(&self.rng, plain, context)
    }

    /// Opens what [`Self::seal`] produced for the same `context`.
    ///
    /// # Errors
    ///
    /// When the data was altered, sealed for another context or under
    /// another secret.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, ring::error::Unspecified> {
        self.seal.open(sealed, context)
    }

    /// Seals one field of protected health information under the PHI key
    /// (independent of the TOTP key). `context` names the record and the
    /// field (for example `patient:<id>:name`), so a ciphertext moved to
    /// another row or field does not open.
    ///
    /// # Errors
    ///
    /// When the random source fails.
    pub fn seal_phi(
        &self,
        plain: &[u8],
        context: &str,
    ) -> Result<Vec<u8>, ring::error::Unspecified> {
        self.phi.seal(&self.rng, plain, context)
    }

    /// Opens what [`Self::seal_phi`] produced for the same `context`.
    ///
    /// # Errors
    ///
    /// As [`Self::open`].
    pub fn open_phi(
        &self,
        sealed: &[u8],
        context: &str,
    ) -> Result<Vec<u8>, ring::error::Unspecified> {
        self.phi.open(sealed, context)
    }

    /// The lookup hash of a medical record number: HMAC-SHA256 under its own
    /// derived key over the tenant, a 0 byte and the MRN. Deterministic, so
    /// equal MRNs of a tenant collide (the uniqueness check and lookup rely
    /// on it); useless without the key.
    pub fn mrn_hash(&self, tenant: &crate::tenant::TenantId, mrn: &str) -> Vec<u8> {
        let mut ctx = ring::hmac::Context::with_key(&self.mrn_lookup);
        ctx.update(tenant.as_str().as_bytes());
        ctx.update(&[0]);
        ctx.update(mrn.as_bytes());
        ctx.sign().as_ref().to_vec()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A core with cheap password hashing, for tests.
    pub(crate) fn core(url: &str) -> ApiCore {
        let config = AuthConfig {
            password_memory_kib: 8 * 1024,
            password_iterations: 1,
            ..AuthConfig::default()
        };
        let secret = ApiSecret::from_bytes(vec![9; 32]).unwrap();
        ApiCore::new(config, Pool::new(url, 2), &secret).unwrap()
    }

    #[test]
    fn sealed_secrets_open_only_in_their_context() {
        let c = core("postgres://unused");
        let sealed = c.seal(b"totp secret", "user-1").unwrap();
        assert_ne!(&sealed[NONCE_LEN..NONCE_LEN + 11], b"totp secret");
        assert_eq!(c.open(&sealed, "user-1").unwrap(), b"totp secret");
        assert!(c.open(&sealed, "user-2").is_err());
        let mut flipped = sealed.clone();
        flipped[NONCE_LEN] ^= 1;
        assert!(c.open(&flipped, "user-1").is_err());
        assert!(c.open(&sealed[..10], "user-1").is_err());
        // The PHI key is another key.
        assert!(c.open_phi(&sealed, "user-1").is_err());
        let phi = c.seal_phi(b"Ann Smith", "patient:p1:name").unwrap();
        assert_eq!(c.open_phi(&phi, "patient:p1:name").unwrap(), b"Ann Smith");
        assert!(c.open_phi(&phi, "patient:p2:name").is_err());
    }

    #[test]
    fn mrn_hashes_are_keyed_and_per_tenant() {
        let c = core("postgres://unused");
        let mary = crate::tenant::TenantId::parse("st-mary").unwrap();
        let john = crate::tenant::TenantId::parse("st-john").unwrap();
        assert_eq!(c.mrn_hash(&mary, "MRN-1"), c.mrn_hash(&mary, "MRN-1"));
        assert_ne!(c.mrn_hash(&mary, "MRN-1"), c.mrn_hash(&mary, "MRN-2"));
        assert_ne!(c.mrn_hash(&mary, "MRN-1"), c.mrn_hash(&john, "MRN-1"));
        let other = ApiCore::new(
            c.config.clone(),
            Pool::new("postgres://unused", 1),
            &ApiSecret::from_bytes(vec![8; 32]).unwrap(),
        )
        .unwrap();
        assert_ne!(c.mrn_hash(&mary, "MRN-1"), other.mrn_hash(&mary, "MRN-1"));
    }

    #[test]
    fn derived_keys_differ_and_bad_settings_are_refused() {
        let s = ApiSecret::from_bytes(vec![1; 32]).unwrap();
        assert_ne!(derive(&s, JWT_KEY_INFO), derive(&s, SEAL_KEY_INFO));
        let bad = AuthConfig {
            idle_timeout_secs: 0,
            ..AuthConfig::default()
        };
        assert!(matches!(
            ApiCore::new(bad, Pool::new("postgres://unused", 1), &s),
            Err(CoreError::Config {
                key: "idle_timeout_secs",
                ..
            })
        ));
    }
}
