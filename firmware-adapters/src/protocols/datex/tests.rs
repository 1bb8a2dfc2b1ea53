//! Datex DRI tests: the devices.md vectors, a golden PHDB frame built outside
//! Rust, framer edge cases, and property-style round trips with noise.

use super::frame::escape_into;
use super::layout::{field_offsets, group_spans};
use super::*;
use crate::protocols::test_rng::TestRng;
use crate::{Metric, Unit, Validity};

/// devices.md 2.8 #3: the displayed-values request, 5 s, all classes, level
/// 0x0B. Its checksum 4F (and 3C for the stop request) was recomputed with PyPI
/// `crccheck` 1.3.1: `Checksum8.calc(record)` over the 49 record bytes.
const PHDB_REQUEST: &str = "7E 3100000B 0000000000000000000000000000000000 FF \
    000000000000000000000000000000000000 010500 0E000000 0000 4F 7E";

/// A PHDB record (r_nbr 7D, level 0B, r_time 1 700 000 000, one subrecord of
/// sr_type 1) holding one basic-class subrecord, framed. Built by a separate
/// Python script from the devices.md 2.1 layout with `struct.pack`, checksum by
/// `crccheck` 1.3.1 `Checksum8` (7D, so it is escaped too), escapes by hand.
/// Groups: ECG hr 72, imp_rr 16; P1 ART 120.30/80.10/93.42 (0x247E), hr 72;
/// P2 CVP mean 8.00; NIBP exists but inactive 118/76/90, hr "not updated";
/// T1 37.05; T2 under range; SpO2 97.00, pr 72, ir_amp 0x0A0B; CO2 et 5.00 %,
/// fi 0, rr 14, amb 760.0 mmHg; O2 et 42.00, fi 50.00; the rest "no data".
const GOLDEN: &str = "\
    7E3E017D5D0B000000F153650000000000000000010000FF0000000000000000\
    0000000000000000000000F15365030000000000480001800180018010000300\
    00000100FE2E4A1F7D5E24480003000000020001800180200301800000000000\
    0001800180018001800000000000000180018001800180010000000000182EB0\
    1D28230280030000000000790E01000000000004800000000000000180000000\
    0000000180030000000000E42548000B0A0180030000000000F40100000E00B0\
    1D01000000000068108813000000000000018001800000000000000180018001\
    8000000000000001800180018001800180018001800180000000000000000000\
    0000000000000000000000000000000000000000000000000000000000000000\
    0000000000000000000000000000000000000000000000000000000000000000\
    007D5D7E";

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn records(out: Vec<Result<Vec<u8>, DatexError>>) -> Vec<Vec<u8>> {
    out.into_iter().filter_map(Result::ok).collect()
}

/// The golden frame's content, set through the public builder.
fn golden_values() -> BasicValues {
    let mut v = BasicValues::default();
    let sets: &[(Group, &str, i16)] = &[
        (Group::Ecg, "hr", 72),
        (Group::Ecg, "imp_rr", 16),
        (Group::Invasive(1), "sys", 12030),
        (Group::Invasive(1), "dia", 8010),
        (Group::Invasive(1), "mean", 9342),
        (Group::Invasive(1), "hr", 72),
        (Group::Invasive(2), "mean", 800),
        (Group::Nibp, "sys", 11800),
        (Group::Nibp, "dia", 7600),
        (Group::Nibp, "mean", 9000),
        (Group::Nibp, "hr", -32766),
        (Group::Temperature(1), "temp", 3705),
        (Group::Temperature(2), "temp", -32764),
        (Group::Spo2, "spo2", 9700),
        (Group::Spo2, "pr", 72),
        (Group::Spo2, "ir_amp", 0x0A0B),
        (Group::Co2, "et", 500),
        (Group::Co2, "fi", 0),
        (Group::Co2, "rr", 14),
        (Group::Co2, "amb_press", 7600),
        (Group::O2, "et", 4200),
        (Group::O2, "fi", 5000),
    ];
    for &(group, name, raw) in sets {
        assert!(v.set(group, name, raw), "{group:?} {name}");
    }
    for (group, status, label) in [
        (Group::Ecg, 3, 0),
        (Group::Invasive(1), 3, 1),
        (Group::Invasive(2), 3, 2),
        (Group::Nibp, 1, 0),
        (Group::Temperature(1), 3, 0),
        (Group::Temperature(2), 1, 0),
        (Group::Spo2, 3, 0),
        (Group::Co2, 3, 0),
        (Group::O2, 1, 0),
    ] {
        assert!(v.set_group(group, status, label));
    }
    v
}

fn phdb_record(number: u8, time: u32, subs: &[BasicValues]) -> DriRecord {
    DriRecord {
        header: DriHeader {
            record_number: number,
            dri_level: 0x0B,
            plug_id: 0,
            time,
            main_type: MainType::Phdb,
        },
        subrecords: (subs.iter())
            .map(|v| Subrecord {
                sr_type: 1,
                data: v.to_bytes(time),
            })
            .collect(),
    }
}

#[test]
fn displayed_values_request_matches_the_devices_md_vector() {
    let frame = PhdbRequest::displayed(5).to_frame(0x0B);
    assert_eq!(frame, hex(PHDB_REQUEST));
    assert_eq!(frame.len(), 52);
    let stop = PhdbRequest::stop().to_frame(0x0B);
    assert_eq!(stop[stop.len() - 2], 0x3C);
    let out = DatexFramer::new().feed(&frame);
    let record = DriRecord::parse(&records(out)[0]).unwrap();
    assert_eq!(record.subrecords[0].data.len(), 9);
    assert_eq!(PhdbRequest::parse(&record), Ok(PhdbRequest::displayed(5)));
}

#[test]
fn escaping_matches_the_devices_md_vector() {
    let mut out = Vec::new();
    for byte in [0x7E, 0x7D, 0x41] {
        escape_into(byte, &mut out);
    }
    assert_eq!(out, [0x7D, 0x5E, 0x7D, 0x5D, 0x41]);
}

#[test]
fn golden_frame_encodes_byte_for_byte() {
    let record = phdb_record(0x7D, 1_700_000_000, &[golden_values()]);
    assert_eq!(record.to_frame().unwrap(), hex(GOLDEN));
}

#[test]
fn golden_frame_decodes_to_readings_and_raw_values() {
    let out = DatexFramer::new().feed(&hex(GOLDEN));
    let record = DriRecord::parse(&records(out)[0]).unwrap();
    assert_eq!(
        (record.header.record_number, record.header.time),
        (0x7D, 1_700_000_000)
    );
    let subs = record.physiological().unwrap();
    assert_eq!((subs.len(), subs[0].class()), (1, PhdbClass::Basic));
    let values = subs[0].basic().unwrap();
    assert_eq!(values, golden_values());
    let got: Vec<_> = (values.readings().iter())
        .map(|r| {
            (
                r.metric,
                (r.value * 100.0).round() / 100.0,
                r.unit,
                r.validity,
            )
        })
        .collect();
    let v = Validity::Valid;
    let expected = vec![
        (Metric::HeartRate, 72.0, Unit::PerMinute, v),
        (Metric::RespiratoryRate, 16.0, Unit::PerMinute, v),
        (Metric::ArterialSystolic, 120.3, Unit::MmHg, v),
        (Metric::ArterialDiastolic, 80.1, Unit::MmHg, v),
        (Metric::ArterialMean, 93.42, Unit::MmHg, v),
        (Metric::NibpSystolic, 118.0, Unit::MmHg, v),
        (Metric::NibpDiastolic, 76.0, Unit::MmHg, v),
        (Metric::NibpMean, 90.0, Unit::MmHg, v),
        (Metric::Spo2, 97.0, Unit::Percent, v),
        (Metric::PulseRate, 72.0, Unit::PerMinute, v),
        (Metric::EtCo2, 38.0, Unit::MmHg, v),
        (Metric::RespiratoryRate, 14.0, Unit::PerMinute, v),
    ];
    assert_eq!(got, expected);
    let unmapped: Vec<_> = (values.unmapped().iter())
        .map(|f| (f.group, f.name, f.physical()))
        .collect();
    assert_eq!(
        unmapped,
        vec![
            (Group::Invasive(1), "hr", None),
            (Group::Invasive(2), "mean", Some(8.0)),
            (Group::Temperature(1), "temp", Some(37.05)),
            (Group::Spo2, "ir_amp", None),
            (Group::Co2, "fi", Some(0.0)),
            (Group::Co2, "amb_press", Some(760.0)),
            (Group::O2, "et", Some(42.0)),
            (Group::O2, "fi", Some(50.0)),
        ]
    );
    let label = values.group(Group::Invasive(2)).map(|h| h.label);
    assert_eq!(label.and_then(pressure_label_name), Some("CVP"));
    let t2 = values.field(Group::Temperature(2), "temp").unwrap();
    assert_eq!(t2.value(), DriValue::Status(DriStatus::UnderRange));
}

#[test]
fn status_codes_start_below_minus_32001() {
    let cases = [
        (-32768, DriValue::Status(DriStatus::Other(-32768))),
        (-32767, DriValue::Status(DriStatus::NoData)),
        (-32766, DriValue::Status(DriStatus::NotUpdated)),
        (-32765, DriValue::Status(DriStatus::Discontinuity)),
        (-32764, DriValue::Status(DriStatus::UnderRange)),
        (-32763, DriValue::Status(DriStatus::OverRange)),
        (-32762, DriValue::Status(DriStatus::NotCalibrated)),
        (-32002, DriValue::Status(DriStatus::Other(-32002))),
        (-32001, DriValue::Number(-32001)),
        (0, DriValue::Number(0)),
    ];
    for (raw, value) in cases {
        assert_eq!(DriValue::from_raw(raw), value, "{raw}");
    }
    assert!(BasicValues::default().readings().is_empty());
    assert!(BasicValues::default().unmapped().is_empty());
}

#[test]
fn layout_reproduces_every_documented_offset() {
    let offsets = field_offsets();
    let documented: &[(Group, &str, usize)] = &[
        (Group::Ecg, "hr", 10),
        (Group::Ecg, "st1", 12),
        (Group::Ecg, "st3", 16),
        (Group::Ecg, "imp_rr", 18),
        (Group::Invasive(1), "sys", 26),
        (Group::Invasive(4), "hr", 74),
        (Group::Nibp, "sys", 82),
        (Group::Nibp, "dia", 84),
        (Group::Nibp, "mean", 86),
        (Group::Nibp, "hr", 88),
        (Group::Temperature(1), "temp", 96),
        (Group::Spo2, "spo2", 128),
        (Group::Spo2, "pr", 130),
        (Group::Spo2, "ir_amp", 132),
        (Group::Spo2, "svo2", 134),
        (Group::Co2, "et", 142),
        (Group::Co2, "fi", 144),
        (Group::Co2, "rr", 146),
        (Group::Co2, "amb_press", 148),
        (Group::FlowVolume, "rr", 188),
        (Group::FlowVolume, "ppeak", 190),
        (Group::FlowVolume, "compliance", 200),
        (Group::FlowVolume, "mv_exp", 202),
    ];
    for entry in documented {
        assert!(offsets.contains(entry), "{entry:?}");
    }
    let spans = group_spans();
    assert!(spans.windows(2).all(|w| w[0].1 == w[1].0), "{spans:?}");
    assert_eq!((spans[0].0, spans[spans.len() - 1].1), (4, 204));
}

#[test]
fn etco2_needs_ambient_pressure_and_other_pressures_stay_raw() {
    let mut v = golden_values();
    v.set(Group::Co2, "amb_press", -32767);
    v.set_group(Group::Invasive(1), 3, 3);
    let metrics: Vec<Metric> = v.readings().iter().map(|r| r.metric).collect();
    assert!(!metrics.contains(&Metric::EtCo2));
    assert!(!metrics.contains(&Metric::ArterialSystolic));
    assert!(v
        .unmapped()
        .iter()
        .any(|f| (f.group, f.name) == (Group::Co2, "et")));
    v.set_group(Group::Invasive(1), 3, 8);
    let abp = v
        .readings()
        .into_iter()
        .find(|r| r.metric == Metric::ArterialMean);
    assert!(abp.is_some_and(|r| (r.value - 93.42).abs() < 1e-9));
}

#[test]
fn a_group_that_does_not_exist_makes_its_values_questionable() {
    let mut v = golden_values();
    v.set_group(Group::Spo2, 0, 0);
    for r in v.readings() {
        let expected = match r.metric {
            Metric::Spo2 | Metric::PulseRate => Validity::Questionable,
            _ => Validity::Valid,
        };
        assert_eq!(r.validity, expected, "{:?}", r.metric);
    }
}

#[test]
fn extended_class_subrecords_are_kept_but_not_decoded() {
    let mut bytes = golden_values().to_bytes(0);
    bytes[277] = 0x02;
    let sub = PhysiologicalSubrecord::parse(&bytes).unwrap();
    assert_eq!((sub.class(), sub.basic()), (PhdbClass::Ext2, None));
    assert_eq!(sub.as_bytes(), &bytes[..]);
    assert_eq!(
        PhysiologicalSubrecord::parse(&bytes[..200]),
        Err(DatexError::ShortSubrecord {
            len: 200,
            expected: 278
        })
    );
}

#[test]
fn record_header_errors_are_reported() {
    let mut bytes = phdb_record(1, 0, &[golden_values()]).to_bytes().unwrap();
    assert!(DriRecord::parse(&bytes[..39]).is_err());
    bytes[0] = 0x40;
    let err = DriRecord::parse(&bytes).unwrap_err();
    assert!(matches!(
        err,
        DatexError::LengthMismatch {
            declared: 0x140,
            actual: 318
        }
    ));
    bytes[0] = 0x3E;
    bytes[16] = 0x20;
    bytes[17] = 0x01;
    let err = DriRecord::parse(&bytes).unwrap_err();
    assert_eq!(
        err,
        DatexError::BadDescriptor {
            index: 0,
            offset: 0x120
        }
    );
    let wave = DriRecord {
        header: DriHeader {
            main_type: MainType::Wave,
            ..phdb_record(0, 0, &[]).header
        },
        subrecords: vec![],
    };
    assert_eq!(
        wave.physiological(),
        Err(DatexError::NotPhdb { main_type: 1 })
    );
    let six = phdb_record(0, 0, &vec![golden_values(); 6]);
    assert!(matches!(
        six.to_bytes(),
        Err(DatexError::TooLong { len: 1708, .. })
    ));
}

/// A raw value: mostly any i16, a quarter of the time a status code.
fn random_raw(rng: &mut TestRng) -> i16 {
    let raw = i16::from_le_bytes([rng.byte(), rng.byte()]);
    if rng.below(4) == 0 {
        -32768 + (raw & 0x07FF)
    } else {
        raw
    }
}

fn random_values(rng: &mut TestRng) -> BasicValues {
    let mut v = BasicValues::default();
    let fields: Vec<(Group, &str)> = v.fields().iter().map(|f| (f.group, f.name)).collect();
    for (group, name) in fields {
        assert!(v.set(group, name, random_raw(rng)));
    }
    let groups: Vec<Group> = v.groups().iter().map(|h| h.group).collect();
    for group in groups {
        let status = u32::from_le_bytes([rng.byte(), rng.byte(), rng.byte(), rng.byte()]);
        assert!(v.set_group(group, status, u16::from(rng.byte() % 24)));
    }
    v
}

fn random_record(rng: &mut TestRng) -> DriRecord {
    let subs: Vec<BasicValues> = (0..1 + rng.below(5)).map(|_| random_values(rng)).collect();
    let time = u32::from_le_bytes([rng.byte(), rng.byte(), rng.byte(), rng.byte()]);
    phdb_record(rng.byte(), time, &subs)
}

#[test]
fn random_records_round_trip_through_frame_and_decoder() {
    let mut rng = TestRng::new(2024);
    for round in 0..300 {
        let record = random_record(&mut rng);
        let out = DatexFramer::new().feed(&record.to_frame().unwrap());
        let decoded = DriRecord::parse(&records(out)[0]).unwrap();
        assert_eq!(decoded, record, "round {round}");
        for (sub, original) in decoded
            .physiological()
            .unwrap()
            .iter()
            .zip(&record.subrecords)
        {
            let values = sub.basic().unwrap();
            assert_eq!(values.to_bytes(sub.time()), original.data, "round {round}");
            for f in values.fields() {
                let number = matches!(f.value(), DriValue::Number(_));
                assert_eq!(number, f.raw >= STATUS_LIMIT);
            }
            let mapped = values.readings().len() + values.unmapped().len();
            let numbers = values
                .fields()
                .iter()
                .filter(|f| f.raw >= STATUS_LIMIT)
                .count();
            // Every measurement is exactly one reading or one raw value.
            assert_eq!(mapped, numbers, "round {round}");
        }
    }
}

#[test]
fn scaled_readings_round_trip_for_generated_values() {
    let mut rng = TestRng::new(99);
    for _ in 0..500 {
        let (hr, sys, spo2, temp) = (
            20 + rng.below(230) as i16,
            4000 + rng.below(20000) as i16,
            5000 + rng.below(5001) as i16,
            3000 + rng.below(1300) as i16,
        );
        let mut v = BasicValues::default();
        v.set_group(Group::Ecg, 3, 0);
        v.set_group(Group::Nibp, 3, 0);
        v.set_group(Group::Spo2, 3, 0);
        v.set(Group::Ecg, "hr", hr);
        v.set(Group::Nibp, "sys", sys);
        v.set(Group::Spo2, "spo2", spo2);
        v.set(Group::Temperature(1), "temp", temp);
        let bytes = v.to_bytes(0);
        let back = PhysiologicalSubrecord::parse(&bytes)
            .unwrap()
            .basic()
            .unwrap();
        let got: Vec<(Metric, f64)> = back
            .readings()
            .iter()
            .map(|r| (r.metric, r.value))
            .collect();
        let expected = vec![
            (Metric::HeartRate, f64::from(hr)),
            (Metric::NibpSystolic, f64::from(sys) / 100.0),
            (Metric::Spo2, f64::from(spo2) / 100.0),
        ];
        assert_eq!(got, expected);
        let t1 = back
            .field(Group::Temperature(1), "temp")
            .and_then(BasicField::physical);
        assert_eq!(t1, Some(f64::from(temp) / 100.0));
    }
}

#[test]
fn random_garbage_and_splits_still_yield_every_record() {
    let mut rng = TestRng::new(77);
    for round in 0..150 {
        let sent: Vec<DriRecord> = (0..4).map(|_| random_record(&mut rng)).collect();
        let mut stream = rng.garbage(120);
        for record in &sent {
            stream.extend(record.to_frame().unwrap());
            stream.extend(rng.garbage(120));
        }
        let mut framer = DatexFramer::new();
        let mut found = Vec::new();
        for chunk in rng.chunks(&stream, 64) {
            for bytes in records(framer.feed(chunk)) {
                found.extend(DriRecord::parse(&bytes).ok());
            }
        }
        assert_eq!(found, sent, "round {round}");
        // Pure noise through the whole chain must not panic.
        let noise = rng.bytes(3000);
        for bytes in records(DatexFramer::new().feed(&noise)) {
            if let Ok(record) = DriRecord::parse(&bytes) {
                for sub in record.physiological().unwrap_or_default() {
                    let _ = sub.basic().map(|v| (v.readings(), v.unmapped().len()));
                }
            }
        }
        let _ = DriRecord::parse(&rng.bytes(400)).map(|r| r.physiological());
    }
}
