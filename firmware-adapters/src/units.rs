//! UCUM units that devices report, and conversion into a metric's canonical unit.
//!
//! Devices disagree on units: a European capnograph reports kPa, a ventilator
//! cmH2O, an American thermometer degrees Fahrenheit, a Modbus oximeter a fraction.
//! The collector converts every value into the canonical unit of its metric
//! ([`crate::Metric::canonical_unit`]) with [`Unit::convert`], so stored values of one
//! metric are always comparable. A unit of another dimension (kPa for a heart rate)
//! is an error, never a guess.
//!
//! Conversion factors (exact by definition unless noted):
//! - 1 `mm[Hg]` = 133.322387415 Pa; 1 kPa = 1000 Pa; 1 `cm[H2O]` = 98.0665 Pa.
//! - `[degF]` = Cel * 9/5 + 32; K = Cel + 273.15.
//! - a fraction of 1 = 100 %.
//! - 1 /s = 60 /min.
//!
//! Limitation: CO2 reported in % (volume fraction) is refused for `mm[Hg]` metrics,
//! since converting it needs the barometric pressure at the device.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A unit a device may report a value in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Unit {
    /// Events per minute (`/min`): heart, pulse and respiratory rates.
    PerMinute,
    /// Events per second (`/s`, also written `Hz`).
    PerSecond,
    /// Millimetres of mercury (`mm[Hg]`).
    MmHg,
    /// Kilopascal (`kPa`).
    KiloPascal,
    /// Centimetres of water (`cm[H2O]`).
    CmH2O,
    /// Degree Celsius (`Cel`).
    Celsius,
    /// Degree Fahrenheit (`[degF]`).
    Fahrenheit,
    /// Kelvin (`K`).
    Kelvin,
    /// Percent (`%`).
    Percent,
    /// A dimensionless fraction of one (`1`).
    Fraction,
}

/// What a value's unit measures; conversion only happens within one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Rate,
    Pressure,
    Temperature,
    Ratio,
}

/// A value could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// The text is not a unit this gateway knows.
    #[error("unknown unit `{unit}`")]
    Unknown {
        /// The text that was given.
        unit: String,
    },
    /// The two units measure different things.
    #[error("cannot convert {from} to {to}")]
    Incompatible {
        /// The unit the value came in.
        from: Unit,
        /// The unit that was asked for.
        to: Unit,
    },
}

const PA_PER_MMHG: f64 = 133.322_387_415;
const PA_PER_KPA: f64 = 1000.0;
const PA_PER_CMH2O: f64 = 98.0665;

impl Unit {
    /// The UCUM code for this unit.
    pub fn ucum(self) -> &'static str {
        match self {
            Self::PerMinute => "/min",
            Self::PerSecond => "/s",
            Self::MmHg => "mm[Hg]",
            Self::KiloPascal => "kPa",
            Self::CmH2O => "cm[H2O]",
            Self::Celsius => "Cel",
            Self::Fahrenheit => "[degF]",
            Self::Kelvin => "K",
            Self::Percent => "%",
            Self::Fraction => "1",
        }
    }

    fn dimension(self) -> Dimension {
        match self {
            Self::PerMinute | Self::PerSecond => Dimension::Rate,
            Self::MmHg | Self::KiloPascal | Self::CmH2O => Dimension::Pressure,
            Self::Celsius | Self::Fahrenheit | Self::Kelvin => Dimension::Temperature,
            Self::Percent | Self::Fraction => Dimension::Ratio,
        }
    }

    /// Converts `value` from this unit into `to`.
    ///
    /// # Errors
    ///
    /// [`UnitError::Incompatible`] when the units measure different things.
    pub fn convert(self, value: f64, to: Self) -> Result<f64, UnitError> {
        if self == to {
            return Ok(value);
        }
        if self.dimension() != to.dimension() {
            return Err(UnitError::Incompatible { from: self, to });
        }
        Ok(to.out_of_base(self.to_base(value)))
    }

    /// The value in its dimension's base unit: /min, Pa, Cel or a fraction.
    fn to_base(self, v: f64) -> f64 {
        match self {
            Self::PerMinute | Self::Celsius | Self::Fraction => v,
            Self::PerSecond => v * 60.0,
            Self::MmHg => v * PA_PER_MMHG,
            Self::KiloPascal => v * PA_PER_KPA,
            Self::CmH2O => v * PA_PER_CMH2O,
            Self::Fahrenheit => (v - 32.0) * 5.0 / 9.0,
            Self::Kelvin => v - 273.15,
            Self::Percent => v / 100.0,
        }
    }

    fn out_of_base(self, v: f64) -> f64 {
        match self {
            Self::PerMinute | Self::Celsius | Self::Fraction => v,
            Self::PerSecond => v / 60.0,
            Self::MmHg => v / PA_PER_MMHG,
            Self::KiloPascal => v / PA_PER_KPA,
            Self::CmH2O => v / PA_PER_CMH2O,
            Self::Fahrenheit => v * 9.0 / 5.0 + 32.0,
            Self::Kelvin => v + 273.15,
            Self::Percent => v * 100.0,
        }
    }
}

impl FromStr for Unit {
    type Err = UnitError;

    /// Parses a UCUM code, or one of the spellings devices commonly send instead
    /// (`bpm`, `mmHg`, `degC`, SenML's `beat/min`, ...). Matching is exact apart from those aliases:
    /// UCUM is case-sensitive (`Cel`, not `cel`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unit = match s {
            "/min" | "{beats}/min" | "{beat}/min" | "{breaths}/min" | "{breath}/min" | "bpm"
            | "brpm" | "rpm" | "beat/min" | "beats/min" => Self::PerMinute,
            "/s" | "Hz" => Self::PerSecond,
            "mm[Hg]" | "mmHg" => Self::MmHg,
            "kPa" => Self::KiloPascal,
            "cm[H2O]" | "cmH2O" => Self::CmH2O,
            "Cel" | "degC" | "°C" => Self::Celsius,
            "[degF]" | "degF" | "°F" => Self::Fahrenheit,
            "K" => Self::Kelvin,
            "%" => Self::Percent,
            "1" | "{ratio}" => Self::Fraction,
            other => {
                return Err(UnitError::Unknown {
                    unit: other.to_owned(),
                })
            }
        };
        Ok(unit)
    }
}

impl TryFrom<String> for Unit {
    type Error = UnitError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Unit> for String {
    fn from(u: Unit) -> Self {
        u.ucum().to_owned()
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ucum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn kilopascal_to_mmhg() {
        // 5.3 kPa is a typical end-tidal CO2: 39.75 mm[Hg].
        let v = Unit::KiloPascal.convert(5.3, Unit::MmHg).unwrap();
        assert!(close(v, 5.3 * 1000.0 / 133.322_387_415), "{v}");
        assert!((v - 39.753).abs() < 0.001, "{v}");
    }

    #[test]
    fn cmh2o_to_mmhg() {
        // 10 cm[H2O] of PEEP is about 7.36 mm[Hg].
        let v = Unit::CmH2O.convert(10.0, Unit::MmHg).unwrap();
        assert!((v - 7.3556).abs() < 0.0001, "{v}");
    }

    #[test]
    fn fahrenheit_to_celsius() {
        assert!(close(
            Unit::Fahrenheit.convert(98.6, Unit::Celsius).unwrap(),
            37.0
        ));
        assert!(close(
            Unit::Fahrenheit.convert(-40.0, Unit::Celsius).unwrap(),
            -40.0
        ));
        assert!(close(
            Unit::Kelvin.convert(310.15, Unit::Celsius).unwrap(),
            37.0
        ));
    }

    #[test]
    fn fraction_to_percent() {
        assert!(close(
            Unit::Fraction.convert(0.97, Unit::Percent).unwrap(),
            97.0
        ));
    }

    #[test]
    fn per_second_to_per_minute() {
        assert!(close(
            Unit::PerSecond.convert(1.2, Unit::PerMinute).unwrap(),
            72.0
        ));
    }

    #[test]
    fn other_dimension_is_refused() {
        assert_eq!(
            Unit::KiloPascal.convert(5.0, Unit::PerMinute),
            Err(UnitError::Incompatible {
                from: Unit::KiloPascal,
                to: Unit::PerMinute
            })
        );
        assert!(Unit::Percent.convert(5.0, Unit::MmHg).is_err());
    }

    #[test]
    fn parses_ucum_and_common_aliases() {
        assert_eq!("mm[Hg]".parse(), Ok(Unit::MmHg));
        assert_eq!("mmHg".parse(), Ok(Unit::MmHg));
        assert_eq!("bpm".parse(), Ok(Unit::PerMinute));
        assert_eq!("[degF]".parse(), Ok(Unit::Fahrenheit));
        assert_eq!(
            "cel".parse::<Unit>(),
            Err(UnitError::Unknown { unit: "cel".into() })
        );
        for u in [Unit::MmHg, Unit::Celsius, Unit::Fraction, Unit::CmH2O] {
            assert_eq!(u.ucum().parse(), Ok(u));
        }
    }
}
