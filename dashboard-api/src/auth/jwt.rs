//! Access tokens: compact JWS (RFC 7515) with HS256 (HMAC-SHA-256, RFC 7518
//! §3.2) only.
//!
//! The verifier accepts exactly one header, `{"alg":"HS256","typ":"JWT"}`
//! compared byte for byte after decoding, so `alg: none`, another algorithm or
//! any extra header parameter (`kid`, `jku`, ...) is refused before the
//! signature is even looked at. The signature is checked with ring's
//! constant-time comparison; the expiry with the caller's clock.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::roles::Role;

/// The only header this API issues and accepts.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The shortest signing key accepted: RFC 7518 §3.2 requires a key at least
/// as long as the hash output.
pub const MIN_KEY_BYTES: usize = 32;

/// What an access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The tenant the user belongs to.
    pub tid: String,
    /// The session (refresh-token family) the token was issued in.
    pub sid: String,
    /// The user's roles when the token was issued.
    pub roles: Vec<Role>,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: u64,
    /// Whether the second factor was presented in this session.
    pub mfa: bool,
}

/// Why a token was refused. Callers answer every variant with the same 401;
/// the variants exist for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts.
    #[error("malformed token")]
    Malformed,
    /// A header other than the one HS256 header.
    #[error("unsupported token header")]
    Header,
    /// The signature does not match.
    #[error("bad token signature")]
    Signature,
    /// The claims are not what we issue.
    #[error("malformed token claims")]
    Claims,
    /// Past its expiry.
    #[error("token expired")]
    Expired,
}

/// The HMAC key access tokens are signed with.
pub struct SigningKey(hmac::Key);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// A signing key that is too short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the token signing key must be at least 32 bytes")]
pub struct ShortKey;

impl SigningKey {
    /// A key from raw bytes.
    ///
    /// # Errors
    ///
    /// [`ShortKey`] below [`MIN_KEY_BYTES`].
    pub fn new(bytes: &[u8]) -> Result<Self, ShortKey> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(ShortKey);
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, bytes)))
    }

    /// Signs `claims` into a compact token.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let mut token = URL_SAFE_NO_PAD.encode(HEADER);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let tag = hmac::sign(&self.0, token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(tag.as_ref()));
        token
    }

    /// Verifies `token` and returns its claims if it is unexpired at `now`
    /// (seconds since the epoch).
    ///
    /// # Errors
    ///
    /// See [`TokenError`].
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed)?;
        if header != HEADER.as_bytes() {
            return Err(TokenError::Header);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let signed_len = token.len() - token.rsplit('.').next().map_or(0, str::len) - 1;
        hmac::verify(&self.0, &token.as_bytes()[..signed_len], &signature)
            .map_err(|_| TokenError::Signature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Claims)?;
        if now >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::new(&[7; 32]).unwrap()
    }

    fn claims() -> Claims {
        Claims {
            sub: "u1".into(),
            tid: "st-mary".into(),
            sid: "s1".into(),
            roles: vec![Role::Nurse],
            iat: 1_000,
            exp: 1_300,
            mfa: false,
        }
    }

    fn forge(header: &str, claims: &Claims, signer: Option<&SigningKey>) -> String {
        let head = URL_SAFE_NO_PAD.encode(header);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
        let signed = format!("{head}.{body}");
        let sig = signer.map_or(String::new(), |k| {
            URL_SAFE_NO_PAD.encode(hmac::sign(&k.0, signed.as_bytes()).as_ref())
        });
        format!("{signed}.{sig}")
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let token = key().sign(&claims());
        assert_eq!(key().verify(&token, 1_299), Ok(claims()));
        assert_eq!(key().verify(&token, 1_300), Err(TokenError::Expired));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let none = forge(r#"{"alg":"none","typ":"JWT"}"#, &claims(), None);
        assert_eq!(key().verify(&none, 1_000), Err(TokenError::Header));
        let none_signed = forge(r#"{"alg":"none"}"#, &claims(), Some(&key()));
        assert_eq!(key().verify(&none_signed, 1_000), Err(TokenError::Header));
        let hs512 = forge(r#"{"alg":"HS512","typ":"JWT"}"#, &claims(), Some(&key()));
        assert_eq!(key().verify(&hs512, 1_000), Err(TokenError::Header));
        let with_kid = forge(
            r#"{"alg":"HS256","typ":"JWT","kid":"x"}"#,
            &claims(),
            Some(&key()),
        );
        assert_eq!(key().verify(&with_kid, 1_000), Err(TokenError::Header));
    }

    #[test]
    fn tampered_claims_and_foreign_keys_are_refused() {
        let token = key().sign(&claims());
        let mut elevated = claims();
        elevated.roles = vec![Role::Administrator];
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&elevated).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("{}.{forged_body}.{}", parts[0], parts[2]);
        assert_eq!(key().verify(&tampered, 1_000), Err(TokenError::Signature));

        let other = SigningKey::new(&[8; 32]).unwrap();
        assert_eq!(
            key().verify(&other.sign(&claims()), 1_000),
            Err(TokenError::Signature)
        );
        let unsigned = format!("{}.{}.", parts[0], parts[1]);
        assert_eq!(key().verify(&unsigned, 1_000), Err(TokenError::Signature));
    }

    #[test]
    fn malformed_tokens_and_short_keys_are_refused() {
        for bad in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert!(key().verify(bad, 0).is_err(), "{bad}");
        }
        assert_eq!(SigningKey::new(&[1; 31]).unwrap_err(), ShortKey);
    }
}
