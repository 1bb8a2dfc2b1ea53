//! The `EXC` exception and `ALARM` bit fields of a Masimo line.

use crate::Validity;

/// The `EXC` exception bits: the device's own view of signal and sensor state.
///
/// Bits 0x001-0x800 are from the Rad-8 operator's manual (as quoted by
/// masimo-capture); the higher bits from the OpenICE Radical-7 driver's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ExceptionFlags(pub u32);

impl ExceptionFlags {
    /// No sensor connected.
    pub const NO_SENSOR: u32 = 0x00_0001;
    /// Defective sensor.
    pub const DEFECTIVE_SENSOR: u32 = 0x00_0002;
    /// Low perfusion.
    pub const LOW_PERFUSION: u32 = 0x00_0004;
    /// Searching for a pulse.
    pub const PULSE_SEARCH: u32 = 0x00_0008;
    /// Interference detected.
    pub const INTERFERENCE: u32 = 0x00_0010;
    /// Sensor off the patient.
    pub const SENSOR_OFF: u32 = 0x00_0020;
    /// Too much ambient light.
    pub const AMBIENT_LIGHT: u32 = 0x00_0040;
    /// Unrecognised sensor.
    pub const UNRECOGNIZED_SENSOR: u32 = 0x00_0080;
    /// Incompatible sensor.
    pub const INCOMPATIBLE_SENSOR: u32 = 0x00_0100;
    /// Low signal IQ.
    pub const LOW_SIGNAL_IQ: u32 = 0x00_0400;
    /// Full Masimo SET mode (informational: a good sign, not a problem).
    pub const SET_MODE: u32 = 0x00_0800;
    /// No patient cable connected.
    pub const NO_CABLE: u32 = 0x00_1000;
    /// Patient cable life expired.
    pub const CABLE_EXPIRED: u32 = 0x00_2000;
    /// Incompatible patient cable.
    pub const INCOMPATIBLE_CABLE: u32 = 0x00_4000;
    /// Unrecognised patient cable.
    pub const UNRECOGNIZED_CABLE: u32 = 0x00_8000;
    /// Defective patient cable.
    pub const DEFECTIVE_CABLE: u32 = 0x01_0000;
    /// Sensor calibrating.
    pub const SENSOR_CALIBRATING: u32 = 0x02_0000;
    /// Sensor life expired.
    pub const SENSOR_EXPIRED: u32 = 0x04_0000;
    /// Emitter temperature out of range.
    pub const EMITTER_TEMPERATURE: u32 = 0x08_0000;
    /// Sensor current limit exceeded.
    pub const SENSOR_CURRENT_LIMIT: u32 = 0x10_0000;
    /// SpCO low confidence (concerns SpCO only).
    pub const SPCO_LOW_CONFIDENCE: u32 = 0x20_0000;
    /// SpMet low confidence (concerns SpMet only).
    pub const SPMET_LOW_CONFIDENCE: u32 = 0x40_0000;

    /// Exceptions under which the device cannot measure at all.
    const INVALIDATING: u32 = Self::NO_SENSOR
        | Self::DEFECTIVE_SENSOR
        | Self::SENSOR_OFF
        | Self::UNRECOGNIZED_SENSOR
        | Self::INCOMPATIBLE_SENSOR
        | Self::NO_CABLE
        | Self::CABLE_EXPIRED
        | Self::INCOMPATIBLE_CABLE
        | Self::UNRECOGNIZED_CABLE
        | Self::DEFECTIVE_CABLE
        | Self::SENSOR_EXPIRED
        | Self::EMITTER_TEMPERATURE
        | Self::SENSOR_CURRENT_LIMIT;

    /// Exceptions under which a shown value is doubtful.
    const DOUBTFUL: u32 = Self::LOW_PERFUSION
        | Self::PULSE_SEARCH
        | Self::INTERFERENCE
        | Self::AMBIENT_LIGHT
        | Self::LOW_SIGNAL_IQ
        | Self::SENSOR_CALIBRATING;

    /// Whether `bit` (one of the constants) is set.
    pub const fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }

    /// The validity of SpO2, pulse rate and PI under these exceptions. Bits that
    /// concern only SpCO or SpMet, SET mode, and unknown bits leave them valid.
    pub fn validity(self) -> Validity {
        if self.0 & Self::INVALIDATING != 0 {
            Validity::Invalid
        } else if self.0 & Self::DOUBTFUL != 0 {
            Validity::Questionable
        } else {
            Validity::Valid
        }
    }
}

/// The `ALARM` bits: which alarm limits the device sees violated (OpenICE table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct AlarmFlags(pub u32);

impl AlarmFlags {
    /// SpO2 above its high limit.
    pub const SPO2_HIGH: u32 = 0x0001;
    /// SpO2 below its low limit.
    pub const SPO2_LOW: u32 = 0x0002;
    /// Pulse rate above its high limit.
    pub const PULSE_RATE_HIGH: u32 = 0x0004;
    /// Pulse rate below its low limit.
    pub const PULSE_RATE_LOW: u32 = 0x0008;
    /// An alarm is active.
    pub const ACTIVE: u32 = 0x0010;
    /// Alarms are silenced on the device.
    pub const SILENCED: u32 = 0x0020;
    /// Low battery.
    pub const LOW_BATTERY: u32 = 0x0040;
    /// SpCO above its high limit.
    pub const SPCO_HIGH: u32 = 0x0100;
    /// SpCO below its low limit.
    pub const SPCO_LOW: u32 = 0x0200;
    /// SpMet above its high limit.
    pub const SPMET_HIGH: u32 = 0x0400;
    /// SpMet below its low limit.
    pub const SPMET_LOW: u32 = 0x0800;
    /// Desaturation index alarm.
    pub const DESAT_INDEX: u32 = 0x1000;
    /// PI rate-of-change alarm.
    pub const PI_DELTA: u32 = 0x2000;

    /// Whether `bit` (one of the constants) is set.
    pub const fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
}
