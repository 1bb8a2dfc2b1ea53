//! Property tests across every framer: generated frames are encoded, fed in
//! random pieces (some with noise between them), and must come back exactly.
//! Each property runs a few hundred generated cases from a fixed seed, so a
//! failure names its round and replays the same way.

use super::test_rng::TestRng;
use super::{datex, hl7, intellivue, masimo, medibus, nonin};
use crate::{Metric, Validity};

const CASES: usize = 300;

/// Feeds `stream` in random pieces and keeps the good items.
fn feed_in_pieces<T, E>(
    rng: &mut TestRng,
    stream: &[u8],
    mut feed: impl FnMut(&[u8]) -> Vec<Result<T, E>>,
) -> Vec<T> {
    let mut found = Vec::new();
    for piece in rng.chunks(stream, 97) {
        found.extend(feed(piece).into_iter().filter_map(Result::ok));
    }
    found
}

#[test]
fn mllp_blocks_round_trip() {
    let mut rng = TestRng::new(7001);
    for round in 0..CASES {
        let bodies: Vec<Vec<u8>> = (0..1 + rng.below(5))
            .map(|_| {
                let body = rng.garbage(600);
                body.into_iter()
                    .filter(|b| ![hl7::mllp::START_BLOCK, hl7::mllp::END_BLOCK].contains(b))
                    .collect()
            })
            .collect();
        let stream: Vec<u8> = bodies.iter().flat_map(|b| hl7::mllp::encode(b)).collect();
        let mut framer = hl7::MllpFramer::new();
        let found = feed_in_pieces(&mut rng, &stream, |p| framer.feed(p));
        assert_eq!(found, bodies, "round {round}");
    }
}

/// Text with every HL7 delimiter, line ends and non-ASCII characters.
fn hl7_text(rng: &mut TestRng) -> String {
    const CHARS: &[char] = &[
        'a', 'Z', '0', '9', ' ', '.', '|', '^', '~', '\\', '&', '\r', '\n', 'é', 'ß', '→', '#',
    ];
    (0..rng.below(20))
        .map(|_| CHARS[rng.below(CHARS.len())])
        .collect()
}

/// (MDC code, reference id, metric, MDC unit) for the generated observations.
const OBSERVATIONS: &[(u32, &str, Metric, &str)] = &[
    (147_842, "MDC_ECG_HEART_RATE", Metric::HeartRate, "264864"),
    (150_456, "MDC_PULS_OXIM_SAT_O2", Metric::Spo2, "262688"),
    (151_562, "MDC_RESP_RATE", Metric::RespiratoryRate, "264928"),
    (
        150_021,
        "MDC_PRESS_BLD_NONINV_SYS",
        Metric::NibpSystolic,
        "266016",
    ),
    (150_364, "MDC_TEMP_BODY", Metric::BodyTemperature, "268192"),
];

#[test]
fn hl7_oru_messages_round_trip_with_escapes() {
    let mut rng = TestRng::new(7002);
    let d = hl7::Delimiters::default();
    for round in 0..CASES {
        let control_id = format!("C{}", rng.next_u64() % 1_000_000);
        let ward = hl7_text(&mut rng);
        let note = hl7_text(&mut rng);
        let mut text = format!(
            "MSH|^~\\&|MON^0012AB00FFFE0001^EUI-64||||||ORU^R01^ORU_R01|{control_id}|P|2.6\r\
             PV1||I|{}^301^3\rOBR|1|||x|||20240501103000+0000\r\
             OBX|1|ST|99001^Note^99VND||{}\r",
            d.escape(&ward),
            d.escape(&note)
        );
        let mut expected = Vec::new();
        for n in 0..rng.below(12) {
            let (code, id, metric, unit) = OBSERVATIONS[rng.below(OBSERVATIONS.len())];
            let cents = i64::try_from(rng.next_u64() % 100_000).unwrap_or(0) - 20_000;
            let value = cents as f64 / 100.0;
            let status = ["R", "F", "X"][rng.below(3)];
            text.push_str(&format!(
                "OBX|{}|NM|{code}^{id}^MDC|1.1.1.{n}|{value}|{unit}^^MDC|||||{status}\r",
                n + 2
            ));
            let validity = if status == "X" {
                Validity::Invalid
            } else {
                Validity::Valid
            };
            expected.push((metric, value, validity));
        }
        let block = hl7::mllp::encode(text.as_bytes());
        let mut framer = hl7::MllpFramer::new();
        let messages = feed_in_pieces(&mut rng, &block, |p| framer.feed(p));
        assert_eq!(messages.len(), 1, "round {round}");
        let oru = hl7::OruMessage::parse(&messages[0]).unwrap();
        assert_eq!(oru.header.control_id, control_id, "round {round}");
        let bed = oru
            .bed
            .clone()
            .unwrap_or_else(|| panic!("round {round}: PV1-3"));
        assert_eq!(bed.point_of_care.unwrap_or_default(), ward, "round {round}");
        let got: Vec<_> = oru
            .readings(None)
            .into_iter()
            .map(|p| (p.reading.metric, p.reading.value, p.reading.validity))
            .collect();
        assert_eq!(got, expected, "round {round}");
        match &oru.observations[0].value {
            hl7::ObservationValue::Text(raw) => {
                assert_eq!(d.unescape(raw).unwrap(), note, "round {round}");
            }
            hl7::ObservationValue::Empty => assert!(note.is_empty(), "round {round}"),
            other => panic!("round {round}: {other:?}"),
        }
    }
}

#[test]
fn datex_frames_round_trip_any_bytes() {
    let mut rng = TestRng::new(7003);
    for round in 0..CASES {
        let records: Vec<Vec<u8>> = (0..1 + rng.below(4))
            .map(|_| {
                // A record holds at least its 40-byte header; biased towards
                // the flag and escape bytes.
                (0..datex::HEADER_BYTES + rng.below(600))
                    .map(|_| match rng.below(4) {
                        0 => datex::FLAG,
                        1 => datex::ESCAPE,
                        _ => rng.byte(),
                    })
                    .collect()
            })
            .collect();
        let stream: Vec<u8> = records
            .iter()
            .flat_map(|r| datex::encode_frame(r))
            .collect();
        let mut framer = datex::DatexFramer::new();
        let found = feed_in_pieces(&mut rng, &stream, |p| framer.feed(p));
        assert_eq!(found, records, "round {round}");
    }
}

#[test]
fn intellivue_frames_round_trip_any_user_data() {
    let mut rng = TestRng::new(7004);
    for round in 0..CASES {
        let frames: Vec<Vec<u8>> = (0..1 + rng.below(4))
            .map(|_| {
                (0..rng.below(400))
                    .map(|_| match rng.below(5) {
                        0 => intellivue::BOF,
                        1 => intellivue::EOF,
                        2 => intellivue::ESC,
                        _ => rng.byte(),
                    })
                    .collect()
            })
            .collect();
        let stream: Vec<u8> = frames
            .iter()
            .flat_map(|f| intellivue::encode_frame(f).unwrap())
            .collect();
        let mut framer = intellivue::IntellivueFramer::new();
        let found = feed_in_pieces(&mut rng, &stream, |p| framer.feed(p));
        assert_eq!(found, frames, "round {round}");
    }
}

#[test]
fn medibus_frames_round_trip_any_slow_data() {
    let mut rng = TestRng::new(7005);
    let slow = |rng: &mut TestRng| loop {
        let b = rng.byte() & 0x7F;
        if ![0x1B, 0x01, 0x0D, 0x11, 0x13].contains(&b) {
            return b;
        }
    };
    for round in 0..CASES {
        let frames: Vec<medibus::MedibusFrame> = (0..1 + rng.below(4))
            .map(|_| medibus::MedibusFrame {
                kind: if rng.below(2) == 0 {
                    medibus::FrameKind::Command
                } else {
                    medibus::FrameKind::Response
                },
                command: slow(&mut rng),
                data: (0..rng.below(120)).map(|_| slow(&mut rng)).collect(),
            })
            .collect();
        let stream: Vec<u8> = frames.iter().flat_map(|f| f.to_bytes().unwrap()).collect();
        let mut framer = medibus::MedibusFramer::new();
        let found = feed_in_pieces(&mut rng, &stream, |p| framer.feed(p));
        assert_eq!(found, frames, "round {round}");
    }
}

#[test]
fn nonin_frames_round_trip_in_every_format() {
    let mut rng = TestRng::new(7006);
    let sum = |b: &[u8]| b.iter().fold(0u8, |s, &x| s.wrapping_add(x));
    for round in 0..CASES {
        for format in [
            nonin::DataFormat::Format2,
            nonin::DataFormat::Format7,
            nonin::DataFormat::Format8,
        ] {
            let mut stream = Vec::new();
            let mut expected = Vec::new();
            for _ in 0..1 + rng.below(30) {
                let (a, b, c) = (rng.byte() | 0x80, rng.byte(), rng.byte());
                let frame = match format {
                    nonin::DataFormat::Format2 => vec![0x01, a, b, c],
                    nonin::DataFormat::Format7 => vec![a, b, c, rng.byte()],
                    nonin::DataFormat::Format8 => vec![a, b & 0x7F, c & 0x7F, rng.byte() & 0x7F],
                };
                stream.extend_from_slice(&frame);
                if format != nonin::DataFormat::Format8 {
                    stream.push(sum(&frame));
                }
                expected.push(match format {
                    nonin::DataFormat::Format8 => nonin::Frame::Format8(nonin::Format8Frame {
                        status1: frame[0],
                        hr_low: frame[1],
                        spo2: frame[2],
                        status2: frame[3],
                    }),
                    _ => {
                        let (status, pleth) = if format == nonin::DataFormat::Format2 {
                            (frame[1], u16::from(frame[2]))
                        } else {
                            (frame[0], u16::from_be_bytes([frame[1], frame[2]]))
                        };
                        nonin::Frame::Serial(nonin::SerialFrame {
                            status: nonin::FrameStatus(status),
                            pleth,
                            float: frame[3],
                        })
                    }
                });
            }
            let mut framer = nonin::NoninFramer::new(format);
            let found = feed_in_pieces(&mut rng, &stream, |p| framer.feed(p));
            assert_eq!(found, expected, "round {round} {format:?}");
        }
    }
}

#[test]
fn masimo_lines_round_trip_their_values() {
    let mut rng = TestRng::new(7007);
    for round in 0..CASES {
        let spo2 = (rng.below(3) > 0).then(|| rng.below(101));
        let bpm = (rng.below(3) > 0).then(|| 25 + rng.below(216));
        let pi = (rng.below(3) > 0).then(|| rng.below(2001));
        let exc = rng.next_u64() & 0xFF_FFFF;
        let line = format!(
            "{:02}/{:02}/{:02} {:02}:{:02}:{:02} SN=0123456789 SPO2={}% BPM={} PI={}% EXC={exc:06X}",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(100),
            rng.below(24),
            rng.below(60),
            rng.below(60),
            spo2.map_or("---".to_owned(), |v| format!("{v:03}")),
            bpm.map_or("---".to_owned(), |v| format!("{v:03}")),
            pi.map_or("--.--".to_owned(), |v| format!("{:02}.{:02}", v / 100, v % 100)),
        );
        let stream = format!("{line}\r\n");
        let mut framer = masimo::LineFramer::new();
        let lines = feed_in_pieces(&mut rng, stream.as_bytes(), |p| framer.feed(p));
        assert_eq!(lines, [line.as_bytes()], "round {round}");
        let record = masimo::parse_line(&lines[0]).unwrap();
        let number = |n: Option<masimo::Numeric>| n.and_then(masimo::Numeric::value);
        let as_f64 = |v: Option<usize>| v.map(|v| v as f64);
        assert_eq!(number(record.spo2), as_f64(spo2), "round {round}");
        assert_eq!(number(record.pulse_rate), as_f64(bpm), "round {round}");
        let pi_found = number(record.perfusion_index).map(|v| (v * 100.0).round());
        assert_eq!(pi_found, as_f64(pi), "round {round}");
        assert_eq!(
            record.exceptions.map(|e| u64::from(e.0)),
            Some(exc),
            "round {round}"
        );
    }
}
