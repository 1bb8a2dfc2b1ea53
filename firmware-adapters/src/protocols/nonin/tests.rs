//! Nonin codec tests through the public API: framer, assembler and decoders.

use super::frame::checksum;
use super::*;
use crate::protocols::test_rng::TestRng;
use crate::{Metric, Unit, Validity};

/// The format 2 example stream listed in NoninPulseOx
/// (`DataFormat2FrameSerialiser.java`): 4 frames of a previous packet, one full
/// packet, and the SYNC frame of the next. Every checksum was cross-checked with
/// PyPI `crccheck` 1.3.1 (`Checksum8.calc(frame[:4]) == frame[4]` for all 30).
const EXAMPLE_STREAM: &str = "01804900CA 0180464A11 01804400C5 01804300C4 01814300C5 \
    0180434A0E 0180436024 0180439458 01804300C4 01804100C2 01803E17D6 01803C04C1 \
    018039601A 0180366017 0180356016 01803400B5 01803400B5 01803400B5 0180354A00 \
    0180366017 0180376018 01803A00BB 01804000C1 01804A00CB 0180574A22 01806900EA \
    01807C4A47 0180900011 0180A10022 0181AF0031";

fn hex_frames(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Runs bytes through framer and assembler, returning packets and errors.
fn packets(format: DataFormat, bytes: &[u8]) -> (Vec<Packet>, Vec<NoninError>) {
    let mut framer = NoninFramer::new(format);
    let mut assembler = PacketAssembler::new();
    let (mut ok, mut errors) = (Vec::new(), Vec::new());
    for item in framer.feed(bytes) {
        let result = match item {
            Ok(Frame::Serial(frame)) => assembler.push(frame),
            Ok(Frame::Format8(_)) => unreachable!("format 8 frame from a 2/7 framer"),
            Err(err) => Some(Err(err)),
        };
        match result {
            Some(Ok(packet)) => ok.push(packet),
            Some(Err(err)) => errors.push(err),
            None => {}
        }
    }
    (ok, errors)
}

/// Encodes one packet in format 2 or 7 with the given FLOAT bytes and status.
fn encode_packet(format: DataFormat, floats: &[u8; 25], status: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &float) in floats.iter().enumerate() {
        let sync = u8::from(i == 0);
        let pleth = u8::try_from(i).unwrap();
        let head = match format {
            DataFormat::Format2 => [0x01, 0x80 | status | sync, pleth, float],
            _ => [0x80 | status | sync, 0x01, pleth, float],
        };
        out.extend_from_slice(&head);
        out.push(checksum(head));
    }
    out
}

fn floats(hr: u16, spo2: u8) -> [u8; 25] {
    let mut f = [0u8; 25];
    let [msb, lsb] = [(hr >> 7) as u8, (hr & 0x7F) as u8];
    for at in [0, 13, 19, 21] {
        f[at] = msb;
        f[at + 1] = lsb;
    }
    for at in [2, 8, 9, 10, 15, 16] {
        f[at] = spo2;
    }
    f
}

#[test]
fn example_stream_decodes_to_pulse_74_and_spo2_96() {
    let (ok, errors) = packets(DataFormat::Format2, &hex_frames(EXAMPLE_STREAM));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(ok.len(), 1);
    let v = ok[0].values();
    assert_eq!((v.pulse_rate, v.spo2), (Some(74), Some(96)));
    assert_eq!(v.firmware_revision, 0x94);
    assert_eq!(v.timer, 0x17);
    assert_eq!(
        (v.spo2_display, v.spo2_fast, v.spo2_beat_to_beat),
        (Some(96), Some(96), Some(96))
    );
    assert_eq!(
        (v.pulse_rate_extended, v.spo2_extended),
        (Some(74), Some(96))
    );
    assert_eq!(
        (v.pulse_rate_display, v.pulse_rate_extended_display),
        (Some(74), Some(74))
    );
    assert_eq!(v.flags, QualityFlags::default());
    assert_eq!(ok[0].pleth().next(), Some(0x43));
    let readings = ok[0].readings();
    assert_eq!(readings.len(), 2);
    assert_eq!(
        (readings[0].metric, readings[0].value),
        (Metric::PulseRate, 74.0)
    );
    assert_eq!(
        (readings[1].metric, readings[1].unit),
        (Metric::Spo2, Unit::Percent)
    );
    assert!(readings.iter().all(|r| r.validity == Validity::Valid));
}

#[test]
fn format7_packet_round_trips_nine_bit_rate() {
    let bytes = encode_packet(DataFormat::Format7, &floats(300, 88), 0);
    let (ok, _) = packets(DataFormat::Format7, &bytes);
    let v = ok[0].values();
    assert_eq!((v.pulse_rate, v.spo2), (Some(300), Some(88)));
    assert_eq!(ok[0].frames()[3].pleth, 0x0103);
}

#[test]
fn all_missing_values_produce_no_readings() {
    let bytes = encode_packet(DataFormat::Format2, &floats(511, 127), FrameStatus::SNSA);
    let (ok, _) = packets(DataFormat::Format2, &bytes);
    let v = ok[0].values();
    assert_eq!((v.pulse_rate, v.spo2, v.spo2_display), (None, None, None));
    assert!(v.flags.sensor_alarm);
    assert!(ok[0].readings().is_empty());
}

#[test]
fn status_bits_map_to_validity() {
    let cases = [
        (FrameStatus::SNSA, Validity::Invalid),
        (FrameStatus::SNSD, Validity::Invalid),
        (FrameStatus::OOT, Validity::Invalid),
        (FrameStatus::ARTF, Validity::Questionable),
        (FrameStatus::RPRF, Validity::Questionable),
        (FrameStatus::RPRF | FrameStatus::GPRF, Validity::Valid),
        (FrameStatus::GPRF, Validity::Valid),
    ];
    for (status, validity) in cases {
        let bytes = encode_packet(DataFormat::Format7, &floats(72, 97), status);
        let (ok, _) = packets(DataFormat::Format7, &bytes);
        let readings = ok[0].readings();
        assert_eq!(readings.len(), 2);
        assert!(
            readings.iter().all(|r| r.validity == validity),
            "{status:#04x}"
        );
    }
}

#[test]
fn early_sync_reports_the_cut_packet_and_starts_again() {
    let mut bytes = encode_packet(DataFormat::Format2, &floats(72, 97), 0);
    bytes.truncate(10 * 5);
    bytes.extend(encode_packet(DataFormat::Format2, &floats(73, 98), 0));
    let (ok, errors) = packets(DataFormat::Format2, &bytes);
    assert_eq!(errors, vec![NoninError::IncompletePacket { frames: 10 }]);
    assert_eq!(ok[0].values().pulse_rate, Some(73));
}

#[test]
fn format8_vectors_decode() {
    // devices.md 2.8 #8: `80 48 61 00` is HR 72, SpO2 97, no flags; HR 300 puts
    // 0b10 in STATUS1 bits 1-0 and 0x2C in byte 2.
    let mut framer = NoninFramer::new(DataFormat::Format8);
    let out = framer.feed(&[0x80, 0x48, 0x61, 0x00, 0x82, 0x2C, 0x61, 0x21]);
    let [Ok(Frame::Format8(a)), Ok(Frame::Format8(b))] = out.as_slice() else {
        panic!("{out:?}");
    };
    assert_eq!((a.pulse_rate(), a.spo2()), (Some(72), Some(97)));
    assert_eq!(a.flags().validity(), Validity::Valid);
    assert_eq!(b.pulse_rate(), Some(300));
    assert!(b.smartpoint() && b.low_battery());
    assert_eq!(a.readings()[0].metric, Metric::PulseRate);
}

#[test]
fn format8_all_missing_with_sensor_alarm() {
    let frame = Format8Frame {
        status1: 0x83,
        hr_low: 0x7F,
        spo2: 0x7F,
        status2: 0x08,
    };
    assert_eq!((frame.pulse_rate(), frame.spo2()), (None, None));
    assert!(frame.readings().is_empty());
    assert_eq!(frame.flags().validity(), Validity::Invalid);
}

#[test]
fn format8_flags_follow_status1_bits() {
    let frame = |status1| Format8Frame {
        status1,
        hr_low: 60,
        spo2: 95,
        status2: 0,
    };
    assert_eq!(frame(0xA0).flags().validity(), Validity::Invalid);
    assert_eq!(frame(0x90).flags().validity(), Validity::Questionable);
    assert_eq!(frame(0x84).flags().validity(), Validity::Questionable);
    assert_eq!(frame(0x88).flags().validity(), Validity::Valid);
}

#[test]
fn maximum_values_decode_without_overflow() {
    let mut f = [0x7Fu8; 25];
    f[0] = 0x03;
    f[1] = 0x7E;
    let bytes = encode_packet(DataFormat::Format7, &f, 0x7E);
    let (ok, _) = packets(DataFormat::Format7, &bytes);
    let v = ok[0].values();
    assert_eq!(v.pulse_rate, Some(510));
    assert_eq!(v.timer, 0x3FFF);
    assert_eq!(v.flags.validity(), Validity::Invalid);
}

#[test]
fn random_garbage_and_splits_still_yield_every_later_packet() {
    let mut rng = TestRng::new(42);
    for format in [DataFormat::Format2, DataFormat::Format7] {
        for round in 0..100 {
            let rates: Vec<u16> = (0..4).map(|_| 30 + rng.below(200) as u16).collect();
            let mut stream = rng.garbage(300);
            for &hr in &rates {
                stream.extend(encode_packet(format, &floats(hr, 97), 0));
            }
            let mut framer = NoninFramer::new(format);
            let mut assembler = PacketAssembler::new();
            let mut found = Vec::new();
            for chunk in rng.chunks(&stream, 17) {
                for frame in framer.feed(chunk).into_iter().flatten() {
                    if let Frame::Serial(f) = frame {
                        if let Some(Ok(p)) = assembler.push(f) {
                            found.push(p.values().pulse_rate.unwrap_or(0));
                        }
                    }
                }
            }
            assert!(
                found.ends_with(&rates[1..]),
                "{format:?} round {round}: {found:?} {rates:?}"
            );
            // Pure noise through the whole chain must not panic.
            let noise = rng.bytes(2000);
            for frame in NoninFramer::new(format).feed(&noise).into_iter().flatten() {
                if let Frame::Serial(f) = frame {
                    let _ = assembler.push(f).map(|r| r.map(|p| p.readings()));
                }
            }
        }
    }
}
