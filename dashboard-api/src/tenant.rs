//! Tenant (hospital site) identifiers.

use std::fmt;

/// The longest tenant identifier accepted.
pub const MAX_TENANT_ID_LEN: usize = 64;

/// A validated tenant identifier: 1 to [`MAX_TENANT_ID_LEN`] lowercase ASCII
/// letters, digits, `-` or `_`. The same alphabet as the collector's
/// `vitals.tenant_id`, and safe inside a refresh token (which uses `~`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

/// A string that is not a valid tenant identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tenant identifier is 1 to 64 characters of a-z, 0-9, '-' and '_'")]
pub struct InvalidTenantId;

impl TenantId {
    /// Validates `s`.
    ///
    /// # Errors
    ///
    /// [`InvalidTenantId`] when `s` is empty, too long or has another character.
    pub fn parse(s: &str) -> Result<Self, InvalidTenantId> {
        let ok = !s.is_empty()
            && s.len() <= MAX_TENANT_ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidTenantId)
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_safe_alphabet_is_accepted() {
        assert!(TenantId::parse("st-mary_2").is_ok());
        for bad in ["", "St-Mary", "a b", "a~b", "a'b", &"x".repeat(65)] {
            assert_eq!(TenantId::parse(bad), Err(InvalidTenantId), "{bad:?}");
        }
    }
}
