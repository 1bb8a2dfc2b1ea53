//! Time-based one-time passwords (RFC 6238) over HOTP (RFC 4226) with
//! HMAC-SHA-1, the variant every authenticator app supports, and recovery
//! codes.
//!
//! A code is accepted in its own 30-second step or one step either side
//! ([`SKEW_STEPS`]), and never twice: the caller stores the last accepted step
//! and passes it back, so a code seen over a shoulder cannot be replayed.

use ring::{digest, hmac, rand::SecureRandom};

/// Seconds per time step (RFC 6238 §4.1, X = 30 recommended).
pub const STEP_SECS: u64 = 30;
/// Digits in a code: what authenticator apps show.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one, for clock drift
/// (RFC 6238 §5.2 recommends at most one).
pub const SKEW_STEPS: u64 = 1;
/// Secret length: 160 bits, the HMAC-SHA-1 output size (RFC 4226 §4 R6).
pub const SECRET_BYTES: usize = 20;
/// Recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// The HOTP value of `counter` with `digits` digits (RFC 4226 §5.3).
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    // Dynamic truncation: the low nibble of the last byte picks four bytes.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    bin % 10u32.pow(digits)
}

/// The TOTP value at `unix_secs` (RFC 6238 §4.2, T0 = 0).
pub fn totp(secret: &[u8], unix_secs: u64, digits: u32) -> u32 {
    hotp(secret, unix_secs / STEP_SECS, digits)
}

/// Checks a six-digit `code` at `unix_secs`. Returns the step it matched,
/// which must be stored as the new `last_step`; `None` when it matches no
/// step in the window or only steps at or before `last_step`.
pub fn verify(secret: &[u8], code: &str, unix_secs: u64, last_step: u64) -> Option<u64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let now = unix_secs / STEP_SECS;
    let first = now.saturating_sub(SKEW_STEPS).max(last_step + 1);
    (first..=now + SKEW_STEPS).find(|&step| hotp(secret, step, DIGITS) == wanted)
}

/// A fresh random secret.
///
/// # Errors
///
/// When the system's random source fails.
pub fn new_secret(rng: &dyn SecureRandom) -> Result<[u8; SECRET_BYTES], ring::error::Unspecified> {
    let mut secret = [0; SECRET_BYTES];
    rng.fill(&mut secret)?;
    Ok(secret)
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The `otpauth://` URI an authenticator app reads from a QR code (the Key
/// Uri Format of Google Authenticator, which the other apps follow).
pub fn provisioning_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        percent(issuer),
        percent(account),
        base32(secret),
        percent(issuer)
    )
}

fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Fresh recovery codes (each 50 bits, shown as two groups of five base32
/// characters) and the SHA-256 digests to store in their place.
///
/// # Errors
///
/// When the system's random source fails.
pub fn new_recovery_codes(
    rng: &dyn SecureRandom,
) -> Result<(Vec<String>, Vec<Vec<u8>>), ring::error::Unspecified> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut digests = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut raw = [0u8; 7];
        rng.fill(&mut raw)?;
        let text = base32(&raw);
        let code = format!("{}-{}", &text[..5], &text[5..10]).to_ascii_lowercase();
        digests.push(recovery_digest(&code));
        codes.push(code);
    }
    Ok((codes, digests))
}

/// The stored form of a recovery code; case and surrounding blanks are
/// ignored when it is typed back.
pub fn recovery_digest(code: &str) -> Vec<u8> {
    let normal = code.trim().to_ascii_lowercase();
    digest::digest(&digest::SHA256, normal.as_bytes())
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_sha1_test_vectors() {
        // RFC 6238 Appendix B, SHA1 column, 8 digits.
        for (time, expected) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(totp(RFC_SEED, time, 8), expected, "T = {time}");
        }
    }

    #[test]
    fn rfc4226_hotp_test_vectors() {
        // RFC 4226 Appendix D.
        let expected = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SEED, counter as u64, 6), *want);
        }
    }

    #[test]
    fn codes_are_accepted_within_one_step_and_only_once() {
        let now = 1_111_111_111;
        let step = now / STEP_SECS;
        let code = |t: u64| format!("{:06}", totp(RFC_SEED, t, 6));
        assert_eq!(verify(RFC_SEED, &code(now), now, 0), Some(step));
        assert_eq!(verify(RFC_SEED, &code(now - 30), now, 0), Some(step - 1));
        assert_eq!(verify(RFC_SEED, &code(now + 30), now, 0), Some(step + 1));
        assert_eq!(verify(RFC_SEED, &code(now - 60), now, 0), None);
        assert_eq!(verify(RFC_SEED, &code(now + 60), now, 0), None);
        // Replay of an accepted code, and of an older one, is refused.
        assert_eq!(verify(RFC_SEED, &code(now), now, step), None);
        assert_eq!(verify(RFC_SEED, &code(now - 30), now, step), None);
        for junk in ["", "12345", "1234567", "12a456", "+12345"] {
            assert_eq!(verify(RFC_SEED, junk, now, 0), None, "{junk}");
        }
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        // RFC 4648 §10, without padding.
        for (input, want) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), want);
        }
    }

    #[test]
    fn provisioning_uri_escapes_label_and_carries_parameters() {
        let uri = provisioning_uri("HealthSphere St Mary", "ann@ward 3", RFC_SEED);
        assert_eq!(
            uri,
            "otpauth://totp/HealthSphere%20St%20Mary:ann%40ward%203?\
             secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=HealthSphere%20St%20Mary&\
             algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_match_their_digests() {
        let rng = ring::rand::SystemRandom::new();
        let (codes, digests) = new_recovery_codes(&rng).unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for (code, digest) in codes.iter().zip(&digests) {
            assert_eq!(code.len(), 11);
            assert_eq!(
                &recovery_digest(&format!(" {} ", code.to_uppercase())),
                digest
            );
        }
    }
}
