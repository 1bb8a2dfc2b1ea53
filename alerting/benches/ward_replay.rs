//! Ward replay benchmark: 24 hours of a generated 12-bed ward (1 Hz numerics,
//! noise, artefacts, scripted true events) through the alarm engine twice, with
//! the shipped rules and with every on-delay, off-delay and hysteresis zero.
//!
//! ```text
//! cargo bench -p alerting --bench ward_replay            # 24 hours
//! cargo bench -p alerting --bench ward_replay -- 6       # 6 hours
//! ```
//!
//! Prints alarms raised by priority in each run, the reduction, and per
//! scripted event whether an alarm of its rule was raised and how late.

#[path = "../tests/ward/mod.rs"]
mod ward;

use std::time::{Duration, Instant};

const SEED: u64 = 0x5EED_0005;

#[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
fn main() {
    let hours: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(24);
    let secs = hours * 3_600;
    let started = Instant::now();
    let shipped = ward::replay(ward::shipped(), secs, SEED);
    let shipped_time = started.elapsed();
    let zero = ward::replay(ward::zero_delay(), secs, SEED);
    println!(
        "Ward replay: {hours} h, {} beds, {} samples per run, seed {SEED:#x}",
        ward::BEDS,
        shipped.samples
    );
    println!(
        "engine throughput (shipped run): {:.0} samples/s",
        shipped.samples as f64 / shipped_time.as_secs_f64()
    );
    println!();
    println!("{:<10} {:>10} {:>12}", "priority", "shipped", "zero-delay");
    for (i, name) in ["low", "medium", "high"].iter().enumerate() {
        println!(
            "{name:<10} {:>10} {:>12}",
            shipped.by_priority[i], zero.by_priority[i]
        );
    }
    println!(
        "{:<10} {:>10} {:>12}",
        "total",
        shipped.total(),
        zero.total()
    );
    let ratio = zero.total() as f64 / shipped.total().max(1) as f64;
    let cut = 100.0 * (1.0 - shipped.total() as f64 / zero.total().max(1) as f64);
    println!("reduction: zero-delay / shipped = {ratio:.2} ({cut:.1} % fewer alarms)");
    let limits = |o: &ward::Outcome| -> u64 {
        o.by_rule
            .iter()
            .filter(|(r, _)| !r.starts_with("news2_") && *r != "sensor_invalid")
            .map(|(_, n)| n)
            .sum()
    };
    let (ls, lz) = (limits(&shipped), limits(&zero));
    println!(
        "limit rules only: shipped {ls}, zero-delay {lz}, ratio {:.1}",
        lz as f64 / ls.max(1) as f64
    );
    println!();
    println!("{:<22} {:>10} {:>12}", "rule", "shipped", "zero-delay");
    for (rule, n) in &zero.by_rule {
        let s = shipped.by_rule.get(rule).copied().unwrap_or(0);
        println!("{rule:<22} {s:>10} {n:>12}");
    }
    println!();
    println!(
        "{:<36} {:>6} {:>9} {:>10} {:>10}",
        "scripted true event", "bed", "start", "shipped", "zero-delay"
    );
    let events = ward::script(secs);
    for (i, e) in events.iter().enumerate() {
        println!(
            "{:<36} {:>6} {:>9} {:>10} {:>10}",
            e.name,
            e.bed,
            clock(e.start_s),
            delay(shipped.detected[i]),
            delay(zero.detected[i])
        );
    }
    let missed = shipped.detected.iter().filter(|d| d.is_none()).count();
    println!("missed by the shipped rules: {missed} of {}", events.len());
}

fn clock(s: u32) -> String {
    format!("{:02}:{:02}:{:02}", s / 3_600, s / 60 % 60, s % 60)
}

fn delay(d: Option<Duration>) -> String {
    d.map_or_else(|| "MISSED".to_owned(), |d| format!("+{} s", d.as_secs()))
}
