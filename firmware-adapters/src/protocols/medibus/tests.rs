//! Medibus tests: the devices.md vectors, framer edge cases, measured data, and
//! property-style round trips with noise and random splits.

use super::*;
use crate::protocols::test_rng::TestRng;
use crate::{Metric, Unit};

/// devices.md 2.8 #5. Every checksum was recomputed with PyPI `crccheck` 1.3.1:
/// `"%02X" % Checksum8.calc(frame[:2])` gives 6C, 4B, 3F, 6D, 70 and 52.
const COMMANDS: [(Command, &[u8]); 5] = [
    (Command::Icc, &[0x1B, 0x51, 0x36, 0x43, 0x0D]),
    (Command::Nop, &[0x1B, 0x30, 0x34, 0x42, 0x0D]),
    (Command::MeasuredCp1, &[0x1B, 0x24, 0x33, 0x46, 0x0D]),
    (Command::DeviceId, &[0x1B, 0x52, 0x36, 0x44, 0x0D]),
    (Command::Stop, &[0x1B, 0x55, 0x37, 0x30, 0x0D]),
];
const ICC_REPLY: &[u8] = &[0x01, 0x51, 0x35, 0x32, 0x0D];

/// devices.md 2.8 #6: pulse 72 (E1) and SpO2 97 (EB). Checksum 7B recomputed
/// with `crccheck` 1.3.1 `Checksum8` over the 14 bytes before it.
const CP1_REPLY: &[u8] = b"\x01$E1  72EB  977B\r";

fn frames(out: Vec<Result<MedibusFrame, MedibusError>>) -> Vec<MedibusFrame> {
    out.into_iter().filter_map(Result::ok).collect()
}

fn item(code: u8, value: &str) -> MeasuredItem {
    MeasuredItem {
        code,
        value: value.to_owned(),
    }
}

#[test]
fn commands_match_the_devices_md_vectors_and_frame_back() {
    let mut framer = MedibusFramer::new();
    for (command, bytes) in COMMANDS {
        assert_eq!(encode_command(command), bytes, "{command:?}");
        let out = framer.feed(bytes);
        assert_eq!(out, vec![Ok(MedibusFrame::command(command, &[]))]);
    }
    assert_eq!(encode_empty_response(Command::Icc), ICC_REPLY);
    let reply = frames(framer.feed(ICC_REPLY));
    assert_eq!(reply[0].kind, FrameKind::Response);
    assert_eq!(reply[0].known_command(), Some(Command::Icc));
}

#[test]
fn measured_data_vector_gives_pulse_and_spo2() {
    let frame = frames(MedibusFramer::new().feed(CP1_REPLY)).remove(0);
    let data = MeasuredData::from_frame(&frame).unwrap();
    assert_eq!(data.items, vec![item(0xE1, "  72"), item(0xEB, "  97")]);
    let got: Vec<_> = (data.readings().iter())
        .map(|r| (r.metric, r.value, r.unit))
        .collect();
    assert_eq!(
        got,
        vec![
            (Metric::PulseRate, 72.0, Unit::PerMinute),
            (Metric::Spo2, 97.0, Unit::Percent),
        ]
    );
    let rebuilt = MeasuredData {
        items: vec![item(0xE1, "72"), item(0xEB, "97")],
    };
    assert_eq!(rebuilt.to_frame().unwrap(), CP1_REPLY);
}

#[test]
fn values_that_are_not_numbers_are_missing() {
    let cases = [
        ("  72", Some(72.0)),
        ("97.5", Some(97.5)),
        (" -12", Some(-12.0)),
        ("-0.5", Some(-0.5)),
        (" 0  ", Some(0.0)),
        ("----", None),
        (" --.", None),
        ("    ", None),
        ("7 2 ", None),
        ("1.2.", None),
        ("  -.", None),
        (" inf", None),
        ("1e3 ", None),
        ("+12 ", None),
    ];
    for (value, expected) in cases {
        assert_eq!(item(0xE1, value).number(), expected, "{value:?}");
    }
}

#[test]
fn unknown_and_unmapped_codes_are_kept_raw() {
    let data = MeasuredData::parse(b"DF  71DB 5.3E3 5.1D6  14D5  12A7 123E6----").unwrap();
    let raw: Vec<u8> = data.unmapped().iter().map(|i| i.code).collect();
    assert_eq!(raw, vec![0xDF, 0xDB, 0xA7]);
    let metrics: Vec<_> = (data.readings().iter())
        .map(|r| (r.metric, r.unit))
        .collect();
    assert_eq!(
        metrics,
        vec![
            (Metric::EtCo2, Unit::KiloPascal),
            (Metric::RespiratoryRate, Unit::PerMinute),
            (Metric::RespiratoryRate, Unit::PerMinute),
        ]
    );
    assert_eq!(cp1_code(0xDF).map(|c| c.name), Some("derived pulse rate"));
    assert_eq!(data.items[5].describe(), None);
}

#[test]
fn malformed_measured_data_is_rejected() {
    let len = MeasuredData::parse(b"E1  72E");
    assert_eq!(len, Err(MedibusError::BadDataLength { len: 7 }));
    let code = MeasuredData::parse(b"E1  72G1  72");
    assert_eq!(code, Err(MedibusError::BadItem { index: 1 }));
    let text = MeasuredData::parse(b"E1 \x0272");
    assert_eq!(text, Err(MedibusError::BadItem { index: 0 }));
    let frame = MedibusFrame::response(Command::MeasuredCp2, b"E1  72");
    let err = MeasuredData::from_frame(&frame);
    assert_eq!(err, Err(MedibusError::NotMeasuredData { command: 0x2B }));
    let long = MeasuredData {
        items: vec![item(0xE1, "12345")],
    };
    assert!(matches!(
        long.to_data(),
        Err(MedibusError::ValueTooLong { .. })
    ));
    let bad = MedibusFrame::response(Command::MeasuredCp1, b"E1\r 72");
    assert_eq!(
        bad.to_bytes(),
        Err(MedibusError::BadDataByte { byte: 0x0D })
    );
}

#[test]
fn empty_input_one_byte_and_partial_frames_wait() {
    let mut framer = MedibusFramer::new();
    assert!(framer.feed(&[]).is_empty());
    assert!(framer.feed(&[0x1B]).is_empty());
    assert!(framer.feed(&[0x24, 0x33]).is_empty());
    assert!(framer.feed(&[0x46]).is_empty());
    let out = framer.feed(&[0x0D]);
    assert_eq!(
        frames(out),
        vec![MedibusFrame::command(Command::MeasuredCp1, &[])]
    );
}

#[test]
fn checksum_problems_are_reported() {
    let out = MedibusFramer::new().feed(b"\x1b$3E\r\x1b$zz\r\x1b$\r\x1b$3f\r");
    let expected = vec![
        Err(MedibusError::Checksum {
            expected: 0x3F,
            found: 0x3E,
        }),
        Err(MedibusError::BadChecksumText {
            high: b'z',
            low: b'z',
        }),
        Err(MedibusError::TooShort { len: 2 }),
        Ok(MedibusFrame::command(Command::MeasuredCp1, &[])),
    ];
    assert_eq!(out, expected);
}

#[test]
fn realtime_bytes_and_flow_control_are_removed_even_inside_frames() {
    let mut stream = vec![0xD0, 0x11];
    for (i, &byte) in CP1_REPLY.iter().enumerate() {
        stream.push(byte);
        stream.push(if i % 2 == 0 { 0x81 } else { 0x13 });
    }
    let mut framer = MedibusFramer::new();
    let out = framer.feed(&stream);
    assert_eq!(out, MedibusFramer::new().feed(CP1_REPLY));
    assert_eq!(framer.realtime_bytes(), 1 + 9);
}

#[test]
fn a_command_inside_a_response_leaves_both_intact() {
    let (head, tail) = CP1_REPLY.split_at(8);
    let stream = [head, &encode_command(Command::Nop), tail].concat();
    let out = frames(MedibusFramer::new().feed(&stream));
    assert_eq!(out[0], MedibusFrame::command(Command::Nop, &[]));
    assert_eq!(out[1], frames(MedibusFramer::new().feed(CP1_REPLY))[0]);
}

#[test]
fn garbage_and_frames_that_lost_their_cr_are_counted() {
    // 3 bytes outside any frame, then a 7-byte frame dropped when a third opens.
    let mut stream = b"xy\r".to_vec();
    stream.extend_from_slice(b"\x01$E1  7");
    stream.extend_from_slice(b"\x01$E1  7");
    stream.extend_from_slice(&encode_command(Command::Nop));
    let out = MedibusFramer::new().feed(&stream);
    let expected = vec![
        Err(MedibusError::Garbage { skipped: 10 }),
        Ok(MedibusFrame::command(Command::Nop, &[])),
    ];
    assert_eq!(out, expected);
}

#[test]
fn a_maximum_length_frame_passes_and_one_more_byte_is_dropped() {
    // Start, command, data and two checksum digits: MAX_FRAME_BYTES in all.
    let longest = MedibusFrame::response(Command::TextMessages, &[b'A'; MAX_FRAME_BYTES - 4]);
    let mut framer = MedibusFramer::new();
    let bytes = longest.to_bytes().unwrap();
    assert_eq!(framer.feed(&bytes), vec![Ok(longest)]);
    let too_long = MedibusFrame::response(Command::TextMessages, &[b'A'; MAX_FRAME_BYTES - 3]);
    let mut stream = too_long.to_bytes().unwrap();
    stream.extend_from_slice(ICC_REPLY);
    let out = framer.feed(&stream);
    let limit = MAX_FRAME_BYTES;
    assert_eq!(out[0], Err(MedibusError::TooLong { limit }));
    assert_eq!(frames(out).len(), 1);
}

#[test]
fn endless_garbage_is_reported_without_growing() {
    let mut framer = MedibusFramer::new();
    let garbage = Err(MedibusError::Garbage { skipped: 4096 });
    assert_eq!(framer.feed(&[b'x'; 9000]), vec![garbage; 2]);
    let mut inside = vec![SOH];
    inside.extend_from_slice(&[b'x'; 9000]);
    let out = framer.feed(&inside);
    let expected = vec![
        Err(MedibusError::Garbage { skipped: 808 }),
        Err(MedibusError::TooLong {
            limit: MAX_FRAME_BYTES,
        }),
    ];
    assert_eq!(out, expected);
}

fn random_measured(rng: &mut TestRng) -> MeasuredData {
    let items = (0..rng.below(40))
        .map(|_| {
            let code = match rng.below(3) {
                0 => CP1_CODES[rng.below(CP1_CODES.len())].code,
                _ => rng.byte(),
            };
            let decimals = rng.below(3);
            let value = (rng.below(20_000) as f64 - 2_000.0) / 10f64.powi(decimals as i32);
            MeasuredItem::from_number(code, value, decimals).unwrap_or_else(|| item(code, "----"))
        })
        .collect();
    MeasuredData { items }
}

fn random_frame(rng: &mut TestRng) -> Vec<u8> {
    let command = Command::ALL[rng.below(Command::ALL.len())];
    let args: Vec<u8> = (0..rng.below(30))
        .map(|_| 0x20 + rng.byte() % 0x5F)
        .collect();
    let frame = if rng.below(2) == 0 {
        MedibusFrame::command(command, &args)
    } else {
        MedibusFrame::response(command, &args)
    };
    frame.to_bytes().unwrap()
}

#[test]
fn measured_data_round_trips_for_generated_values() {
    let mut rng = TestRng::new(31);
    for round in 0..500 {
        let sent = random_measured(&mut rng);
        let out = frames(MedibusFramer::new().feed(&sent.to_frame().unwrap()));
        let got = MeasuredData::from_frame(&out[0]).unwrap();
        assert_eq!(got.items.len(), sent.items.len(), "round {round}");
        for (a, b) in got.items.iter().zip(&sent.items) {
            assert_eq!((a.code, a.number()), (b.code, b.number()), "round {round}");
            assert_eq!(a.value.trim_start(), b.value, "round {round}");
        }
        let counted = got.readings().len() + got.unmapped().len();
        let numbers = got.items.iter().filter(|i| i.number().is_some()).count();
        assert_eq!(counted, numbers, "round {round}");
    }
}

#[test]
fn random_garbage_and_splits_still_yield_every_frame() {
    let mut rng = TestRng::new(5);
    for round in 0..300 {
        let sent: Vec<Vec<u8>> = (0..5).map(|_| random_frame(&mut rng)).collect();
        let mut stream = rng.garbage(60);
        for frame in &sent {
            stream.extend_from_slice(frame);
            stream.extend(rng.garbage(60));
        }
        let mut framer = MedibusFramer::new();
        let mut found = Vec::new();
        for chunk in rng.chunks(&stream, 23) {
            found.extend(frames(framer.feed(chunk)));
        }
        let expected: Vec<MedibusFrame> = (sent.iter())
            .map(|f| frames(MedibusFramer::new().feed(f)).remove(0))
            .collect();
        assert_eq!(found, expected, "round {round}");
        // Pure noise through the whole chain must not panic.
        for frame in frames(MedibusFramer::new().feed(&rng.bytes(2000))) {
            let _ = MeasuredData::from_frame(&frame).map(|d| d.readings());
            let _ = MeasuredData::parse(&frame.data).map(|d| d.unmapped().len());
        }
    }
}
