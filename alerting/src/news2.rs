//! NEWS2, the National Early Warning Score 2 (Royal College of Physicians, 2017).
//!
//! [`score`] turns the latest observation of each of the seven chart rows
//! (respiration rate, SpO2, air or oxygen, systolic blood pressure, pulse,
//! consciousness, temperature) into per-parameter points (0 to 3), their total
//! (0 to 20), the trigger [`Band`] and the RCP clinical response for that band.
//! The scoring table is exactly the published Chart 1; it is not configurable,
//! because RCP asks that the chart not be modified.
//!
//! # Invariants
//!
//! - Every observation carries its time. An observation older than its
//!   parameter's maximum age ([`News2Config`]) is *stale*: it is never scored,
//!   it is reported as a [`Gap`], and the score is incomplete. A stale value is
//!   never silently reused. An observation timed after `now` (clock skew) has
//!   age zero.
//! - An incomplete score is a lower bound: a missing parameter can only add
//!   points. Its total and band are the least the patient warrants, so a partial
//!   total of 7 already means an emergency response; [`News2::is_complete`] and
//!   [`News2::gaps`] say what is missing.
//! - Values are rounded to the chart's resolution before scoring: whole numbers
//!   for respiration rate, SpO2, systolic pressure and pulse, tenths of a degree
//!   for temperature (halves round away from zero: RR 20.5 scores as 21). Band
//!   edges are then compared on integers, never on floating-point values.
//! - SpO2 scale 2 is a clinician's decision (prescribed target 88-92 %) and is an
//!   input, never inferred. On scale 2, a saturation of 93 % or more scores 0 on
//!   air and 1 to 3 on oxygen, so it cannot be scored without a fresh air or
//!   oxygen observation ([`Gap::NeedsOxygen`]). Below 93 % the oxygen status does
//!   not change the SpO2 points. The air-or-oxygen row adds its own 2 points on
//!   oxygen on either scale.
//! - Only *new* confusion scores (3 points, like voice, pain or unresponsive).
//!   Whether a patient's confusion is new is a clinical judgement the caller
//!   records; this module does not guess it.
//!
//! # Bands (RCP Chart 2 and Chart 4)
//!
//! Checked from the top: total 7 or more is [`Band::High`]; 5 or 6 is
//! [`Band::Medium`]; otherwise a 3 in any single parameter is
//! [`Band::LowMedium`]; otherwise 1 to 4 is [`Band::Low`] and 0 is
//! [`Band::Zero`].

use std::time::Duration;

use crate::time::Timestamp;

#[cfg(test)]
mod tests;

/// A value with the time it was measured or recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed<T> {
    /// The value.
    pub value: T,
    /// When it was measured (or, for consciousness and oxygen, recorded).
    pub at: Timestamp,
}

impl<T> Observed<T> {
    /// `value`, observed at `at`.
    pub const fn new(value: T, at: Timestamp) -> Self {
        Self { value, at }
    }
}

/// Which SpO2 row of the chart applies; a clinician's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Spo2Scale {
    /// The default, for most patients.
    #[default]
    Scale1,
    /// Hypercapnic respiratory failure with a prescribed target of 88-92 %.
    Scale2,
}

/// Whether the patient breathes air or receives supplemental oxygen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Oxygen {
    /// Room air.
    Air,
    /// Any supplemental oxygen.
    Supplemental,
}

/// The ACVPU consciousness scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consciousness {
    /// Alert.
    Alert,
    /// New confusion, disorientation or agitation.
    NewConfusion,
    /// Responds to voice only.
    Voice,
    /// Responds to pain only.
    Pain,
    /// Unresponsive.
    Unresponsive,
}

/// One row of the NEWS2 chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Parameter {
    /// Respiration rate, per minute.
    RespirationRate,
    /// Oxygen saturation, percent, on the chosen scale.
    Spo2,
    /// Air or supplemental oxygen.
    Oxygen,
    /// Systolic blood pressure, mmHg.
    SystolicBp,
    /// Pulse, per minute.
    Pulse,
    /// ACVPU consciousness.
    Consciousness,
    /// Temperature, degrees Celsius.
    Temperature,
}

impl Parameter {
    /// Every row, in chart order.
    pub const ALL: [Self; 7] = [
        Self::RespirationRate,
        Self::Spo2,
        Self::Oxygen,
        Self::SystolicBp,
        Self::Pulse,
        Self::Consciousness,
        Self::Temperature,
    ];

    /// The position of this row in [`Parameter::ALL`].
    const fn index(self) -> usize {
        self as usize
    }
}

/// The latest observation of each parameter, and the SpO2 scale in force.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct News2Input {
    /// Respiration rate, per minute.
    pub respiration_rate: Option<Observed<f64>>,
    /// SpO2, percent.
    pub spo2: Option<Observed<f64>>,
    /// The SpO2 scale a clinician chose; scale 1 unless told otherwise.
    pub spo2_scale: Spo2Scale,
    /// Air or supplemental oxygen.
    pub oxygen: Option<Observed<Oxygen>>,
    /// Systolic blood pressure, mmHg.
    pub systolic_bp: Option<Observed<f64>>,
    /// Pulse, per minute.
    pub pulse: Option<Observed<f64>>,
    /// ACVPU consciousness.
    pub consciousness: Option<Observed<Consciousness>>,
    /// Temperature, degrees Celsius.
    pub temperature: Option<Observed<f64>>,
}

/// How old each parameter's observation may be and still be scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct News2Config {
    max_age: [Duration; 7],
}

impl Default for News2Config {
    /// Site defaults, not clinical guidance: 5 minutes for the continuously
    /// monitored respiration rate, SpO2 and pulse; 1 hour for cuff pressure,
    /// consciousness and oxygen (NEWS2's most frequent charting interval); 4 hours
    /// for temperature.
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        Self {
            max_age: [
                minutes(5),
                minutes(5),
                minutes(60),
                minutes(60),
                minutes(5),
                minutes(60),
                minutes(240),
            ],
        }
    }
}

impl News2Config {
    /// The oldest observation of `parameter` that is still scored.
    pub fn max_age(&self, parameter: Parameter) -> Duration {
        self.max_age[parameter.index()]
    }

    /// This configuration with `max_age` for `parameter`.
    #[must_use]
    pub fn with_max_age(mut self, parameter: Parameter, max_age: Duration) -> Self {
        self.max_age[parameter.index()] = max_age;
        self
    }
}

/// Why a parameter has no points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// No observation.
    Missing,
    /// The observation is older than the parameter's maximum age.
    Stale {
        /// How old it is.
        age: Duration,
    },
    /// The value is not a finite number.
    NotANumber,
    /// SpO2 on scale 2 at 93 % or more: the points depend on air or oxygen, and
    /// no fresh air-or-oxygen observation exists.
    NeedsOxygen,
}

/// The points of one parameter, or why there are none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubScore {
    /// Points from the chart, 0 to 3.
    Scored(u8),
    /// Not scored.
    Unavailable(Gap),
}

/// The NEWS2 trigger band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Band {
    /// Total 0.
    Zero,
    /// Total 1 to 4, no single parameter at 3.
    Low,
    /// Total under 5 with a 3 in a single parameter.
    LowMedium,
    /// Total 5 or 6: the key threshold for an urgent response.
    Medium,
    /// Total 7 or more: emergency response.
    High,
}

impl Band {
    /// The band of a `total`, given whether any single parameter scored 3.
    pub const fn of(total: u8, any_three: bool) -> Self {
        match total {
            7.. => Self::High,
            5..=6 => Self::Medium,
            _ if any_three => Self::LowMedium,
            1.. => Self::Low,
            0 => Self::Zero,
        }
    }

    /// The RCP clinical risk of this band.
    pub const fn clinical_risk(self) -> &'static str {
        match self {
            Self::Zero | Self::Low => "low",
            Self::LowMedium => "low-medium",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// The RCP minimum frequency of observations in this band.
    pub const fn minimum_monitoring(self) -> &'static str {
        match self {
            Self::Zero => "at least every 12 hours",
            Self::Low => "at least every 4 to 6 hours",
            Self::LowMedium | Self::Medium => "at least every hour",
            Self::High => "continuous monitoring of vital signs",
        }
    }

    /// The RCP clinical response for this band.
    pub const fn clinical_response(self) -> &'static str {
        match self {
            Self::Zero => "Continue routine NEWS monitoring.",
            Self::Low => {
                "A registered nurse assesses the patient and decides whether \
                 monitoring must be more frequent or care escalated."
            }
            Self::LowMedium => {
                "Ward-based response: a registered nurse informs the medical team, \
                 who review the patient and decide whether care must be escalated."
            }
            Self::Medium => {
                "Key threshold for urgent response: a registered nurse informs the \
                 medical team immediately and asks for an urgent review by a \
                 clinician competent in acute illness; care in an environment with \
                 monitoring facilities."
            }
            Self::High => {
                "Emergency response: a registered nurse informs the medical team \
                 immediately, at least at specialist registrar level; emergency \
                 assessment by a team with critical-care competencies, including \
                 advanced airway skills; consider transfer to level 2 or 3 care \
                 (high-dependency unit or ICU)."
            }
        }
    }
}

/// A NEWS2 result: the points of each parameter, their total and the band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct News2 {
    sub_scores: [SubScore; 7],
    total: u8,
    band: Band,
}

impl News2 {
    /// The sum of the scored parameters; a lower bound when incomplete.
    pub const fn total(&self) -> u8 {
        self.total
    }

    /// The trigger band; a lower bound when incomplete.
    pub const fn band(&self) -> Band {
        self.band
    }

    /// The points of one parameter.
    pub const fn sub_score(&self, parameter: Parameter) -> SubScore {
        self.sub_scores[parameter.index()]
    }

    /// Whether every parameter was scored.
    pub fn is_complete(&self) -> bool {
        self.gaps().next().is_none()
    }

    /// The parameters that were not scored, in chart order, and why.
    pub fn gaps(&self) -> impl Iterator<Item = (Parameter, Gap)> + '_ {
        Parameter::ALL
            .into_iter()
            .filter_map(|p| match self.sub_score(p) {
                SubScore::Scored(_) => None,
                SubScore::Unavailable(gap) => Some((p, gap)),
            })
    }
}

/// Scores `input` at `now`, leaving out observations older than `config` allows.
pub fn score(input: &News2Input, config: &News2Config, now: Timestamp) -> News2 {
    let at = Freshness { config, now };
    let oxygen = at.fresh(Parameter::Oxygen, input.oxygen);
    let spo2 = at
        .number(Parameter::Spo2, input.spo2)
        .and_then(|s| match input.spo2_scale {
            Spo2Scale::Scale1 => Ok(spo2_scale1_points(whole(s))),
            Spo2Scale::Scale2 => spo2_scale2_points(whole(s), oxygen.ok()),
        });
    let results = [
        at.number(Parameter::RespirationRate, input.respiration_rate)
            .map(|r| respiration_points(whole(r))),
        spo2,
        oxygen.map(oxygen_points),
        at.number(Parameter::SystolicBp, input.systolic_bp)
            .map(|s| systolic_points(whole(s))),
        at.number(Parameter::Pulse, input.pulse)
            .map(|p| pulse_points(whole(p))),
        at.fresh(Parameter::Consciousness, input.consciousness)
            .map(consciousness_points),
        at.number(Parameter::Temperature, input.temperature)
            .map(|t| temperature_points(whole(t * 10.0))),
    ];
    let sub_scores = results.map(|r| r.map_or_else(SubScore::Unavailable, SubScore::Scored));
    let points = sub_scores.iter().filter_map(|s| match s {
        SubScore::Scored(p) => Some(*p),
        SubScore::Unavailable(_) => None,
    });
    let (total, any_three) = points.fold((0, false), |(t, three), p| (t + p, three || p == 3));
    News2 {
        sub_scores,
        total,
        band: Band::of(total, any_three),
    }
}

/// Decides whether an observation is recent enough to score.
struct Freshness<'a> {
    config: &'a News2Config,
    now: Timestamp,
}

impl Freshness<'_> {
    /// The observed value, unless it is missing or older than its maximum age.
    fn fresh<T>(&self, parameter: Parameter, obs: Option<Observed<T>>) -> Result<T, Gap> {
        let obs = obs.ok_or(Gap::Missing)?;
        let age = self.now.saturating_since(obs.at);
        if age > self.config.max_age(parameter) {
            return Err(Gap::Stale { age });
        }
        Ok(obs.value)
    }

    /// As [`Freshness::fresh`], and the value must be a finite number.
    fn number(&self, parameter: Parameter, obs: Option<Observed<f64>>) -> Result<f64, Gap> {
        let value = self.fresh(parameter, obs)?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(Gap::NotANumber)
        }
    }
}

/// `value` rounded to a whole number, halves away from zero. Casting saturates,
/// which keeps absurd values at the chart's extremes.
fn whole(value: f64) -> i64 {
    value.round() as i64
}

fn respiration_points(rate: i64) -> u8 {
    match rate {
        ..=8 => 3,
        9..=11 => 1,
        12..=20 => 0,
        21..=24 => 2,
        25.. => 3,
    }
}

fn spo2_scale1_points(spo2: i64) -> u8 {
    match spo2 {
        ..=91 => 3,
        92..=93 => 2,
        94..=95 => 1,
        96.. => 0,
    }
}

fn spo2_scale2_points(spo2: i64, oxygen: Option<Oxygen>) -> Result<u8, Gap> {
    match (spo2, oxygen) {
        (..=83, _) => Ok(3),
        (84..=85, _) => Ok(2),
        (86..=87, _) => Ok(1),
        (88..=92, _) => Ok(0),
        (93.., Some(Oxygen::Air)) => Ok(0),
        (93..=94, Some(Oxygen::Supplemental)) => Ok(1),
        (95..=96, Some(Oxygen::Supplemental)) => Ok(2),
        (97.., Some(Oxygen::Supplemental)) => Ok(3),
        (93.., None) => Err(Gap::NeedsOxygen),
    }
}

fn oxygen_points(oxygen: Oxygen) -> u8 {
    match oxygen {
        Oxygen::Air => 0,
        Oxygen::Supplemental => 2,
    }
}

fn systolic_points(mmhg: i64) -> u8 {
    match mmhg {
        ..=90 => 3,
        91..=100 => 2,
        101..=110 => 1,
        111..=219 => 0,
        220.. => 3,
    }
}

fn pulse_points(rate: i64) -> u8 {
    match rate {
        ..=40 => 3,
        41..=50 => 1,
        51..=90 => 0,
        91..=110 => 1,
        111..=130 => 2,
        131.. => 3,
    }
}

fn consciousness_points(level: Consciousness) -> u8 {
    match level {
        Consciousness::Alert => 0,
        Consciousness::NewConfusion
        | Consciousness::Voice
        | Consciousness::Pain
        | Consciousness::Unresponsive => 3,
    }
}

/// Points for a temperature in tenths of a degree Celsius.
fn temperature_points(tenths: i64) -> u8 {
    match tenths {
        ..=350 => 3,
        351..=360 => 1,
        361..=380 => 0,
        381..=390 => 1,
        391.. => 2,
    }
}
