//! What can go wrong between MLLP bytes and HL7 observations.

use std::fmt;

/// An MLLP framing problem. The framer carries on with the next block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MllpError {
    /// Bytes outside any block (other than CR and LF) were skipped.
    #[error("skipped {skipped} bytes outside an MLLP block")]
    Garbage {
        /// How many bytes were skipped.
        skipped: usize,
    },
    /// A message grew past the size limit; it is dropped up to its end block.
    #[error("message longer than {limit} bytes dropped")]
    TooLong {
        /// The size limit in bytes.
        limit: usize,
    },
    /// A start block arrived inside a message: the message lost its end.
    #[error("message of {len} bytes lost its end block")]
    Truncated {
        /// How many bytes of the lost message had arrived.
        len: usize,
    },
}

/// Where in a message a field is: `OBX[3]-5` is field 5 of the third OBX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLocation {
    /// Segment id, such as `OBX`.
    pub segment: String,
    /// Which occurrence of that segment id, from 1.
    pub sequence: usize,
    /// Field number, from 1 (`MSH-1` is the field separator).
    pub field: usize,
}

impl fmt::Display for FieldLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]-{}", self.segment, self.sequence, self.field)
    }
}

/// An HL7 v2 message, or one of its segments, could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Hl7Error {
    /// The message does not start with an MSH segment.
    #[error("message does not start with an MSH segment")]
    MissingMsh,
    /// MSH-1 or MSH-2 do not define usable delimiters.
    #[error("bad MSH-1/MSH-2 delimiters: {reason}")]
    BadDelimiters {
        /// What is wrong with them.
        reason: &'static str,
    },
    /// A segment does not start with a three-character segment id.
    #[error("segment {number} has no valid segment id")]
    BadSegment {
        /// The segment's position in the message, from 1.
        number: usize,
    },
    /// A field the message needs is empty.
    #[error("{at} is required but empty")]
    MissingField {
        /// Where the field is.
        at: FieldLocation,
    },
    /// A field does not hold what its type allows.
    #[error("{at}: {reason} (`{value}`)")]
    BadField {
        /// Where the field is.
        at: FieldLocation,
        /// The field as sent.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The message is not an ORU^R01.
    #[error("unsupported message type `{message_type}`, expected ORU^R01")]
    UnsupportedMessage {
        /// MSH-9 as sent.
        message_type: String,
    },
}

impl Hl7Error {
    /// The field the error is about, if it is about one field.
    pub fn location(&self) -> Option<&FieldLocation> {
        match self {
            Self::MissingField { at } | Self::BadField { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The HL7 table 0357 error condition code for an ERR segment.
    pub fn condition_code(&self) -> u16 {
        match self {
            Self::MissingMsh | Self::BadSegment { .. } => 100,
            Self::MissingField { .. } => 101,
            Self::BadDelimiters { .. } | Self::BadField { .. } => 102,
            Self::UnsupportedMessage { .. } => 200,
        }
    }
}
