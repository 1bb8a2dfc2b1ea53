//! What can go wrong between Datex DRI bytes and readings.

/// A DRI framing, record or subrecord problem. None of these is fatal: the framer
/// carries on with the next flag, the decoder with the next record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatexError {
    /// Bytes outside any good frame were skipped while looking for one.
    #[error("skipped {skipped} bytes while resynchronising")]
    Garbage {
        /// How many bytes were skipped (as on the wire, escapes included).
        skipped: usize,
    },
    /// A frame failed its checksum.
    #[error("frame checksum {found:#04x}, expected {expected:#04x}")]
    Checksum {
        /// The low 8 bits of the sum of the unescaped record bytes.
        expected: u8,
        /// The checksum byte that arrived.
        found: u8,
    },
    /// An escape byte `7D` was followed by something other than `5E` or `5D`.
    #[error("escape byte followed by {next:#04x}")]
    BadEscape {
        /// The byte after the escape.
        next: u8,
    },
    /// A frame or record is shorter than the 40-byte record header.
    #[error("record of {len} bytes is shorter than its header")]
    TooShort {
        /// The record length in bytes (without the checksum).
        len: usize,
    },
    /// A record to encode is longer than the protocol allows.
    #[error("record of {len} bytes exceeds the {limit}-byte maximum")]
    TooLong {
        /// The record length in bytes.
        len: usize,
        /// The maximum record length.
        limit: usize,
    },
    /// The header's `r_len` disagrees with the bytes received.
    #[error("header declares {declared} bytes, record has {actual}")]
    LengthMismatch {
        /// The `r_len` field.
        declared: i16,
        /// The record length received.
        actual: usize,
    },
    /// A subrecord descriptor points outside the data area or backwards.
    #[error("subrecord descriptor {index} has bad offset {offset}")]
    BadDescriptor {
        /// The descriptor's position in the list (0-7).
        index: usize,
        /// Its `sr_offset`.
        offset: i16,
    },
    /// More subrecords than the header's eight descriptors can hold.
    #[error("{count} subrecords, at most 8 fit in a record")]
    TooManySubrecords {
        /// How many subrecords were given.
        count: usize,
    },
    /// A record of another main type was given where a PHDB record was needed.
    #[error("record main type {main_type} is not PHDB (0)")]
    NotPhdb {
        /// The `r_maintype` field.
        main_type: i16,
    },
    /// A subrecord is shorter than its documented layout.
    #[error("subrecord of {len} bytes, expected {expected}")]
    ShortSubrecord {
        /// Its length in bytes.
        len: usize,
        /// The documented length.
        expected: usize,
    },
}

impl DatexError {
    /// Whether the error is about the byte stream (noise, lost or flipped bytes)
    /// rather than about the content of a record that arrived intact. A short
    /// record counts as framing: in a stream, the framer is where it shows up.
    pub fn is_framing(&self) -> bool {
        matches!(
            self,
            Self::Garbage { .. }
                | Self::Checksum { .. }
                | Self::BadEscape { .. }
                | Self::TooShort { .. }
        )
    }
}
