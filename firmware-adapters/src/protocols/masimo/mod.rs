//! Masimo Radical-7 / Root / Rad-8 / Radical-5 "ASCII 1" serial lines.
//!
//! # Wire format
//!
//! Radical-7: docking station RS-232, 9600 baud 8N1, no handshake, serial mode
//! "ASCII 1" (the default). Root: USB serial, to be set to 19 200 baud for ASCII 1.
//! The device sends one line per second; a line ends with CR and/or LF:
//!
//! ```text
//! 12/01/05 11:56:29 SN=0123456789 SPO2=098% BPM=240 PI=20.00% SPCO=01.0% SPMET=00.5%
//!     DESAT=01 PIDELTA=-02 PVI=027 ALARM=0000 EXC=000820
//! ```
//!
//! (one line on the wire). It starts with the device clock `MM/DD/YY HH:MM:SS`
//! (two-digit year, no time zone), then space-separated `KEY=VALUE` tokens. The
//! field set differs by model and firmware, and so does the `%` suffix:
//!
//! | Key | Value | Grammar here |
//! |---|---|---|
//! | `SN` | serial number | 1-20 letters or digits |
//! | `SPO2` | SpO2, % | 1-3 digits, optional `%` |
//! | `BPM` | pulse rate, /min | 1-3 digits |
//! | `PI` | perfusion index, % | 1-3 digits, optional `.` and 1-2 digits, optional `%` |
//! | `SPCO`, `SPMET` | carboxy-, methaemoglobin, % | as `PI` |
//! | `SPHB`, `SPOC` | haemoglobin g/dL, O2 content mL/dL | as `PI`, no `%` |
//! | `DESAT`, `PVI` | desaturation index, pleth variability index | 1-3 digits |
//! | `PIDELTA` | PI change | optional sign, 1-3 digits |
//! | `ALARM`, `EXC`, `EXC1` | status bit fields | 1-8 hexadecimal digits |
//!
//! A value made only of dashes (with the field's `.`, sign or `%`: `---`, `--.-`,
//! `--.--%`, `+--`) is **missing**: it produces no reading and is not an error.
//! There is no checksum, so every token must match its grammar or the whole line
//! is rejected as corrupted; unknown keys (`RESVD=---`, new firmware fields) are
//! kept raw in [`MasimoRecord::other`].
//!
//! `EXC` exception bits (Rad-8 operator's manual, via masimo-capture; bits above
//! 0x800 from the OpenICE Radical driver's table): see [`ExceptionFlags`], which
//! also decides [`crate::Validity`]. `ALARM` bits (OpenICE table): see
//! [`AlarmFlags`]; they are limit alarms, not value quality.
//!
//! The device clock has no time zone and a two-digit year, so readings carry no
//! device time: the session driver stamps them with the gateway's receive time.
//! The clock stays available as [`MasimoRecord::clock`].
//!
//! # Layers
//!
//! [`LineFramer`] turns bytes into lines that start at a timestamp;
//! [`parse_line`] turns one line into a [`MasimoRecord`], whose
//! [`MasimoRecord::readings`] gives SpO2, pulse rate and perfusion index.

mod codec;
mod error;
mod flags;
mod frame;
#[cfg(test)]
mod tests;

pub use codec::{parse_line, DeviceClock, MasimoRecord, Numeric};
pub use error::MasimoError;
pub use flags::{AlarmFlags, ExceptionFlags};
pub use frame::{LineFramer, MAX_LINE_BYTES};
