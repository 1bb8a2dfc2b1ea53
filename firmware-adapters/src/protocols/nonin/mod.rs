//! Nonin pulse oximeter serial data formats 2, 7 and 8.
//!
//! # Wire format
//!
//! The link is 9600 baud, 8 data bits, no parity, 1 stop bit, no flow control
//! (serial, or Bluetooth SPP on the 9560 Onyx II and 3150 WristOx2). The host picks
//! the format once, within 5 s of connecting, with `02 70 02 02 ZZ 03` (`ZZ` = the
//! format number); that handshake belongs to the session driver, not to this codec.
//!
//! **Formats 2 and 7** stream 75 frames per second, grouped in packets of 25 frames
//! (3 packets per second). Every frame is 5 bytes:
//!
//! | Format | Byte 1 | Byte 2 | Byte 3 | Byte 4 | Byte 5 |
//! |---|---|---|---|---|---|
//! | 2 | `01` | STATUS | PLETH (8 bit) | FLOAT | CHK |
//! | 7 | STATUS | PLETH MSB | PLETH LSB | FLOAT | CHK |
//!
//! CHK is the sum of bytes 1 to 4 modulo 256. STATUS always has bit 7 set; bit 6
//! SNSD sensor disconnected (reserved on the 9560), bit 5 ARTF artifact, bit 4 OOT
//! out of track, bit 3 SNSA sensor alarm, bit 2 RPRF and bit 1 GPRF (red, green,
//! both = yellow perfusion, shown only during a pulse), bit 0 SYNC (set on the first
//! frame of a packet only).
//!
//! FLOAT carries one value per frame, by position in the packet (1-based):
//! 1 HR MSB, 2 HR LSB, 3 SpO2, 4 firmware revision, 6/7 timer, 8 STAT2 (bit 5
//! SmartPoint, bit 0 low battery), 9 SpO2-D, 10 SpO2 fast, 11 SpO2 beat-to-beat,
//! 14/15 E-HR, 16 E-SpO2, 17 E-SpO2-D, 20/21 HR-D, 22/23 E-HR-D, the rest reserved.
//! A rate is 9 bits split over two frames: `((MSB & 0x03) << 7) | (LSB & 0x7F)`;
//! SpO2 is 7 bits. The "-D" values are formatted for display and hold the last
//! value for 10 s after the finger is removed; the others are formatted for
//! recording and switch to the missing code at once, which is why the readings
//! use them.
//!
//! **Format 8** sends one 4-byte record per second, without checksum: STATUS1
//! (bit 7 = 1, bit 6 SNSD, bit 5 OOT, bit 4 LPRF low perfusion, bit 3 MPRF
//! marginal perfusion, bit 2 ARTF, bits 1-0 = HR bits 8-7), HR bits 6-0, SpO2,
//! STATUS2 (bit 5 SmartPoint, bit 3 SNSA, bit 0 low battery). Bit 7 is set in
//! byte 1 only, which is the only way to find the frame boundary.
//!
//! **Missing values**: a rate of 511 and an SpO2 of 127 mean "no value".
//!
//! Sources: the Nonin 9560 Bluetooth specification and the OEM III notes as
//! summarised in the project's device research (section 2.5); bit 6 as SNSD follows
//! the OEM III module and the Nonin serial format 1 description, which agree. The
//! format 2 example stream used in the tests is the one listed in NoninPulseOx
//! (`DataFormat2FrameSerialiser.java`). Format 7 framing (bit 7 of STATUS, sum
//! checksum, SYNC on frame 1 of 25) matches the Oxford/Cordova format 7 readers.
//!
//! # Layers
//!
//! [`NoninFramer`] turns bytes into [`Frame`]s. For formats 2 and 7 a
//! [`PacketAssembler`] groups frames into [`Packet`]s, whose
//! [`Packet::values`] and [`Packet::readings`] decode the numerics. A format 8
//! [`Format8Frame`] decodes on its own.
//!
//! # Validity
//!
//! Missing values produce no reading (the typed values hold `None`). The status
//! bits map to [`crate::Validity`] through [`QualityFlags::validity`]: sensor
//! disconnected, sensor alarm or out of track make the values `Invalid` (the
//! oximeter is not tracking a pulse); artifact or low perfusion make them
//! `Questionable`; marginal (yellow) perfusion alone leaves them `Valid`. For a
//! packet, a flag counts when any of its 25 frames carries it.

mod codec;
mod error;
mod frame;
#[cfg(test)]
mod tests;

pub use codec::{OximetryValues, Packet, PacketAssembler, Perfusion, QualityFlags, PACKET_FRAMES};
pub use error::NoninError;
pub use frame::{DataFormat, Format8Frame, Frame, FrameStatus, NoninFramer, SerialFrame};
