//! Nonin frames to values: packet assembly for formats 2 and 7, the FLOAT byte
//! layout, format 8 records, status bits and readings.

use super::{Format8Frame, FrameStatus, NoninError, SerialFrame};
use crate::{Metric, Reading, Unit, Validity};

/// Frames per packet in formats 2 and 7.
pub const PACKET_FRAMES: usize = 25;

/// A rate value meaning "no value".
const MISSING_RATE: u16 = 511;
/// An SpO2 value meaning "no value".
const MISSING_SPO2: u8 = 127;

// FLOAT positions in a packet, 0-based (the spec numbers frames from 1).
const HR_MSB: usize = 0;
const SPO2: usize = 2;
const FIRMWARE: usize = 3;
const TIMER_MSB: usize = 5;
const STAT2: usize = 7;
const SPO2_D: usize = 8;
const SPO2_FAST: usize = 9;
const SPO2_BB: usize = 10;
const E_HR_MSB: usize = 13;
const E_SPO2: usize = 15;
const E_SPO2_D: usize = 16;
const HR_D_MSB: usize = 19;
const E_HR_D_MSB: usize = 21;

/// Pulse amplitude quality, as the perfusion bits report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Perfusion {
    /// No indication (between pulses).
    #[default]
    None,
    /// High signal quality.
    Green,
    /// Medium signal quality.
    Yellow,
    /// Low signal quality.
    Red,
}

impl FrameStatus {
    /// The perfusion indication of this frame.
    pub fn perfusion(self) -> Perfusion {
        match (self.has(Self::RPRF), self.has(Self::GPRF)) {
            (true, true) => Perfusion::Yellow,
            (true, false) => Perfusion::Red,
            (false, true) => Perfusion::Green,
            (false, false) => Perfusion::None,
        }
    }
}

/// The quality flags of a packet or a format 8 record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QualityFlags {
    /// SNSD: the sensor is not connected or inoperable.
    pub sensor_disconnected: bool,
    /// SNSA: the sensor gives unusable data (for example, finger removed).
    pub sensor_alarm: bool,
    /// OOT: no consecutive good pulse signals.
    pub out_of_track: bool,
    /// ARTF: a beat did not match the current pulse interval.
    pub artifact: bool,
    /// Red perfusion (formats 2/7) or LPRF (format 8): low signal quality.
    pub low_perfusion: bool,
    /// Yellow perfusion (formats 2/7) or MPRF (format 8): medium signal quality.
    pub marginal_perfusion: bool,
}

impl QualityFlags {
    /// The device's opinion of the values these flags accompany.
    pub fn validity(self) -> Validity {
        if self.sensor_disconnected || self.sensor_alarm || self.out_of_track {
            Validity::Invalid
        } else if self.artifact || self.low_perfusion {
            Validity::Questionable
        } else {
            Validity::Valid
        }
    }

    fn merge_status(&mut self, status: FrameStatus) {
        self.sensor_disconnected |= status.has(FrameStatus::SNSD);
        self.sensor_alarm |= status.has(FrameStatus::SNSA);
        self.out_of_track |= status.has(FrameStatus::OOT);
        self.artifact |= status.has(FrameStatus::ARTF);
        self.low_perfusion |= status.perfusion() == Perfusion::Red;
        self.marginal_perfusion |= status.perfusion() == Perfusion::Yellow;
    }
}

/// Groups format 2/7 frames into 25-frame packets, starting at a SYNC frame.
///
/// Frames before the first SYNC frame, and after a full packet until the next
/// SYNC frame, belong to no known packet position and are dropped.
#[derive(Debug, Clone, Default)]
pub struct PacketAssembler {
    frames: Vec<SerialFrame>,
}

impl PacketAssembler {
    /// An assembler waiting for the first SYNC frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a frame; returns a packet when this frame completes one, or an error
    /// when a SYNC frame cuts the current packet short.
    pub fn push(&mut self, frame: SerialFrame) -> Option<Result<Packet, NoninError>> {
        if frame.status.has(FrameStatus::SYNC) {
            let cut = std::mem::replace(&mut self.frames, vec![frame]);
            return (!cut.is_empty())
                .then_some(Err(NoninError::IncompletePacket { frames: cut.len() }));
        }
        if self.frames.is_empty() {
            return None;
        }
        self.frames.push(frame);
        if self.frames.len() < PACKET_FRAMES {
            return None;
        }
        let frames = std::mem::take(&mut self.frames);
        frames.try_into().ok().map(|frames| Ok(Packet { frames }))
    }
}

/// A full format 2/7 packet: 25 frames, the first with the SYNC bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    frames: [SerialFrame; PACKET_FRAMES],
}

/// The numerics of one packet. Rates are in beats per minute, SpO2 in percent;
/// `None` is the device's missing-value code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OximetryValues {
    /// 4-beat average pulse rate, formatted for recording.
    pub pulse_rate: Option<u16>,
    /// 4-beat average SpO2, formatted for recording.
    pub spo2: Option<u8>,
    /// Oximeter firmware revision.
    pub firmware_revision: u8,
    /// The oximeter's 14-bit packet timer.
    pub timer: u16,
    /// STAT2 bit 5: the SmartPoint algorithm qualified this measurement.
    pub smartpoint: bool,
    /// STAT2 bit 0: low battery.
    pub low_battery: bool,
    /// 4-beat average SpO2, formatted for display (holds 10 s after removal).
    pub spo2_display: Option<u8>,
    /// 4-beat SpO2 optimised for fast response.
    pub spo2_fast: Option<u8>,
    /// Beat-to-beat SpO2, not averaged.
    pub spo2_beat_to_beat: Option<u8>,
    /// 8-beat extended average pulse rate.
    pub pulse_rate_extended: Option<u16>,
    /// 8-beat extended average SpO2.
    pub spo2_extended: Option<u8>,
    /// 8-beat extended average SpO2, formatted for display.
    pub spo2_extended_display: Option<u8>,
    /// 4-beat average pulse rate, formatted for display.
    pub pulse_rate_display: Option<u16>,
    /// 8-beat extended average pulse rate, formatted for display.
    pub pulse_rate_extended_display: Option<u16>,
    /// The status flags of the 25 frames, combined.
    pub flags: QualityFlags,
}

impl Packet {
    /// The 25 frames, in order.
    pub fn frames(&self) -> &[SerialFrame; PACKET_FRAMES] {
        &self.frames
    }

    /// The plethysmogram samples of the packet.
    pub fn pleth(&self) -> impl Iterator<Item = u16> + '_ {
        self.frames.iter().map(|f| f.pleth)
    }

    /// Decodes the FLOAT bytes and combines the status flags.
    pub fn values(&self) -> OximetryValues {
        let stat2 = self.float(STAT2);
        let mut flags = QualityFlags::default();
        for frame in &self.frames {
            flags.merge_status(frame.status);
        }
        OximetryValues {
            pulse_rate: self.rate(HR_MSB),
            spo2: spo2(self.float(SPO2)),
            firmware_revision: self.float(FIRMWARE),
            timer: seven_bit_pair(self.float(TIMER_MSB), self.float(TIMER_MSB + 1)),
            smartpoint: stat2 & 0x20 != 0,
            low_battery: stat2 & 0x01 != 0,
            spo2_display: spo2(self.float(SPO2_D)),
            spo2_fast: spo2(self.float(SPO2_FAST)),
            spo2_beat_to_beat: spo2(self.float(SPO2_BB)),
            pulse_rate_extended: self.rate(E_HR_MSB),
            spo2_extended: spo2(self.float(E_SPO2)),
            spo2_extended_display: spo2(self.float(E_SPO2_D)),
            pulse_rate_display: self.rate(HR_D_MSB),
            pulse_rate_extended_display: self.rate(E_HR_D_MSB),
            flags,
        }
    }

    /// Pulse rate and SpO2 (the recording-formatted 4-beat averages) as readings.
    pub fn readings(&self) -> Vec<Reading> {
        let v = self.values();
        readings(v.pulse_rate, v.spo2, v.flags.validity())
    }

    fn float(&self, index: usize) -> u8 {
        self.frames.get(index).map_or(0, |f| f.float)
    }

    fn rate(&self, msb_index: usize) -> Option<u16> {
        rate(self.float(msb_index), self.float(msb_index + 1))
    }
}

impl Format8Frame {
    /// Pulse rate in beats per minute, `None` when missing (511).
    pub fn pulse_rate(&self) -> Option<u16> {
        rate(self.status1, self.hr_low)
    }

    /// SpO2 in percent, `None` when missing (127).
    pub fn spo2(&self) -> Option<u8> {
        spo2(self.spo2)
    }

    /// STATUS2 bit 5: the SmartPoint algorithm qualified this measurement.
    pub fn smartpoint(&self) -> bool {
        self.status2 & 0x20 != 0
    }

    /// STATUS2 bit 0: low battery.
    pub fn low_battery(&self) -> bool {
        self.status2 & 0x01 != 0
    }

    /// The status flags of STATUS1 and STATUS2.
    pub fn flags(&self) -> QualityFlags {
        QualityFlags {
            sensor_disconnected: self.status1 & 0x40 != 0,
            out_of_track: self.status1 & 0x20 != 0,
            low_perfusion: self.status1 & 0x10 != 0,
            marginal_perfusion: self.status1 & 0x08 != 0,
            artifact: self.status1 & 0x04 != 0,
            sensor_alarm: self.status2 & 0x08 != 0,
        }
    }

    /// Pulse rate and SpO2 as readings.
    pub fn readings(&self) -> Vec<Reading> {
        readings(self.pulse_rate(), self.spo2(), self.flags().validity())
    }
}

/// A 9-bit rate: bits 8-7 in the low two bits of `msb`, bits 6-0 in `lsb`.
fn rate(msb: u8, lsb: u8) -> Option<u16> {
    let value = (u16::from(msb & 0x03) << 7) | u16::from(lsb & 0x7F);
    (value != MISSING_RATE).then_some(value)
}

fn spo2(byte: u8) -> Option<u8> {
    let value = byte & 0x7F;
    (value != MISSING_SPO2).then_some(value)
}

fn seven_bit_pair(msb: u8, lsb: u8) -> u16 {
    (u16::from(msb & 0x7F) << 7) | u16::from(lsb & 0x7F)
}

fn readings(pulse_rate: Option<u16>, spo2: Option<u8>, validity: Validity) -> Vec<Reading> {
    let pr = pulse_rate.map(|v| (Metric::PulseRate, f64::from(v), Unit::PerMinute));
    let sat = spo2.map(|v| (Metric::Spo2, f64::from(v), Unit::Percent));
    pr.into_iter()
        .chain(sat)
        .map(|(metric, value, unit)| Reading {
            metric,
            value,
            unit,
            device_time: None,
            validity,
        })
        .collect()
}
