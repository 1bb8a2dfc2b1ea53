use super::*;
use crate::profile::Profile;

fn profile(format: &str, extra: &str) -> MqttProfile {
    let text = format!(
        "name = \"p\"\nsilence_timeout_ms = 1000\n[mqtt]\ntopic = \"t/{{device_id}}\"\nformat = \"{format}\"\nmax_payload_bytes = 600\n{extra}"
    );
    Profile::parse(&text)
        .expect("valid test profile")
        .mqtt
        .expect("mqtt section")
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn at(secs: f64) -> Option<SystemTime> {
    Some(UNIX_EPOCH + Duration::from_secs_f64(secs))
}

fn decode_str(p: &MqttProfile, s: &str) -> Result<Vec<Reading>, PayloadError> {
    decode(p, s.as_bytes(), now())
}

#[test]
fn senml_pack_with_base_fields_decodes() {
    let p = profile("senml", "[mqtt.names]\npr = \"pulse_rate\"\n");
    let pack = r#"[
        {"bn": "urn:dev:mac:0024befffe804ff1:", "bt": 1.75e9, "bu": "/min", "n": "heart_rate", "v": 72},
        {"n": "spo2", "u": "%", "v": 97, "t": 1},
        {"n": "pr", "v": 71, "u": "beat/min"},
        {"n": "mdc:150456", "v": 0.96, "u": "1", "t": 2},
        {"n": "firmware", "vs": "1.2.3"}
    ]"#;
    let r = decode_str(&p, pack).unwrap();
    assert_eq!(r.len(), 4);
    assert_eq!(
        (r[0].metric, r[0].value, r[0].unit),
        (Metric::HeartRate, 72.0, Unit::PerMinute)
    );
    assert_eq!(r[0].device_time, at(1.75e9));
    assert_eq!(
        (r[1].metric, r[1].device_time),
        (Metric::Spo2, at(1.75e9 + 1.0))
    );
    assert_eq!(
        (r[2].metric, r[2].unit),
        (Metric::PulseRate, Unit::PerMinute)
    );
    assert_eq!((r[3].metric, r[3].unit), (Metric::Spo2, Unit::Fraction));
}

#[test]
fn senml_small_times_are_relative_to_now() {
    let p = profile("senml", "");
    let r = decode_str(
        &p,
        r#"[{"n": "spo2", "v": 97, "t": -5}, {"n": "spo2", "v": 96}]"#,
    )
    .unwrap();
    assert_eq!(r[0].device_time, Some(now() - Duration::from_secs(5)));
    assert_eq!(
        r[1].device_time, None,
        "no time sent: the receive time applies"
    );
}

#[test]
fn compact_json_decodes_plain_and_annotated_values() {
    let p = profile("compact", "");
    let doc = r#"{"ts": 1750000000.5, "heart_rate": 72, "etco2": {"v": 5.1, "u": "kPa", "q": "questionable"}}"#;
    let mut r = decode_str(&p, doc).unwrap();
    r.sort_by_key(|r| r.metric);
    assert_eq!(
        (r[0].metric, r[0].value, r[0].validity),
        (Metric::HeartRate, 72.0, Validity::Valid)
    );
    assert_eq!(
        (r[1].metric, r[1].unit, r[1].validity),
        (Metric::EtCo2, Unit::KiloPascal, Validity::Questionable)
    );
    assert!(r.iter().all(|r| r.device_time == at(1_750_000_000.5)));
}

#[test]
fn json_pointers_pick_values_and_time() {
    let extra = "time_pointer = \"/meta/ts\"\ntime_unit = \"ms\"\n\
        [[mqtt.fields]]\npointer = \"/vitals/temp_f\"\nmetric = \"body_temperature\"\nunit = \"[degF]\"\n\
        [[mqtt.fields]]\npointer = \"/vitals/hr\"\nmetric = \"heart_rate\"\n";
    let p = profile("json", extra);
    let r = decode_str(
        &p,
        r#"{"meta": {"ts": 1750000000250}, "vitals": {"temp_f": 98.6}}"#,
    )
    .unwrap();
    assert_eq!(r.len(), 1, "an absent field is skipped");
    assert_eq!(
        (r[0].metric, r[0].unit, r[0].value),
        (Metric::BodyTemperature, Unit::Fahrenheit, 98.6)
    );
    assert_eq!(r[0].device_time, at(1_750_000_000.25));
}

#[test]
fn bad_payloads_get_their_own_kind() {
    let senml = profile("senml", "");
    let compact = profile("compact", "");
    let cases: [(&MqttProfile, &str, &str); 9] = [
        (&senml, "not json", "not_json"),
        (&senml, r#"{"n": "spo2"}"#, "wrong_type"),
        (&senml, r#"[{"n": "spo2", "v": "97"}]"#, "wrong_type"),
        (&senml, r#"[{"n": "spo3", "v": 97}]"#, "unknown_metric"),
        (&senml, r#"[{"n": "spo2", "v": 97, "u": "kPa"}]"#, "unit"),
        (&senml, r#"[{"n": "spo2", "v": 1e999}]"#, "not_json"),
        (&compact, r#"{"heart_rate": NaN}"#, "not_json"),
        (&compact, r#"{"ts": 1}"#, "empty"),
        (
            &compact,
            r#"{"heart_rate": {"v": 70, "q": "great"}}"#,
            "wrong_type",
        ),
    ];
    for (p, payload, kind) in cases {
        let err = decode_str(p, payload).unwrap_err();
        assert_eq!(err.kind(), kind, "{payload}: {err}");
    }
    let big = format!("[{}]", vec![r#"{"n":"spo2","v":97}"#; 40].join(","));
    assert_eq!(decode_str(&senml, &big).unwrap_err().kind(), "oversized");
}

#[test]
fn arbitrary_bytes_never_panic() {
    let p = profile("senml", "");
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for len in 0..400 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b"[]{}\",:0123456789.e-nvtbu "[(x % 26) as usize]
            })
            .collect();
        let _ = decode(&p, &bytes, now());
    }
}
