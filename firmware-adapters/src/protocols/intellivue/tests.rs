//! IntelliVue codec tests: the devices.md vectors, CRC values cross-checked with
//! an independent implementation, round trips and noisy, chunked streams.

use super::frame::fcs_register;
use super::*;
use crate::protocols::test_rng::TestRng;
use crate::{Metric, Unit, Validity};

/// devices.md §2.8 #2: the single numerics poll in a MIB frame.
const POLL_FRAME: [u8; 44] = [
    0xC0, 0x11, 0x01, 0x00, 0x24, 0xE1, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x1C, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x16, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x16, 0x00,
    0x08, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x8E, 0x95, 0xC1,
];

/// devices.md §2.2: NuObsValue of HR 72 bpm, valid.
const HR_72: [u8; 10] = [0x41, 0x82, 0x00, 0x00, 0x0A, 0xA0, 0x00, 0x00, 0x00, 0x48];

fn nu(physio_id: u16, state: u16, unit_code: u16, value: Float) -> NumericValue {
    NumericValue {
        physio_id,
        state: MeasurementState(state),
        unit_code,
        value,
    }
}

fn list(attributes: &[(u16, &[u8])]) -> Vec<u8> {
    let attributes: Vec<Attribute<'_>> = attributes
        .iter()
        .map(|&(id, value)| Attribute { id, value })
        .collect();
    encode_attribute_list(&attributes).unwrap()
}

#[test]
fn fcs_matches_crccheck_x25() {
    // Expected values from PyPI crccheck 1.3.1:
    //   python3 -c "from crccheck.crc import CrcX25; print(hex(CrcX25.calc(b)))"
    // with b = b"123456789"; the header + body of POLL_FRAME; the headers
    // 11 01 00 01 plus one byte 2B / 88; 11 01 00 03 C0 C1 7D; 11 01 00 00.
    assert_eq!(fcs(b"123456789"), 0x906E);
    assert_eq!(fcs(&POLL_FRAME[1..41]), 0x958E);
    assert_eq!(fcs(&[0x11, 0x01, 0x00, 0x01, 0x2B]), 0xEAC1);
    assert_eq!(fcs(&[0x11, 0x01, 0x00, 0x01, 0x88]), 0x7D50);
    assert_eq!(fcs(&[0x11, 0x01, 0x00, 0x03, 0xC0, 0xC1, 0x7D]), 0xF600);
    assert_eq!(fcs(&[0x11, 0x01, 0x00, 0x00]), 0x7918);
    // devices.md §2.8 #1: the register run over data + FCS (LSB first) leaves
    // the good residue 0xF0B8.
    let mut with_fcs = b"123456789".to_vec();
    with_fcs.extend(fcs(b"123456789").to_le_bytes());
    assert_eq!(fcs_register(0xFFFF, &with_fcs), 0xF0B8);
}

#[test]
fn fcs_bytes_needing_escape_are_escaped_and_read_back() {
    // crccheck: FCS 0xEAC1 goes LSB first as C1 EA, so C1 is escaped.
    let frame = encode_frame(&[0x2B]).unwrap();
    assert_eq!(
        frame,
        [0xC0, 0x11, 0x01, 0x00, 0x01, 0x2B, 0x7D, 0xE1, 0xEA, 0xC1]
    );
    let frame88 = encode_frame(&[0x88]).unwrap();
    assert_eq!(&frame88[6..9], &[0x50, 0x7D, 0x5D]);
    let mut framer = IntellivueFramer::new();
    let out = framer.feed(&[frame, frame88].concat());
    assert_eq!(out, vec![Ok(vec![0x2B]), Ok(vec![0x88])]);
}

#[test]
fn single_poll_request_matches_the_published_frame() {
    let body = PollRequest::numerics(2, 0, 1).encode().unwrap();
    assert_eq!(body.len(), 36);
    assert_eq!(encode_frame(&body).unwrap(), POLL_FRAME);
    let out = IntellivueFramer::new().feed(&POLL_FRAME);
    assert_eq!(out, vec![Ok(body.clone())]);
    let Ok(Message::Data(msg)) = decode_message(&body) else {
        panic!("not a data message");
    };
    assert_eq!(msg.context_id, 2);
    let Apdu::Invoke(op) = msg.apdu else {
        panic!("{msg:?}");
    };
    assert_eq!(
        (op.invoke_id, op.command_type),
        (0, CommandType::ConfirmedAction)
    );
    assert_eq!(&op.body[10..12], &ACTION_POLL.to_be_bytes());
}

#[test]
fn bad_fcs_is_reported_and_the_next_frame_survives() {
    let mut bytes = POLL_FRAME.to_vec();
    bytes[20] ^= 0x01;
    bytes.extend_from_slice(&POLL_FRAME);
    let out = IntellivueFramer::new().feed(&bytes);
    assert!(matches!(
        out[0],
        Err(IntellivueError::Fcs { found: 0x958E, .. })
    ));
    assert_eq!(out.len(), 2);
    assert!(out[1].is_ok());
}

#[test]
fn extended_poll_carries_the_duration_attribute() {
    // devices.md §2.2: 600 s = 4 800 000 ticks = 0x00493E00.
    let duration = RelativeTime::from_duration(std::time::Duration::from_secs(600));
    assert_eq!(duration, Some(RelativeTime(0x0049_3E00)));
    let request = ExtendedPollRequest {
        poll: PollRequest::numerics(2, 7, 3),
        duration,
    };
    let body = request.encode().unwrap();
    let msg = DataMessage::decode(&body).unwrap();
    let op = msg.operation().unwrap();
    assert_eq!(op.invoke_id, 7);
    let (head, args) = op.body.split_at(14);
    assert_eq!(&head[10..12], &ACTION_POLL_EXT.to_be_bytes());
    assert_eq!(
        &head[12..14],
        &u16::try_from(args.len()).unwrap().to_be_bytes()
    );
    assert_eq!(&args[..8], &[0, 3, 0, 1, 0, 6, 0, 0]);
    let (attributes, used) = parse_attribute_list(&args[8..]).unwrap();
    assert_eq!(used, args.len() - 8);
    let expected = Attribute {
        id: ATTR_POLL_DURATION,
        value: &[0x00, 0x49, 0x3E, 0x00],
    };
    assert_eq!(attributes, vec![expected]);
}

#[test]
fn mds_create_result_and_keep_alive_echo_context_and_invoke_id() {
    let body = [0xAB; 5];
    let bytes = mds_create_result(2, 0x1234, &body).unwrap();
    assert_eq!(keep_alive(2, 0x1234, &body).unwrap(), bytes);
    assert_eq!(&bytes[..4], &[0xE1, 0x00, 0x00, 0x02]);
    // RORS: ro_type 2, length 6 + 5; invoke id, confirmed event report, 5.
    assert_eq!(&bytes[4..14], &[0, 2, 0, 11, 0x12, 0x34, 0, 1, 0, 5]);
    assert_eq!(&bytes[14..], &body);
}

#[test]
fn session_pdu_length_switches_to_three_bytes_at_255() {
    // devices.md §2.2: VSCapture's association requests are 238 = 2 + 0xEC
    // and 300 = 4 + 0x128 bytes.
    let short = association_request(&[0x55; 0xEC]).unwrap();
    assert_eq!((short.len(), &short[..2]), (238, &[0x0D, 0xEC][..]));
    let long = association_request(&[0x55; 0x128]).unwrap();
    assert_eq!(
        (long.len(), &long[..4]),
        (300, &[0x0D, 0xFF, 0x01, 0x28][..])
    );
    for len in [0, 1, 254, 255, 256, 0xFFFF] {
        let body = vec![0x0E; len];
        let bytes = encode_session_pdu(SessionPduKind::Abort, &body).unwrap();
        let expected = SessionPdu {
            kind: SessionPduKind::Abort,
            body: &body,
        };
        assert_eq!(
            decode_message(&bytes),
            Ok(Message::Session(expected)),
            "{len}"
        );
    }
    let too_long = encode_session_pdu(SessionPduKind::Abort, &vec![0; 0x1_0000]);
    assert!(matches!(too_long, Err(IntellivueError::TooLong { .. })));
    assert_eq!(
        decode_message(&[0x42, 0x00]),
        Err(IntellivueError::UnknownSessionPdu { kind: 0x42 })
    );
}

#[test]
fn data_messages_round_trip_over_generated_values() {
    let mut rng = TestRng::new(11);
    for round in 0..500 {
        let body = rng.garbage(60);
        let n = |rng: &mut TestRng| u16::from_be_bytes([rng.byte(), rng.byte()]);
        let op = Operation {
            invoke_id: n(&mut rng),
            command_type: CommandType::from(n(&mut rng) % 10),
            body: &body,
        };
        let linked = Linked {
            state: [LinkState::First, LinkState::Middle, LinkState::Last][rng.below(3)],
            count: rng.byte(),
        };
        let apdu = match rng.below(4) {
            0 => Apdu::Invoke(op),
            1 => Apdu::Result(op),
            2 => Apdu::LinkedResult(linked, op),
            _ => Apdu::Error(&body),
        };
        let msg = DataMessage {
            context_id: n(&mut rng),
            apdu,
        };
        let bytes = msg.encode().unwrap();
        assert_eq!(DataMessage::decode(&bytes), Ok(msg), "round {round}");
        let framed = encode_frame(&bytes).unwrap();
        let out = IntellivueFramer::new().feed(&framed);
        assert_eq!(out, vec![Ok(bytes.clone())]);
        // Any cut is an error, never a panic.
        let cut = rng.below(bytes.len());
        assert!(DataMessage::decode(&bytes[..cut]).is_err());
    }
}

#[test]
fn float_vectors_decode() {
    // devices.md §2.2 / §2.8 #9.
    let cases = [
        ([0x00, 0x00, 0x00, 0x48], 72.0, 0),
        ([0xFF, 0x00, 0x03, 0xD4], 98.0, 1),
        ([0xFE, 0x00, 0x0E, 0x6F], 36.95, 2),
    ];
    for (bytes, value, decimals) in cases {
        let float = Float::from_be_bytes(bytes);
        assert_eq!(float.value(), FloatValue::Number(value), "{bytes:02X?}");
        assert_eq!(Float::from_decimal(value, decimals), Some(float));
    }
    assert_eq!(Float(0xFF80_0000).value(), FloatValue::Number(-838_860.8));
}

#[test]
fn float_special_values_are_no_numbers() {
    let cases = [
        (0x007F_FFFF, FloatValue::NaN),
        (0x0080_0000, FloatValue::NRes),
        (0x007F_FFFE, FloatValue::PositiveInfinity),
        (0x0080_0002, FloatValue::NegativeInfinity),
        (0x0080_0001, FloatValue::Reserved),
    ];
    for (raw, special) in cases {
        assert_eq!(Float(raw).value(), special);
        assert_eq!(special.number(), None);
        let float = Float(raw);
        assert_eq!(Float::new(float.mantissa(), 0), None, "{raw:#010x}");
    }
    // The same mantissas under another exponent are ordinary numbers.
    assert_eq!(Float(0x017F_FFFF).value(), FloatValue::Number(83_886_070.0));
    assert_eq!(Float::new(0x80_0000, 0), None);
    assert_eq!(Float::from_decimal(f64::NAN, 1), None);
    assert_eq!(Float::from_decimal(1e9, 0), None);
}

#[test]
fn float_round_trips_over_generated_values() {
    let mut rng = TestRng::new(3);
    for _ in 0..5000 {
        let mantissa = i32::try_from(rng.below(1 << 24)).unwrap() - (1 << 23);
        let exponent = i8::from_be_bytes([rng.byte()]);
        let Some(float) = Float::new(mantissa, exponent) else {
            assert_eq!(exponent, 0, "only specials are refused: {mantissa}");
            continue;
        };
        let back = Float::from_be_bytes(float.to_be_bytes());
        assert_eq!((back.mantissa(), back.exponent()), (mantissa, exponent));
        let FloatValue::Number(value) = back.value() else {
            panic!("{float:?} is special");
        };
        let expected = f64::from(mantissa) * 10f64.powi(i32::from(exponent));
        assert!(
            (value - expected).abs() <= expected.abs() * 1e-12,
            "{float:?}"
        );
        // Clinical ranges: a few decimals survive decimal encoding exactly.
        let decimals = u8::try_from(rng.below(4)).unwrap();
        let small = f64::from(mantissa % 100_000) / 10f64.powi(i32::from(decimals));
        let encoded = Float::from_decimal(small, decimals).unwrap();
        assert_eq!(encoded.value(), FloatValue::Number(small));
    }
}

#[test]
fn heart_rate_example_gives_a_valid_reading() {
    let value = NumericValue::from_bytes(&HR_72).unwrap();
    assert_eq!(value.to_bytes(), HR_72);
    assert_eq!(value.mdc_code(), Metric::HeartRate.info().mdc_code);
    assert_eq!(value.unit_mdc_code(), 264_864);
    let obs = NumericObservation::decode(&list(&[(ATTR_NU_VAL_OBS, &HR_72)])).unwrap();
    let readings = obs.readings();
    assert_eq!(readings.len(), 1);
    let r = &readings[0];
    assert_eq!(
        (r.metric, r.value, r.unit),
        (Metric::HeartRate, 72.0, Unit::PerMinute)
    );
    assert_eq!((r.validity, r.device_time), (Validity::Valid, None));
}

#[test]
fn nibp_compound_gives_three_readings_with_their_own_states() {
    let members = [
        nu(0x4A05, 0, 0x0F20, Float::from_decimal(120.0, 0).unwrap()),
        nu(
            0x4A06,
            0x4000,
            0x0F20,
            Float::from_decimal(80.0, 0).unwrap(),
        ),
        nu(0x4A07, 0, 0x0F20, Float::NAN),
    ];
    let compound = encode_compound(&members).unwrap();
    assert_eq!(&compound[..4], &[0, 3, 0, 30]);
    let rel = 0x0001_0000u32.to_be_bytes();
    let bytes = list(&[
        (ATTR_NU_CMPD_VAL_OBS, &compound),
        (ATTR_TIME_STAMP_REL, &rel),
    ]);
    let obs = NumericObservation::decode(&bytes).unwrap();
    assert_eq!(obs.compounds, vec![members.to_vec()]);
    assert_eq!(obs.relative_time, Some(RelativeTime(0x1_0000)));
    let got: Vec<_> = obs
        .readings()
        .iter()
        .map(|r| (r.metric, r.value, r.validity))
        .collect();
    assert_eq!(
        got,
        vec![
            (Metric::NibpSystolic, 120.0, Validity::Valid),
            (Metric::NibpDiastolic, 80.0, Validity::Questionable),
        ]
    );
    assert!(
        obs.unmapped().is_empty(),
        "NaN mean is no value, not unknown"
    );
}

#[test]
fn measurement_state_bits_map_to_validity() {
    let cases = [
        (0x0000, Validity::Valid),
        (MeasurementState::VALIDATED, Validity::Valid),
        (MeasurementState::EARLY_INDICATION, Validity::Valid),
        (MeasurementState::MEASUREMENT_ONGOING, Validity::Valid),
        (
            MeasurementState::IN_ALARM | MeasurementState::ALARM_INHIBITED,
            Validity::Valid,
        ),
        (MeasurementState::QUESTIONABLE, Validity::Questionable),
        (
            MeasurementState::CALIBRATION_ONGOING,
            Validity::Questionable,
        ),
        (0x0200, Validity::Questionable),
        (0x0100, Validity::Questionable),
        (MeasurementState::INVALID, Validity::Invalid),
        (MeasurementState::UNAVAILABLE, Validity::Invalid),
        (MeasurementState::TEST_DATA, Validity::Invalid),
        (MeasurementState::DEMO_DATA, Validity::Invalid),
        (
            MeasurementState::INVALID | MeasurementState::QUESTIONABLE,
            Validity::Invalid,
        ),
    ];
    for (bits, validity) in cases {
        assert_eq!(MeasurementState(bits).validity(), validity, "{bits:#06x}");
    }
}

#[test]
fn unknown_ids_units_and_attributes_are_kept_raw() {
    let unknown_id = nu(0x4B48, 0, 0x17A0, Float::from_decimal(37.2, 1).unwrap());
    let unknown_unit = nu(0x4BB8, 0, 0x0200, Float::from_decimal(97.0, 0).unwrap());
    let label = [0x00, 0x02, 0x4B, 0xB8];
    let bytes = list(&[
        (ATTR_NU_VAL_OBS, &unknown_id.to_bytes()),
        (0x7777, &[1, 2, 3]),
        (ATTR_ID_LABEL, &label),
        (ATTR_NU_VAL_OBS, &unknown_unit.to_bytes()),
        (ATTR_NU_VAL_OBS, &[0x41, 0x82]),
    ]);
    let obs = NumericObservation::decode(&bytes).unwrap();
    assert!(obs.readings().is_empty());
    let unmapped = obs.unmapped();
    assert_eq!(unmapped.len(), 2);
    assert_eq!(unmapped[0].reason, Unmapped::UnknownPhysioId);
    assert_eq!(unmapped[0].value.mdc_code(), 150_344);
    assert_eq!(unmapped[1].reason, Unmapped::UnknownUnit);
    let ids: Vec<u16> = obs.other.iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![0x7777, ATTR_ID_LABEL, ATTR_NU_VAL_OBS]);
    assert_eq!(obs.other[1].value, label);
    assert_eq!(obs.problems.len(), 1, "the 2-byte NU_VAL_OBS");
}

#[test]
fn broken_attribute_lists_are_errors() {
    let good = list(&[(ATTR_NU_VAL_OBS, &HR_72)]);
    for cut in 0..good.len() {
        assert!(NumericObservation::decode(&good[..cut]).is_err(), "{cut}");
    }
    let mut wrong_count = good.clone();
    wrong_count[1] = 2;
    assert_eq!(
        NumericObservation::decode(&wrong_count),
        Err(IntellivueError::BadCount {
            item: "attribute list",
            declared: 2,
            found: 1
        })
    );
    let mut trailing = good;
    trailing.push(0);
    assert!(NumericObservation::decode(&trailing).is_err());
    let bad_time = list(&[(ATTR_TIME_STAMP_ABS, &[0x20, 0x2A, 1, 1, 0, 0, 0, 0])]);
    let obs = NumericObservation::decode(&bad_time).unwrap();
    assert_eq!(obs.problems, vec![IntellivueError::BadBcd { byte: 0x2A }]);
}

#[test]
fn absolute_time_decodes_bcd() {
    let bytes = list(&[(
        ATTR_TIME_STAMP_ABS,
        &[0x20, 0x24, 0x09, 0x13, 0x17, 0x45, 0x30, 0x50],
    )]);
    let time = NumericObservation::decode(&bytes)
        .unwrap()
        .absolute_time
        .unwrap();
    assert_eq!(
        (time.century, time.year, time.month, time.day),
        (20, 24, 9, 13)
    );
    assert_eq!(
        (time.hour, time.minute, time.second, time.fraction),
        (17, 45, 30, 50)
    );
}

#[test]
fn garbage_and_random_splits_keep_every_valid_frame() {
    let mut rng = TestRng::new(2024);
    for round in 0..300 {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for _ in 0..5 {
            // Data rich in C0, C1 and 7D so that escaping is exercised.
            let data: Vec<u8> = (0..rng.below(80))
                .map(|_| [0xC0, 0xC1, 0x7D, rng.byte()][rng.below(4)])
                .collect();
            stream.extend(rng.garbage(50));
            stream.extend(encode_frame(&data).unwrap());
            expected.push(data);
        }
        stream.extend(rng.garbage(20));
        let mut framer = IntellivueFramer::new();
        let mut found = Vec::new();
        for chunk in rng.chunks(&stream, 23) {
            found.extend(framer.feed(chunk).into_iter().filter_map(Result::ok));
        }
        assert_eq!(found, expected, "round {round}");
    }
}

#[test]
fn random_noise_never_panics_any_decoder() {
    let mut rng = TestRng::new(99);
    for _ in 0..2000 {
        let noise = rng.garbage(120);
        for data in IntellivueFramer::with_limit(64)
            .feed(&noise)
            .into_iter()
            .flatten()
        {
            let _ = decode_message(&data);
        }
        let _ = decode_message(&noise);
        let _ = NumericObservation::decode(&noise).map(|o| (o.readings(), o.unmapped()));
        let _ = decode_compound(&noise);
        let _ = parse_attribute_list(&noise);
    }
}
