use super::*;
use crate::Metric;

const SENML: &str = r#"
name = "senml-monitor"
description = "A bedside monitor publishing SenML"
silence_timeout_ms = 30000

[mqtt]
topic = "healthsphere/{device_id}/vitals"
format = "senml"

[mqtt.names]
hr = "heart_rate"
"#;

fn problems(text: &str) -> Vec<String> {
    Profile::parse(text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn good_profile_parses() {
    let p = Profile::parse(SENML).unwrap();
    assert_eq!(p.protocol(), Protocol::Mqtt);
    let mqtt = p.mqtt.unwrap();
    assert_eq!(mqtt.topic_for("mon-7"), "healthsphere/mon-7/vitals");
    assert_eq!((mqtt.qos, mqtt.max_payload_bytes), (1, 65_536));
    assert_eq!(mqtt.names["hr"], Metric::HeartRate);
}

#[test]
fn unknown_keys_metrics_and_units_are_all_reported() {
    let text = SENML
        .replace(
            "format = \"senml\"",
            "format = \"json\"\nqos = 2\nretain = true",
        )
        .replace("hr = \"heart_rate\"", "hr = \"heartrate\"")
        + "\n[[mqtt.fields]]\npointer = \"hr\"\nmetric = \"spo2\"\nunit = \"kPa\"\n";
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("mqtt.retain: unknown key")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("mqtt.names.hr: unknown variant `heartrate`")),
        "{found:#?}"
    );
    // Structure problems come first; the semantic ones follow once it is sound.
    let text = SENML.replace("format = \"senml\"", "format = \"json\"\nqos = 2")
        + "\n[[mqtt.fields]]\npointer = \"hr\"\nmetric = \"spo2\"\nunit = \"kPa\"\n";
    assert_eq!(
        problems(&text),
        [
            "mqtt.qos: must be 0 or 1",
            "mqtt.fields[0].pointer: a JSON pointer starts with /",
            "mqtt.fields[0].unit: kPa cannot measure spo2 (canonical unit %)",
        ]
    );
}

#[test]
fn a_profile_needs_exactly_one_transport() {
    let none = "name = \"x\"\nsilence_timeout_ms = 1\n";
    assert_eq!(
        problems(none),
        ["needs a [mqtt], [modbus] or [serial] section"]
    );
}

#[test]
fn topic_must_name_the_device_and_hold_no_wildcards() {
    let found = problems(&SENML.replace("healthsphere/{device_id}/vitals", "ward/+/vitals"));
    assert_eq!(
        found,
        [
            "mqtt.topic: must contain {device_id}, so each device has its own topic",
            "mqtt.topic: must not contain the wildcards + or #",
        ]
    );
}

#[test]
fn folders_load_in_order_and_duplicates_within_one_are_errors() {
    let shipped = tempfile_dir();
    let site = tempfile_dir();
    std::fs::write(shipped.join("a.toml"), SENML).unwrap();
    std::fs::write(
        site.join("b.toml"),
        SENML.replace("A bedside", "The site's"),
    )
    .unwrap();
    let set = ProfileSet::load(&[shipped.clone(), site.clone()]).unwrap();
    assert_eq!(
        set.get("senml-monitor").unwrap().description,
        "The site's monitor publishing SenML"
    );
    assert_eq!(
        set.source("senml-monitor"),
        Some(site.join("b.toml").as_path())
    );

    std::fs::write(site.join("c.toml"), SENML).unwrap();
    std::fs::write(site.join("d.toml"), "name = \"d\"\ncolour = 1").unwrap();
    let errs = ProfileSet::load(&[shipped, site.clone()]).unwrap_err();
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:#?}");
    assert!(text[0].starts_with(&format!(
        "{}: name: `senml-monitor` is also defined",
        site.join("c.toml").display()
    )));
    assert!(text[1].contains("d.toml: colour: unknown key"), "{text:#?}");
    assert!(
        text[2].contains("d.toml: silence_timeout_ms: missing key"),
        "{text:#?}"
    );
}

fn tempfile_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hs-profiles-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
