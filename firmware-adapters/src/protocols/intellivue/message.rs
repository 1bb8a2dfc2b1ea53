//! The layers inside a frame's user data: session PDUs (association, release,
//! abort) and data messages (SPpdu → ROapdus → ROIV/RORS/ROLRS), both ways.

use super::wire::{put_with_u16_length, Reader};
use super::IntellivueError;

/// The session id that opens every data message (the SPpdu).
pub const DATA_SESSION_ID: u16 = 0xE100;
/// A session PDU length of this byte is followed by a u16 length.
const LONG_LENGTH: u8 = 0xFF;

/// The type byte of a session PDU (devices.md §2.2, "Message layers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionPduKind {
    /// `0x0D` CN: association request, client to monitor.
    AssociationRequest,
    /// `0x0E` AC: association result (accepted).
    AssociationResult,
    /// `0x0C` RF: association refused.
    Refuse,
    /// `0x09` FN: release request.
    ReleaseRequest,
    /// `0x0A` DN: release result.
    ReleaseResult,
    /// `0x19` AB: abort.
    Abort,
}

impl SessionPduKind {
    /// The type byte on the wire.
    pub const fn code(self) -> u8 {
        match self {
            Self::AssociationRequest => 0x0D,
            Self::AssociationResult => 0x0E,
            Self::Refuse => 0x0C,
            Self::ReleaseRequest => 0x09,
            Self::ReleaseResult => 0x0A,
            Self::Abort => 0x19,
        }
    }

    /// The kind for a type byte, if it is one.
    pub fn from_code(code: u8) -> Option<Self> {
        [
            Self::AssociationRequest,
            Self::AssociationResult,
            Self::Refuse,
            Self::ReleaseRequest,
            Self::ReleaseResult,
            Self::Abort,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }
}

/// A session PDU: its kind and the body after the length, undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPdu<'a> {
    /// The type byte.
    pub kind: SessionPduKind,
    /// Everything after the length field.
    pub body: &'a [u8],
}

/// One frame's user data, by its first byte: `0xE1` starts a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Association, release or abort.
    Session(SessionPdu<'a>),
    /// A remote operation inside the association.
    Data(DataMessage<'a>),
}

/// Decodes the outer layers of one frame's user data.
///
/// # Errors
///
/// An unknown type byte, a bad session id or ro_type, or a length field that
/// disagrees with the bytes present.
pub fn decode_message(user_data: &[u8]) -> Result<Message<'_>, IntellivueError> {
    let [first, ..] = DATA_SESSION_ID.to_be_bytes();
    if user_data.first() == Some(&first) {
        return DataMessage::decode(user_data).map(Message::Data);
    }
    let mut r = Reader::new(user_data, "session PDU");
    let code = r.u8()?;
    let kind =
        SessionPduKind::from_code(code).ok_or(IntellivueError::UnknownSessionPdu { kind: code })?;
    let declared = match r.u8()? {
        LONG_LENGTH => usize::from(r.u16()?),
        short => usize::from(short),
    };
    if declared != r.remaining() {
        return Err(IntellivueError::BadLength {
            item: "session PDU",
            declared,
            available: r.remaining(),
        });
    }
    Ok(Message::Session(SessionPdu {
        kind,
        body: r.rest(),
    }))
}

/// Encodes a session PDU: type, length (one byte below 255, else `FF` and a
/// u16), body.
///
/// # Errors
///
/// [`IntellivueError::TooLong`] when the body exceeds 65 535 bytes.
pub fn encode_session_pdu(kind: SessionPduKind, body: &[u8]) -> Result<Vec<u8>, IntellivueError> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(kind.code());
    match u8::try_from(body.len()) {
        Ok(short) if short != LONG_LENGTH => out.push(short),
        _ => {
            out.push(LONG_LENGTH);
            put_with_u16_length(&mut out, "session PDU body", body)?;
            return Ok(out);
        }
    }
    out.extend_from_slice(body);
    Ok(out)
}

/// The command of a remote operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandType {
    /// 0: event report.
    EventReport,
    /// 1: confirmed event report (the MDS create event is one).
    ConfirmedEventReport,
    /// 3: get.
    Get,
    /// 4: set.
    Set,
    /// 5: confirmed set.
    ConfirmedSet,
    /// 7: confirmed action (polls are actions).
    ConfirmedAction,
    /// A command this codec has no name for, kept raw.
    Other(u16),
}

impl CommandType {
    /// The u16 on the wire.
    pub const fn code(self) -> u16 {
        match self {
            Self::EventReport => 0,
            Self::ConfirmedEventReport => 1,
            Self::Get => 3,
            Self::Set => 4,
            Self::ConfirmedSet => 5,
            Self::ConfirmedAction => 7,
            Self::Other(code) => code,
        }
    }
}

impl From<u16> for CommandType {
    fn from(code: u16) -> Self {
        match code {
            0 => Self::EventReport,
            1 => Self::ConfirmedEventReport,
            3 => Self::Get,
            4 => Self::Set,
            5 => Self::ConfirmedSet,
            7 => Self::ConfirmedAction,
            other => Self::Other(other),
        }
    }
}

/// Where a linked result stands in its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// 1: the first of the series.
    First,
    /// 2: neither first nor last.
    Middle,
    /// 3: the last of the series.
    Last,
    /// Another value, kept raw.
    Other(u8),
}

impl LinkState {
    const fn code(self) -> u8 {
        match self {
            Self::First => 1,
            Self::Middle => 2,
            Self::Last => 3,
            Self::Other(code) => code,
        }
    }

    const fn from_code(code: u8) -> Self {
        match code {
            1 => Self::First,
            2 => Self::Middle,
            3 => Self::Last,
            other => Self::Other(other),
        }
    }
}

/// The header of a linked result: its place in the series and a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Linked {
    /// First, middle or last.
    pub state: LinkState,
    /// The linked-result counter.
    pub count: u8,
}

/// A remote operation: ROIV, RORS or the tail of ROLRS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation<'a> {
    /// Pairs a result with its invoke; a result echoes the invoke's id.
    pub invoke_id: u16,
    /// What the operation does.
    pub command_type: CommandType,
    /// The command-specific body, undecoded.
    pub body: &'a [u8],
}

/// The ROapdus of a data message, by `ro_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apdu<'a> {
    /// 1: an invoke (ROIV).
    Invoke(Operation<'a>),
    /// 2: a result (RORS).
    Result(Operation<'a>),
    /// 5: one of a series of linked results (ROLRS).
    LinkedResult(Linked, Operation<'a>),
    /// 3: an error; its layout is not in devices.md, so the body stays raw.
    Error(&'a [u8]),
}

impl Apdu<'_> {
    const fn ro_type(&self) -> u16 {
        match self {
            Self::Invoke(_) => 1,
            Self::Result(_) => 2,
            Self::Error(_) => 3,
            Self::LinkedResult(..) => 5,
        }
    }
}

/// A data message: session id `0xE100`, presentation context, one ROapdus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataMessage<'a> {
    /// The presentation context id (`p_context_id`).
    pub context_id: u16,
    /// The remote operation.
    pub apdu: Apdu<'a>,
}

impl<'a> DataMessage<'a> {
    /// Decodes the SPpdu, ROapdus and operation headers.
    ///
    /// # Errors
    ///
    /// A wrong session id, an unknown ro_type, or a length field that does not
    /// cover exactly the rest of the message.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, IntellivueError> {
        let mut r = Reader::new(bytes, "SPpdu");
        let session_id = r.u16()?;
        if session_id != DATA_SESSION_ID {
            return Err(IntellivueError::BadSessionId { found: session_id });
        }
        let context_id = r.u16()?;
        let mut r = Reader::new(r.rest(), "ROapdus");
        let ro_type = r.u16()?;
        let body = r.rest_with_u16_length()?;
        let apdu = match ro_type {
            1 => Apdu::Invoke(operation(body)?),
            2 => Apdu::Result(operation(body)?),
            3 => Apdu::Error(body),
            5 => {
                let mut r = Reader::new(body, "ROLRS");
                let state = LinkState::from_code(r.u8()?);
                let count = r.u8()?;
                Apdu::LinkedResult(Linked { state, count }, operation(r.rest())?)
            }
            other => return Err(IntellivueError::UnknownRoType { ro_type: other }),
        };
        Ok(Self { context_id, apdu })
    }

    /// The operation, unless this is an error.
    pub fn operation(&self) -> Option<&Operation<'a>> {
        match &self.apdu {
            Apdu::Invoke(op) | Apdu::Result(op) | Apdu::LinkedResult(_, op) => Some(op),
            Apdu::Error(_) => None,
        }
    }

    /// Encodes the message, computing every length field.
    ///
    /// # Errors
    ///
    /// [`IntellivueError::TooLong`] when a length does not fit its u16.
    pub fn encode(&self) -> Result<Vec<u8>, IntellivueError> {
        let mut ro = Vec::new();
        match &self.apdu {
            Apdu::Invoke(op) | Apdu::Result(op) => put_operation(&mut ro, op)?,
            Apdu::LinkedResult(linked, op) => {
                ro.extend_from_slice(&[linked.state.code(), linked.count]);
                put_operation(&mut ro, op)?;
            }
            Apdu::Error(body) => ro.extend_from_slice(body),
        }
        let mut out = Vec::with_capacity(ro.len() + 8);
        out.extend_from_slice(&DATA_SESSION_ID.to_be_bytes());
        out.extend_from_slice(&self.context_id.to_be_bytes());
        out.extend_from_slice(&self.apdu.ro_type().to_be_bytes());
        put_with_u16_length(&mut out, "ROapdus", &ro)?;
        Ok(out)
    }
}

fn operation(bytes: &[u8]) -> Result<Operation<'_>, IntellivueError> {
    let mut r = Reader::new(bytes, "remote operation");
    let invoke_id = r.u16()?;
    let command_type = CommandType::from(r.u16()?);
    let body = r.rest_with_u16_length()?;
    Ok(Operation {
        invoke_id,
        command_type,
        body,
    })
}

fn put_operation(out: &mut Vec<u8>, op: &Operation<'_>) -> Result<(), IntellivueError> {
    out.extend_from_slice(&op.invoke_id.to_be_bytes());
    out.extend_from_slice(&op.command_type.code().to_be_bytes());
    put_with_u16_length(out, "remote operation", op.body)
}
