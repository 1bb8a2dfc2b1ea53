//! What can go wrong between Masimo bytes and a record.

/// A Masimo line that could not be framed or parsed. The framer and parser carry
/// on with the next line after any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasimoError {
    /// Bytes without a line timestamp were skipped.
    #[error("skipped {skipped} bytes without a line timestamp")]
    Garbage {
        /// How many bytes were skipped.
        skipped: usize,
    },
    /// A line grew past the limit without a line end and was dropped.
    #[error("line longer than {limit} bytes dropped")]
    LineTooLong {
        /// The line length limit in bytes.
        limit: usize,
    },
    /// The line holds bytes that are not printable ASCII.
    #[error("line holds a byte that is not printable ASCII")]
    NotAscii,
    /// The line does not start with a valid `MM/DD/YY HH:MM:SS` clock.
    #[error("bad line timestamp `{text}`")]
    BadTimestamp {
        /// The text where the timestamp should be.
        text: String,
    },
    /// A token is not `KEY=VALUE`.
    #[error("token `{token}` is not KEY=VALUE")]
    BadToken {
        /// The offending token.
        token: String,
    },
    /// A known key's value does not match its grammar.
    #[error("bad value `{value}` for {key}")]
    BadValue {
        /// The key.
        key: String,
        /// The value as sent.
        value: String,
    },
    /// A key appears twice in one line.
    #[error("key {key} appears twice")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
}
