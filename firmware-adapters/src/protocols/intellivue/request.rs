//! What the client sends: the association request envelope, the MDS Create
//! Event Result (which is also the keep-alive), and the numeric polls.

use super::message::{
    encode_session_pdu, Apdu, CommandType, DataMessage, Operation, SessionPduKind,
};
use super::numeric::{encode_attribute_list, Attribute};
use super::wire::put_with_u16_length;
use super::{IntellivueError, RelativeTime};

/// Managed object class of the MDS, the object polls are sent to.
pub const OBJ_CLASS_MDS: u16 = 0x21;
/// NOM_ACT_POLL_MDIB_DATA (3094): the single poll action.
pub const ACTION_POLL: u16 = 0x0C16;
/// The extended poll action.
pub const ACTION_POLL_EXT: u16 = 0xF13B;
/// Poll duration attribute of the extended poll (a [`RelativeTime`]).
pub const ATTR_POLL_DURATION: u16 = 0xF13E;
/// Attribute group 0: all attributes.
pub const ATTR_GROUP_ALL: u16 = 0;

/// MDSE user info: protocol version.
pub const PROTOCOL_VERSION: u32 = 0x8000_0000;
/// MDSE user info: nomenclature version.
pub const NOMENCLATURE_VERSION: u32 = 0x4000_0000;
/// MDSE user info: system type "client".
pub const SYSTEM_TYPE_CLIENT: u32 = 0x8000_0000;
/// MDSE user info: start-up mode "cold".
pub const STARTUP_MODE_COLD: u32 = 0x2000_0000;
/// Poll Profile Support: revision.
pub const POLL_PROFILE_REVISION: u32 = 0x8000_0000;
/// Poll Profile Support: maximum bandwidth, unlimited.
pub const POLL_MAX_BANDWIDTH: u32 = 0xFFFF_FFFF;
/// Poll Profile Support: options, dynamic create/delete.
pub const POLL_OPTIONS_DYNAMIC: u32 = 0x6000_0000;
/// The optional Poll-Profile-Ext attribute of the association request.
pub const ATTR_POLL_PROFILE_EXT: u16 = 0xF001;

/// The option bits of the Poll-Profile-Ext attribute: which data to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PollProfileExtOptions(pub u32);

impl PollProfileExtOptions {
    /// 1-s real-time numerics.
    pub const REALTIME_NUMERICS: u32 = 0x8000_0000;
    /// 12-s average numerics.
    pub const AVERAGE_12S: u32 = 0x4000_0000;
    /// 60-s average numerics.
    pub const AVERAGE_60S: u32 = 0x2000_0000;
    /// 300-s average numerics.
    pub const AVERAGE_300S: u32 = 0x1000_0000;
    /// Real-time sample arrays (waves).
    pub const WAVES: u32 = 0x0800_0000;
    /// Enumerations.
    pub const ENUMERATIONS: u32 = 0x0400_0000;
    /// Numeric priority list.
    pub const NUMERIC_PRIORITY_LIST: u32 = 0x0200_0000;
    /// Dynamic modalities.
    pub const DYNAMIC_MODALITIES: u32 = 0x0100_0000;
}

/// Wraps an association request body in its session PDU (type `0x0D`).
///
/// Limitation: devices.md gives the MDSE user info values (the constants
/// above) but not the layout of the body around them, so the caller supplies
/// the body; see the module docs.
///
/// # Errors
///
/// [`IntellivueError::TooLong`] when the body exceeds 65 535 bytes.
pub fn association_request(body: &[u8]) -> Result<Vec<u8>, IntellivueError> {
    encode_session_pdu(SessionPduKind::AssociationRequest, body)
}

/// The answer to the monitor's MDS Create Event Report: a result (RORS) of a
/// confirmed event report, echoing the report's context and invoke id.
///
/// Limitation: the event-report result body is not laid out in devices.md, so
/// the caller supplies it; this builds every header and length around it.
///
/// # Errors
///
/// [`IntellivueError::TooLong`] when the body does not fit the length fields.
pub fn mds_create_result(
    context_id: u16,
    invoke_id: u16,
    result_body: &[u8],
) -> Result<Vec<u8>, IntellivueError> {
    let op = Operation {
        invoke_id,
        command_type: CommandType::ConfirmedEventReport,
        body: result_body,
    };
    DataMessage {
        context_id,
        apdu: Apdu::Result(op),
    }
    .encode()
}

/// The keep-alive: VSCaptureMP re-sends the MDS Create Event Result every 6 s
/// (devices.md §2.2), so this is [`mds_create_result`] under its other name.
/// How often to send it is the session driver's business (well under 10 s).
///
/// # Errors
///
/// As [`mds_create_result`].
pub fn keep_alive(
    context_id: u16,
    invoke_id: u16,
    result_body: &[u8],
) -> Result<Vec<u8>, IntellivueError> {
    mds_create_result(context_id, invoke_id, result_body)
}

/// The object type a poll asks for: a nomenclature partition and a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectType {
    /// The partition (1 = objects).
    pub partition: u16,
    /// The object code within the partition.
    pub code: u16,
}

impl ObjectType {
    /// Numeric metrics.
    pub const NUMERICS: Self = Self::object(6);
    /// Real-time sample arrays (waves).
    pub const SAMPLE_ARRAYS: Self = Self::object(9);
    /// The MDS.
    pub const MDS: Self = Self::object(0x21);
    /// The alert monitor.
    pub const ALERT_MONITOR: Self = Self::object(0x36);

    const fn object(code: u16) -> Self {
        Self { partition: 1, code }
    }
}

/// A single poll request (NOM_ACT_POLL_MDIB_DATA) to the MDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PollRequest {
    /// The presentation context id.
    pub context_id: u16,
    /// The invoke id; the monitor's result echoes it.
    pub invoke_id: u16,
    /// The poll number; the result echoes it.
    pub poll_number: u16,
    /// What to poll.
    pub object_type: ObjectType,
    /// Which attributes (0 = all).
    pub attribute_group: u16,
}

impl PollRequest {
    /// A poll of all numerics' attributes.
    pub fn numerics(context_id: u16, invoke_id: u16, poll_number: u16) -> Self {
        Self {
            context_id,
            invoke_id,
            poll_number,
            object_type: ObjectType::NUMERICS,
            attribute_group: ATTR_GROUP_ALL,
        }
    }

    /// The data message (36 bytes), ready for [`super::encode_frame`].
    ///
    /// # Errors
    ///
    /// None in practice: every length here is fixed and small.
    pub fn encode(&self) -> Result<Vec<u8>, IntellivueError> {
        self.encode_action(ACTION_POLL, &[])
    }

    fn encode_action(&self, action: u16, extra: &[u8]) -> Result<Vec<u8>, IntellivueError> {
        let mut args = Vec::with_capacity(8 + extra.len());
        args.extend_from_slice(&self.poll_number.to_be_bytes());
        args.extend_from_slice(&self.object_type.partition.to_be_bytes());
        args.extend_from_slice(&self.object_type.code.to_be_bytes());
        args.extend_from_slice(&self.attribute_group.to_be_bytes());
        args.extend_from_slice(extra);
        // Managed object {class, context, handle}, scope, action, argument.
        let mut body = Vec::with_capacity(14 + args.len());
        for field in [OBJ_CLASS_MDS, 0, 0] {
            body.extend_from_slice(&field.to_be_bytes());
        }
        body.extend_from_slice(&0u32.to_be_bytes());
        body.extend_from_slice(&action.to_be_bytes());
        put_with_u16_length(&mut body, "poll argument", &args)?;
        let op = Operation {
            invoke_id: self.invoke_id,
            command_type: CommandType::ConfirmedAction,
            body: &body,
        };
        DataMessage {
            context_id: self.context_id,
            apdu: Apdu::Invoke(op),
        }
        .encode()
    }
}

/// An extended poll request (action `0xF13B`), optionally for a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtendedPollRequest {
    /// The fields shared with the single poll.
    pub poll: PollRequest,
    /// Attribute `0xF13E`: keep answering for this long (600 s = `0x00493E00`).
    pub duration: Option<RelativeTime>,
}

impl ExtendedPollRequest {
    /// The data message: the single poll's fields under action `0xF13B`,
    /// followed by an attribute list holding the poll duration, if any.
    ///
    /// Limitation: devices.md says the duration attribute "may be appended";
    /// the list header around it ({count, length}, as in the compound numeric)
    /// is confirmed only by OpenICE's list codec, not by a byte dump.
    ///
    /// # Errors
    ///
    /// None in practice: every length here is fixed and small.
    pub fn encode(&self) -> Result<Vec<u8>, IntellivueError> {
        let ticks = self.duration.map(|d| d.0.to_be_bytes());
        let duration = ticks.as_ref().map(|value| Attribute {
            id: ATTR_POLL_DURATION,
            value,
        });
        let list = encode_attribute_list(duration.as_slice())?;
        self.poll.encode_action(ACTION_POLL_EXT, &list)
    }
}
