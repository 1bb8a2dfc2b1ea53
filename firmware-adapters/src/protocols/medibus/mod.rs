//! Dräger Medibus slow (ASCII) protocol: command and response frames, and the
//! code page 1 measured data.
//!
//! # Wire format
//!
//! Medibus runs at 9600 baud, Medibus.X at 19 200; parity differs by device
//! (8E1 or 8N1), so the session driver makes it configurable. Slow data are
//! 7-bit ASCII frames:
//!
//! ```text
//! command:  ESC (1B)  command byte  arguments  checksum (2 hex)  CR (0D)
//! response: SOH (01)  echoed command  data     checksum (2 hex)  CR (0D)
//! ```
//!
//! The checksum is the sum of every byte from ESC or SOH through the last data
//! byte, modulo 256, sent as two upper-case hex digits. There is no escaping.
//! Realtime bytes (bit 7 set) and XON/XOFF may be interleaved anywhere, and a
//! command may arrive in the middle of a response; both sides may send
//! commands, and the host answers the device's ICC and NOP with an empty
//! response ([`encode_empty_response`]).
//!
//! The host sends ICC (0x51) until answered, asks for the identification
//! (0x52), then cycles requests such as code page 1 measured data (0x24), and
//! sends NOP (0x30) whenever the line has been quiet for half the watchdog;
//! 0x55 stops. That sequence belongs to the session driver. A measured-data
//! response is a run of 6-byte items: two hex characters of code and four
//! characters of value, right-aligned; a value that does not parse as a number
//! is missing ([`MeasuredData`]).
//!
//! # Layers
//!
//! [`MedibusFramer`] turns bytes into [`MedibusFrame`]s; [`MeasuredData::from_frame`]
//! decodes a measured-data response, whose [`MeasuredData::readings`] are the
//! readings and [`MeasuredData::unmapped`] the other numbers, kept raw.
//! [`encode_command`], [`MedibusFrame::to_bytes`] and [`MeasuredData::to_frame`]
//! encode both directions, for the gateway and a simulated device.
//!
//! # Mapping
//!
//! [`CP1_CODES`] is the mapping table. Mapped: 0xE1 pulse rate (oximeter),
//! 0xEB SpO2, 0xD6 respiratory rate, 0xD5 respiratory rate from CO2 (both, as
//! every respiratory-rate variant in the HL7 mapping), 0xE6 etCO2 in mmHg and
//! 0xE3 in kPa. Kept raw: 0xDF "derived pulse rate" (the sources do not say
//! derived from what, and 0xE1 already gives the oximeter pulse), 0xDB etCO2 in
//! % (converting it needs the barometric pressure, which [`crate::units`]
//! refuses), and the ventilation values, which have no metric. Codes not in the
//! table are kept raw too. Readings are `Valid` (code page 1 carries no
//! validity) and have no device time.
//!
//! # Sources and limits
//!
//! Facts are from the project's device research, section 2.3 (framing,
//! checksum, command table, sequence, item layout, the code page 1 codes as
//! listed from OpenICE's `measured-data-cp1.map`) and 2.8 #5/#6 (command and
//! response test vectors). devices.md reports them from OpenICE, VSCaptureDrgVent
//! and vitaldb-docs; Dräger supplies the protocol definition only to partners.
//!
//! Limitations, each needing that definition (or captures from a device):
//!
//! - Only the 17 code page 1 codes devices.md lists have names; the units of
//!   0xB8 (minute volume) are not stated. Other codes pass through raw.
//! - How a device marks an invalid value is not documented: any value that is
//!   not a plain number is missing, and numbers are taken as valid.
//! - Realtime (Medibus.X) bytes are removed and counted
//!   ([`MedibusFramer::realtime_bytes`]) but not decoded.
//! - Identification, settings, alarms, text messages, date and time and code
//!   page 2 are framed but not decoded.
//! - Nesting is limited to [`MAX_OPEN_FRAMES`]; devices.md says a command may
//!   interrupt a response but not how deep nesting goes.

mod command;
mod error;
mod frame;
mod measured;
#[cfg(test)]
mod tests;

pub use command::Command;
pub use error::MedibusError;
pub use frame::{
    checksum, encode_command, encode_empty_response, FrameKind, MedibusFrame, MedibusFramer, CR,
    ESC, GARBAGE_REPORT_BYTES, MAX_FRAME_BYTES, MAX_OPEN_FRAMES, SOH,
};
pub use measured::{
    cp1_code, Cp1Code, MeasuredData, MeasuredItem, CP1_CODES, ITEM_BYTES, VALUE_CHARS,
};
