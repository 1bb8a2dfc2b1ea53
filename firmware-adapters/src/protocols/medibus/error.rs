//! What can go wrong between Medibus bytes and readings.

/// A Medibus framing or payload problem. None of these is fatal: the framer
/// carries on with the next frame, the decoder with the next response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MedibusError {
    /// Bytes outside any frame were skipped.
    #[error("skipped {skipped} bytes outside any frame")]
    Garbage {
        /// How many bytes were skipped (realtime bytes and XON/XOFF excluded).
        skipped: usize,
    },
    /// A frame failed its checksum.
    #[error("frame checksum {found:#04x}, expected {expected:#04x}")]
    Checksum {
        /// The sum of the bytes from ESC or SOH to the last data byte, mod 256.
        expected: u8,
        /// The checksum that arrived.
        found: u8,
    },
    /// The two checksum characters are not hexadecimal digits.
    #[error("checksum characters {high:#04x} {low:#04x} are not hex digits")]
    BadChecksumText {
        /// The first character.
        high: u8,
        /// The second character.
        low: u8,
    },
    /// A frame ended before its command byte and checksum.
    #[error("frame of {len} bytes is too short")]
    TooShort {
        /// The frame length, from ESC or SOH up to the CR (excluded).
        len: usize,
    },
    /// A frame grew past the limit without a CR and was dropped.
    #[error("frame longer than {limit} bytes dropped")]
    TooLong {
        /// The frame length limit in bytes.
        limit: usize,
    },
    /// A byte that slow data cannot carry was given to the encoder.
    #[error("byte {byte:#04x} cannot be sent in a slow-data frame")]
    BadDataByte {
        /// The byte.
        byte: u8,
    },
    /// A frame that is not a code page 1 measured-data response was decoded as
    /// one.
    #[error("frame {command:#04x} is not a measured-data response")]
    NotMeasuredData {
        /// The frame's command byte.
        command: u8,
    },
    /// Measured data whose length is not a whole number of 6-byte items.
    #[error("measured data of {len} bytes is not a whole number of items")]
    BadDataLength {
        /// The data length in bytes.
        len: usize,
    },
    /// A measured-data item whose code is not hex or whose value is not text.
    #[error("measured-data item {index} is malformed")]
    BadItem {
        /// The item's position in the response, from 0.
        index: usize,
    },
    /// A value to encode does not fit the 4-character field.
    #[error("value `{value}` does not fit 4 printable characters")]
    ValueTooLong {
        /// The value.
        value: String,
    },
}

impl MedibusError {
    /// Whether the error is about the byte stream (noise, lost or flipped bytes)
    /// rather than about the content of a frame that arrived intact.
    pub fn is_framing(&self) -> bool {
        matches!(
            self,
            Self::Garbage { .. }
                | Self::Checksum { .. }
                | Self::BadChecksumText { .. }
                | Self::TooShort { .. }
                | Self::TooLong { .. }
        )
    }
}
