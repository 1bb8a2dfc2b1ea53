//! MDC observation and unit codes to the canonical vocabulary.
//!
//! Observation codes come as an MDC numeric code (`150456^MDC_PULS_OXIM_SAT_O2^MDC`),
//! a Philips MDIL code (`0002-4bb8^SpO2^MDIL`: partition and term in hex, so
//! 2 * 65536 + 0x4BB8 = 150456), or, failing both, an MDC reference id alone. Each
//! metric's own code from [`crate::vocab`] maps to it, plus these aliases:
//!
//! - pulse rate: MDC_PULS_RATE, MDC_BLD_PULS_RATE_INV (pulse from the arterial
//!   line), MDC_PULS_RATE_NON_INV (pulse from the cuff);
//! - perfusion index: MDC_BLD_PERF_INDEX;
//! - arterial pressure: the Philips MDC_PRESS_BLD_ART_ABP_SYS/DIA/MEAN terms;
//! - respiratory rate: the airway, impedance (transthoracic) and CO2 variants.
//!
//! MDC_TEMP (150344), which the vocabulary uses for refrigerator temperature, is
//! deliberately **not** mapped here: from a patient monitor it is a generic
//! temperature whose site only the label tells, so it stays an unknown
//! observation rather than become a fridge reading or a guessed body temperature.

use crate::{Metric, Unit};

/// MDC code, reference id and metric of every observation code that maps.
const METRICS: &[(u32, &str, Metric)] = &[
    (147_842, "MDC_ECG_HEART_RATE", Metric::HeartRate),
    (149_530, "MDC_PULS_OXIM_PULS_RATE", Metric::PulseRate),
    (149_514, "MDC_PULS_RATE", Metric::PulseRate),
    (149_522, "MDC_BLD_PULS_RATE_INV", Metric::PulseRate),
    (149_546, "MDC_PULS_RATE_NON_INV", Metric::PulseRate),
    (150_456, "MDC_PULS_OXIM_SAT_O2", Metric::Spo2),
    (150_448, "MDC_PULS_OXIM_PERF_REL", Metric::PerfusionIndex),
    (150_488, "MDC_BLD_PERF_INDEX", Metric::PerfusionIndex),
    (150_021, "MDC_PRESS_BLD_NONINV_SYS", Metric::NibpSystolic),
    (150_022, "MDC_PRESS_BLD_NONINV_DIA", Metric::NibpDiastolic),
    (150_023, "MDC_PRESS_BLD_NONINV_MEAN", Metric::NibpMean),
    (150_033, "MDC_PRESS_BLD_ART_SYS", Metric::ArterialSystolic),
    (150_034, "MDC_PRESS_BLD_ART_DIA", Metric::ArterialDiastolic),
    (150_035, "MDC_PRESS_BLD_ART_MEAN", Metric::ArterialMean),
    (
        150_037,
        "MDC_PRESS_BLD_ART_ABP_SYS",
        Metric::ArterialSystolic,
    ),
    (
        150_038,
        "MDC_PRESS_BLD_ART_ABP_DIA",
        Metric::ArterialDiastolic,
    ),
    (150_039, "MDC_PRESS_BLD_ART_ABP_MEAN", Metric::ArterialMean),
    (151_562, "MDC_RESP_RATE", Metric::RespiratoryRate),
    (151_570, "MDC_AWAY_RESP_RATE", Metric::RespiratoryRate),
    (151_578, "MDC_TTHOR_RESP_RATE", Metric::RespiratoryRate),
    (151_594, "MDC_CO2_RESP_RATE", Metric::RespiratoryRate),
    (150_364, "MDC_TEMP_BODY", Metric::BodyTemperature),
    (151_728, "MDC_AWAY_CO2_ET", Metric::EtCo2),
    (188_508, "MDC_TEMP_ROOM", Metric::AmbientTemperature),
];

/// MDC unit codes (partition 4) and reference ids.
const UNITS: &[(u32, &str, Unit)] = &[
    (264_864, "MDC_DIM_BEAT_PER_MIN", Unit::PerMinute),
    (264_928, "MDC_DIM_RESP_PER_MIN", Unit::PerMinute),
    (262_688, "MDC_DIM_PERCENT", Unit::Percent),
    (266_016, "MDC_DIM_MMHG", Unit::MmHg),
    (265_987, "MDC_DIM_KILO_PA", Unit::KiloPascal),
    (268_192, "MDC_DIM_DEGC", Unit::Celsius),
    (266_560, "MDC_DIM_FAHR", Unit::Fahrenheit),
];

/// The metric an MDC observation code maps to.
pub(crate) fn metric_for_code(code: u32) -> Option<Metric> {
    METRICS.iter().find(|(c, ..)| *c == code).map(|&(.., m)| m)
}

/// The MDC code for an MDC reference id such as `MDC_PULS_OXIM_SAT_O2`.
pub(crate) fn code_for_ref_id(ref_id: &str) -> Option<u32> {
    METRICS
        .iter()
        .map(|&(code, id, _)| (code, id))
        .chain(UNITS.iter().map(|&(code, id, _)| (code, id)))
        .find(|(_, id)| *id == ref_id)
        .map(|(code, _)| code)
}

/// The unit an MDC unit code stands for.
pub(crate) fn unit_for_code(code: u32) -> Option<Unit> {
    UNITS.iter().find(|(c, ..)| *c == code).map(|&(.., u)| u)
}

/// An MDC code from a coded element's identifier and coding system: a decimal
/// code for `MDC` (or no system), `PPPP-hhhh` hex for `MDIL`, or a known MDC
/// reference id in the text.
pub(crate) fn mdc_code(identifier: &str, text: &str, system: &str) -> Option<u32> {
    let from_id = match system {
        "MDC" | "" => identifier.parse().ok(),
        "MDIL" => mdil(identifier),
        _ => None,
    };
    let from_ref = || [identifier, text].into_iter().find_map(code_for_ref_id);
    from_id.or_else(|| {
        matches!(system, "MDC" | "MDIL" | "")
            .then(from_ref)
            .flatten()
    })
}

/// `PPPP-hhhh` (hex partition and term) to `partition * 65536 + term`.
fn mdil(identifier: &str) -> Option<u32> {
    let (partition, term) = identifier.split_once('-')?;
    let hex = |s: &str| {
        (s.len() == 4)
            .then(|| u32::from_str_radix(s, 16).ok())
            .flatten()
    };
    Some(hex(partition)? * 65_536 + hex(term)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vocab_metric_but_the_fridge_maps_from_its_own_code() {
        for metric in Metric::ALL {
            let info = metric.info();
            let mapped = metric_for_code(info.mdc_code);
            if metric == Metric::FridgeTemperature {
                assert_eq!(mapped, None, "MDC_TEMP is ambiguous from a monitor");
            } else {
                assert_eq!(mapped, Some(metric), "{metric}");
                assert_eq!(
                    code_for_ref_id(info.mdc_ref),
                    Some(info.mdc_code),
                    "{metric}"
                );
            }
        }
    }

    #[test]
    fn aliases_map_to_the_same_metric() {
        assert_eq!(metric_for_code(150_488), Some(Metric::PerfusionIndex));
        assert_eq!(metric_for_code(150_038), Some(Metric::ArterialDiastolic));
        assert_eq!(metric_for_code(149_514), Some(Metric::PulseRate));
        assert_eq!(metric_for_code(151_594), Some(Metric::RespiratoryRate));
        assert_eq!(metric_for_code(150_344), None);
    }

    #[test]
    fn mdil_and_mdc_codes_resolve_alike() {
        assert_eq!(mdc_code("0002-4bb8", "SpO2", "MDIL"), Some(150_456));
        assert_eq!(mdc_code("0004-0220", "%", "MDIL"), Some(262_688));
        assert_eq!(
            mdc_code("150456", "MDC_PULS_OXIM_SAT_O2", "MDC"),
            Some(150_456)
        );
        assert_eq!(mdc_code("", "MDC_PULS_OXIM_SAT_O2", "MDC"), Some(150_456));
        assert_eq!(mdc_code("SAT", "MDC_PULS_OXIM_SAT_O2", "99PHI"), None);
        assert_eq!(mdc_code("4bb8", "", "MDIL"), None);
    }

    #[test]
    fn unit_codes_follow_partition_four() {
        for &(code, _, _) in UNITS {
            assert_eq!(code / 65_536, 4, "{code}");
        }
        assert_eq!(unit_for_code(264_864), Some(Unit::PerMinute));
        assert_eq!(unit_for_code(1), None);
    }
}
