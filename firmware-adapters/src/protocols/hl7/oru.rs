//! ORU^R01 (IHE PCD-01): header, bed, observations, readings and the
//! observations that did not become readings.
//!
//! A message-level problem (not ORU^R01, no control id) fails the decode; the
//! sender should get AR. An OBX that cannot be read (a non-number in an NM value,
//! a bad time) is set aside in [`OruMessage::rejected`] with its location, and the
//! other observations still count; the sender should get AE.

use super::observation::{read_time, Code, EquipmentId, Observation, ObservationValue, Unmapped};
use super::{Hl7Error, Message, Segment};
use crate::{Reading, Unit};

/// The MSH fields an adapter and the ACK need, unescaped, split in components.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageHeader {
    /// MSH-3, e.g. `["GE_B40", "0012AB00FFFE0001", "EUI-64"]`.
    pub sending_application: Vec<String>,
    /// MSH-4.
    pub sending_facility: Vec<String>,
    /// MSH-5.
    pub receiving_application: Vec<String>,
    /// MSH-6.
    pub receiving_facility: Vec<String>,
    /// MSH-7 as sent.
    pub message_time: String,
    /// MSH-9, e.g. `["ORU", "R01", "ORU_R01"]`.
    pub message_type: Vec<String>,
    /// MSH-10, the message control id the ACK must echo.
    pub control_id: String,
    /// MSH-11, the processing id (`P`, `T`, `D`).
    pub processing_id: String,
    /// MSH-12, the HL7 version.
    pub version: String,
}

impl MessageHeader {
    /// Reads the header; never fails, so that even a rejected message can be
    /// acknowledged. A component with a broken escape is kept as sent.
    pub fn read(message: &Message) -> Self {
        let comps = |n| {
            message
                .segment("MSH")
                .map(|s| s.components_lossy(n))
                .unwrap_or_default()
        };
        let first = |n| comps(n).into_iter().next().unwrap_or_default();
        Self {
            sending_application: comps(3),
            sending_facility: comps(4),
            receiving_application: comps(5),
            receiving_facility: comps(6),
            message_time: first(7),
            message_type: comps(9),
            control_id: first(10),
            processing_id: first(11),
            version: first(12),
        }
    }

    fn is_oru_r01(&self) -> bool {
        let part = |i: usize| self.message_type.get(i).map(String::as_str);
        part(0) == Some("ORU") && part(1) == Some("R01")
    }
}

/// PV1-3 (point of care ^ room ^ bed ^ facility); absent parts are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedLocation {
    /// Point of care: the ward or unit.
    pub point_of_care: Option<String>,
    /// Room.
    pub room: Option<String>,
    /// Bed.
    pub bed: Option<String>,
    /// Facility.
    pub facility: Option<String>,
}

impl BedLocation {
    fn read(pv1: &Segment) -> Option<Self> {
        let c = pv1.components(3);
        let get = |i: usize| {
            c.get(i)
                .filter(|s| !s.is_empty())
                .map(|s| s.clone().into_owned())
        };
        let bed = Self {
            point_of_care: get(0),
            room: get(1),
            bed: get(2),
            facility: get(3),
        };
        let any = bed.point_of_care.is_some() || bed.room.is_some() || bed.bed.is_some();
        (any || bed.facility.is_some()).then_some(bed)
    }
}

/// A reading with what PCD-01 says about where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PcdReading {
    /// The reading.
    pub reading: Reading,
    /// The MDC code the sender used (an alias keeps its own code).
    pub mdc_code: Option<u32>,
    /// OBX-4 sub-id.
    pub sub_id: String,
    /// OBX-18 equipment.
    pub equipment: Option<EquipmentId>,
}

/// An observation with a value that did not become a reading, kept raw.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownObservation {
    /// OBX-3 as sent.
    pub code: Code,
    /// OBX-5.
    pub value: ObservationValue,
    /// OBX-6 as sent.
    pub unit: Option<Code>,
    /// The unit OBX-6 names, when this gateway knows it.
    pub known_unit: Option<Unit>,
    /// OBX-4 sub-id.
    pub sub_id: String,
    /// OBX-18, which says which device it came from.
    pub equipment: Option<EquipmentId>,
    /// Why it is not a reading.
    pub reason: Unmapped,
}

/// A decoded ORU^R01.
#[derive(Debug, Clone, PartialEq)]
pub struct OruMessage {
    /// MSH.
    pub header: MessageHeader,
    /// PID-3, first identifier.
    pub patient_id: Option<String>,
    /// PV1-3.
    pub bed: Option<BedLocation>,
    /// Every OBX that could be read, in order, device rows included.
    pub observations: Vec<Observation>,
    /// OBX (or OBR-7) fields that could not be read.
    pub rejected: Vec<Hl7Error>,
}

impl OruMessage {
    /// Parses and decodes a message (the payload of an MLLP block).
    ///
    /// # Errors
    ///
    /// As [`Message::parse`] and [`Self::decode`].
    pub fn parse(bytes: &[u8]) -> Result<Self, Hl7Error> {
        Self::decode(&Message::parse(bytes)?)
    }

    /// Decodes a parsed message.
    ///
    /// # Errors
    ///
    /// [`Hl7Error::UnsupportedMessage`] unless MSH-9 is ORU^R01, and
    /// [`Hl7Error::MissingField`] when MSH-10 (the control id) is empty.
    pub fn decode(message: &Message) -> Result<Self, Hl7Error> {
        let header = MessageHeader::read(message);
        let msh = message.segment("MSH").ok_or(Hl7Error::MissingMsh)?;
        if !header.is_oru_r01() {
            let message_type = msh.raw(9).to_owned();
            return Err(Hl7Error::UnsupportedMessage { message_type });
        }
        if header.control_id.is_empty() {
            return Err(Hl7Error::MissingField {
                at: msh.location(10),
            });
        }
        let (observations, rejected) = read_observations(message);
        let patient_id = message
            .segment("PID")
            .and_then(|pid| pid.components(3).into_iter().next())
            .map(std::borrow::Cow::into_owned)
            .filter(|id| !id.is_empty());
        Ok(Self {
            header,
            patient_id,
            bed: message.segment("PV1").and_then(BedLocation::read),
            observations,
            rejected,
        })
    }

    /// The observations that are readings. A time without offset converts with
    /// `assumed_offset` (minutes east of UTC) or stays unknown.
    pub fn readings(&self, assumed_offset: Option<i32>) -> Vec<PcdReading> {
        let to_pcd = |o: &Observation| {
            let reading = o.to_reading(assumed_offset).ok()?;
            Some(PcdReading {
                reading,
                mdc_code: o.code.mdc,
                sub_id: o.sub_id.clone(),
                equipment: o.equipment.clone(),
            })
        };
        self.observations.iter().filter_map(to_pcd).collect()
    }

    /// The observations with a value that are not readings (unknown code, not
    /// numeric, unknown unit), so that nothing the device sent is lost.
    pub fn unknown(&self) -> Vec<UnknownObservation> {
        let to_unknown = |o: &Observation| match o.to_reading(None) {
            Ok(_) | Err(Unmapped::NoValue) => None,
            Err(reason) => Some(UnknownObservation {
                code: o.code.clone(),
                value: o.value.clone(),
                unit: o.unit.as_ref().map(|(code, _)| code.clone()),
                known_unit: o.unit.as_ref().and_then(|(_, unit)| *unit),
                sub_id: o.sub_id.clone(),
                equipment: o.equipment.clone(),
                reason,
            }),
        };
        self.observations.iter().filter_map(to_unknown).collect()
    }
}

/// OBX segments in order, each with the OBR-7 of the order it belongs to.
fn read_observations(message: &Message) -> (Vec<Observation>, Vec<Hl7Error>) {
    let (mut observations, mut rejected) = (Vec::new(), Vec::new());
    let mut obr_time = None;
    for segment in message.segments() {
        match segment.id() {
            "OBR" => {
                obr_time = read_time(segment, 7).unwrap_or_else(|err| {
                    rejected.push(err);
                    None
                });
            }
            "OBX" => match Observation::read(segment, obr_time) {
                Ok(observation) => observations.push(observation),
                Err(err) => rejected.push(err),
            },
            _ => {}
        }
    }
    (observations, rejected)
}
