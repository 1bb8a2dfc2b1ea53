//! The basic IntelliVue data types: FLOAT-Type, MeasurementState, RelativeTime
//! and AbsoluteTime (devices.md §2.2, "Numeric encoding" and "Time").

use std::time::Duration;

use super::IntellivueError;
use crate::Validity;

/// A 32-bit IntelliVue FLOAT-Type: a signed 8-bit exponent in the most
/// significant byte and a signed 24-bit mantissa below it, value = m × 10^e.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Float(pub u32);

/// What a [`Float`] stands for: a number or one of the special codes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FloatValue {
    /// A finite number.
    Number(f64),
    /// `0x007FFFFF`: not a number (no valid value).
    NaN,
    /// `0x00800000`: not at this resolution (the value cannot be represented).
    NRes,
    /// `0x007FFFFE`: above the measuring range.
    PositiveInfinity,
    /// `0x00800002`: below the measuring range.
    NegativeInfinity,
    /// `0x00800001`: reserved. Not listed in devices.md; IEEE 11073-20601
    /// reserves it next to the others, so it is no value rather than −8 388 607.
    Reserved,
}

impl FloatValue {
    /// The number, if this is one.
    pub fn number(self) -> Option<f64> {
        match self {
            Self::Number(v) => Some(v),
            _ => None,
        }
    }
}

/// The largest 24-bit mantissa.
const MANTISSA_MAX: i32 = 0x7F_FFFF;
/// The smallest 24-bit mantissa.
const MANTISSA_MIN: i32 = -0x80_0000;

impl Float {
    /// Not a number.
    pub const NAN: Self = Self(0x007F_FFFF);
    /// Not at this resolution.
    pub const NRES: Self = Self(0x0080_0000);
    /// Above the measuring range.
    pub const POSITIVE_INFINITY: Self = Self(0x007F_FFFE);
    /// Below the measuring range.
    pub const NEGATIVE_INFINITY: Self = Self(0x0080_0002);
    /// Reserved (see [`FloatValue::Reserved`]).
    pub const RESERVED: Self = Self(0x0080_0001);

    /// A number `mantissa × 10^exponent`; `None` when the mantissa does not fit
    /// 24 bits or the pair would spell a special code.
    pub fn new(mantissa: i32, exponent: i8) -> Option<Self> {
        if !(MANTISSA_MIN..=MANTISSA_MAX).contains(&mantissa) {
            return None;
        }
        let [_, m2, m1, m0] = mantissa.to_be_bytes();
        let [e] = exponent.to_be_bytes();
        let float = Self(u32::from_be_bytes([e, m2, m1, m0]));
        float.special().is_none().then_some(float)
    }

    /// `value` rounded to `decimals` digits after the point, as
    /// `round(value × 10^decimals) × 10^-decimals`; `None` when the scaled value
    /// is not finite or does not fit the mantissa.
    pub fn from_decimal(value: f64, decimals: u8) -> Option<Self> {
        let exponent = i8::try_from(decimals).ok()?.checked_neg()?;
        let scaled = (value * 10f64.powi(i32::from(decimals))).round();
        let in_range = f64::from(MANTISSA_MIN)..=f64::from(MANTISSA_MAX);
        if !in_range.contains(&scaled) {
            return None;
        }
        // In the mantissa range and integral, so the cast is exact.
        let mantissa = scaled as i32;
        Self::new(mantissa, exponent)
    }

    /// The FLOAT from its four bytes, big-endian.
    pub const fn from_be_bytes(bytes: [u8; 4]) -> Self {
        Self(u32::from_be_bytes(bytes))
    }

    /// The four bytes of the FLOAT, big-endian.
    pub const fn to_be_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }

    /// The signed exponent (the most significant byte).
    pub fn exponent(self) -> i8 {
        let [e, ..] = self.0.to_be_bytes();
        i8::from_be_bytes([e])
    }

    /// The signed 24-bit mantissa, sign-extended.
    pub fn mantissa(self) -> i32 {
        let [_, m2, m1, m0] = self.0.to_be_bytes();
        i32::from_be_bytes([m2, m1, m0, 0]) >> 8
    }

    fn special(self) -> Option<FloatValue> {
        match self {
            Self::NAN => Some(FloatValue::NaN),
            Self::NRES => Some(FloatValue::NRes),
            Self::POSITIVE_INFINITY => Some(FloatValue::PositiveInfinity),
            Self::NEGATIVE_INFINITY => Some(FloatValue::NegativeInfinity),
            Self::RESERVED => Some(FloatValue::Reserved),
            _ => None,
        }
    }

    /// The value: a number, or the special code it spells.
    ///
    /// The number is `m / 10^-e` (or `m × 10^e`): for |e| ≤ 22 the power of ten
    /// is exact, so 36.95 comes out as the f64 nearest to 36.95.
    pub fn value(self) -> FloatValue {
        if let Some(special) = self.special() {
            return special;
        }
        let mantissa = f64::from(self.mantissa());
        let exponent = i32::from(self.exponent());
        let scale = 10f64.powi(exponent.abs());
        FloatValue::Number(if exponent < 0 {
            mantissa / scale
        } else {
            mantissa * scale
        })
    }
}

/// The MeasurementState of a numeric: flag bits with the device's opinion of
/// the value (devices.md §2.2). A public summary of the Philips guide quotes
/// "valid if the first octet of the state is all 0".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct MeasurementState(pub u16);

impl MeasurementState {
    /// The value is invalid.
    pub const INVALID: u16 = 0x8000;
    /// The value is questionable.
    pub const QUESTIONABLE: u16 = 0x4000;
    /// The value is unavailable.
    pub const UNAVAILABLE: u16 = 0x2000;
    /// A calibration is ongoing.
    pub const CALIBRATION_ONGOING: u16 = 0x1000;
    /// The value is test data.
    pub const TEST_DATA: u16 = 0x0800;
    /// The value is demo data (the monitor runs in demo mode).
    pub const DEMO_DATA: u16 = 0x0400;
    /// The value was validated.
    pub const VALIDATED: u16 = 0x0080;
    /// The value is an early indication.
    pub const EARLY_INDICATION: u16 = 0x0040;
    /// A measurement is ongoing.
    pub const MEASUREMENT_ONGOING: u16 = 0x0020;
    /// The value is in alarm.
    pub const IN_ALARM: u16 = 0x0002;
    /// Alarms are inhibited for the value.
    pub const ALARM_INHIBITED: u16 = 0x0001;

    /// States under which the value is not a measurement of this patient now.
    const INVALIDATING: u16 = Self::INVALID | Self::UNAVAILABLE | Self::TEST_DATA | Self::DEMO_DATA;
    /// The first octet: any bit set there means "not valid".
    const FIRST_OCTET: u16 = 0xFF00;

    /// Whether `bit` (one of the constants) is set.
    pub const fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }

    /// The device's opinion of the value.
    ///
    /// Invalid, unavailable, test and demo data are [`Validity::Invalid`]: a
    /// demo-mode value must never pass for the patient's. Questionable,
    /// calibration ongoing and the undocumented first-octet bits (0x0200,
    /// 0x0100) are [`Validity::Questionable`]. Second-octet bits (validated,
    /// early indication, ongoing, alarm flags) leave the value valid.
    pub fn validity(self) -> Validity {
        if self.0 & Self::INVALIDATING != 0 {
            Validity::Invalid
        } else if self.0 & Self::FIRST_OCTET != 0 {
            Validity::Questionable
        } else {
            Validity::Valid
        }
    }
}

/// A RelativeTime: a u32 count of 1/8 ms (125 µs) ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RelativeTime(pub u32);

impl RelativeTime {
    /// Ticks per second.
    pub const TICKS_PER_SECOND: u32 = 8_000;

    /// The ticks closest below `duration`; `None` beyond the u32 range (~6.2 days).
    pub fn from_duration(duration: Duration) -> Option<Self> {
        let ticks = duration.as_micros() / 125;
        u32::try_from(ticks).ok().map(Self)
    }

    /// The time as a duration.
    pub fn as_duration(self) -> Duration {
        Duration::from_micros(u64::from(self.0) * 125)
    }
}

/// An AbsoluteTime: 8 BCD bytes {century, year, month, day, hour, minute,
/// second, fraction}, decoded to numbers. Several monitors do not support it
/// (VSCaptureMP's note in §2.2). No time zone is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbsoluteTime {
    /// Century (20 for 20xx).
    pub century: u8,
    /// Year in the century.
    pub year: u8,
    /// Month, as sent.
    pub month: u8,
    /// Day of month, as sent.
    pub day: u8,
    /// Hour, as sent.
    pub hour: u8,
    /// Minute, as sent.
    pub minute: u8,
    /// Second, as sent.
    pub second: u8,
    /// Fraction of a second, two BCD digits, as sent.
    pub fraction: u8,
}

impl AbsoluteTime {
    /// Decodes the 8 BCD bytes.
    ///
    /// # Errors
    ///
    /// [`IntellivueError::BadBcd`] for a byte that is not two decimal digits.
    pub fn from_bcd(bytes: [u8; 8]) -> Result<Self, IntellivueError> {
        let mut d = [0u8; 8];
        for (slot, byte) in d.iter_mut().zip(bytes) {
            let (hi, lo) = (byte >> 4, byte & 0x0F);
            if hi > 9 || lo > 9 {
                return Err(IntellivueError::BadBcd { byte });
            }
            *slot = hi * 10 + lo;
        }
        let [century, year, month, day, hour, minute, second, fraction] = d;
        Ok(Self {
            century,
            year,
            month,
            day,
            hour,
            minute,
            second,
            fraction,
        })
    }
}
