//! GE Datex-Ohmeda S/5 Computer Interface (DRI): framing, records and the
//! displayed values of the basic physiological class.
//!
//! # Wire format
//!
//! The link is 19 200 baud, 8 data bits, even parity, 1 stop bit, RTS/CTS; that
//! belongs to the session driver. Each record travels as a frame:
//!
//! ```text
//! 7E  record bytes and checksum, escaped  7E
//! ```
//!
//! Inside a frame `7E` is sent as `7D 5E` and `7D` as `7D 5D` (the byte XOR
//! `0x20`). The checksum is the last unescaped byte: the low 8 bits of the sum of
//! the unescaped record bytes. A record is at most 1 490 bytes, little-endian and
//! packed: a 40-byte header, then a data area of subrecords.
//!
//! | Offset | Type | Header field |
//! |---|---|---|
//! | 0 | i16 | `r_len`, the record length including the header |
//! | 2 | u8 | `r_nbr`, record number |
//! | 3 | u8 | `dri_level`, 0x02 ('95) to 0x0B (2015) |
//! | 4 | u16 | `plug_id` |
//! | 6 | u32 | `r_time`, seconds since 1970 on the monitor clock |
//! | 10 | 4 bytes | reserved, zero |
//! | 14 | i16 | `r_maintype`: 0 PHDB, 1 WAVE, 4 ALARM, 5 NETWORK, 8 FO |
//! | 16 | 8 x {i16, u8} | subrecords: {offset in the data area, type}; `FF` ends |
//!
//! The gateway starts the stream with one PHDB request ([`PhdbRequest`]: main
//! type 0, one subrecord of type 0 holding u8 record type, i16 interval in
//! seconds, u32 class bits, i16 reserved) and repeats it when the stream stops.
//! The monitor then sends PHDB records of up to five 278-byte physiological
//! subrecords: u32 time, 270 bytes of class data, u8 marker, u8 reserved, u16
//! `cl_drilvl_subt` whose bits 8-11 are the class (0 basic, 1-3 extended).
//!
//! The basic class is a run of groups, each a 6-byte header (u32 status: bit 0
//! exists, bit 1 active; u16 label) and consecutive i16 values:
//!
//! | Group (offset in subrecord) | Values | Scale |
//! |---|---|---|
//! | ECG (4) | hr, st1-st3, imp_rr | hr, imp_rr 1 /min; ST 0.01 mm |
//! | P1-P4 (20, 34, 48, 62) | sys, dia, mean, hr | pressures 0.01 mmHg; hr not documented |
//! | NIBP (76) | sys, dia, mean, hr | pressures 0.01 mmHg; hr not documented |
//! | T1-T4 (90, 98, 106, 114) | temp | 0.01 Cel |
//! | SpO2 (122) | spo2, pr, ir_amp, svo2 | spo2 0.01 %; pr 1 /min; others not documented |
//! | CO2 (136) | et, fi, rr, amb_press | et, fi 0.01 %; rr 1 /min; amb 0.1 mmHg |
//! | O2 (150), N2O (160), AA (170) | et, fi (AA: mac_sum) | 0.01 %; mac_sum not documented |
//! | Flow (182) | rr, ppeak, peep, pplat | pressures 0.01 cmH2O; rr not documented |
//! | (Flow) | tv_insp, tv_exp, compliance, mv_exp | TV 0.1 mL; MV 0.01 L/min; compliance none |
//!
//! "Not documented" and "none": devices.md gives no scale, so the value is kept
//! raw only.
//!
//! A value below -32001 is a status code, not a measurement: -32767 invalid or
//! no data, -32766 not updated, -32765 discontinuity, -32764 under range, -32763
//! over range, -32762 not calibrated ([`DriStatus`]).
//!
//! # Layers
//!
//! [`DatexFramer`] turns bytes into checked records; [`DriRecord::parse`] splits
//! one into header and subrecords; [`DriRecord::physiological`] reads the
//! physiological subrecords, and [`PhysiologicalSubrecord::basic`] decodes the
//! basic class into [`BasicValues`], whose [`BasicValues::readings`] are the
//! readings and [`BasicValues::unmapped`] the other measurements, kept raw. The
//! encoders ([`encode_frame`], [`DriRecord::to_frame`], [`PhdbRequest::to_frame`],
//! [`BasicValues::to_bytes`]) serve the gateway's request and a simulated monitor.
//!
//! # Mapping and validity
//!
//! | Field | Metric | Value |
//! |---|---|---|
//! | ECG hr | heart rate | raw /min |
//! | ECG imp_rr, CO2 rr | respiratory rate | raw /min |
//! | P1-P4 sys/dia/mean, label 1 (ART) or 8 (ABP) | arterial sys/dia/mean | raw x 0.01 mmHg |
//! | NIBP sys/dia/mean | NIBP sys/dia/mean | raw x 0.01 mmHg |
//! | SpO2 spo2, pr | SpO2, pulse rate | raw x 0.01 %, raw /min |
//! | CO2 et with amb_press | EtCO2 | et x amb x 1e-5 mmHg |
//!
//! Both respiratory rates map, as every respiratory-rate variant does in the
//! HL7 mapping. Temperatures are decoded but not mapped: the temperature label
//! codes are not in devices.md, and body temperature is mapped only when the
//! label says so (devices.md section 3), as the HL7 mapping does with MDC_TEMP.
//! Other pressures (CVP, PA, ...) keep their raw label. A status code gives no
//! reading. A measurement from a group whose status says it does not exist is
//! `Questionable`; otherwise readings are `Valid`. Readings carry no device time
//! because the monitor clock has no stated time zone; [`DriHeader::time`] and
//! [`PhysiologicalSubrecord::time`] keep it.
//!
//! # Sources and limits
//!
//! Facts are from the project's device research, section 2.1 (link, framing,
//! header, requests, subrecord and basic-class layout, status codes), 2.7 (the
//! scale of the CO2 respiration rate) and 2.8 #3/#4 (request and escaping test
//! vectors). devices.md reports them from VSCaptureWave, `datex.h` and a Go port
//! of the "S/5 DRI Specification 8005313", which GE does not publish.
//!
//! Limitations, each needing that specification (or a capture from a monitor):
//!
//! - The extended classes and the rest of the basic class (CO/wedge, NMT, ECG
//!   extra, SvO2, P5, P6) are not decoded; their bytes stay available raw.
//! - Values whose scale devices.md does not give (invasive and NIBP hr, ir_amp,
//!   svo2, mac_sum, flow rr, compliance) are kept raw, unscaled and unmapped.
//! - The O2, N2O and AA offsets follow from the packed-group rule, not from a
//!   stated offset table.
//! - The `sr_type` numbers of response subrecords are not documented, so every
//!   subrecord of a PHDB record is read as physiological; the gateway only ever
//!   requests displayed values.
//! - The temperature label codes, and what the marker byte means.
//! - Whether monitors escape the checksum. The encoder escapes it; the framer
//!   also accepts an unescaped `7D` checksum. An unescaped `7E` checksum cannot
//!   be told from a flag, and such a frame is lost.
//! - Only the two documented escapes are accepted; any other is reported.
//! - Waveform, alarm and other main types are framed and split into subrecords
//!   but not decoded.

mod error;
mod frame;
mod layout;
mod phdb;
mod record;
#[cfg(test)]
mod tests;

pub use error::DatexError;
pub use frame::{checksum, encode_frame, DatexFramer, ESCAPE, FLAG, GARBAGE_REPORT_BYTES};
pub use layout::{pressure_label_name, DriStatus, DriValue, Group, Scale, NO_DATA, STATUS_LIMIT};
pub use phdb::{
    BasicField, BasicValues, GroupHeader, PhdbClass, PhysiologicalSubrecord, PHYSIOLOGICAL_BYTES,
};
pub use record::{
    DriHeader, DriRecord, MainType, PhdbRequest, Subrecord, END_OF_LIST, HEADER_BYTES,
    MAX_RECORD_BYTES, MAX_SUBRECORDS,
};
