//! Lifecycle behaviour, with explicit times.

use super::*;

fn t(s: i64) -> Timestamp {
    Timestamp::from_millis(s * 1_000)
}

fn nurse() -> StaffId {
    StaffId::from("nurse-a")
}

fn raised(priority: Priority) -> Alarm {
    Alarm::raise(AlarmKey::new("bed-7", "rule"), priority, t(0)).0
}

fn kinds(events: &[AlarmEvent]) -> Vec<(EventKind, AlarmState)> {
    events.iter().map(|e| (e.kind, e.state)).collect()
}

#[test]
fn raise_is_logged_by_the_system_at_the_condition_start() {
    let key = AlarmKey::new("bed-7", "spo2_low");
    let (alarm, event) = Alarm::raise(key.clone(), Priority::Medium, t(42));
    assert_eq!(
        event,
        AlarmEvent {
            key,
            occurrence: 1,
            at: t(42),
            actor: Actor::System,
            kind: EventKind::Raised,
            state: AlarmState::ActiveUnacknowledged,
        }
    );
    assert!(alarm.condition_present());
}

#[test]
fn medium_alarm_resolves_when_its_condition_clears_unacknowledged() {
    let mut alarm = raised(Priority::Medium);
    let events = alarm.condition_cleared(t(30));
    assert_eq!(
        kinds(&events),
        [(EventKind::Resolved, AlarmState::Resolved)]
    );
    assert_eq!(events[0].at, t(30));
    assert!(!alarm.is_open());
}

#[test]
fn high_priority_alarm_latches_until_acknowledged() {
    let mut alarm = raised(Priority::High);
    let events = alarm.condition_cleared(t(10));
    let latched = (
        EventKind::ConditionCleared,
        AlarmState::ActiveUnacknowledged,
    );
    assert_eq!(kinds(&events), [latched]);
    assert!(alarm.is_open());
    assert!(!alarm.condition_present());
    let events = alarm.acknowledge(t(20), &nurse()).unwrap();
    assert_eq!(
        kinds(&events),
        [
            (EventKind::Acknowledged, AlarmState::Acknowledged),
            (EventKind::Resolved, AlarmState::Resolved)
        ]
    );
    assert!(events.iter().all(|e| e.actor == Actor::Staff(nurse())));
    assert!(events.iter().all(|e| e.at == t(20)));
}

#[test]
fn acknowledged_alarm_stays_until_its_condition_clears() {
    for priority in [Priority::High, Priority::Medium, Priority::Low] {
        let mut alarm = raised(priority);
        let events = alarm.acknowledge(t(5), &nurse()).unwrap();
        let acked = (EventKind::Acknowledged, AlarmState::Acknowledged);
        assert_eq!(kinds(&events), [acked]);
        let events = alarm.condition_cleared(t(9));
        let resolved = (EventKind::Resolved, AlarmState::Resolved);
        assert_eq!(kinds(&events), [resolved], "{priority:?}");
        assert_eq!(events[0].actor, Actor::System);
    }
}

#[test]
fn acknowledging_twice_is_refused_and_changes_nothing() {
    let mut alarm = raised(Priority::Medium);
    alarm.acknowledge(t(5), &nurse()).unwrap();
    let before = alarm.clone();
    let other = StaffId::from("nurse-b");
    let err = alarm.acknowledge(t(6), &other).unwrap_err();
    assert_eq!(err, LifecycleError::AlreadyAcknowledged);
    assert_eq!(alarm, before);
}

#[test]
fn acknowledgement_racing_resolution_does_not_reopen_the_alarm() {
    let mut alarm = raised(Priority::Medium);
    alarm.condition_cleared(t(10));
    let err = alarm.acknowledge(t(11), &nurse()).unwrap_err();
    assert_eq!(err, LifecycleError::Resolved);
    assert_eq!(alarm.state(), AlarmState::Resolved);
}

#[test]
fn silence_pauses_audio_until_it_runs_out_then_sounds_again() {
    let mut alarm = raised(Priority::Medium);
    let policy = LifecyclePolicy::default();
    let pause = Duration::from_secs(60);
    let events = alarm.silence(t(5), &nurse(), pause, &policy).unwrap();
    let until = t(65);
    let silenced = (
        EventKind::Silenced { until },
        AlarmState::Silenced { until },
    );
    assert_eq!(kinds(&events), [silenced]);
    assert!(alarm.tick(t(64)).is_empty());
    let events = alarm.tick(t(70));
    let expired = (EventKind::SilenceExpired, AlarmState::ActiveUnacknowledged);
    assert_eq!(kinds(&events), [expired]);
    assert_eq!(events[0].at, until, "stamped when the pause ran out");
    assert!(alarm.tick(t(71)).is_empty());
}

#[test]
fn silence_must_be_above_zero_and_within_the_maximum() {
    let mut alarm = raised(Priority::Medium);
    let policy = LifecyclePolicy::default();
    assert_eq!(policy.max_silence, Duration::from_secs(120));
    for requested in [Duration::ZERO, Duration::from_secs(121)] {
        let err = alarm.silence(t(1), &nurse(), requested, &policy);
        let max = policy.max_silence;
        assert_eq!(
            err,
            Err(LifecycleError::SilenceOutOfRange { requested, max })
        );
    }
    assert_eq!(alarm.state(), AlarmState::ActiveUnacknowledged);
    let longest = Duration::from_secs(120);
    assert!(alarm.silence(t(1), &nurse(), longest, &policy).is_ok());
}

#[test]
fn acknowledged_alarm_cannot_be_silenced() {
    let mut alarm = raised(Priority::Medium);
    alarm.acknowledge(t(1), &nurse()).unwrap();
    let policy = LifecyclePolicy::default();
    let err = alarm.silence(t(2), &nurse(), Duration::from_secs(30), &policy);
    assert_eq!(err, Err(LifecycleError::AlreadyAcknowledged));
}

#[test]
fn acknowledging_a_silenced_alarm_ends_the_silence() {
    let mut alarm = raised(Priority::High);
    let policy = LifecyclePolicy::default();
    alarm
        .silence(t(1), &nurse(), Duration::from_secs(30), &policy)
        .unwrap();
    alarm.acknowledge(t(2), &nurse()).unwrap();
    assert_eq!(alarm.state(), AlarmState::Acknowledged);
    assert!(alarm.tick(t(100)).is_empty());
}

#[test]
fn latched_alarm_sounds_again_when_its_silence_runs_out() {
    let mut alarm = raised(Priority::High);
    let policy = LifecyclePolicy::default();
    alarm
        .silence(t(1), &nurse(), Duration::from_secs(30), &policy)
        .unwrap();
    let events = alarm.condition_cleared(t(10));
    let until = t(31);
    let latched = (EventKind::ConditionCleared, AlarmState::Silenced { until });
    assert_eq!(kinds(&events), [latched]);
    let events = alarm.tick(t(40));
    let expired = (EventKind::SilenceExpired, AlarmState::ActiveUnacknowledged);
    assert_eq!(kinds(&events), [expired]);
    assert!(alarm.is_open());
}

#[test]
fn silenced_medium_alarm_resolves_with_its_condition() {
    let mut alarm = raised(Priority::Medium);
    let policy = LifecyclePolicy::default();
    alarm
        .silence(t(1), &nurse(), Duration::from_secs(30), &policy)
        .unwrap();
    let events = alarm.condition_cleared(t(10));
    assert_eq!(
        kinds(&events),
        [(EventKind::Resolved, AlarmState::Resolved)]
    );
    assert!(alarm.tick(t(40)).is_empty());
}

#[test]
fn condition_returning_on_a_latched_alarm_is_noted_not_raised_again() {
    let mut alarm = raised(Priority::High);
    alarm.condition_cleared(t(10));
    let events = alarm.condition_started(t(20), Priority::High);
    let returned = (
        EventKind::ConditionReturned,
        AlarmState::ActiveUnacknowledged,
    );
    assert_eq!(kinds(&events), [returned]);
    assert_eq!(alarm.occurrence(), 1);
    assert_eq!(alarm.raised_at(), t(0));
    let events = alarm.acknowledge(t(30), &nurse()).unwrap();
    let acked = (EventKind::Acknowledged, AlarmState::Acknowledged);
    assert_eq!(kinds(&events), [acked], "condition present: not resolved");
}

#[test]
fn repeated_condition_start_or_clear_logs_nothing() {
    let mut alarm = raised(Priority::Medium);
    assert!(alarm.condition_started(t(1), Priority::Medium).is_empty());
    alarm.condition_cleared(t(2));
    assert!(alarm.condition_cleared(t(3)).is_empty());
}

#[test]
fn resolved_alarm_reopens_as_a_new_occurrence_with_the_new_priority() {
    let mut alarm = raised(Priority::Medium);
    alarm.condition_cleared(t(10));
    let events = alarm.condition_started(t(50), Priority::High);
    let raised_again = (EventKind::Raised, AlarmState::ActiveUnacknowledged);
    assert_eq!(kinds(&events), [raised_again]);
    assert_eq!(events[0].occurrence, 2);
    assert_eq!(alarm.priority(), Priority::High);
    assert!(alarm.latches());
}
