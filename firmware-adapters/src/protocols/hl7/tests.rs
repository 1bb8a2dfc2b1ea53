//! HL7 tests through the public API: a PCD-01 message from MLLP bytes to readings,
//! unknown observations and the ACK.

use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::protocols::test_rng::TestRng;
use crate::{Metric, Unit, Validity};

/// A PCD-01 ORU^R01 in the shape of the GE B40 guide sample, with a Philips-style
/// MDIL row, an invalid (`X`) row, vendor and ambiguous codes and one bad value.
///
/// Cross-checked with PyPI `hl7` (python-hl7) 0.4.5: `hl7.parse` of the same text
/// gives the same MSH-10, PV1-3, OBR-7 and, for every OBX, the same OBX-2/3/5/6/
/// 11/14/18; its `unescape` of OBX 9 gives the same `&`, `\` and `|`. It decodes
/// `\X41C3A9\` byte by byte (`AÃ©`); this codec reads the bytes as UTF-8 (`Aé`),
/// as MSH-18 `UNICODE UTF-8` says.
const SEGMENTS: &[&str] = &[
    r"MSH|^~\&|GE_B40^0012AB00FFFE0001^EUI-64|WARD5|GATEWAY|HOSP|20240501103000+0200||ORU^R01^ORU_R01|MSG00001|P|2.6|||NE|AL||UNICODE UTF-8|||PCD_DEC_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
    r"PID|||12345^^^HOSP^MR||Doe^John",
    r"PV1||I|ICU^101^2",
    r"OBR|1|0012AB00FFFE0001^GE_B40|0012AB00FFFE0001^GE_B40|182777000^monitoring of patient^SCT|||20240501102955+0200",
    r"OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
    r"OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|80|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||20240501102957+0200||||0012AB00FFFE0001^GE_B40",
    r"OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1|97|262688^MDC_DIM_PERCENT^MDC|||||R",
    r"OBX|4|NM|0002-4bb8^SpO2^MDIL|1.2.1.2|96.5|0004-0220^%^MDIL|||||F",
    r"OBX|5|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.3.1.1|120|266016^MDC_DIM_MMHG^MDC|||||X",
    r"OBX|6|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.3.1.2||266016^MDC_DIM_MMHG^MDC|||||X",
    r"OBX|7|NM|151728^MDC_AWAY_CO2_ET^MDC|1.4.1.1|5.3|kPa^kPa^UCUM|||||R",
    r"OBX|8|NM|99001^VENDOR_FLOW^99VND|1.4.1.2|12.5|mL/s^mL/s^UCUM|||||R",
    r"OBX|9|ST|68480^MDC_ATTR_ALARM_STATE^MDC|1.0.0.1|Lead off \T\ check\E\fix \F\ now \X41C3A9\||||||R",
    r"OBX|10|NM|150344^MDC_TEMP^MDC|1.5.1.1|37.1|268192^MDC_DIM_DEGC^MDC|||||R",
    r"OBX|11|NM|150488^MDC_BLD_PERF_INDEX^MDC|1.2.1.3|2.4|262688^MDC_DIM_PERCENT^MDC|||||R|||||||0012AB00FFFE0002^^0012AB00FFFE0002^EUI-64",
    r"OBX|12|NM|151562^MDC_RESP_RATE^MDC|1.6.1.1|1,5|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R",
];

fn sample() -> String {
    SEGMENTS.iter().map(|s| format!("{s}\r")).collect()
}

fn decoded() -> OruMessage {
    OruMessage::parse(sample().as_bytes()).unwrap()
}

#[test]
fn pcd01_message_from_mllp_bytes_yields_its_readings() {
    let block = mllp::encode(sample().as_bytes());
    let mut framer = MllpFramer::new();
    let messages: Vec<_> = framer.feed(&block).into_iter().flatten().collect();
    let oru = OruMessage::parse(&messages[0]).unwrap();
    let got: Vec<_> = oru
        .readings(None)
        .iter()
        .map(|r| {
            (
                r.reading.metric,
                r.reading.value,
                r.reading.unit,
                r.reading.validity,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Metric::HeartRate, 80.0, Unit::PerMinute, Validity::Valid),
            (Metric::Spo2, 97.0, Unit::Percent, Validity::Valid),
            (Metric::Spo2, 96.5, Unit::Percent, Validity::Valid),
            (Metric::NibpSystolic, 120.0, Unit::MmHg, Validity::Invalid),
            (Metric::EtCo2, 5.3, Unit::KiloPascal, Validity::Valid),
            (Metric::PerfusionIndex, 2.4, Unit::Percent, Validity::Valid),
        ]
    );
}

#[test]
fn header_patient_and_bed_are_read() {
    let oru = decoded();
    assert_eq!(oru.header.control_id, "MSG00001");
    assert_eq!(
        oru.header.sending_application,
        ["GE_B40", "0012AB00FFFE0001", "EUI-64"]
    );
    assert_eq!(oru.header.message_type, ["ORU", "R01", "ORU_R01"]);
    assert_eq!(oru.patient_id.as_deref(), Some("12345"));
    let bed = oru.bed.unwrap();
    assert_eq!(
        (
            bed.point_of_care.as_deref(),
            bed.room.as_deref(),
            bed.bed.as_deref()
        ),
        (Some("ICU"), Some("101"), Some("2"))
    );
    assert_eq!(bed.facility, None);
}

#[test]
fn times_come_from_obx14_or_else_obr7() {
    let readings = decoded().readings(None);
    let at = |secs| Some(UNIX_EPOCH + Duration::from_secs(secs));
    // 10:29:57+02:00 and 10:29:55+02:00 on 2024-05-01 (Python calendar.timegm).
    assert_eq!(readings[0].reading.device_time, at(1_714_552_197));
    assert_eq!(readings[1].reading.device_time, at(1_714_552_195));
}

#[test]
fn equipment_eui64_and_codes_travel_with_readings() {
    let readings = decoded().readings(None);
    assert_eq!(
        readings[0].equipment,
        Some(EquipmentId::Eui64(0x0012_AB00_FFFE_0001))
    );
    assert_eq!(
        readings[0].equipment.as_ref().unwrap().to_string(),
        "0012AB00FFFE0001"
    );
    assert_eq!(
        readings[5].equipment,
        Some(EquipmentId::Eui64(0x0012_AB00_FFFE_0002))
    );
    assert_eq!(
        (readings[2].mdc_code, readings[2].sub_id.as_str()),
        (Some(150_456), "1.2.1.2")
    );
    assert_eq!(readings[5].mdc_code, Some(150_488));
}

#[test]
fn unknown_and_unmapped_observations_are_kept_raw() {
    let unknown = decoded().unknown();
    let got: Vec<_> = unknown
        .iter()
        .map(|u| (u.code.identifier.as_str(), u.reason))
        .collect();
    assert_eq!(
        got,
        vec![
            ("99001", Unmapped::UnknownCode),
            ("68480", Unmapped::NotNumeric),
            ("150344", Unmapped::UnknownCode)
        ]
    );
    assert_eq!(unknown[0].value, ObservationValue::Numeric(12.5));
    assert_eq!(
        unknown[0].unit.as_ref().map(|u| u.identifier.as_str()),
        Some("mL/s")
    );
    assert_eq!(unknown[0].code.to_string(), "99001^VENDOR_FLOW^99VND");
}

#[test]
fn device_rows_and_empty_invalid_values_stay_in_observations() {
    let oru = decoded();
    assert_eq!(oru.observations.len(), 11);
    let header_row = &oru.observations[0];
    assert_eq!(
        (header_row.value.clone(), header_row.validity()),
        (ObservationValue::Empty, Validity::Invalid)
    );
    let empty_dia = &oru.observations[5];
    assert_eq!(empty_dia.metric, Some(Metric::NibpDiastolic));
    assert_eq!(empty_dia.to_reading(None), Err(Unmapped::NoValue));
}

#[test]
fn text_value_escapes_decode_on_request() {
    let message = Message::parse(sample().as_bytes()).unwrap();
    let obx9 = message
        .segments()
        .iter()
        .find(|s| s.id() == "OBX" && s.sequence() == 9)
        .unwrap();
    assert_eq!(obx9.value(5).unwrap(), "Lead off & check\\fix | now Aé");
}

#[test]
fn bad_numeric_value_is_rejected_with_its_location() {
    let oru = decoded();
    assert_eq!(oru.rejected.len(), 1);
    let err = &oru.rejected[0];
    assert_eq!(err.location().unwrap().to_string(), "OBX[12]-5");
    assert_eq!(err.to_string(), "OBX[12]-5: not an NM number (`1,5`)");
}

#[test]
fn local_times_convert_only_with_an_assumed_offset() {
    let text = sample().replace("+0200", "");
    let oru = OruMessage::parse(text.as_bytes()).unwrap();
    assert_eq!(oru.readings(None)[0].reading.device_time, None);
    let utc = oru.readings(Some(120))[0].reading.device_time;
    assert_eq!(utc, Some(UNIX_EPOCH + Duration::from_secs(1_714_552_197)));
}

#[test]
fn message_level_problems_fail_the_decode() {
    let adt = sample().replace("ORU^R01^ORU_R01", "ADT^A01");
    let err = OruMessage::parse(adt.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        Hl7Error::UnsupportedMessage {
            message_type: "ADT^A01".into()
        }
    );
    let no_id = sample().replace("|MSG00001|", "||");
    let err = OruMessage::parse(no_id.as_bytes()).unwrap_err();
    assert_eq!(err.location().unwrap().to_string(), "MSH[1]-10");
    assert_eq!(OruMessage::parse(b""), Err(Hl7Error::MissingMsh));
    assert_eq!(OruMessage::parse(b"\x0B"), Err(Hl7Error::MissingMsh));
}

#[test]
fn obx_without_code_or_with_bad_time_is_rejected() {
    let text = format!(
        "{}OBX|13|NM||1.1.1.1|5\rOBX|14|NM|147842^^MDC|1|5|/min|||||R|||2024-05-01\r",
        sample()
    );
    let oru = OruMessage::parse(text.as_bytes()).unwrap();
    let places: Vec<String> = oru
        .rejected
        .iter()
        .filter_map(|e| e.location())
        .map(ToString::to_string)
        .collect();
    assert_eq!(places, ["OBX[12]-5", "OBX[13]-3", "OBX[14]-14"]);
}

#[test]
fn ack_accept_swaps_sender_and_receiver() {
    // Cross-checked when written: PyPI hl7 0.4.5 parses this string back to MSH-3
    // `GATEWAY`, MSH-5 the B40's HD, MSA-1 `AA`, MSA-2 `MSG00001`; hl7apy 1.3.5
    // `parse_message(.., validation_level=STRICT)` + `validate()` accepts it as a
    // v2.6 ACK^R01^ACK. The AE string of the next test passed the same checks.
    let ack = build_ack(
        &decoded().header,
        AckCode::Accept,
        None,
        "ACK0001",
        "20240501103001+0200",
    );
    assert_eq!(
        ack,
        "MSH|^~\\&|GATEWAY|HOSP|GE_B40^0012AB00FFFE0001^EUI-64|WARD5|20240501103001+0200||\
         ACK^R01^ACK|ACK0001|P|2.6\rMSA|AA|MSG00001\r"
    );
}

#[test]
fn ack_error_names_the_field_in_err() {
    let oru = decoded();
    let detail = AckDetail::from(&oru.rejected[0]);
    let ack = build_ack(
        &oru.header,
        AckCode::Error,
        Some(&detail),
        "ACK0002",
        "20240501103001",
    );
    let err = ack.split('\r').find(|s| s.starts_with("ERR")).unwrap();
    assert_eq!(
        err,
        "ERR||OBX^12^5|102^Data type error^HL70357|E||||OBX[12]-5: not an NM number (`1,5`)"
    );
    assert!(ack.contains("\rMSA|AE|MSG00001\r"));
}

#[test]
fn ack_reject_escapes_delimiters_in_the_text() {
    let adt = sample().replace("ORU^R01^ORU_R01", "ADT^A01");
    let message = Message::parse(adt.as_bytes()).unwrap();
    let err = OruMessage::decode(&message).unwrap_err();
    let header = MessageHeader::read(&message);
    let ack = build_ack(
        &header,
        AckCode::Reject,
        Some(&AckDetail::from(&err)),
        "A3",
        "20240501",
    );
    assert!(ack.contains("ACK^A01^ACK"), "{ack}");
    assert!(ack.contains(
        "ERR|||200^Unsupported message type^HL70357|E||||unsupported message type `ADT\\S\\A01`"
    ));
    let back = Message::parse(ack.as_bytes()).unwrap();
    assert_eq!(
        back.segment("ERR").unwrap().value(8).unwrap(),
        err.to_string()
    );
}

#[test]
fn ack_without_detail_reports_internal_error() {
    let ack = build_ack(
        &MessageHeader::default(),
        AckCode::Reject,
        None,
        "A4",
        "20240501",
    );
    assert!(
        ack.starts_with("MSH|^~\\&|||||20240501||ACK^^ACK|A4|P|2.6\rMSA|AR|\r"),
        "{ack}"
    );
    assert!(ack.contains("ERR|||207^Application internal error^HL70357|E||||"));
}

#[test]
fn random_bytes_and_splits_never_panic_and_keep_messages() {
    let mut rng = TestRng::new(2024);
    let block = mllp::encode(sample().as_bytes());
    for round in 0..100 {
        let mut stream: Vec<u8> = rng
            .garbage(100)
            .into_iter()
            .filter(|b| *b != 0x0B)
            .collect();
        stream.extend_from_slice(&block);
        stream.extend_from_slice(&block);
        let mut framer = MllpFramer::new();
        let mut found = 0;
        for chunk in rng.chunks(&stream, 300) {
            for message in framer.feed(chunk).into_iter().flatten() {
                let oru = OruMessage::parse(&message).unwrap();
                assert_eq!(oru.readings(None).len(), 6, "round {round}");
                found += 1;
            }
        }
        assert_eq!(found, 2, "round {round}");
        // Corrupt one byte of the message, or feed pure noise: never a panic.
        let mut text = sample().into_bytes();
        let at = rng.below(text.len());
        text[at] = rng.byte();
        if let Ok(oru) = OruMessage::parse(&text) {
            let _ = (oru.readings(Some(0)), oru.unknown());
        }
        let _ = OruMessage::parse(&rng.bytes(300));
        let _ = MllpFramer::new().feed(&rng.bytes(300));
    }
}
