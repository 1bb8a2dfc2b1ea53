//! HL7 v2 ORU^R01 observations (IHE PCD-01) over MLLP, and the ACK.
//!
//! # Wire format
//!
//! **MLLP** wraps each message in a block: `0B` + message + `1C 0D`. The content
//! never holds `0B` or `1C`. (MLLP release 2 adds commit ACK/NAK blocks
//! `0B 06 1C 0D` / `0B 15 1C 0D`; they frame like any other block.)
//!
//! **HL7 v2** text: segments end with CR (`0D`; LF is accepted too). The first
//! segment is MSH; its fourth character is the field separator (MSH-1) and the
//! next characters up to the following field separator are the encoding
//! characters (MSH-2): component, repetition, escape, subcomponent, usually
//! `|^~\&`. Fields split on `|`, repetitions on `~`, components on `^`,
//! subcomponents on `&`. Inside a value, `\F\ \S\ \T\ \R\ \E\` stand for the field,
//! component, subcomponent, repetition and escape characters, and `\Xhh..\` for
//! bytes in hex. Text is UTF-8 (PCD-01 sends `UNICODE UTF-8` in MSH-18); bytes that
//! are not UTF-8 are read as ISO 8859-1.
//!
//! **PCD-01** (GE B40 HL7 guide sample, IHE PCD TF; an indented line continues the
//! segment above it, which is one line on the wire):
//!
//! ```text
//! MSH|^~\&|<app>^<EUI-64>^EUI-64|<facility>|||<time>||ORU^R01^ORU_R01|<ctrl id>|P|2.6
//!     |||NE|AL||UNICODE UTF-8
//! PID|||<patient id>
//! PV1||I|<point of care>^<room>^<bed>
//! OBR|1|...|...|182777000^monitoring of patient^SCT|||<observation time>
//! OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X
//! OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|80|264864^MDC_DIM_BEAT_PER_MIN^MDC
//!     |||||R|||<time>||||<EUI-64>
//! ```
//!
//! In OBX: 2 value type (`NM` for numerics), 3 observation code (MDC numeric code
//! ^ reference id ^ `MDC`; Philips sends MDIL `0002-4bb8^SpO2^MDIL`; other vendors
//! their own codes), 4 sub-id `<MDS>.<VMD>.<channel>.<metric>` (not normative),
//! 5 value, 6 unit (MDC unit code, MDIL or UCUM), 11 result status (`R`, `F`; `X`
//! = cannot be obtained, often with an empty value), 14 observation time, 18
//! equipment (EUI-64: 16 hex digits). Device and channel rows carry no value.
//!
//! # Layers
//!
//! [`MllpFramer`] turns bytes into messages; [`Message`] splits one into segments
//! and fields; [`OruMessage`] reads the header, bed and every OBX, gives
//! [`OruMessage::readings`] for the ones that map to a [`crate::Metric`] and keeps
//! the rest in [`OruMessage::unknown`]; [`build_ack`] answers the sender.
//! Mapping decisions are documented in the `mapping` module: the MDC code of each
//! metric in [`crate::vocab`] plus the aliases PCD-01 feeds use, except MDC_TEMP.

mod ack;
mod error;
mod mapping;
mod message;
pub mod mllp;
mod observation;
mod oru;
#[cfg(test)]
mod tests;
mod time;

pub use ack::{build_ack, AckCode, AckDetail};
pub use error::{FieldLocation, Hl7Error, MllpError};
pub use message::{Delimiters, Message, Segment};
pub use mllp::MllpFramer;
pub use observation::{Code, EquipmentId, Observation, ObservationValue, Unmapped};
pub use oru::{BedLocation, MessageHeader, OruMessage, PcdReading, UnknownObservation};
pub use time::Hl7Time;
