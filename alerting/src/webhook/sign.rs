//! Webhook signatures: HMAC-SHA256 over the timestamp and the body.
//!
//! # The exact scheme (version 1)
//!
//! Headers of every delivery:
//!
//! | header | value |
//! |---|---|
//! | `Content-Type` | `application/json` |
//! | `X-HealthSphere-Event` | the event name, e.g. `alarm:raised` |
//! | `X-HealthSphere-Event-Id` | the event's identifier (the same on retries) |
//! | `X-HealthSphere-Timestamp` | Unix time of this attempt, whole seconds, decimal |
//! | `X-HealthSphere-Signature` | `v1=` and 64 lowercase hex digits |
//!
//! The signature is HMAC-SHA256, keyed with the endpoint's shared secret (its
//! bytes as configured), over the signing string
//!
//! ```text
//! v1:{X-HealthSphere-Timestamp}:{raw request body}
//! ```
//!
//! A receiver recomputes it over the raw body bytes, compares in constant
//! time, and rejects a timestamp more than [`DEFAULT_TOLERANCE`] away from its
//! own clock, so a captured request cannot be replayed later. Within the
//! tolerance, the event identifier lets it drop duplicates (retries are
//! re-signed with a fresh timestamp but keep the identifier).

use std::time::Duration;

use ring::hmac;

/// The replay window receivers should use.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Signature header name.
pub const SIGNATURE_HEADER: &str = "X-HealthSphere-Signature";
/// Timestamp header name.
pub const TIMESTAMP_HEADER: &str = "X-HealthSphere-Timestamp";
/// Event identifier header name.
pub const EVENT_ID_HEADER: &str = "X-HealthSphere-Event-Id";
/// Event name header name.
pub const EVENT_HEADER: &str = "X-HealthSphere-Event";

/// The `X-HealthSphere-Signature` value for `body` sent at `timestamp_s`.
pub fn sign(secret: &[u8], timestamp_s: u64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(format!("v1:{timestamp_s}:").as_bytes());
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// Why a delivery did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The timestamp header is not a number of seconds.
    #[error("the timestamp is not a number of seconds")]
    BadTimestamp,
    /// The timestamp is outside the tolerance (a replay, or a wrong clock).
    #[error("the timestamp is {skew_s} s away from now")]
    Stale {
        /// How far off, in seconds.
        skew_s: u64,
    },
    /// The signature header is not `v1=` and 64 hex digits.
    #[error("the signature is malformed")]
    Malformed,
    /// The signature does not match.
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a delivery as a receiver would, at Unix time `now_s`.
///
/// # Errors
///
/// See [`VerifyError`].
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now_s: u64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let ts: u64 = timestamp.parse().map_err(|_| VerifyError::BadTimestamp)?;
    let skew_s = ts.abs_diff(now_s);
    if skew_s > tolerance.as_secs() {
        return Err(VerifyError::Stale { skew_s });
    }
    let hex = signature
        .strip_prefix("v1=")
        .ok_or(VerifyError::Malformed)?;
    if hex.len() != 64 {
        return Err(VerifyError::Malformed);
    }
    let tag: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| VerifyError::Malformed)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut msg = format!("v1:{ts}:").into_bytes();
    msg.extend_from_slice(body);
    hmac::verify(&key, &msg, &tag).map_err(|_| VerifyError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_an_independently_computed_hmac() {
        // HMAC-SHA256 with key "key" over "v1:0:" + "The quick brown fox
        // jumps over the lazy dog", computed independently with
        // `printf 'v1:0:The quick brown fox jumps over the lazy dog' |
        //  openssl dgst -sha256 -hmac key`.
        let sig = sign(b"key", 0, b"The quick brown fox jumps over the lazy dog");
        assert_eq!(
            sig,
            "v1=7f27638b268ff1a1cc37c2f2981d8b5e9dadc17204cbe37695d9a79fc4d59ac6"
        );
        assert_eq!(
            verify(
                b"key",
                "0",
                &sig,
                b"The quick brown fox jumps over the lazy dog",
                0,
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
    }

    #[test]
    fn tampered_body_wrong_key_and_old_timestamp_are_rejected() {
        let sig = sign(b"secret", 1_000, b"{\"a\":1}");
        let check = |key: &[u8], ts: &str, body: &[u8], now| {
            verify(key, ts, &sig, body, now, DEFAULT_TOLERANCE)
        };
        assert_eq!(check(b"secret", "1000", b"{\"a\":1}", 1_000), Ok(()));
        assert_eq!(
            check(b"secret", "1000", b"{\"a\":2}", 1_000),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            check(b"other", "1000", b"{\"a\":1}", 1_000),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            check(b"secret", "1001", b"{\"a\":1}", 1_001),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            check(b"secret", "1000", b"{\"a\":1}", 1_301),
            Err(VerifyError::Stale { skew_s: 301 })
        );
        assert_eq!(
            verify(b"secret", "x", &sig, b"", 0, DEFAULT_TOLERANCE),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(b"secret", "1000", "v1=zz", b"", 1_000, DEFAULT_TOLERANCE),
            Err(VerifyError::Malformed)
        );
    }
}
