//! Pure protocol codecs: bytes in, frames and readings out, no I/O.
//!
//! Each protocol folder holds two layers, both pure functions of their input:
//!
//! - a **framer** that turns a byte stream, delivered in arbitrary pieces, into
//!   whole frames. It keeps at most one frame's worth of bytes between calls,
//!   resynchronises after garbage (reporting how much it skipped), and never
//!   panics, whatever the bytes;
//! - a **decoder** that turns one frame into typed values and [`crate::Reading`]s,
//!   keeping the device's own opinion of each value as [`crate::Validity`].
//!
//! The session drivers (serial ports, TCP listeners, watchdogs) live elsewhere and
//! feed these codecs; nothing here reads a clock or a socket.
//!
//! Protocols:
//!
//! - [`datex`]: GE Datex-Ohmeda S/5 Computer Interface (DRI): framing, records,
//!   the displayed-values request and the basic physiological class.
//! - [`hl7`]: HL7 v2 ORU^R01 (IHE PCD-01) over MLLP, with the ACK builder.
//! - [`intellivue`]: Philips IntelliVue Data Export over MIB/RS-232: framing,
//!   message layers, poll requests and numeric observed values.
//! - [`nonin`]: Nonin pulse oximeter serial data formats 2, 7 and 8.
//! - [`masimo`]: Masimo Radical-7 / Root / Rad-8 "ASCII 1" serial lines.
//! - [`medibus`]: Dräger Medibus slow (ASCII) protocol: commands, responses and
//!   code page 1 measured data.

pub mod datex;
pub mod hl7;
pub mod intellivue;
pub mod masimo;
pub mod medibus;
pub mod nonin;

#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
pub(crate) mod test_rng;
