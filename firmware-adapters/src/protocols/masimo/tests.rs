//! Masimo codec tests: the published example lines, the ugly cases, and a
//! property-style run of random noise and random splits.

use super::*;
use crate::protocols::test_rng::TestRng;
use crate::{Metric, Unit, Validity};

/// The Radical-7 example line of the OpenICE Radical driver (`poxrad_discrete.h`).
const RADICAL7: &str = "12/01/05 11:56:29 SN=0123456789 SPO2=098% BPM=240 PI=20.00% \
    SPCO=01.0% SPMET=00.5% DESAT=01 PIDELTA=-02 PVI=027 ALARM=0000 EXC=000820";
/// The Radical-5 example line of the same driver.
const RADICAL5: &str = "09/15/10 15:10:29 SPO2=097% BPM=064 PI=11.82% ALARM=20 EXC=800";
/// Rad-7 "color" line as listed by masimo-capture.
const RAD7_COLOR: &str = "03/17/16 19:19:36 SN=---------- SPO2=098% BPM=123 PI=00.55 \
    SPCO=--% SPMET=--.-% SPHB=--.- SPOC=-- RESVD=--- DESAT=-- PIDELTA=+-- PVI=--- \
    ALARM=000000 EXC=0000C00 EXC1=00000000";
/// Rad-7 "blue" line as listed by masimo-capture: every value missing.
const RAD7_BLUE: &str = "05/15/07 08:12:21 SN=0000070986 SPO2=---% BPM=--- PI=--.--% \
    SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- PVI=--- ALARM=0000 EXC=000000";

fn parse(line: &str) -> Result<MasimoRecord, MasimoError> {
    parse_line(line.as_bytes())
}

#[test]
fn radical7_example_line_decodes_every_field() {
    let r = parse(RADICAL7).unwrap();
    let clock = DeviceClock {
        year: 2005,
        month: 12,
        day: 1,
        hour: 11,
        minute: 56,
        second: 29,
    };
    assert_eq!(r.clock, clock);
    assert_eq!(r.serial_number.as_deref(), Some("0123456789"));
    assert_eq!(r.spo2, Some(Numeric::Value(98.0)));
    assert_eq!(r.pulse_rate, Some(Numeric::Value(240.0)));
    assert_eq!(r.perfusion_index, Some(Numeric::Value(20.0)));
    assert_eq!(
        (r.spco, r.spmet),
        (Some(Numeric::Value(1.0)), Some(Numeric::Value(0.5)))
    );
    assert_eq!(r.desat, Some(Numeric::Value(1.0)));
    assert_eq!(r.pi_delta, Some(Numeric::Value(-2.0)));
    assert_eq!(r.pvi, Some(Numeric::Value(27.0)));
    assert_eq!(r.alarm, Some(AlarmFlags(0)));
    // 0x820 = SET mode + sensor off: the values are shown but cannot be trusted.
    assert_eq!(r.exceptions, Some(ExceptionFlags(0x820)));
    assert_eq!(r.validity(), Validity::Invalid);
}

#[test]
fn radical5_example_line_gives_three_valid_readings() {
    let r = parse(RADICAL5).unwrap();
    assert!(r.alarm.is_some_and(|a| a.has(AlarmFlags::SILENCED)));
    let readings = r.readings();
    let got: Vec<_> = readings
        .iter()
        .map(|x| (x.metric, x.value, x.unit))
        .collect();
    assert_eq!(
        got,
        vec![
            (Metric::Spo2, 97.0, Unit::Percent),
            (Metric::PulseRate, 64.0, Unit::PerMinute),
            (Metric::PerfusionIndex, 11.82, Unit::Percent),
        ]
    );
    assert!(readings
        .iter()
        .all(|x| x.validity == Validity::Valid && x.device_time.is_none()));
}

#[test]
fn dashes_are_missing_values_not_errors() {
    let r = parse(RAD7_COLOR).unwrap();
    assert_eq!(r.serial_number, None);
    assert_eq!(
        (r.spco, r.sphb, r.pi_delta),
        (
            Some(Numeric::Missing),
            Some(Numeric::Missing),
            Some(Numeric::Missing)
        )
    );
    assert_eq!(r.other, vec![("RESVD".to_owned(), "---".to_owned())]);
    assert_eq!(r.exceptions1, Some(0));
    // 0xC00: SET mode and low signal IQ.
    assert_eq!(r.validity(), Validity::Questionable);
    assert_eq!(r.readings().len(), 3);
}

#[test]
fn all_missing_values_give_no_readings() {
    let r = parse(RAD7_BLUE).unwrap();
    assert_eq!(r.spo2, Some(Numeric::Missing));
    assert_eq!(r.perfusion_index, Some(Numeric::Missing));
    assert!(r.readings().is_empty());
}

#[test]
fn exception_bits_map_to_validity() {
    let validity = |exc: u32| ExceptionFlags(exc).validity();
    assert_eq!(validity(0), Validity::Valid);
    assert_eq!(validity(ExceptionFlags::SET_MODE), Validity::Valid);
    assert_eq!(
        validity(ExceptionFlags::SPCO_LOW_CONFIDENCE),
        Validity::Valid
    );
    for doubtful in [0x004, 0x008, 0x010, 0x040, 0x400, 0x2_0000] {
        assert_eq!(validity(doubtful), Validity::Questionable, "{doubtful:#x}");
    }
    for invalid in [0x001, 0x002, 0x020, 0x080, 0x100, 0x1000, 0x10_0000] {
        assert_eq!(validity(invalid | 0x004), Validity::Invalid, "{invalid:#x}");
    }
}

#[test]
fn values_breaking_their_grammar_reject_the_line() {
    let base = "01/02/03 04:05:06 ";
    for token in [
        "SPO2=9a8",
        "SPO2=0981",
        "BPM=072%",
        "PI=1.234",
        "PI=.5",
        "PI=1.",
        "EXC=XYZ",
        "EXC=123456789",
        "SN=12 34",
        "PIDELTA=+",
        "SPO2=",
        "SPO2=--.-",
        "DESAT=1.5",
    ] {
        let line = format!("{base}{token}");
        assert!(
            matches!(
                parse(&line),
                Err(MasimoError::BadValue { .. } | MasimoError::BadToken { .. })
            ),
            "{token}"
        );
    }
}

#[test]
fn malformed_tokens_and_duplicates_reject_the_line() {
    let err = parse("01/02/03 04:05:06 SPO2 BPM=60").unwrap_err();
    assert_eq!(
        err,
        MasimoError::BadToken {
            token: "SPO2".into()
        }
    );
    assert!(matches!(
        parse("01/02/03 04:05:06 spo2=97"),
        Err(MasimoError::BadToken { .. })
    ));
    let err = parse("01/02/03 04:05:06 BPM=60 BPM=61").unwrap_err();
    assert_eq!(err, MasimoError::DuplicateKey { key: "BPM".into() });
}

#[test]
fn bad_timestamps_are_rejected() {
    for line in [
        "",
        "1",
        "13/01/05 11:56:29",
        "12/01/05 24:00:00",
        "12/01/0511:56:29 BPM=60",
        "12-01-05 11:56:29",
    ] {
        assert!(
            matches!(parse(line), Err(MasimoError::BadTimestamp { .. })),
            "{line:?}"
        );
    }
    assert!(parse("12/31/99 23:59:59").is_ok_and(|r| r.readings().is_empty()));
}

#[test]
fn non_ascii_bytes_reject_the_line() {
    assert_eq!(
        parse_line(b"01/02/03 04:05:06 BPM=6\xFF0"),
        Err(MasimoError::NotAscii)
    );
    assert_eq!(
        parse_line(b"01/02/03 04:05:06 BPM=60\x07"),
        Err(MasimoError::NotAscii)
    );
}

#[test]
fn random_noise_and_splits_keep_every_valid_line() {
    let mut rng = TestRng::new(1234);
    let lines = [RADICAL7, RADICAL5, RAD7_COLOR, RAD7_BLUE];
    for round in 0..300 {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for _ in 0..4 {
            let line = lines[rng.below(lines.len())];
            stream.extend(rng.garbage(60));
            stream.extend_from_slice(line.as_bytes());
            stream.extend_from_slice([&b"\r\n"[..], b"\n", b"\r"][rng.below(3)]);
            expected.push(parse(line).unwrap());
        }
        let mut framer = LineFramer::new();
        let mut found = Vec::new();
        for chunk in rng.chunks(&stream, 40) {
            for line in framer.feed(chunk).into_iter().flatten() {
                if let Ok(record) = parse_line(&line) {
                    found.push(record);
                }
            }
        }
        assert_eq!(found, expected, "round {round}");
        // A corrupted line never panics: it parses or is rejected.
        let mut corrupt = lines[rng.below(lines.len())].as_bytes().to_vec();
        let at = rng.below(corrupt.len());
        corrupt[at] = rng.byte();
        let _ = parse_line(&corrupt).map(|r| r.readings());
        let _ = parse_line(&rng.bytes(100));
    }
}
