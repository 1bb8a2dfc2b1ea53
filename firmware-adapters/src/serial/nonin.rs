//! Nonin session: select the data format, then decode the stream.
//!
//! On start the session sends the 9560's select-format command
//! `02 70 02 02 ZZ 03` and forgets any half frame. A device that understands
//! it answers ACK (`06`) or NAK (`15`) before streaming; that one byte is
//! taken as the answer, not as line noise. Models without the command ignore
//! it and stream in the format they are set to. Formats 2 and 7 deliver one
//! batch per 25-frame packet (three a second), format 8 one per record.

use tokio::time::Instant;

use super::session::{noise_kind, Output, Session};
use crate::protocols::nonin::{
    DataFormat, Frame, NoninError, NoninFramer, PacketAssembler, QualityFlags,
};

const ACK: u8 = 0x06;
const NAK: u8 = 0x15;

/// The select-format command for `format`.
pub fn select_format(format: DataFormat) -> [u8; 6] {
    [0x02, 0x70, 0x02, 0x02, format.number(), 0x03]
}

/// A Nonin session.
#[derive(Debug)]
pub(crate) struct NoninSession {
    format: DataFormat,
    framer: NoninFramer,
    packets: PacketAssembler,
    /// The first byte after a select-format command may be its answer.
    awaiting_answer: bool,
}

impl NoninSession {
    pub(crate) fn new(format: DataFormat) -> Self {
        Self {
            format,
            framer: NoninFramer::new(format),
            packets: PacketAssembler::new(),
            awaiting_answer: false,
        }
    }
}

impl Session for NoninSession {
    fn start(&mut self, _now: Instant, out: &mut Output) {
        self.framer = NoninFramer::new(self.format);
        self.packets = PacketAssembler::new();
        self.awaiting_answer = true;
        out.send.extend_from_slice(&select_format(self.format));
    }

    fn receive(&mut self, mut bytes: &[u8], _now: Instant, out: &mut Output) {
        if self.awaiting_answer {
            if let Some((&first, rest)) = bytes.split_first() {
                self.awaiting_answer = false;
                match first {
                    ACK => bytes = rest,
                    NAK => {
                        out.error("format_refused", "the oximeter refused the data format");
                        bytes = rest;
                    }
                    _ => {}
                }
            }
        }
        for item in self.framer.feed(bytes) {
            match item {
                Ok(Frame::Format8(record)) => {
                    out.frames += 1;
                    flags(
                        out,
                        record.low_battery(),
                        record.smartpoint(),
                        record.flags(),
                    );
                    out.batch(record.readings());
                }
                Ok(Frame::Serial(frame)) => {
                    out.frames += 1;
                    match self.packets.push(frame) {
                        Some(Ok(packet)) => {
                            let v = packet.values();
                            flags(out, v.low_battery, v.smartpoint, v.flags);
                            out.raw_number(
                                "firmware_revision".into(),
                                f64::from(v.firmware_revision),
                            );
                            out.batch(packet.readings());
                        }
                        Some(Err(e)) => out.error("decode", e),
                        None => {}
                    }
                }
                Err(e) => report(out, &e),
            }
        }
    }
}

/// The status bits go raw too: with the sensor off the values are missing
/// and give no reading, and these bits are what says why.
fn flags(out: &mut Output, low_battery: bool, smartpoint: bool, q: QualityFlags) {
    let bits = [
        ("low_battery", low_battery),
        ("smartpoint", smartpoint),
        ("sensor_disconnected", q.sensor_disconnected),
        ("sensor_alarm", q.sensor_alarm),
        ("out_of_track", q.out_of_track),
        ("artifact", q.artifact),
        ("low_perfusion", q.low_perfusion),
    ];
    for (name, on) in bits {
        out.raw_number(name.into(), f64::from(u8::from(on)));
    }
}

fn report(out: &mut Output, e: &NoninError) {
    out.error(noise_kind(e.is_framing()), e);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Metric, Validity};

    #[test]
    fn start_selects_the_format_and_the_ack_is_not_noise() {
        let mut s = NoninSession::new(DataFormat::Format8);
        let (now, mut out) = (Instant::now(), Output::default());
        s.start(now, &mut out);
        assert_eq!(out.send, [0x02, 0x70, 0x02, 0x02, 0x08, 0x03]);
        let mut out = Output::default();
        s.receive(&[ACK, 0x80, 0x48, 0x61, 0x00], now, &mut out);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.frames, 1);
        let r = &out.batches[0];
        assert_eq!((r[0].metric, r[0].value), (Metric::PulseRate, 72.0));
        assert_eq!(
            (r[1].metric, r[1].value, r[1].validity),
            (Metric::Spo2, 97.0, Validity::Valid)
        );
    }

    #[test]
    fn a_sensor_off_packet_gives_no_reading_but_says_why() {
        let mut s = NoninSession::new(DataFormat::Format2);
        let (now, mut out) = (Instant::now(), Output::default());
        s.start(now, &mut out);
        let mut bytes = vec![ACK];
        for i in 0..26u8 {
            let status = 0x80 | 0x08 | u8::from(i % 25 == 0);
            let float = match i {
                0 => 0x03,
                1 => 0x7F,
                2 => 127,
                _ => 0,
            };
            let frame = [0x01, status, 0x10, float];
            bytes.extend_from_slice(&frame);
            bytes.push(frame.iter().fold(0u8, |a, &b| a.wrapping_add(b)));
        }
        let mut out = Output::default();
        s.receive(&bytes, now, &mut out);
        assert_eq!(out.frames, 26);
        assert!(out.batches.is_empty(), "{:?}", out.batches);
        let alarm = out.raw.iter().find(|v| v.name == "sensor_alarm").unwrap();
        assert_eq!(alarm.value, crate::modbus::StatusData::Number(1.0));
    }

    #[test]
    fn a_refused_format_is_reported() {
        let mut s = NoninSession::new(DataFormat::Format8);
        let (now, mut out) = (Instant::now(), Output::default());
        s.start(now, &mut out);
        s.receive(&[NAK], now, &mut out);
        assert_eq!(out.errors[0].0, "format_refused");
    }

    #[test]
    fn noise_between_records_is_counted_and_skipped() {
        let mut s = NoninSession::new(DataFormat::Format8);
        let (now, mut out) = (Instant::now(), Output::default());
        s.start(now, &mut out);
        s.receive(
            &[0x80, 0x48, 0x61, 0x00, 0x13, 0x37, 0x80, 0x48, 0x62, 0x00],
            now,
            &mut out,
        );
        assert_eq!(out.frames, 2);
        assert!(
            out.errors.iter().any(|(k, _)| *k == "noise"),
            "{:?}",
            out.errors
        );
        assert_eq!(out.batches[1][1].value, 98.0);
    }
}
