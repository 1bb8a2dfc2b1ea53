//! IntelliVue physio ids and unit codes to the canonical vocabulary.
//!
//! A physio id is a term code in partition 2, a unit code a term code in
//! partition 4, so the MDC code is `partition × 65536 + term` (devices.md §3).
//! Ids come from devices.md §2.2 and §3; the aliases follow the HL7 mapping:
//!
//! - pulse rate: MDC_PULS_RATE (0x480A), the Philips pleth pulse (0x4822, which
//!   OpenICE maps to MDC_PULS_OXIM_PULS_RATE) and the private NIBP pulse (0xF0E5;
//!   the HL7 map likewise folds the cuff's pulse into pulse rate);
//! - arterial pressure: MDC_PRESS_BLD_ART_* (0x4A11-13) and the Philips ABP
//!   terms (0x4A15-17);
//! - respiratory rate: MDC_RESP_RATE (0x500A) and airway RR (0x5012).
//!
//! Not mapped, so kept raw: the generic temperature 0x4B48 (MDC_TEMP: only the
//! label tells the site, as in the HL7 map), the NIBP and ABP group codes
//! 0x4A04 and 0x4A14, and every id not listed.

use crate::{Metric, Unit};

/// Nomenclature partition of physiological terms.
pub const PARTITION_PHYSIO: u32 = 2;
/// Nomenclature partition of unit terms.
pub const PARTITION_UNITS: u32 = 4;

/// Physio id, MDC reference id (or what devices.md calls it), metric.
const METRICS: &[(u16, &str, Metric)] = &[
    (0x4182, "MDC_ECG_HEART_RATE", Metric::HeartRate),
    (0x480A, "MDC_PULS_RATE", Metric::PulseRate),
    (0x4822, "NOM_PLETH_PULS_RATE", Metric::PulseRate),
    (0xF0E5, "Philips private NIBP pulse", Metric::PulseRate),
    (0x4BB8, "MDC_PULS_OXIM_SAT_O2", Metric::Spo2),
    (0x4BB0, "MDC_PULS_OXIM_PERF_REL", Metric::PerfusionIndex),
    (0x4A05, "MDC_PRESS_BLD_NONINV_SYS", Metric::NibpSystolic),
    (0x4A06, "MDC_PRESS_BLD_NONINV_DIA", Metric::NibpDiastolic),
    (0x4A07, "MDC_PRESS_BLD_NONINV_MEAN", Metric::NibpMean),
    (0x4A11, "MDC_PRESS_BLD_ART_SYS", Metric::ArterialSystolic),
    (0x4A12, "MDC_PRESS_BLD_ART_DIA", Metric::ArterialDiastolic),
    (0x4A13, "MDC_PRESS_BLD_ART_MEAN", Metric::ArterialMean),
    (
        0x4A15,
        "MDC_PRESS_BLD_ART_ABP_SYS",
        Metric::ArterialSystolic,
    ),
    (
        0x4A16,
        "MDC_PRESS_BLD_ART_ABP_DIA",
        Metric::ArterialDiastolic,
    ),
    (0x4A17, "MDC_PRESS_BLD_ART_ABP_MEAN", Metric::ArterialMean),
    (0x4B5C, "MDC_TEMP_BODY", Metric::BodyTemperature),
    (0x500A, "MDC_RESP_RATE", Metric::RespiratoryRate),
    (0x5012, "MDC_AWAY_RESP_RATE", Metric::RespiratoryRate),
    (0x50B0, "MDC_AWAY_CO2_ET", Metric::EtCo2),
];

/// Unit code, MDC reference id, unit (devices.md §2.2 units, §3 codes).
const UNITS: &[(u16, &str, Unit)] = &[
    (0x0AA0, "MDC_DIM_BEAT_PER_MIN", Unit::PerMinute),
    (0x0AE0, "MDC_DIM_RESP_PER_MIN", Unit::PerMinute),
    (0x0220, "MDC_DIM_PERCENT", Unit::Percent),
    (0x0F20, "MDC_DIM_MMHG", Unit::MmHg),
    (0x0F03, "MDC_DIM_KILO_PA", Unit::KiloPascal),
    (0x17A0, "MDC_DIM_DEGC", Unit::Celsius),
    (0x1140, "MDC_DIM_FAHR", Unit::Fahrenheit),
];

/// `partition × 65536 + term`.
pub fn mdc_code(partition: u32, term: u16) -> u32 {
    partition * 65_536 + u32::from(term)
}

/// The metric a physio id maps to, if any.
pub fn metric_for_physio_id(physio_id: u16) -> Option<Metric> {
    METRICS
        .iter()
        .find(|(id, ..)| *id == physio_id)
        .map(|&(.., m)| m)
}

/// The unit a unit code stands for, if known.
pub fn unit_for_code(unit_code: u16) -> Option<Unit> {
    UNITS
        .iter()
        .find(|(code, ..)| *code == unit_code)
        .map(|&(.., u)| u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_a_vocab_reference_give_the_vocab_code() {
        for &(id, reference, metric) in METRICS {
            let info = metric.info();
            if info.mdc_ref == reference {
                assert_eq!(mdc_code(PARTITION_PHYSIO, id), info.mdc_code, "{reference}");
            }
        }
        // Every metric a patient monitor sends has a direct entry.
        for metric in [
            Metric::HeartRate,
            Metric::Spo2,
            Metric::NibpMean,
            Metric::EtCo2,
        ] {
            let code = metric.info().mdc_code;
            assert!(METRICS
                .iter()
                .any(|&(id, ..)| mdc_code(PARTITION_PHYSIO, id) == code));
        }
    }

    #[test]
    fn unit_codes_match_the_mdc_unit_codes() {
        // devices.md §3: MDC_DIM_BEAT_PER_MIN 264864, MDC_DIM_PERCENT 262688,
        // MDC_DIM_MMHG 266016, MDC_DIM_KILO_PA 265987, MDC_DIM_DEGC 268192,
        // MDC_DIM_FAHR 266560, MDC_DIM_RESP_PER_MIN 264928.
        let expected = [
            264_864, 264_928, 262_688, 266_016, 265_987, 268_192, 266_560,
        ];
        for (&(code, reference, _), mdc) in UNITS.iter().zip(expected) {
            assert_eq!(mdc_code(PARTITION_UNITS, code), mdc, "{reference}");
        }
    }

    #[test]
    fn generic_temperature_and_group_codes_stay_unmapped() {
        for id in [0x4B48, 0x4A04, 0x4A14, 0x0000, 0xFFFF] {
            assert_eq!(metric_for_physio_id(id), None, "{id:#06x}");
        }
        assert_eq!(metric_for_physio_id(0x4822), Some(Metric::PulseRate));
        assert_eq!(unit_for_code(0x0200), None);
    }
}
