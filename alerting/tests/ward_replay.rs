//! Ward replay: the shipped rules miss no scripted true event and raise fewer
//! alarms than the same rules without delays and hysteresis. Six hours of the
//! generated ward (the benchmark `ward_replay` runs 24 hours).

mod ward;

use std::time::Duration;

const SEED: u64 = 0x5EED_0005;
const SECS: u32 = 6 * 3_600;

#[test]
fn shipped_rules_miss_no_true_event_and_raise_fewer_alarms() {
    let events = ward::script(SECS);
    let shipped = ward::replay(ward::shipped(), SECS, SEED);
    let zero = ward::replay(ward::zero_delay(), SECS, SEED);
    for (e, hit) in events.iter().zip(&shipped.detected) {
        let delay = hit.unwrap_or_else(|| panic!("missed {:?}: {shipped:?}", e.name));
        // A limit rule raises within its on-delay (at most 15 s) plus one
        // sample period; NEWS2 follows a 20-minute deterioration.
        let bound = if e.rules[0].starts_with("news2_") {
            Duration::from_secs(1_200)
        } else {
            Duration::from_secs(16)
        };
        assert!(delay <= bound, "{:?} raised after {delay:?}", e.name);
    }
    assert!(
        shipped.total() < zero.total(),
        "shipped {shipped:?} zero-delay {zero:?}"
    );
    // Same recording in both runs.
    assert_eq!(shipped.samples, zero.samples);
    assert!(shipped.samples > u64::from(SECS) * 4 * ward::BEDS as u64);
}
