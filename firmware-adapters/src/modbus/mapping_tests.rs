use super::*;
use crate::modbus::status::StatusData;
use crate::profile::modbus::Table;
use crate::{Metric, Unit};

use Order::{Big, Little};

fn value(ty: DataType) -> ModbusValue {
    ModbusValue {
        table: Table::HoldingRegister,
        address: 0,
        data_type: Some(ty),
        length_registers: None,
        word_order: None,
        byte_order: None,
        scale: 1.0,
        offset: 0.0,
        metric: Some(Metric::AmbientTemperature),
        unit: None,
        status: None,
        bit: None,
        alarm_priority: None,
    }
}

fn ordered(ty: DataType, word_order: Order, byte_order: Order) -> ModbusValue {
    ModbusValue {
        word_order: Some(word_order),
        byte_order: Some(byte_order),
        ..value(ty)
    }
}

fn status(ty: DataType, bit: Option<u8>) -> ModbusValue {
    ModbusValue {
        metric: None,
        status: Some("s".into()),
        bit,
        ..value(ty)
    }
}

fn number(v: &ModbusValue, words: &[u16]) -> f64 {
    match decode(v, Slice::Registers(words)) {
        Ok(Decoded::Reading(r)) => r.value,
        Ok(Decoded::Status(StatusValue {
            value: StatusData::Number(n),
            ..
        })) => n,
        other => panic!("not a number: {other:?}"),
    }
}

fn flag(v: &ModbusValue, words: &[u16]) -> bool {
    match decode(v, Slice::Registers(words)) {
        Ok(Decoded::Status(StatusValue {
            value: StatusData::Flag(b),
            ..
        })) => b,
        other => panic!("not a flag: {other:?}"),
    }
}

#[test]
fn a_32_bit_value_decodes_in_all_four_byte_layouts() {
    let layouts = [
        (Big, Big, [0x1122, 0x3344]),
        (Little, Big, [0x3344, 0x1122]),
        (Big, Little, [0x2211, 0x4433]),
        (Little, Little, [0x4433, 0x2211]),
    ];
    for (wo, bo, words) in layouts {
        assert_eq!(
            number(&ordered(DataType::U32, wo, bo), &words),
            f64::from(0x1122_3344),
            "{wo:?} {bo:?}"
        );
        assert_eq!(
            encode_raw(DataType::U32, &Raw::Int(0x1122_3344), wo, bo, 2),
            words,
            "{wo:?} {bo:?}"
        );
    }
}

#[test]
fn f32_from_a_freezer_manual_decodes() {
    // Thermo Scientific lists thermocouple readings as float32: 41BB48E4 = 23.41.
    let v = number(&value(DataType::F32), &[0x41BB, 0x48E4]);
    assert!((v - 23.41).abs() < 1e-3, "{v}");
    let swapped = number(&ordered(DataType::F32, Little, Big), &[0x48E4, 0x41BB]);
    assert_eq!(swapped, v);
}

#[test]
fn signed_types_are_twos_complement() {
    assert_eq!(number(&value(DataType::I16), &[0xFF9C]), -100.0);
    assert_eq!(number(&value(DataType::U16), &[0xFF9C]), 65_436.0);
    assert_eq!(number(&value(DataType::I32), &[0xFFFF, 0xFFFE]), -2.0);
    assert_eq!(number(&value(DataType::I16), &[0x8000]), -32_768.0);
}

#[test]
fn scale_then_offset() {
    let v = ModbusValue {
        scale: 0.1,
        offset: -40.0,
        ..value(DataType::I16)
    };
    assert!((number(&v, &[250]) - -15.0).abs() < 1e-12);
    let tenths = ModbusValue {
        scale: 0.1,
        ..value(DataType::I16)
    };
    assert!((number(&tenths, &[0xFF9C]) - -10.0).abs() < 1e-12);
}

#[test]
fn f64_spans_four_registers_in_word_order() {
    let bits = 1234.5678f64.to_bits();
    let be = [
        (bits >> 48) as u16,
        (bits >> 32) as u16,
        (bits >> 16) as u16,
        bits as u16,
    ];
    assert_eq!(number(&value(DataType::F64), &be), 1234.5678);
    let mut le = be;
    le.reverse();
    assert_eq!(number(&ordered(DataType::F64, Little, Big), &le), 1234.5678);
}

#[test]
fn strings_end_at_nul_and_lose_trailing_spaces() {
    let v = ModbusValue {
        length_registers: Some(4),
        ..status(DataType::String, None)
    };
    let text = |words: &[u16], v: &ModbusValue| match decode(v, Slice::Registers(words)) {
        Ok(Decoded::Status(StatusValue {
            value: StatusData::Text(s),
            ..
        })) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(text(&[0x4142, 0x4320, 0x2020, 0x2020], &v), "ABC");
    assert_eq!(text(&[0x4142, 0x0043, 0x4444, 0x4444], &v), "AB");
    let swapped = ModbusValue {
        byte_order: Some(Little),
        ..v.clone()
    };
    assert_eq!(text(&[0x4241, 0x0043, 0, 0], &swapped), "ABC");
    assert_eq!(text(&[0x41FF, 0, 0, 0], &v), "A\u{FFFD}");
}

#[test]
fn status_bits_pick_one_bit_of_the_integer() {
    let door = status(DataType::U16, Some(0));
    let alarm = status(DataType::U16, Some(15));
    assert!(flag(&door, &[0x0001]) && !flag(&door, &[0xFFFE]));
    assert!(flag(&alarm, &[0x8000]));
    // Bit 17 of a u32 whose low word comes first.
    let relay = ModbusValue {
        word_order: Some(Little),
        ..status(DataType::U32, Some(17))
    };
    assert!(flag(&relay, &[0x0000, 0x0002]) && !flag(&relay, &[0x0002, 0x0000]));
    // A negative i16 keeps its bits.
    assert!(flag(&status(DataType::I16, Some(15)), &[0x8000]));
}

#[test]
fn coils_become_flags() {
    let coil = ModbusValue {
        table: Table::Coil,
        data_type: None,
        ..status(DataType::U16, None)
    };
    let got = decode(&coil, Slice::Bits(&[true, false]));
    assert!(
        matches!(
            got,
            Ok(Decoded::Status(StatusValue {
                value: StatusData::Flag(true),
                ..
            }))
        ),
        "{got:?}"
    );
}

#[test]
fn an_alarm_flag_carries_the_profile_priority() {
    use crate::modbus::status::AlarmPriority;
    let alarm = ModbusValue {
        alarm_priority: Some(AlarmPriority::Medium),
        ..status(DataType::U16, Some(2))
    };
    let got = decode(&alarm, Slice::Registers(&[0x0004]));
    assert!(
        matches!(
            got,
            Ok(Decoded::Status(StatusValue {
                value: StatusData::Flag(true),
                alarm: Some(AlarmPriority::Medium),
                ..
            }))
        ),
        "{got:?}"
    );
}

#[test]
fn short_or_empty_responses_are_errors_not_panics() {
    let short = DecodeError::Short {
        expected: 2,
        got: 1,
    };
    assert_eq!(
        decode(&value(DataType::F32), Slice::Registers(&[0x41BB])),
        Err(short)
    );
    assert!(decode(&value(DataType::F64), Slice::Registers(&[])).is_err());
    let text = ModbusValue {
        length_registers: Some(3),
        ..status(DataType::String, None)
    };
    assert!(decode(&text, Slice::Registers(&[0x4142])).is_err());
    let coil = ModbusValue {
        table: Table::Coil,
        data_type: None,
        ..status(DataType::U16, None)
    };
    assert!(decode(&coil, Slice::Bits(&[])).is_err());
    assert!(decode_raw(DataType::U32, &[], Big, Big).is_err());
}

#[test]
fn nan_and_infinity_are_refused() {
    let nan = decode(&value(DataType::F32), Slice::Registers(&[0x7FC0, 0x0000]));
    assert!(matches!(nan, Err(DecodeError::NotFinite { .. })), "{nan:?}");
    let inf = decode(&value(DataType::F32), Slice::Registers(&[0x7F80, 0x0000]));
    assert!(matches!(inf, Err(DecodeError::NotFinite { .. })), "{inf:?}");
}

#[test]
fn the_reading_carries_the_metric_and_the_profile_unit() {
    let v = ModbusValue {
        unit: Some(Unit::Fahrenheit),
        ..value(DataType::I16)
    };
    let Ok(Decoded::Reading(r)) = decode(&v, Slice::Registers(&[72])) else {
        panic!()
    };
    assert_eq!(
        (r.metric, r.value, r.unit, r.device_time),
        (Metric::AmbientTemperature, 72.0, Unit::Fahrenheit, None)
    );
    let gas = ModbusValue {
        unit: Some(Unit::KiloPascal),
        scale: 0.1,
        ..status(DataType::U16, None)
    };
    let Ok(Decoded::Status(s)) = decode(&gas, Slice::Registers(&[4000])) else {
        panic!()
    };
    assert_eq!(
        (s.unit, s.value),
        (Some(Unit::KiloPascal), StatusData::Number(400.0))
    );
}

#[test]
fn bytes_and_words_round_trip_in_every_order() {
    let words = [0x0102, 0x0304, 0x0506, 0x0708];
    for wo in [Big, Little] {
        for bo in [Big, Little] {
            assert_eq!(from_bytes(&to_bytes(&words, wo, bo), wo, bo), words);
        }
    }
    assert_eq!(to_bytes(&words[..2], Little, Little), [4, 3, 2, 1]);
    assert_eq!(from_bytes(&[0xAB], Big, Big), [0xAB00]);
}

/// A deterministic spread of numbers (xorshift), scaled to `[lo, hi]`.
fn spread(lo: f64, hi: f64) -> Vec<f64> {
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    let mut out = vec![lo, hi, (lo + hi) / 2.0];
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(lo + (hi - lo) * ((x >> 11) as f64 / (1u64 << 53) as f64));
    }
    out
}

#[test]
fn encoding_then_decoding_gives_the_value_back_for_every_type_and_order() {
    let types = [
        (DataType::U16, 0.0, 65_535.0),
        (DataType::I16, -32_768.0, 32_767.0),
        (DataType::U32, 0.0, 4_294_967_295.0),
        (DataType::I32, -2_147_483_648.0, 2_147_483_647.0),
        (DataType::F32, -1e6, 1e6),
        (DataType::F64, -1e12, 1e12),
    ];
    for (ty, lo, hi) in types {
        for (scale, offset) in [(1.0, 0.0), (0.1, -40.0), (0.01, 0.0)] {
            for wo in [Big, Little] {
                for bo in [Big, Little] {
                    let v = ModbusValue {
                        scale,
                        offset,
                        word_order: (ty.registers() > Some(1)).then_some(wo),
                        byte_order: Some(bo),
                        ..value(ty)
                    };
                    for raw in spread(lo, hi) {
                        // Integer registers hold whole raw numbers.
                        let raw = if ty.is_integer() { raw.round() } else { raw };
                        let x = raw * scale + offset;
                        let back = number(&v, &encode_number(&v, x));
                        let tolerance = match ty {
                            DataType::F32 => raw.abs() * scale * 2e-7 + 1e-9,
                            DataType::F64 => (raw.abs() * scale + x.abs()) * 1e-14,
                            _ => (x.abs() + 1.0) * 1e-12,
                        };
                        assert!(
                            (back - x).abs() <= tolerance,
                            "{ty:?} {wo:?} {bo:?} {scale} {offset}: {x} -> {back}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn encoding_saturates_at_the_type_limits() {
    let v = value(DataType::I16);
    assert_eq!(number(&v, &encode_number(&v, 1e9)), 32_767.0);
    assert_eq!(number(&v, &encode_number(&v, -1e9)), -32_768.0);
    let u = value(DataType::U16);
    assert_eq!(number(&u, &encode_number(&u, -5.0)), 0.0);
}

#[test]
fn strings_round_trip_and_are_cut_to_their_length() {
    let v = ModbusValue {
        length_registers: Some(3),
        ..status(DataType::String, None)
    };
    for bo in [Big, Little] {
        let v = ModbusValue {
            byte_order: Some(bo),
            ..v.clone()
        };
        let words = encode_raw(DataType::String, &Raw::Text("HS-0042".into()), Big, bo, 3);
        assert_eq!(words.len(), 3);
        assert_eq!(
            decode_raw(DataType::String, &words, Big, bo),
            Ok(Raw::Text("HS-004".into()))
        );
        let Ok(Decoded::Status(s)) = decode(&v, Slice::Registers(&words)) else {
            panic!()
        };
        assert_eq!(s.value, StatusData::Text("HS-004".into()));
    }
}

#[test]
fn setting_a_bit_keeps_the_others() {
    let v = ModbusValue {
        word_order: Some(Little),
        ..status(DataType::U32, Some(17))
    };
    let set = with_bit(&v, &[0x0001, 0x0000], 17, true);
    assert_eq!(set, [0x0001, 0x0002]);
    assert_eq!(with_bit(&v, &set, 0, false), [0x0000, 0x0002]);
    assert!(flag(&v, &set));
}
