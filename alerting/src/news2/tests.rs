//! NEWS2 reference cases. Every expected number below was read by hand from the
//! RCP 2017 Chart 1 as reproduced in `research/pipeline-alerting.md` B.3, not
//! computed with the code under test.

use super::*;

const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

const S1: Spo2Scale = Spo2Scale::Scale1;
const S2: Spo2Scale = Spo2Scale::Scale2;
const AIR: Oxygen = Oxygen::Air;
const O2: Oxygen = Oxygen::Supplemental;
const A: Consciousness = Consciousness::Alert;
const C: Consciousness = Consciousness::NewConfusion;
const V: Consciousness = Consciousness::Voice;
const P: Consciousness = Consciousness::Pain;
const U: Consciousness = Consciousness::Unresponsive;
const ZERO: Band = Band::Zero;
const LOW: Band = Band::Low;
const LM: Band = Band::LowMedium;
const MED: Band = Band::Medium;
const HIGH: Band = Band::High;

/// Respiration rate, SpO2, scale, air or oxygen, systolic, pulse, ACVPU,
/// temperature; then the expected points in chart order (RR, SpO2, air/O2,
/// systolic, pulse, consciousness, temperature), total and band.
type Case = (
    f64,
    f64,
    Spo2Scale,
    Oxygen,
    f64,
    f64,
    Consciousness,
    f64,
    [u8; 7],
    u8,
    Band,
);

/// The baseline patient scores 0 everywhere: RR 16, SpO2 97 on scale 1 on air,
/// systolic 120, pulse 70, alert, 37.0 degrees. Each single-parameter row moves
/// one value (two for scale 2 on oxygen) to a band edge.
#[rustfmt::skip]
const CASES: &[Case] = &[
    // Respiration rate: <=8 | 9-11 | 12-20 | 21-24 | >=25.
    (8.0, 97.0, S1, AIR, 120.0, 70.0, A, 37.0, [3, 0, 0, 0, 0, 0, 0], 3, LM),
    (9.0, 97.0, S1, AIR, 120.0, 70.0, A, 37.0, [1, 0, 0, 0, 0, 0, 0], 1, LOW),
    (11.0, 97.0, S1, AIR, 120.0, 70.0, A, 37.0, [1, 0, 0, 0, 0, 0, 0], 1, LOW),
    (12.0, 97.0, S1, AIR, 120.0, 70.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (20.0, 97.0, S1, AIR, 120.0, 70.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (21.0, 97.0, S1, AIR, 120.0, 70.0, A, 37.0, [2, 0, 0, 0, 0, 0, 0], 2, LOW),
    (24.0, 97.0, S1, AIR, 120.0, 70.0, A, 37.0, [2, 0, 0, 0, 0, 0, 0], 2, LOW),
    (25.0, 97.0, S1, AIR, 120.0, 70.0, A, 37.0, [3, 0, 0, 0, 0, 0, 0], 3, LM),
    // SpO2 scale 1 on air: <=91 | 92-93 | 94-95 | >=96.
    (16.0, 91.0, S1, AIR, 120.0, 70.0, A, 37.0, [0, 3, 0, 0, 0, 0, 0], 3, LM),
    (16.0, 92.0, S1, AIR, 120.0, 70.0, A, 37.0, [0, 2, 0, 0, 0, 0, 0], 2, LOW),
    (16.0, 93.0, S1, AIR, 120.0, 70.0, A, 37.0, [0, 2, 0, 0, 0, 0, 0], 2, LOW),
    (16.0, 94.0, S1, AIR, 120.0, 70.0, A, 37.0, [0, 1, 0, 0, 0, 0, 0], 1, LOW),
    (16.0, 95.0, S1, AIR, 120.0, 70.0, A, 37.0, [0, 1, 0, 0, 0, 0, 0], 1, LOW),
    (16.0, 96.0, S1, AIR, 120.0, 70.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    // SpO2 scale 1 on oxygen: the oxygen row adds 2, the SpO2 row is unchanged.
    (16.0, 91.0, S1, O2, 120.0, 70.0, A, 37.0, [0, 3, 2, 0, 0, 0, 0], 5, MED),
    (16.0, 93.0, S1, O2, 120.0, 70.0, A, 37.0, [0, 2, 2, 0, 0, 0, 0], 4, LOW),
    (16.0, 96.0, S1, O2, 120.0, 70.0, A, 37.0, [0, 0, 2, 0, 0, 0, 0], 2, LOW),
    (16.0, 97.0, S1, O2, 120.0, 70.0, A, 37.0, [0, 0, 2, 0, 0, 0, 0], 2, LOW),
    // SpO2 scale 2 on air: <=83 | 84-85 | 86-87 | 88-92 | >=93 on air scores 0.
    (16.0, 83.0, S2, AIR, 120.0, 70.0, A, 37.0, [0, 3, 0, 0, 0, 0, 0], 3, LM),
    (16.0, 84.0, S2, AIR, 120.0, 70.0, A, 37.0, [0, 2, 0, 0, 0, 0, 0], 2, LOW),
    (16.0, 85.0, S2, AIR, 120.0, 70.0, A, 37.0, [0, 2, 0, 0, 0, 0, 0], 2, LOW),
    (16.0, 86.0, S2, AIR, 120.0, 70.0, A, 37.0, [0, 1, 0, 0, 0, 0, 0], 1, LOW),
    (16.0, 87.0, S2, AIR, 120.0, 70.0, A, 37.0, [0, 1, 0, 0, 0, 0, 0], 1, LOW),
    (16.0, 88.0, S2, AIR, 120.0, 70.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (16.0, 92.0, S2, AIR, 120.0, 70.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (16.0, 93.0, S2, AIR, 120.0, 70.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (16.0, 100.0, S2, AIR, 120.0, 70.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    // SpO2 scale 2 on oxygen: as on air up to 92; 93-94 | 95-96 | >=97 on O2.
    (16.0, 83.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 3, 2, 0, 0, 0, 0], 5, MED),
    (16.0, 84.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 2, 2, 0, 0, 0, 0], 4, LOW),
    (16.0, 85.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 2, 2, 0, 0, 0, 0], 4, LOW),
    (16.0, 86.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 1, 2, 0, 0, 0, 0], 3, LOW),
    (16.0, 87.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 1, 2, 0, 0, 0, 0], 3, LOW),
    (16.0, 88.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 0, 2, 0, 0, 0, 0], 2, LOW),
    (16.0, 92.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 0, 2, 0, 0, 0, 0], 2, LOW),
    (16.0, 93.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 1, 2, 0, 0, 0, 0], 3, LOW),
    (16.0, 94.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 1, 2, 0, 0, 0, 0], 3, LOW),
    (16.0, 95.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 2, 2, 0, 0, 0, 0], 4, LOW),
    (16.0, 96.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 2, 2, 0, 0, 0, 0], 4, LOW),
    (16.0, 97.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 3, 2, 0, 0, 0, 0], 5, MED),
    (16.0, 100.0, S2, O2, 120.0, 70.0, A, 37.0, [0, 3, 2, 0, 0, 0, 0], 5, MED),
    // Systolic: <=90 | 91-100 | 101-110 | 111-219 | >=220.
    (16.0, 97.0, S1, AIR, 90.0, 70.0, A, 37.0, [0, 0, 0, 3, 0, 0, 0], 3, LM),
    (16.0, 97.0, S1, AIR, 91.0, 70.0, A, 37.0, [0, 0, 0, 2, 0, 0, 0], 2, LOW),
    (16.0, 97.0, S1, AIR, 100.0, 70.0, A, 37.0, [0, 0, 0, 2, 0, 0, 0], 2, LOW),
    (16.0, 97.0, S1, AIR, 101.0, 70.0, A, 37.0, [0, 0, 0, 1, 0, 0, 0], 1, LOW),
    (16.0, 97.0, S1, AIR, 110.0, 70.0, A, 37.0, [0, 0, 0, 1, 0, 0, 0], 1, LOW),
    (16.0, 97.0, S1, AIR, 111.0, 70.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (16.0, 97.0, S1, AIR, 219.0, 70.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (16.0, 97.0, S1, AIR, 220.0, 70.0, A, 37.0, [0, 0, 0, 3, 0, 0, 0], 3, LM),
    // Pulse: <=40 | 41-50 | 51-90 | 91-110 | 111-130 | >=131.
    (16.0, 97.0, S1, AIR, 120.0, 40.0, A, 37.0, [0, 0, 0, 0, 3, 0, 0], 3, LM),
    (16.0, 97.0, S1, AIR, 120.0, 41.0, A, 37.0, [0, 0, 0, 0, 1, 0, 0], 1, LOW),
    (16.0, 97.0, S1, AIR, 120.0, 50.0, A, 37.0, [0, 0, 0, 0, 1, 0, 0], 1, LOW),
    (16.0, 97.0, S1, AIR, 120.0, 51.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (16.0, 97.0, S1, AIR, 120.0, 90.0, A, 37.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (16.0, 97.0, S1, AIR, 120.0, 91.0, A, 37.0, [0, 0, 0, 0, 1, 0, 0], 1, LOW),
    (16.0, 97.0, S1, AIR, 120.0, 110.0, A, 37.0, [0, 0, 0, 0, 1, 0, 0], 1, LOW),
    (16.0, 97.0, S1, AIR, 120.0, 111.0, A, 37.0, [0, 0, 0, 0, 2, 0, 0], 2, LOW),
    (16.0, 97.0, S1, AIR, 120.0, 130.0, A, 37.0, [0, 0, 0, 0, 2, 0, 0], 2, LOW),
    (16.0, 97.0, S1, AIR, 120.0, 131.0, A, 37.0, [0, 0, 0, 0, 3, 0, 0], 3, LM),
    // Consciousness: alert 0, any of C, V, P, U 3.
    (16.0, 97.0, S1, AIR, 120.0, 70.0, C, 37.0, [0, 0, 0, 0, 0, 3, 0], 3, LM),
    (16.0, 97.0, S1, AIR, 120.0, 70.0, V, 37.0, [0, 0, 0, 0, 0, 3, 0], 3, LM),
    (16.0, 97.0, S1, AIR, 120.0, 70.0, P, 37.0, [0, 0, 0, 0, 0, 3, 0], 3, LM),
    (16.0, 97.0, S1, AIR, 120.0, 70.0, U, 37.0, [0, 0, 0, 0, 0, 3, 0], 3, LM),
    // Temperature: <=35.0 | 35.1-36.0 | 36.1-38.0 | 38.1-39.0 | >=39.1.
    (16.0, 97.0, S1, AIR, 120.0, 70.0, A, 35.0, [0, 0, 0, 0, 0, 0, 3], 3, LM),
    (16.0, 97.0, S1, AIR, 120.0, 70.0, A, 35.1, [0, 0, 0, 0, 0, 0, 1], 1, LOW),
    (16.0, 97.0, S1, AIR, 120.0, 70.0, A, 36.0, [0, 0, 0, 0, 0, 0, 1], 1, LOW),
    (16.0, 97.0, S1, AIR, 120.0, 70.0, A, 36.1, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (16.0, 97.0, S1, AIR, 120.0, 70.0, A, 38.0, [0, 0, 0, 0, 0, 0, 0], 0, ZERO),
    (16.0, 97.0, S1, AIR, 120.0, 70.0, A, 38.1, [0, 0, 0, 0, 0, 0, 1], 1, LOW),
    (16.0, 97.0, S1, AIR, 120.0, 70.0, A, 39.0, [0, 0, 0, 0, 0, 0, 1], 1, LOW),
    (16.0, 97.0, S1, AIR, 120.0, 70.0, A, 39.1, [0, 0, 0, 0, 0, 0, 2], 2, LOW),
    // Band edges from several parameters.
    // 4 without a 3 is low; adding 1 reaches the key threshold 5.
    (21.0, 97.0, S1, AIR, 95.0, 70.0, A, 37.0, [2, 0, 0, 2, 0, 0, 0], 4, LOW),
    (21.0, 97.0, S1, AIR, 95.0, 95.0, A, 37.0, [2, 0, 0, 2, 1, 0, 0], 5, MED),
    (22.0, 94.0, S1, AIR, 120.0, 115.0, A, 38.5, [2, 1, 0, 0, 2, 0, 1], 6, MED),
    // Published worked example (calculory.com NEWS2 calculator): RR 25, SpO2 93
    // and systolic 95, the rest normal: 3 + 2 + 2 = 7, high risk.
    (25.0, 93.0, S1, AIR, 95.0, 70.0, A, 37.0, [3, 2, 0, 2, 0, 0, 0], 7, HIGH),
    // A single 3 under 5 is low-medium; with 5 or more the total band wins.
    (8.0, 97.0, S1, AIR, 120.0, 45.0, A, 37.0, [3, 0, 0, 0, 1, 0, 0], 4, LM),
    (16.0, 97.0, S1, AIR, 100.0, 70.0, V, 37.0, [0, 0, 0, 2, 0, 3, 0], 5, MED),
    (25.0, 95.0, S1, AIR, 120.0, 115.0, A, 37.0, [3, 1, 0, 0, 2, 0, 0], 6, MED),
    (16.0, 97.0, S1, O2, 95.0, 70.0, U, 37.0, [0, 0, 2, 2, 0, 3, 0], 7, HIGH),
    // The maximum, 20, on either scale.
    (30.0, 80.0, S1, O2, 80.0, 150.0, U, 34.0, [3, 3, 2, 3, 3, 3, 3], 20, HIGH),
    (5.0, 98.0, S2, O2, 230.0, 35.0, P, 35.0, [3, 3, 2, 3, 3, 3, 3], 20, HIGH),
];

fn input(case: &Case) -> News2Input {
    let (rr, spo2, scale, oxygen, sbp, pulse, acvpu, temp, ..) = *case;
    let now = |v| Some(Observed::new(v, NOW));
    News2Input {
        respiration_rate: now(rr),
        spo2: now(spo2),
        spo2_scale: scale,
        oxygen: Some(Observed::new(oxygen, NOW)),
        systolic_bp: now(sbp),
        pulse: now(pulse),
        consciousness: Some(Observed::new(acvpu, NOW)),
        temperature: now(temp),
    }
}

fn baseline() -> News2Input {
    let zero = [0; 7];
    input(&(16.0, 97.0, S1, AIR, 120.0, 70.0, A, 37.0, zero, 0, ZERO))
}

fn points(news: &News2) -> Vec<SubScore> {
    Parameter::ALL.map(|p| news.sub_score(p)).to_vec()
}

#[test]
fn reference_table_scores_every_band_edge() {
    assert!(CASES.len() >= 40);
    let mut failures = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let news = score(&input(case), &News2Config::default(), NOW);
        let (.., expected, total, band) = *case;
        let expected = expected.map(SubScore::Scored).to_vec();
        if points(&news) != expected || news.total() != total || news.band() != band {
            failures.push(format!("case {i} {case:?}: got {news:?}"));
        }
        assert!(news.is_complete(), "case {i}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn spo2_scale_2_on_oxygen_scores_3_at_97() {
    let mut input = baseline();
    input.spo2_scale = Spo2Scale::Scale2;
    input.spo2 = Some(Observed::new(97.0, NOW));
    input.oxygen = Some(Observed::new(Oxygen::Supplemental, NOW));
    let news = score(&input, &News2Config::default(), NOW);
    assert_eq!(news.sub_score(Parameter::Spo2), SubScore::Scored(3));
    input.oxygen = Some(Observed::new(Oxygen::Air, NOW));
    let news = score(&input, &News2Config::default(), NOW);
    assert_eq!(news.sub_score(Parameter::Spo2), SubScore::Scored(0));
}

#[test]
fn bands_follow_total_then_single_three() {
    let table = [
        (0, false, Band::Zero),
        (1, false, Band::Low),
        (4, false, Band::Low),
        (3, true, Band::LowMedium),
        (4, true, Band::LowMedium),
        (5, false, Band::Medium),
        (5, true, Band::Medium),
        (6, true, Band::Medium),
        (7, false, Band::High),
        (20, true, Band::High),
    ];
    for (total, three, band) in table {
        assert_eq!(Band::of(total, three), band, "{total} {three}");
    }
}

#[test]
fn respiration_rate_rounds_half_away_from_zero() {
    let mut input = baseline();
    input.respiration_rate = Some(Observed::new(20.4, NOW));
    let news = score(&input, &News2Config::default(), NOW);
    assert_eq!(
        news.sub_score(Parameter::RespirationRate),
        SubScore::Scored(0)
    );
    input.respiration_rate = Some(Observed::new(20.5, NOW));
    let news = score(&input, &News2Config::default(), NOW);
    assert_eq!(
        news.sub_score(Parameter::RespirationRate),
        SubScore::Scored(2)
    );
}

#[test]
fn temperature_is_scored_to_a_tenth_of_a_degree() {
    let cases = [(36.04, 1), (36.06, 0), (38.04, 0), (38.06, 1), (35.04, 3)];
    for (celsius, expected) in cases {
        let mut input = baseline();
        input.temperature = Some(Observed::new(celsius, NOW));
        let news = score(&input, &News2Config::default(), NOW);
        let got = news.sub_score(Parameter::Temperature);
        assert_eq!(got, SubScore::Scored(expected), "{celsius}");
    }
}

#[test]
fn missing_temperature_leaves_an_incomplete_score_of_the_rest() {
    let mut input = baseline();
    input.respiration_rate = Some(Observed::new(22.0, NOW));
    input.temperature = None;
    let news = score(&input, &News2Config::default(), NOW);
    assert!(!news.is_complete());
    assert_eq!(news.total(), 2);
    let gaps: Vec<_> = news.gaps().collect();
    assert_eq!(gaps, [(Parameter::Temperature, Gap::Missing)]);
}

#[test]
fn observation_older_than_its_max_age_is_stale_and_not_scored() {
    let config = News2Config::default();
    assert_eq!(
        config.max_age(Parameter::SystolicBp),
        Duration::from_secs(3_600)
    );
    let mut input = baseline();
    let at_limit = Timestamp::from_millis(NOW.as_micros() / 1_000 - 3_600_000);
    input.systolic_bp = Some(Observed::new(85.0, at_limit));
    let news = score(&input, &config, NOW);
    assert_eq!(news.sub_score(Parameter::SystolicBp), SubScore::Scored(3));
    let too_old = Timestamp::from_micros(at_limit.as_micros() - 1);
    input.systolic_bp = Some(Observed::new(85.0, too_old));
    let news = score(&input, &config, NOW);
    let age = Duration::from_micros(3_600_000_001);
    let stale = SubScore::Unavailable(Gap::Stale { age });
    assert_eq!(news.sub_score(Parameter::SystolicBp), stale);
    assert_eq!(news.total(), 0);
    assert!(!news.is_complete());
}

#[test]
fn max_age_is_configurable_per_parameter() {
    let config = News2Config::default().with_max_age(Parameter::Pulse, Duration::from_secs(30));
    let mut input = baseline();
    let minute_ago = Timestamp::from_millis(NOW.as_micros() / 1_000 - 60_000);
    input.pulse = Some(Observed::new(120.0, minute_ago));
    input.respiration_rate = Some(Observed::new(22.0, minute_ago));
    let news = score(&input, &config, NOW);
    let gaps: Vec<_> = news.gaps().map(|(p, _)| p).collect();
    assert_eq!(gaps, [Parameter::Pulse]);
    assert_eq!(
        news.sub_score(Parameter::RespirationRate),
        SubScore::Scored(2)
    );
}

#[test]
fn spo2_scale_2_at_93_or_more_needs_a_fresh_oxygen_status() {
    let mut input = baseline();
    input.spo2_scale = Spo2Scale::Scale2;
    input.spo2 = Some(Observed::new(95.0, NOW));
    input.oxygen = None;
    let news = score(&input, &News2Config::default(), NOW);
    let gaps: Vec<_> = news.gaps().collect();
    assert_eq!(
        gaps,
        [
            (Parameter::Spo2, Gap::NeedsOxygen),
            (Parameter::Oxygen, Gap::Missing)
        ]
    );
    let two_hours_ago = Timestamp::from_millis(NOW.as_micros() / 1_000 - 7_200_000);
    input.oxygen = Some(Observed::new(Oxygen::Supplemental, two_hours_ago));
    let news = score(&input, &News2Config::default(), NOW);
    let spo2 = news.sub_score(Parameter::Spo2);
    assert_eq!(spo2, SubScore::Unavailable(Gap::NeedsOxygen));
}

#[test]
fn spo2_scale_2_below_93_is_scored_without_oxygen_status() {
    let mut input = baseline();
    input.spo2_scale = Spo2Scale::Scale2;
    input.spo2 = Some(Observed::new(85.0, NOW));
    input.oxygen = None;
    let news = score(&input, &News2Config::default(), NOW);
    assert_eq!(news.sub_score(Parameter::Spo2), SubScore::Scored(2));
    let oxygen = news.sub_score(Parameter::Oxygen);
    assert_eq!(oxygen, SubScore::Unavailable(Gap::Missing));
}

#[test]
fn non_finite_value_is_a_gap_not_a_score() {
    let mut input = baseline();
    input.pulse = Some(Observed::new(f64::NAN, NOW));
    input.temperature = Some(Observed::new(f64::INFINITY, NOW));
    let news = score(&input, &News2Config::default(), NOW);
    let gaps: Vec<_> = news.gaps().collect();
    assert_eq!(
        gaps,
        [
            (Parameter::Pulse, Gap::NotANumber),
            (Parameter::Temperature, Gap::NotANumber)
        ]
    );
}

#[test]
fn incomplete_score_already_in_the_high_band_is_reported_high() {
    let input = News2Input {
        respiration_rate: Some(Observed::new(26.0, NOW)),
        spo2: Some(Observed::new(90.0, NOW)),
        pulse: Some(Observed::new(112.0, NOW)),
        ..News2Input::default()
    };
    let news = score(&input, &News2Config::default(), NOW);
    assert_eq!(news.total(), 8);
    assert_eq!(news.band(), Band::High);
    assert_eq!(news.gaps().count(), 4);
}

#[test]
fn observation_timed_after_now_counts_as_fresh() {
    let mut input = baseline();
    let later = Timestamp::from_millis(NOW.as_micros() / 1_000 + 5_000);
    input.pulse = Some(Observed::new(135.0, later));
    let news = score(&input, &News2Config::default(), NOW);
    assert_eq!(news.sub_score(Parameter::Pulse), SubScore::Scored(3));
}

#[test]
fn high_band_asks_for_emergency_response_and_continuous_monitoring() {
    let high = Band::High;
    assert!(high.clinical_response().starts_with("Emergency response"));
    assert_eq!(
        high.minimum_monitoring(),
        "continuous monitoring of vital signs"
    );
    assert_eq!(high.clinical_risk(), "high");
    assert!(Band::Medium.clinical_response().contains("urgent"));
    assert_eq!(Band::Zero.minimum_monitoring(), "at least every 12 hours");
}
