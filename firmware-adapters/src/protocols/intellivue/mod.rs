//! Philips IntelliVue Data Export over the MIB/RS-232 port.
//!
//! # Wire format
//!
//! The MIB port runs "Fix 115200" 8N1 without flow control. Every message
//! travels in a frame (devices.md §2.2, "Serial framing"):
//!
//! ```text
//! C0 | 11 01 LL LL | user data (LLLL bytes) | FCS lo FCS hi | C1
//! ```
//!
//! BOF `C0`, EOF `C1`; a 4-byte header of protocol id `0x11`, message type
//! `0x01` and the u16 big-endian user data length; the FCS, CRC-16/X-25 over
//! header and user data before escaping, LSB first. Between BOF and EOF the
//! bytes `C0`, `C1` and `7D` go as `7D` followed by the byte XOR `0x20`;
//! `7D C1` aborts a frame. OpenICE escapes the FCS too and VSCaptureMP does
//! not; [`encode_frame`] escapes it (the only choice that can never emit a raw
//! EOF inside a frame), and [`IntellivueFramer`] unescapes everything, so it
//! reads both whenever the FCS holds no special byte.
//!
//! The user data is a session PDU or a data message, all big-endian:
//!
//! - **session PDU**: type byte (`0D` association request, `0E` result, `0C`
//!   refuse, `09` release request, `0A` release result, `19` abort) and a
//!   length, one byte below 255, else `FF` + u16;
//! - **data message**: `E1 00` session id, u16 presentation context, then
//!   ROapdus {u16 ro_type (1 invoke, 2 result, 3 error, 5 linked result), u16
//!   length}, then ROIV/RORS {u16 invoke id, u16 command type, u16 length}
//!   (ROLRS puts {u8 state, u8 count} first) and the command body.
//!
//! A numeric's attribute list holds NU_VAL_OBS (`0x0950`) = {u16 physio id,
//! u16 MeasurementState, u16 unit code, FLOAT} and NU_CMPD_VAL_OBS (`0x094B`)
//! = {u16 count, u16 length, NuObsValue...} for NIBP sys/dia/mean. FLOAT is an
//! 8-bit signed exponent over a 24-bit signed mantissa, base 10, with special
//! codes for NaN, NRes and ±INF ([`Float`]).
//!
//! Session sequence: association request → AC → the monitor's MDS Create
//! Event Report → the client's MDS Create Event Result → polls; the result
//! re-sent every few seconds is the keep-alive (the monitor drops a silent
//! client after "a few minutes"). That sequence belongs to the session driver.
//!
//! # Layers
//!
//! [`IntellivueFramer`] turns bytes into user data and [`encode_frame`] back;
//! [`decode_message`] splits user data into a [`SessionPdu`] or a
//! [`DataMessage`]; [`NumericObservation`] decodes one object's attribute list
//! into [`NumericValue`]s and [`crate::Reading`]s, keeping unknown physio ids
//! and units in [`NumericObservation::unmapped`] and unknown attributes in
//! [`NumericObservation::other`]. The encoders are [`association_request`],
//! [`mds_create_result`], [`keep_alive`], [`PollRequest`] and
//! [`ExtendedPollRequest`].
//!
//! # Validity
//!
//! A special FLOAT gives no reading (the value stays in the observation).
//! Otherwise [`MeasurementState::validity`] decides: invalid, unavailable, test
//! and demo data are `Invalid`; questionable, calibration and the other
//! first-octet bits `Questionable`; the rest `Valid`. Readings carry no device
//! time: relative ticks need the MDS's absolute time as an anchor, and the
//! absolute time has no zone; both stay in the observation.
//!
//! # Sources
//!
//! Unless noted, everything here is from devices.md: §2.2 (framing, FCS,
//! layers, poll request, FLOAT, MeasurementState, physio ids and units, time
//! types), §2.7 (what to normalise), §2.8 vectors 1, 2 and 9, §3 (MDC codes).
//! Three layouts devices.md uses without spelling out were confirmed in OpenICE
//! (BSD-2, read, not copied): ROLRS's {state, count} sits before the invoke id
//! (`DataExportLinkedResultImpl.java`); a list is {u16 count, u16 length,
//! items} (`Util.PrefixLengthShort`), the shape §2.2 gives the compound; and
//! an attribute is {u16 id, u16 length, value} (`AttributeValueAssertion`).
//! One value is not from devices.md: FLOAT `0x00800001` is read as reserved
//! (no value), as IEEE 11073-20601 reserves it beside the four listed codes.
//!
//! # Limitations
//!
//! Each needs the Philips Data Export Interface Programming Guide (4535 645
//! 88011), or a raw capture checked against it:
//!
//! - Limitation: the association request body (session, presentation and
//!   user-info structure around the MDSE values) is not laid out in devices.md;
//!   [`association_request`] only wraps a body the caller supplies, and the
//!   MDSE values are constants.
//! - Limitation: the MDS Create Event Result body (and so the keep-alive's) is
//!   not laid out; [`mds_create_result`] builds the data message around a body
//!   the caller supplies.
//! - Limitation: the poll result layout between the RORS header and each
//!   object's attribute list (action result header, poll reply header, poll
//!   info list, context and handle per object) is not in devices.md, so no
//!   function walks a whole poll result; callers hand each object's attribute
//!   list to [`NumericObservation::decode`].
//! - Limitation: error PDUs (ro_type 3) are kept as raw bytes.
//! - Limitation: the label (`0x0924`) stays raw in `other`; its type is not
//!   given. Waves, alarms and AutoSpeed are not covered.

mod error;
mod frame;
mod mapping;
mod message;
mod numeric;
mod request;
#[cfg(test)]
mod tests;
mod types;
mod wire;

pub use error::IntellivueError;
pub use frame::{
    encode_frame, fcs, IntellivueFramer, BOF, EOF, ESC, ESCAPE_XOR, FRAME_OVERHEAD,
    GARBAGE_REPORT_BYTES, MAX_FRAME_BYTES, MAX_USER_DATA, MESSAGE_TYPE, PROTOCOL_ID,
};
pub use mapping::{
    mdc_code, metric_for_physio_id, unit_for_code, PARTITION_PHYSIO, PARTITION_UNITS,
};
pub use message::{
    decode_message, encode_session_pdu, Apdu, CommandType, DataMessage, LinkState, Linked, Message,
    Operation, SessionPdu, SessionPduKind, DATA_SESSION_ID,
};
pub use numeric::{
    decode_compound, encode_attribute_list, encode_compound, parse_attribute_list, Attribute,
    NumericObservation, NumericValue, RawAttribute, Unmapped, UnmappedNumeric, ATTR_ID_LABEL,
    ATTR_NU_CMPD_VAL_OBS, ATTR_NU_VAL_OBS, ATTR_TIME_STAMP_ABS, ATTR_TIME_STAMP_REL,
    NU_OBS_VALUE_LEN,
};
pub use request::{
    association_request, keep_alive, mds_create_result, ExtendedPollRequest, ObjectType,
    PollProfileExtOptions, PollRequest, ACTION_POLL, ACTION_POLL_EXT, ATTR_GROUP_ALL,
    ATTR_POLL_DURATION, ATTR_POLL_PROFILE_EXT, NOMENCLATURE_VERSION, OBJ_CLASS_MDS,
    POLL_MAX_BANDWIDTH, POLL_OPTIONS_DYNAMIC, POLL_PROFILE_REVISION, PROTOCOL_VERSION,
    STARTUP_MODE_COLD, SYSTEM_TYPE_CLIENT,
};
pub use types::{AbsoluteTime, Float, FloatValue, MeasurementState, RelativeTime};
