//! The API's settings: the `[api.auth]` section of the gateway's configuration,
//! and the secret that comes from the environment.

use serde::Deserialize;

use crate::roles::Role;

/// The environment variable holding the API secret: at least 32 random bytes,
/// base64 (standard alphabet). The token signing key, the key sealing TOTP
/// secrets, and the keys sealing and hashing patients' identifiers are
/// derived from it; it never appears in files or logs. Replacing it makes
/// sealed TOTP secrets and patient fields unreadable.
/// Generate one with `head -c 32 /dev/urandom | base64`.
pub const API_SECRET_ENV: &str = "HEALTHSPHERE_API_SECRET";

/// Authentication and session settings (`[api.auth]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of an access token. Short, because a token stays valid until
    /// it expires except for the per-request session check. Default 300.
    pub access_token_ttl_secs: u64,
    /// A session with no request for this long ends (HIPAA automatic logoff;
    /// NIST SP 800-63B AAL2 asks for at most 30 minutes). Default 1800.
    pub idle_timeout_secs: u64,
    /// A session ends this long after login whatever its activity (AAL2: 12
    /// hours). Default 43200.
    pub absolute_lifetime_secs: u64,
    /// Roles whose users must use a second factor: until they have enrolled
    /// TOTP and signed in with it they can only enrol, confirm and log out.
    /// Default: administrator.
    pub mfa_required_roles: Vec<Role>,
    /// Failed logins allowed per account within `throttle_window_secs`.
    /// Default 5.
    pub account_max_failures: u32,
    /// Failed logins allowed per client address within
    /// `throttle_window_secs`. Default 50. All clients behind one proxy share
    /// an address.
    pub address_max_failures: u32,
    /// How long a failed login counts. Default 900.
    pub throttle_window_secs: u64,
    /// The longest break-the-glass grant. Default 3600.
    pub break_glass_max_secs: u64,
    /// argon2id memory cost. Default 19456 (19 MiB, OWASP's minimum).
    pub password_memory_kib: u32,
    /// argon2id passes. Default 2.
    pub password_iterations: u32,
    /// Shown by authenticator apps next to the account. Default "HealthSphere".
    pub totp_issuer: String,
    /// Database connections the API may hold. Default 8.
    pub max_connections: usize,
    /// Sustained `/api/v1` requests a second allowed per client address;
    /// more get 429 with Retry-After. Default 100.
    pub requests_per_sec_per_address: u32,
    /// Requests a client address may send at once above the sustained rate.
    /// Default 200.
    pub request_burst_per_address: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 300,
            idle_timeout_secs: 1800,
            absolute_lifetime_secs: 43_200,
            mfa_required_roles: vec![Role::Administrator],
            account_max_failures: 5,
            address_max_failures: 50,
            throttle_window_secs: 900,
            break_glass_max_secs: 3600,
            password_memory_kib: 19_456,
            password_iterations: 2,
            totp_issuer: "HealthSphere".to_owned(),
            max_connections: 8,
            requests_per_sec_per_address: 100,
            request_burst_per_address: 200,
        }
    }
}

impl AuthConfig {
    /// Every problem with the settings, as `(key, message)`.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if self.access_token_ttl_secs == 0 || self.access_token_ttl_secs > 3600 {
            out.push(("access_token_ttl_secs", "must be 1 to 3600"));
        }
        if self.idle_timeout_secs == 0 {
            out.push(("idle_timeout_secs", "must be positive"));
        }
        if self.absolute_lifetime_secs < self.idle_timeout_secs {
            out.push((
                "absolute_lifetime_secs",
                "must be at least idle_timeout_secs",
            ));
        }
        if self.account_max_failures == 0 || self.address_max_failures == 0 {
            out.push(("account_max_failures", "failure limits must be positive"));
        }
        if self.password_memory_kib < 8 * 1024 {
            out.push(("password_memory_kib", "must be at least 8192"));
        }
        if self.requests_per_sec_per_address == 0 || self.request_burst_per_address == 0 {
            out.push((
                "requests_per_sec_per_address",
                "rate limits must be positive",
            ));
        }
        if self.max_connections == 0 {
            out.push(("max_connections", "must be positive"));
        }
        out
    }
}

/// The API secret could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Not base64.
    #[error("HEALTHSPHERE_API_SECRET is not base64")]
    Encoding,
    /// Fewer than 32 bytes.
    #[error("HEALTHSPHERE_API_SECRET must decode to at least 32 bytes")]
    Short,
}

/// The decoded API secret. Its `Debug` shows nothing.
#[derive(Clone)]
pub struct ApiSecret(Vec<u8>);

impl std::fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiSecret(..)")
    }
}

impl ApiSecret {
    /// Decodes the environment value.
    ///
    /// # Errors
    ///
    /// See [`SecretError`].
    pub fn from_base64(value: &str) -> Result<Self, SecretError> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| SecretError::Encoding)?;
        Self::from_bytes(bytes)
    }

    /// Wraps raw bytes.
    ///
    /// # Errors
    ///
    /// [`SecretError::Short`] below 32 bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretError> {
        if bytes.len() < 32 {
            return Err(SecretError::Short);
        }
        Ok(Self(bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_unknown_keys_refused() {
        assert!(AuthConfig::default().problems().is_empty());
        let parsed: AuthConfig =
            toml::from_str("idle_timeout_secs = 900\nmfa_required_roles = [\"physician\"]")
                .unwrap();
        assert_eq!(parsed.idle_timeout_secs, 900);
        assert_eq!(parsed.mfa_required_roles, vec![Role::Physician]);
        assert!(toml::from_str::<AuthConfig>("idle_timeout = 900").is_err());
        assert!(toml::from_str::<AuthConfig>("mfa_required_roles = [\"root\"]").is_err());
    }

    #[test]
    fn secrets_are_checked_and_never_shown() {
        assert_eq!(
            ApiSecret::from_base64("AAAA").unwrap_err(),
            SecretError::Short
        );
        assert_eq!(
            ApiSecret::from_base64("not base64!").unwrap_err(),
            SecretError::Encoding
        );
        let s = ApiSecret::from_bytes(vec![42; 32]).unwrap();
        assert_eq!(format!("{s:?}"), "ApiSecret(..)");
    }
}
