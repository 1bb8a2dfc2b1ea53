//! What can go wrong between Nonin bytes and readings.

/// A Nonin framing or packet problem. None of these is fatal: the framer and the
/// assembler carry on with the next bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoninError {
    /// Bytes that did not form a frame were skipped while looking for one.
    #[error("skipped {skipped} bytes while resynchronising")]
    Garbage {
        /// How many bytes were skipped.
        skipped: usize,
    },
    /// A frame at an expected frame boundary had the wrong sync bits.
    #[error("frame sync bits wrong (first byte {first:#04x})")]
    BadSync {
        /// The first byte of the rejected frame.
        first: u8,
    },
    /// A format 2 or 7 frame failed its checksum.
    #[error("frame checksum {found:#04x}, expected {expected:#04x}")]
    Checksum {
        /// The sum of bytes 1 to 4 modulo 256.
        expected: u8,
        /// The checksum byte that arrived.
        found: u8,
    },
    /// A new packet started (SYNC bit) before the previous one had 25 frames.
    #[error("packet cut short after {frames} of 25 frames")]
    IncompletePacket {
        /// How many frames the abandoned packet had.
        frames: usize,
    },
}

impl NoninError {
    /// Whether the error is about the byte stream (noise, lost bytes) rather than
    /// about packet structure.
    pub fn is_framing(&self) -> bool {
        !matches!(self, Self::IncompletePacket { .. })
    }
}
