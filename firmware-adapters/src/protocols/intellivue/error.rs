//! What can go wrong between IntelliVue bytes and readings.

/// An IntelliVue framing, message or encoding problem. None of these is fatal:
/// the framer carries on with the next frame, the decoders with the next message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntellivueError {
    /// Bytes outside any frame were skipped while looking for a BOF.
    #[error("skipped {skipped} bytes while resynchronising")]
    Garbage {
        /// How many bytes were skipped.
        skipped: usize,
    },
    /// The sender aborted the frame with `7D C1`.
    #[error("frame aborted by the sender after {len} bytes")]
    Aborted {
        /// Unescaped bytes received before the abort.
        len: usize,
    },
    /// A BOF arrived before the current frame's EOF; the new frame is kept.
    #[error("frame cut short by a new BOF after {len} bytes")]
    Unterminated {
        /// Unescaped bytes of the frame that was cut short.
        len: usize,
    },
    /// A frame grew past the limit; it is dropped up to its EOF.
    #[error("frame longer than {limit} bytes dropped")]
    FrameTooLong {
        /// The frame limit in unescaped bytes.
        limit: usize,
    },
    /// A frame too short to hold the header and the FCS.
    #[error("frame of {len} bytes is too short for header and FCS")]
    FrameTooShort {
        /// Unescaped bytes between BOF and EOF.
        len: usize,
    },
    /// The frame check sequence does not match the frame.
    #[error("frame check sequence {found:#06x}, expected {expected:#06x}")]
    Fcs {
        /// CRC-16/X-25 of the header and user data.
        expected: u16,
        /// The FCS that arrived.
        found: u16,
    },
    /// The frame header is not protocol id `0x11`, message type `0x01`.
    #[error("frame header protocol {protocol_id:#04x} type {message_type:#04x} not supported")]
    BadHeader {
        /// The protocol id byte.
        protocol_id: u8,
        /// The message type byte.
        message_type: u8,
    },
    /// The frame header's length field disagrees with the user data received.
    #[error("frame header declares {declared} bytes of user data, {actual} received")]
    FrameLength {
        /// The u16 length in the frame header.
        declared: usize,
        /// The user data bytes between header and FCS.
        actual: usize,
    },
    /// A length field disagrees with the bytes that follow it.
    #[error("{item} declares {declared} bytes, {available} present")]
    BadLength {
        /// The structure whose length field is wrong.
        item: &'static str,
        /// The length the field declares.
        declared: usize,
        /// The bytes actually present.
        available: usize,
    },
    /// A list holds another number of entries than its count field says.
    #[error("{item} declares {declared} entries, {found} found")]
    BadCount {
        /// The list whose count is wrong.
        item: &'static str,
        /// The count field.
        declared: usize,
        /// The entries that its length holds.
        found: usize,
    },
    /// A message ends inside a fixed-size field.
    #[error("{item} needs {needed} bytes, {available} present")]
    Truncated {
        /// The structure being read.
        item: &'static str,
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// A data message without the session id `0xE100`.
    #[error("data message session id {found:#06x}, expected 0xe100")]
    BadSessionId {
        /// The session id that arrived.
        found: u16,
    },
    /// A session PDU type this codec does not know.
    #[error("unknown session PDU type {kind:#04x}")]
    UnknownSessionPdu {
        /// The type byte.
        kind: u8,
    },
    /// A remote operation type this codec does not know.
    #[error("unknown remote operation type {ro_type}")]
    UnknownRoType {
        /// The `ro_type` field.
        ro_type: u16,
    },
    /// A value does not fit the BCD digits of an absolute time.
    #[error("absolute time byte {byte:#04x} is not two BCD digits")]
    BadBcd {
        /// The offending byte.
        byte: u8,
    },
    /// Something to encode is longer than its length field can say.
    #[error("{item} of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// What was being encoded.
        item: &'static str,
        /// Its length.
        len: usize,
        /// The largest length the field can hold.
        max: usize,
    },
}

impl IntellivueError {
    /// Whether the error is about the byte stream (noise, lost or corrupted
    /// bytes) rather than about the content of a well-framed message.
    pub fn is_framing(&self) -> bool {
        matches!(
            self,
            Self::Garbage { .. }
                | Self::Aborted { .. }
                | Self::Unterminated { .. }
                | Self::FrameTooLong { .. }
                | Self::FrameTooShort { .. }
                | Self::Fcs { .. }
                | Self::BadHeader { .. }
                | Self::FrameLength { .. }
        )
    }
}
