//! Engine behaviour with explicit sample times and explicit `now`.

use std::time::Duration;

use collector::{Origin, Quality, Sample};
use firmware_adapters::Metric;

use super::*;
use crate::lifecycle::{EscalationStep, Response, StaffId};
use crate::news2::{Consciousness, Oxygen};

fn t(s: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + s * 1_000)
}

fn sample(bed: &str, metric: Metric, s: i64, value: f64) -> Sample {
    Sample {
        time_us: t(s).as_micros(),
        received_us: t(s).as_micros(),
        origin: Origin::new("site", bed, &format!("mon-{bed}")),
        metric,
        value,
        quality: Quality::empty(),
    }
}

fn path() -> EscalationPath {
    let step = |id: &str, secs| EscalationStep {
        recipient: StaffId::from(id),
        ttl: Duration::from_secs(secs),
    };
    EscalationPath::new(vec![step("nurse", 60), step("charge", 60), step("rrt", 60)]).unwrap()
}

/// Escalation along [`path`]; devices silent only after an hour, so long
/// ticks in these tests do not raise device-silence alarms.
fn engine() -> Engine {
    engine_with(News2AlarmPolicy::default())
}

/// [`engine`] with the given NEWS2 band persistence.
fn engine_with(news2_alarms: News2AlarmPolicy) -> Engine {
    let mut cfg = EngineConfig::new("site", "boot");
    cfg.escalation = Some(path());
    cfg.technical.default_silence_timeout = Duration::from_secs(3_600);
    cfg.news2_alarms = news2_alarms;
    Engine::new(cfg, t(0))
}

/// Feeds `values` of `metric` one second apart from `from`, `now` = sample time.
fn feed(e: &mut Engine, bed: &str, metric: Metric, from: i64, values: &[f64]) {
    for (i, &v) in values.iter().enumerate() {
        let s = from + i as i64;
        e.on_batch(&[sample(bed, metric, s, v)], t(s));
    }
}

/// Alarm events as (event name, rule, change), NEWS2 band alarms left out
/// (a single SpO2 below 92 already scores a 3).
fn alarms(e: &mut Engine) -> Vec<(&'static str, String, &'static str)> {
    e.take_events()
        .into_iter()
        .filter_map(|ev| {
            let name = ev.name();
            ev.alarm()
                .filter(|n| !n.rule.starts_with("news2_"))
                .map(|n| (name, n.rule.to_string(), n.change))
        })
        .collect()
}

/// Every alarm event as (rule, change).
fn all_alarms(e: &mut Engine) -> Vec<(String, &'static str)> {
    e.take_events()
        .iter()
        .filter_map(|ev| ev.alarm().map(|n| (n.rule.to_string(), n.change)))
        .collect()
}

fn ok() -> SystemStatus {
    SystemStatus::default()
}

#[test]
fn spo2_low_raises_after_its_on_delay_and_is_offered_to_the_first_recipient() {
    let mut e = engine();
    feed(&mut e, "bed-1", Metric::Spo2, 0, &[97.0; 3]);
    feed(&mut e, "bed-1", Metric::Spo2, 3, &[88.0; 15]);
    assert!(
        alarms(&mut e).is_empty(),
        "held 14 s: still within the 15 s delay"
    );
    feed(&mut e, "bed-1", Metric::Spo2, 18, &[88.0]);
    assert_eq!(
        alarms(&mut e),
        [
            ("alarm:raised", "spo2_low".into(), "raised"),
            ("alarm:updated", "spo2_low".into(), "escalation_offered"),
        ]
    );
    let key = AlarmKey::new("bed-1", "spo2_low");
    assert_eq!(
        e.escalation(&key).and_then(|x| x.on_offer()),
        Some(&StaffId::from("nurse"))
    );
}

#[test]
fn unaccepted_alarm_escalates_step_by_step_then_broadcasts() {
    let mut e = engine();
    feed(&mut e, "bed-1", Metric::Spo2, 0, &[75.0]); // desat: high, no delay
    let _ = e.take_events();
    e.tick(t(59), ok());
    assert!(alarms(&mut e).is_empty());
    e.tick(t(60), ok());
    let changes: Vec<_> = alarms(&mut e).into_iter().map(|a| a.2).collect();
    assert_eq!(changes, ["escalation_timed_out", "escalation_offered"]);
    let key = AlarmKey::new("bed-1", "spo2_desat");
    e.respond(&key, &StaffId::from("charge"), Response::Decline, t(70))
        .unwrap();
    let changes: Vec<_> = alarms(&mut e).into_iter().map(|a| a.2).collect();
    assert_eq!(changes, ["escalation_declined", "escalation_offered"]);
    e.tick(t(130), ok());
    let events = alarms(&mut e);
    assert_eq!(
        events,
        [
            ("alarm:updated", "spo2_desat".into(), "escalation_timed_out"),
            (
                "emergency:broadcast",
                "spo2_desat".into(),
                "escalation_exhausted"
            ),
            ("alarm:updated", "spo2_desat".into(), "escalation_exhausted"),
        ]
    );
}

#[test]
fn acknowledging_at_the_bed_cancels_the_escalation() {
    let mut e = engine();
    feed(&mut e, "bed-1", Metric::Spo2, 0, &[75.0]);
    let _ = e.take_events();
    let key = AlarmKey::new("bed-1", "spo2_desat");
    e.acknowledge(&key, &StaffId::from("nurse-b"), t(5))
        .unwrap();
    let events = e.take_events();
    let changes: Vec<_> = events
        .iter()
        .filter_map(|ev| ev.alarm())
        .map(|n| (n.change, n.actor.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            ("acknowledged", "nurse-b"),
            ("escalation_cancelled", "nurse-b")
        ]
    );
    e.tick(t(600), ok());
    assert!(alarms(&mut e).is_empty());
}

#[test]
fn accept_and_call_back_is_recorded_and_stops_escalation() {
    let mut e = engine();
    feed(&mut e, "bed-1", Metric::Spo2, 0, &[75.0]);
    let _ = e.take_events();
    let key = AlarmKey::new("bed-1", "spo2_desat");
    e.respond(
        &key,
        &StaffId::from("nurse"),
        Response::AcceptAndCallBack,
        t(3),
    )
    .unwrap();
    let events = e.take_events();
    let note = events[0]
        .alarm()
        .and_then(|n| n.escalation.clone())
        .unwrap();
    assert!(note.call_back);
    assert_eq!(note.recipient.as_deref(), Some("nurse"));
    let err = e.respond(&key, &StaffId::from("charge"), Response::Accept, t(4));
    assert!(matches!(err, Err(ActionError::Escalation(_))));
}

#[test]
fn high_alarm_latches_after_recovery_until_acknowledged() {
    let mut e = engine();
    feed(&mut e, "bed-1", Metric::Spo2, 0, &[75.0]);
    feed(&mut e, "bed-1", Metric::Spo2, 1, &[97.0; 7]);
    let changes: Vec<_> = alarms(&mut e).into_iter().map(|a| (a.1, a.2)).collect();
    assert!(changes.contains(&("spo2_desat".into(), "condition_cleared")));
    let key = AlarmKey::new("bed-1", "spo2_desat");
    assert!(e.table().get(&key).is_some_and(|a| a.is_open()));
    e.acknowledge(&key, &StaffId::from("nurse"), t(10)).unwrap();
    let changes: Vec<_> = alarms(&mut e).into_iter().map(|a| a.2).collect();
    assert_eq!(
        changes,
        ["acknowledged", "escalation_cancelled", "resolved"]
    );
}

#[test]
fn silenced_alarm_sounds_again_when_the_pause_runs_out() {
    let mut e = engine();
    feed(&mut e, "bed-1", Metric::HeartRate, 0, &[150.0; 11]);
    let _ = e.take_events();
    let key = AlarmKey::new("bed-1", "heart_rate");
    let nurse = StaffId::from("nurse");
    let too_long = e.silence(&key, &nurse, Duration::from_secs(121), t(11));
    assert!(matches!(too_long, Err(ActionError::Lifecycle(_))));
    e.silence(&key, &nurse, Duration::from_secs(90), t(11))
        .unwrap();
    assert_eq!(alarms(&mut e)[0].2, "silenced");
    e.tick(t(100), ok());
    assert!(alarms(&mut e).iter().all(|a| a.2 != "silence_expired"));
    e.tick(t(101), ok());
    assert!(alarms(&mut e).iter().any(|a| a.2 == "silence_expired"));
}

#[test]
fn device_that_stops_sending_raises_a_technical_alarm_that_its_next_sample_clears() {
    let mut cfg = EngineConfig::new("site", "boot");
    cfg.technical.devices = vec![WatchedDevice {
        device_id: "mon-bed-1".into(),
        bed_id: "bed-1".into(),
        silence_timeout: Duration::from_secs(20),
    }];
    let mut e = Engine::new(cfg, t(0));
    e.tick(t(19), ok());
    assert!(alarms(&mut e).is_empty());
    e.tick(t(20), ok());
    assert_eq!(
        alarms(&mut e),
        [("alarm:raised", "device_silent:mon-bed-1".into(), "raised")]
    );
    feed(&mut e, "bed-1", Metric::HeartRate, 30, &[70.0]);
    assert_eq!(
        alarms(&mut e),
        [(
            "alarm:resolved",
            "device_silent:mon-bed-1".into(),
            "resolved"
        )]
    );
}

#[test]
fn sensor_off_raises_after_its_delay_and_never_a_physiological_alarm() {
    let mut e = engine();
    for s in 0..12 {
        let mut x = sample("bed-1", Metric::Spo2, s, 0.0);
        x.quality = Quality::DEVICE_INVALID;
        e.on_batch(&[x], t(s));
    }
    let events = alarms(&mut e);
    assert_eq!(
        events[0],
        ("alarm:raised", "sensor_invalid:spo2".into(), "raised")
    );
    assert!(events.iter().all(|a| !a.1.starts_with("spo2_")));
    feed(&mut e, "bed-1", Metric::Spo2, 12, &[97.0]);
    assert_eq!(
        alarms(&mut e)[0],
        ("alarm:resolved", "sensor_invalid:spo2".into(), "resolved")
    );
}

#[test]
fn admitted_bed_without_data_is_a_technical_alarm() {
    let mut e = engine();
    e.admit(&"bed-7".into(), Some("patient-1".into()), t(0));
    e.tick(t(119), ok());
    assert!(alarms(&mut e).is_empty());
    e.tick(t(120), ok());
    assert_eq!(
        alarms(&mut e)[0],
        ("alarm:raised", "unmonitored".into(), "raised")
    );
    e.discharge(&"bed-7".into(), t(130));
    assert_eq!(
        alarms(&mut e)[0],
        ("alarm:resolved", "unmonitored".into(), "resolved")
    );
}

#[test]
fn spool_filling_and_database_down_raise_gateway_alarms() {
    let mut cfg = EngineConfig::new("site", "boot");
    cfg.technical.spool_max_bytes = Some(1_000);
    cfg.technical.database_down_after = Some(Duration::from_secs(30));
    let mut e = Engine::new(cfg, t(0));
    let status = |bytes, up| SystemStatus {
        spool_bytes: bytes,
        database_up: up,
    };
    e.tick(t(0), status(799, false));
    assert!(alarms(&mut e).is_empty());
    e.tick(t(30), status(800, false));
    let rules: Vec<_> = alarms(&mut e).into_iter().map(|a| a.1).collect();
    assert_eq!(rules, ["spool_filling", "database_unreachable"]);
    e.tick(t(31), status(760, true));
    let rules: Vec<_> = alarms(&mut e).into_iter().map(|a| (a.1, a.2)).collect();
    assert_eq!(
        rules,
        [("database_unreachable".into(), "resolved")],
        "spool clears only 5 points below"
    );
    e.tick(t(32), status(740, true));
    assert_eq!(alarms(&mut e)[0].1, "spool_filling");
}

#[test]
fn news2_band_alarm_carries_the_rcp_response_and_stale_inputs_lower_it() {
    let mut e = engine();
    let bed: Arc<str> = "bed-1".into();
    // RR 25 (3), SpO2 93 (2), systolic 95 (2): 7, high.
    e.on_batch(
        &[
            sample("bed-1", Metric::RespiratoryRate, 0, 25.0),
            sample("bed-1", Metric::Spo2, 0, 93.0),
            sample("bed-1", Metric::NibpSystolic, 0, 95.0),
        ],
        t(0),
    );
    // The score is reported at once; the band alarm waits for the band to hold.
    let view = e.news2(&bed, t(1)).unwrap();
    assert_eq!((view.total, view.band), (7, "high"));
    assert_eq!(view.parts[0].age_s, Some(1.0));
    let news2_alarms = |e: &mut Engine| -> Vec<_> {
        all_alarms(e)
            .into_iter()
            .filter(|(rule, _)| rule.starts_with("news2_"))
            .collect()
    };
    assert_eq!(news2_alarms(&mut e), []);
    e.tick(t(119), ok());
    assert_eq!(news2_alarms(&mut e), []);
    e.tick(t(120), ok());
    let events = e.take_events();
    let raised = events
        .iter()
        .filter_map(|ev| ev.alarm())
        .find(|n| &*n.rule == "news2_high" && n.change == "raised")
        .expect("news2_high raised after holding 2 minutes");
    assert!(raised.message.contains("Emergency response"));
    assert_eq!(raised.priority, Priority::High);
    // Five minutes after the samples RR and SpO2 are stale; only the systolic 2
    // is left, shown as such at once.
    e.tick(t(301), ok());
    let view = e.news2(&bed, t(301)).unwrap();
    assert_eq!((view.total, view.band), (2, "low"));
    assert_eq!(view.parts[0].gap, Some("stale"));
    assert_eq!(view.parts[0].age_s, Some(301.0));
    // The band alarm's condition clears once the band stayed low 10 minutes.
    e.tick(t(900), ok());
    let changes = news2_alarms(&mut e);
    assert!(
        !changes.contains(&("news2_high".into(), "condition_cleared")),
        "{changes:?}"
    );
    e.tick(t(901), ok());
    let changes = news2_alarms(&mut e);
    assert!(
        changes.contains(&("news2_high".into(), "condition_cleared")),
        "{changes:?}"
    );
}

#[test]
fn manual_consciousness_and_oxygen_enter_news2_and_are_audited() {
    let mut e = engine_with(News2AlarmPolicy::IMMEDIATE);
    let bed: Arc<str> = "bed-1".into();
    feed(&mut e, "bed-1", Metric::Spo2, 0, &[97.0]);
    let _ = e.take_events();
    let nurse = StaffId::from("nurse");
    e.observe(
        &bed,
        ManualObservation::Oxygen(Oxygen::Supplemental),
        &nurse,
        t(1),
    );
    e.observe(
        &bed,
        ManualObservation::Consciousness(Consciousness::Voice),
        &nurse,
        t(2),
    );
    let events = e.take_events();
    let audits: Vec<_> = events
        .iter()
        .filter_map(|ev| match ev {
            LiveEvent::Observation(a) => Some((a.change, a.actor.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(audits, [("oxygen", "nurse"), ("consciousness", "nurse")]);
    // Oxygen 2 + voice 3 = 5: medium band.
    let view = e.news2(&bed, t(2)).unwrap();
    assert_eq!((view.total, view.band), (5, "medium"));
    assert!(events
        .iter()
        .filter_map(|ev| ev.alarm())
        .any(|n| &*n.rule == "news2_medium"));
}

#[test]
fn bed_override_applies_from_the_next_sample_and_is_recorded_with_who_and_why() {
    let mut e = engine();
    let o = LimitOverride {
        scope: OverrideScope::Bed("bed-1".into()),
        rule: "spo2_low".into(),
        low: Some(85.0),
        high: None,
        by: StaffId::from("dr-a"),
        reason: "COPD, target 88-92".into(),
    };
    e.set_override(o.clone(), t(0)).unwrap();
    let events = e.take_events();
    let LiveEvent::LimitsChanged(note) = &events[0] else {
        panic!("expected an audit note, got {events:?}");
    };
    assert_eq!(
        (note.actor.as_str(), note.detail["reason"].as_str()),
        ("dr-a", Some("COPD, target 88-92"))
    );
    feed(&mut e, "bed-1", Metric::Spo2, 1, &[88.0; 20]);
    assert!(alarms(&mut e).is_empty());
    // Other beds keep the rule's own limit.
    feed(&mut e, "bed-2", Metric::Spo2, 1, &[88.0; 20]);
    assert_eq!(alarms(&mut e)[0].1, "spo2_low");
    let no_reason = LimitOverride {
        reason: " ".into(),
        ..o.clone()
    };
    assert_eq!(
        e.set_override(no_reason, t(30)),
        Err(ActionError::MissingReason)
    );
    let inverted = LimitOverride {
        low: Some(101.0),
        high: Some(100.0),
        ..o
    };
    assert!(matches!(
        e.set_override(inverted, t(30)),
        Err(ActionError::Rule { .. })
    ));
}

#[test]
fn patient_override_follows_the_patient_to_the_admitted_bed() {
    let mut e = engine();
    e.admit(&"bed-3".into(), Some("p-42".into()), t(0));
    let o = LimitOverride {
        scope: OverrideScope::Patient("p-42".into()),
        rule: "heart_rate".into(),
        low: Some(40.0),
        high: Some(120.0),
        by: StaffId::from("dr-a"),
        reason: "athlete".into(),
    };
    e.set_override(o, t(0)).unwrap();
    feed(&mut e, "bed-3", Metric::HeartRate, 1, &[45.0; 15]);
    assert!(alarms(&mut e).iter().all(|a| a.1 != "heart_rate"));
    e.discharge(&"bed-3".into(), t(20));
    feed(&mut e, "bed-3", Metric::HeartRate, 20, &[45.0; 12]);
    assert!(alarms(&mut e).iter().any(|a| a.1 == "heart_rate"));
}

#[test]
fn device_alarm_is_relayed_with_the_device_priority() {
    let mut e = engine();
    let bed: Arc<str> = "bed-1".into();
    e.device_alarm(
        &bed,
        "vent-1",
        "APNEA",
        Priority::High,
        true,
        "Apnea",
        t(0),
        t(0),
    );
    let events = e.take_events();
    let n = events[0].alarm().unwrap();
    assert_eq!(
        (&*n.rule, n.priority, n.class),
        (
            "device:vent-1:APNEA",
            Priority::High,
            crate::notice::AlarmClass::Device
        )
    );
    e.device_alarm(
        &bed,
        "vent-1",
        "APNEA",
        Priority::High,
        false,
        "",
        t(5),
        t(5),
    );
    let changes: Vec<_> = alarms(&mut e).into_iter().map(|a| a.2).collect();
    assert_eq!(changes, ["condition_cleared"], "high priority latches");
}

#[test]
fn event_ids_are_unique_and_in_emission_order() {
    let mut e = engine_with(News2AlarmPolicy::IMMEDIATE);
    feed(&mut e, "bed-1", Metric::Spo2, 0, &[75.0]);
    let ids: Vec<String> = e
        .take_events()
        .iter()
        .filter_map(|ev| ev.alarm().map(|n| n.event_id.clone()))
        .collect();
    // Desat raised, its escalation offered, NEWS2 low-medium raised.
    assert_eq!(ids, ["boot-1", "boot-2", "boot-3"]);
}
