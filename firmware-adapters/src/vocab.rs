//! The canonical vitals vocabulary.
//!
//! Every reading the gateway stores names one [`Metric`]. A metric fixes four things:
//!
//! - its IEEE 11073-10101 MDC code (`partition * 65536 + term`, partition 2 for
//!   physiological measurements), which is what HL7 PCD-01 and the vendor protocols
//!   carry;
//! - its LOINC code where the FHIR vital-signs profiles or LOINC define one, for
//!   export;
//! - its canonical UCUM unit: the collector converts every value into it, so stored
//!   values of one metric are always comparable;
//! - a plausibility range. A value outside it is still stored, with the
//!   `implausible` quality flag, because an artefact and a dying patient can look
//!   alike and the decision belongs to a person, not to the ingest path.
//!
//! The codes were checked against the NIST Rosetta table as mirrored by OpenICE's
//! nomenclature IDL, the Philips IntelliVue attribute list and the HL7 PHD
//! implementation guide examples. LOINC codes follow the FHIR vital-signs value sets.
//!
//! The stable text name ([`Metric::name`]) is what the database and the spool hold.
//! Names never change once shipped; a new metric gets a new name.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::units::Unit;

/// How a metric is measured over time, which decides what a full spool may shed.
///
/// Continuous metrics arrive every second or so; losing the oldest of them after a
/// long database outage leaves a gap in a dense series. Episodic metrics (a cuff
/// blood pressure every 15 minutes) are rare and each one is a clinical fact that
/// cannot be measured again, so a full spool never sheds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Sampled continuously (about once a second or faster).
    Continuous,
    /// Measured now and then, on request or on a schedule.
    Episodic,
}

/// One measured quantity in the canonical vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Heart rate from the ECG.
    HeartRate,
    /// Pulse rate from a pulse oximeter's plethysmogram.
    PulseRate,
    /// Functional oxygen saturation from a pulse oximeter.
    Spo2,
    /// Perfusion index: pulsatile over non-pulsatile infrared signal, in percent.
    PerfusionIndex,
    /// Non-invasive (cuff) blood pressure, systolic.
    NibpSystolic,
    /// Non-invasive (cuff) blood pressure, diastolic.
    NibpDiastolic,
    /// Non-invasive (cuff) blood pressure, mean.
    NibpMean,
    /// Invasive arterial blood pressure, systolic.
    ArterialSystolic,
    /// Invasive arterial blood pressure, diastolic.
    ArterialDiastolic,
    /// Invasive arterial blood pressure, mean.
    ArterialMean,
    /// Respiratory rate, whatever the source (impedance, airway flow, CO2).
    RespiratoryRate,
    /// Body temperature.
    BodyTemperature,
    /// End-tidal CO2 partial pressure.
    #[serde(rename = "etco2")]
    EtCo2,
    /// Air temperature around equipment (a store room, a ward).
    AmbientTemperature,
    /// Cabinet temperature of a medication or vaccine refrigerator or freezer.
    FridgeTemperature,
}

/// The static facts about one metric. See the module docs for what each means.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricInfo {
    /// Stable snake_case name stored in the database and the spool.
    pub name: &'static str,
    /// MDC reference id, such as `MDC_ECG_HEART_RATE`.
    pub mdc_ref: &'static str,
    /// MDC numeric code (partition * 65536 + term code).
    pub mdc_code: u32,
    /// LOINC code, where one exists for this measurement.
    pub loinc: Option<&'static str>,
    /// The unit every stored value of this metric is in.
    pub unit: Unit,
    /// Values outside this range are stored with the `implausible` flag.
    pub plausible: RangeInclusive<f64>,
    /// Whether the metric is continuous or episodic.
    pub sampling: Sampling,
}

impl Metric {
    /// Every metric, in declaration order.
    pub const ALL: [Self; 15] = [
        Self::HeartRate,
        Self::PulseRate,
        Self::Spo2,
        Self::PerfusionIndex,
        Self::NibpSystolic,
        Self::NibpDiastolic,
        Self::NibpMean,
        Self::ArterialSystolic,
        Self::ArterialDiastolic,
        Self::ArterialMean,
        Self::RespiratoryRate,
        Self::BodyTemperature,
        Self::EtCo2,
        Self::AmbientTemperature,
        Self::FridgeTemperature,
    ];

    /// The static facts about this metric.
    pub fn info(self) -> MetricInfo {
        use Sampling::{Continuous, Episodic};
        use Unit::{Celsius, MmHg, PerMinute, Percent};
        let (name, mdc_ref, mdc_code, loinc, unit, plausible, sampling) = match self {
            Self::HeartRate => (
                "heart_rate",
                "MDC_ECG_HEART_RATE",
                147_842,
                Some("8867-4"),
                PerMinute,
                20.0..=300.0,
                Continuous,
            ),
            Self::PulseRate => (
                "pulse_rate",
                "MDC_PULS_OXIM_PULS_RATE",
                149_530,
                Some("8867-4"),
                PerMinute,
                20.0..=300.0,
                Continuous,
            ),
            Self::Spo2 => (
                "spo2",
                "MDC_PULS_OXIM_SAT_O2",
                150_456,
                // Pulse oximetry; FHIR's vital-signs profile adds 2708-6 beside it.
                Some("59408-5"),
                Percent,
                50.0..=100.0,
                Continuous,
            ),
            Self::PerfusionIndex => (
                "perfusion_index",
                // Philips reports this term; some HL7 feeds send MDC_BLD_PERF_INDEX
                // (150488) for the same quantity, which protocol maps must alias.
                "MDC_PULS_OXIM_PERF_REL",
                150_448,
                Some("61006-3"),
                Percent,
                0.02..=20.0,
                Continuous,
            ),
            Self::NibpSystolic => (
                "nibp_systolic",
                "MDC_PRESS_BLD_NONINV_SYS",
                150_021,
                Some("8480-6"),
                MmHg,
                40.0..=280.0,
                Episodic,
            ),
            Self::NibpDiastolic => (
                "nibp_diastolic",
                "MDC_PRESS_BLD_NONINV_DIA",
                150_022,
                Some("8462-4"),
                MmHg,
                20.0..=200.0,
                Episodic,
            ),
            Self::NibpMean => (
                "nibp_mean",
                "MDC_PRESS_BLD_NONINV_MEAN",
                150_023,
                Some("8478-0"),
                MmHg,
                30.0..=230.0,
                Episodic,
            ),
            Self::ArterialSystolic => (
                "arterial_systolic",
                "MDC_PRESS_BLD_ART_SYS",
                150_033,
                Some("76215-3"),
                MmHg,
                30.0..=300.0,
                Continuous,
            ),
            Self::ArterialDiastolic => (
                "arterial_diastolic",
                "MDC_PRESS_BLD_ART_DIA",
                150_034,
                Some("76213-8"),
                MmHg,
                10.0..=200.0,
                Continuous,
            ),
            Self::ArterialMean => (
                "arterial_mean",
                "MDC_PRESS_BLD_ART_MEAN",
                150_035,
                Some("76214-6"),
                MmHg,
                20.0..=250.0,
                Continuous,
            ),
            Self::RespiratoryRate => (
                "respiratory_rate",
                "MDC_RESP_RATE",
                151_562,
                Some("9279-1"),
                PerMinute,
                // Zero is apnoea: a real and urgent value, not an artefact.
                0.0..=90.0,
                Continuous,
            ),
            Self::BodyTemperature => (
                "body_temperature",
                "MDC_TEMP_BODY",
                150_364,
                Some("8310-5"),
                Celsius,
                25.0..=45.0,
                Episodic,
            ),
            Self::EtCo2 => (
                "etco2",
                // Not MDC_CONC_AWAY_CO2_ET (151708), the concentration code.
                "MDC_AWAY_CO2_ET",
                151_728,
                Some("19889-5"),
                MmHg,
                0.0..=150.0,
                Continuous,
            ),
            Self::AmbientTemperature => (
                "ambient_temperature",
                "MDC_TEMP_ROOM",
                188_508,
                None,
                Celsius,
                -40.0..=60.0,
                Continuous,
            ),
            Self::FridgeTemperature => (
                "fridge_temperature",
                "MDC_TEMP",
                150_344,
                None,
                Celsius,
                // Ultra-low vaccine freezers run near -80 Cel.
                -90.0..=30.0,
                Continuous,
            ),
        };
        MetricInfo {
            name,
            mdc_ref,
            mdc_code,
            loinc,
            unit,
            plausible,
            sampling,
        }
    }

    /// Stable snake_case name, as stored in the database.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The unit every stored value of this metric is in.
    pub fn canonical_unit(self) -> Unit {
        self.info().unit
    }

    /// Whether `value` (in the canonical unit) lies in the plausibility range.
    pub fn is_plausible(self, value: f64) -> bool {
        self.info().plausible.contains(&value)
    }

    /// Whether the metric is continuous or episodic.
    pub fn sampling(self) -> Sampling {
        self.info().sampling
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The text is not the name of any metric.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric `{name}`")]
pub struct UnknownMetric {
    /// The text that was given.
    pub name: String,
}

impl FromStr for Metric {
    type Err = UnknownMetric;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownMetric { name: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for m in Metric::ALL {
            assert!(seen.insert(m.name()), "duplicate name {}", m.name());
            assert_eq!(m.name().parse::<Metric>(), Ok(m));
        }
        assert_eq!(
            "heartrate".parse::<Metric>(),
            Err(UnknownMetric {
                name: "heartrate".into()
            })
        );
    }

    #[test]
    fn serde_name_matches_stored_name() {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        for m in Metric::ALL {
            let de: StrDeserializer<'_, Error> = m.name().into_deserializer();
            assert_eq!(Metric::deserialize(de), Ok(m));
        }
    }

    #[test]
    fn mdc_codes_follow_partition_rule() {
        // Partition 2 (SCADA) holds every physiological code: 2 * 65536 + term.
        let cases = [
            (Metric::HeartRate, 0x4182),
            (Metric::Spo2, 0x4BB8),
            (Metric::NibpSystolic, 0x4A05),
            (Metric::NibpDiastolic, 0x4A06),
            (Metric::NibpMean, 0x4A07),
            (Metric::ArterialSystolic, 0x4A11),
            (Metric::ArterialMean, 0x4A13),
            (Metric::RespiratoryRate, 0x500A),
            (Metric::BodyTemperature, 0x4B5C),
            (Metric::FridgeTemperature, 0x4B48),
            (Metric::AmbientTemperature, 0xE05C),
            (Metric::PerfusionIndex, 0x4BB0),
            (Metric::EtCo2, 0x50B0),
        ];
        for (metric, term) in cases {
            assert_eq!(metric.info().mdc_code, 2 * 65_536 + term, "{metric}");
        }
    }

    #[test]
    fn plausibility_keeps_apnoea_and_flags_artefacts() {
        assert!(Metric::RespiratoryRate.is_plausible(0.0));
        assert!(!Metric::Spo2.is_plausible(101.0));
        assert!(!Metric::HeartRate.is_plausible(400.0));
        assert!(Metric::FridgeTemperature.is_plausible(-80.0));
    }

    #[test]
    fn cuff_pressure_is_episodic_and_never_shed() {
        assert_eq!(Metric::NibpSystolic.sampling(), Sampling::Episodic);
        assert_eq!(Metric::HeartRate.sampling(), Sampling::Continuous);
    }
}
