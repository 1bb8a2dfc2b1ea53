//! A generated ward recording: 12 beds of 1 Hz numerics with noise,
//! artefacts and scripted true events, from a seeded in-file PRNG.
//!
//! Each second every bed reports heart rate (ECG), pulse rate and SpO2
//! (oximeter) and respiratory rate; beds 0 to 3 also end-tidal CO2. The cuff
//! measures every 15 to 30 minutes, temperature is taken every 3.5 to 4.5
//! hours. Artefacts are what makes bedside alarms false (research B.5, D):
//! motion spikes of heart rate, short SpO2 dips, rare deep SpO2 drops of a few
//! seconds, probe-off runs of device-invalid values, lead-off invalid heart
//! rate, talking spikes of respiratory rate, capnography line dips. One bed
//! hovers at the heart-rate limit. The true events are scripted per bed at
//! known times and spread evenly over the recording, so a short recording
//! still contains all of them.
//!
//! Limits: values are plausible, not physiological models; nothing correlates
//! between metrics except inside the scripted events.

use std::sync::Arc;

use collector::{Origin, Quality, Sample};
use firmware_adapters::Metric;

/// 2026-01-05 00:00 UTC, in microseconds.
pub(crate) const START_US: i64 = 1_767_571_200_000_000;

/// SplitMix64: small, fast, good enough for test noise.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn secs(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }

    /// Roughly normal (sum of four uniforms), mean 0, sd `sd`.
    fn noise(&mut self, sd: f64) -> f64 {
        let s: f64 = (0..4).map(|_| self.unit()).sum();
        (s - 2.0) * sd * 1.732
    }

    /// True with probability `per_hour / 3600` (one draw per second).
    fn hourly(&mut self, per_hour: f64) -> bool {
        self.unit() < per_hour / 3600.0
    }
}

/// The kinds of scripted true events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// SpO2 84 to 88 % for 10 minutes.
    Desaturation,
    /// SpO2 72 to 76 % for 2 minutes.
    SevereDesaturation,
    /// Heart and pulse rate 42 to 46 for 5 minutes.
    Bradycardia,
    /// One cuff reading of 78/44 (mean 55).
    Hypotension,
    /// Heart and pulse rate 125 to 133 for 30 minutes.
    Tachycardia,
    /// A temperature reading of 39.4 (during the tachycardia).
    Fever,
    /// Over 20 minutes respiratory rate to 26, pulse to 115, SpO2 to 93,
    /// temperature 38.6, cuff systolic 96: NEWS2 rises to medium or high.
    Sepsis,
}

/// A scripted true event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) name: &'static str,
    pub(crate) bed: usize,
    pub(crate) kind: Kind,
    /// Seconds from the start of the recording.
    pub(crate) start_s: u32,
    pub(crate) dur_s: u32,
    /// An alarm of any of these rules on the bed detects the event.
    pub(crate) rules: &'static [&'static str],
}

impl Event {
    fn active(&self, t: u32) -> bool {
        t >= self.start_s && t < self.start_s + self.dur_s
    }
}

/// The scripted events of a recording of `secs` seconds: each at its own
/// fraction of the recording.
pub(crate) fn script(secs: u32) -> Vec<Event> {
    let at = |frac: f64| (f64::from(secs) * frac) as u32;
    let ev = |name, bed, kind, start_s, dur_s, rules| Event {
        name,
        bed,
        kind,
        start_s,
        dur_s,
        rules,
    };
    let tachy = at(0.55);
    vec![
        ev(
            "sustained desaturation",
            1,
            Kind::Desaturation,
            at(0.08),
            600,
            &["spo2_low"],
        ),
        ev(
            "bradycardia",
            3,
            Kind::Bradycardia,
            at(0.22),
            300,
            &["heart_rate", "pulse_rate"],
        ),
        ev(
            "hypotension on a cuff reading",
            5,
            Kind::Hypotension,
            at(0.36),
            1,
            &["nibp_systolic", "nibp_mean"],
        ),
        ev(
            "severe desaturation",
            6,
            Kind::SevereDesaturation,
            at(0.45),
            120,
            &["spo2_desat"],
        ),
        ev(
            "tachycardia",
            7,
            Kind::Tachycardia,
            tachy,
            1_800,
            &["heart_rate", "pulse_rate"],
        ),
        ev(
            "fever with the tachycardia",
            7,
            Kind::Fever,
            tachy + 300,
            1,
            &["body_temperature"],
        ),
        ev(
            "sepsis-like deterioration (NEWS2)",
            9,
            Kind::Sepsis,
            at(0.7),
            2_400,
            &["news2_medium", "news2_high"],
        ),
    ]
}

/// Baseline and artefact state of one bed.
#[derive(Debug)]
struct Bed {
    origin: Origin,
    hr: f64,
    spo2: f64,
    rr: f64,
    sbp: f64,
    temp: f64,
    etco2: Option<f64>,
    hr_spike: (u32, f64),
    spo2_dip: (u32, f64),
    probe_off: u32,
    lead_off: u32,
    rr_spike: (u32, f64),
    etco2_dip: u32,
    next_nibp: u32,
    next_temp: u32,
}

/// The ward, producing one second of samples at a time.
#[derive(Debug)]
pub(crate) struct Ward {
    rng: Rng,
    beds: Vec<Bed>,
    events: Vec<Event>,
}

/// Number of beds.
pub(crate) const BEDS: usize = 12;

/// The bed that hovers at the heart-rate limit.
const BORDERLINE_BED: usize = 10;

impl Ward {
    pub(crate) fn new(seed: u64, events: Vec<Event>) -> Self {
        let mut rng = Rng::new(seed);
        let beds = (0..BEDS)
            .map(|i| Bed {
                origin: Origin::new("ward", &format!("bed-{i:02}"), &format!("mon-{i:02}")),
                hr: if i == BORDERLINE_BED {
                    116.0
                } else {
                    rng.range(62.0, 92.0)
                },
                spo2: rng.range(94.5, 98.5),
                rr: rng.range(12.0, 19.0),
                sbp: rng.range(108.0, 138.0),
                temp: rng.range(36.4, 37.3),
                etco2: (i < 4).then(|| rng.range(35.0, 42.0)),
                hr_spike: (0, 0.0),
                spo2_dip: (0, 0.0),
                probe_off: 0,
                lead_off: 0,
                rr_spike: (0, 0.0),
                etco2_dip: 0,
                next_nibp: rng.secs(60, 1_800),
                next_temp: rng.secs(600, 14_400),
            })
            .collect();
        Self { rng, beds, events }
    }

    /// The bed identifier of bed `i`.
    pub(crate) fn bed_id(&self, i: usize) -> &Arc<str> {
        &self.beds[i].origin.bed_id
    }

    /// The samples of second `t` of the recording, all beds.
    pub(crate) fn second(&mut self, t: u32) -> Vec<Sample> {
        let mut out = Vec::with_capacity(BEDS * 6);
        for i in 0..BEDS {
            let events: Vec<Event> = self
                .events
                .iter()
                .filter(|e| e.bed == i && (e.active(t) || e.kind == Kind::Sepsis))
                .cloned()
                .collect();
            self.bed_second(i, t, &events, &mut out);
        }
        out
    }

    fn bed_second(&mut self, i: usize, t: u32, events: &[Event], out: &mut Vec<Sample>) {
        let rng = &mut self.rng;
        let bed = &mut self.beds[i];
        start_artefacts(rng, bed, t);
        // Slow drift of the baselines, bounded.
        bed.hr = (bed.hr + rng.noise(0.05)).clamp(55.0, 118.0);
        bed.spo2 = (bed.spo2 + rng.noise(0.02)).clamp(93.5, 99.0);
        bed.rr = (bed.rr + rng.noise(0.02)).clamp(11.0, 20.0);
        let sepsis = events
            .iter()
            .find(|e| e.kind == Kind::Sepsis)
            .filter(|e| e.active(t))
            .map_or(0.0, |e| (f64::from(t - e.start_s) / 1_200.0).min(1.0));
        let mut hr = bed.hr + rng.noise(1.5) + sepsis * (115.0 - bed.hr);
        let mut spo2 = bed.spo2 + rng.noise(0.6) - sepsis * (bed.spo2 - 93.0);
        let mut rr = bed.rr + rng.noise(0.8) + sepsis * (26.0 - bed.rr);
        for e in events.iter().filter(|e| e.active(t)) {
            match e.kind {
                Kind::Desaturation => spo2 = 86.0 + rng.noise(1.0).clamp(-2.0, 2.0),
                Kind::SevereDesaturation => spo2 = 74.0 + rng.noise(1.0).clamp(-2.0, 2.0),
                Kind::Bradycardia => hr = 44.0 + rng.noise(1.0).clamp(-2.0, 2.0),
                Kind::Tachycardia => hr = 129.0 + rng.noise(2.0).clamp(-4.0, 4.0),
                Kind::Hypotension | Kind::Fever | Kind::Sepsis => {}
            }
        }
        let pr = hr + rng.noise(1.0);
        if t < bed.hr_spike.0 {
            hr = bed.hr_spike.1;
        }
        if t < bed.spo2_dip.0 {
            spo2 = spo2.min(bed.spo2_dip.1);
        }
        if t < bed.rr_spike.0 {
            rr = bed.rr_spike.1;
        }
        let origin = bed.origin.clone();
        let at = START_US + i64::from(t) * 1_000_000;
        let mut push = |metric, value: f64, invalid: bool| {
            out.push(sample(&origin, at, metric, value, invalid));
        };
        push(Metric::HeartRate, hr.round(), t < bed.lead_off);
        let off = t < bed.probe_off;
        push(Metric::Spo2, spo2.round().min(100.0), off);
        push(Metric::PulseRate, pr.round(), off);
        push(Metric::RespiratoryRate, rr.round().max(0.0), false);
        if let Some(base) = bed.etco2 {
            let v = if t < bed.etco2_dip {
                8.0
            } else {
                base + rng.noise(1.0)
            };
            push(Metric::EtCo2, v.round(), false);
        }
        cuff_and_thermometer(rng, bed, t, sepsis, events, &mut push);
    }
}

fn start_artefacts(rng: &mut Rng, bed: &mut Bed, t: u32) {
    if rng.hourly(2.0) {
        bed.hr_spike = (t + rng.secs(3, 8), rng.range(125.0, 170.0));
    }
    if rng.hourly(3.0) {
        bed.spo2_dip = (t + rng.secs(3, 12), rng.range(83.0, 89.0));
    }
    if rng.hourly(0.15) {
        bed.spo2_dip = (t + rng.secs(2, 5), rng.range(70.0, 79.0));
    }
    if rng.hourly(0.5) {
        bed.probe_off = t + rng.secs(20, 180);
    }
    if rng.hourly(1.0) {
        bed.lead_off = t + rng.secs(1, 3);
    }
    if rng.hourly(2.0) {
        bed.rr_spike = (t + rng.secs(2, 6), rng.range(32.0, 40.0));
    }
    if bed.etco2.is_some() && rng.hourly(1.0) {
        bed.etco2_dip = t + rng.secs(3, 8);
    }
}

fn cuff_and_thermometer(
    rng: &mut Rng,
    bed: &mut Bed,
    t: u32,
    sepsis: f64,
    events: &[Event],
    push: &mut impl FnMut(Metric, f64, bool),
) {
    let hypotension = events.iter().any(|e| e.kind == Kind::Hypotension);
    if t == bed.next_nibp || hypotension {
        bed.next_nibp = t + rng.secs(900, 1_800);
        let sbp = if hypotension {
            78.0
        } else {
            bed.sbp + rng.noise(5.0) - sepsis * (bed.sbp - 96.0)
        };
        let dbp = if hypotension {
            44.0
        } else {
            sbp * rng.range(0.55, 0.65)
        };
        push(Metric::NibpSystolic, sbp.round(), false);
        push(Metric::NibpDiastolic, dbp.round(), false);
        push(Metric::NibpMean, ((sbp + 2.0 * dbp) / 3.0).round(), false);
    }
    let fever = events.iter().any(|e| e.kind == Kind::Fever);
    let sepsis_temp = events
        .iter()
        .any(|e| e.kind == Kind::Sepsis && t == e.start_s + 600);
    if t == bed.next_temp || fever || sepsis_temp {
        bed.next_temp = t + rng.secs(12_600, 16_200);
        let v = if fever {
            39.4
        } else if sepsis_temp {
            38.6
        } else {
            bed.temp + rng.noise(0.15)
        };
        push(Metric::BodyTemperature, (v * 10.0).round() / 10.0, false);
    }
}

fn sample(origin: &Origin, at: i64, metric: Metric, value: f64, invalid: bool) -> Sample {
    Sample {
        time_us: at,
        received_us: at,
        origin: origin.clone(),
        metric,
        value: if invalid { 0.0 } else { value },
        quality: if invalid {
            Quality::DEVICE_INVALID
        } else {
            Quality::empty()
        },
    }
}
