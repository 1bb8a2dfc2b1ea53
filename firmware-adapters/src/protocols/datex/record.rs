//! DRI records: the 40-byte header, the subrecord list, and the PHDB request.

use super::{encode_frame, DatexError};

/// Length of the record header, in bytes.
pub const HEADER_BYTES: usize = 40;
/// Longest record: 40-byte header plus 1 450-byte data area (devices.md 2.1).
pub const MAX_RECORD_BYTES: usize = 1490;
/// Subrecord descriptors in a header.
pub const MAX_SUBRECORDS: usize = 8;
/// An `sr_type` of this value ends the descriptor list.
pub const END_OF_LIST: u8 = 0xFF;

/// Where the descriptors start: 8 x {i16 `sr_offset`, u8 `sr_type`}.
const DESCRIPTORS_AT: usize = 16;
const DESCRIPTOR_BYTES: usize = 3;
/// Length of the PHDB request body.
const PHDB_REQUEST_BYTES: usize = 9;

/// What a record carries (`r_maintype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MainType {
    /// 0: physiological database (displayed values, trends).
    Phdb,
    /// 1: waveforms.
    Wave,
    /// 4: alarms.
    Alarm,
    /// 5: network.
    Network,
    /// 8: FO.
    Fo,
    /// Any other value, as sent.
    Other(i16),
}

impl MainType {
    /// The type from its `r_maintype` value.
    pub fn from_raw(raw: i16) -> Self {
        match raw {
            0 => Self::Phdb,
            1 => Self::Wave,
            4 => Self::Alarm,
            5 => Self::Network,
            8 => Self::Fo,
            other => Self::Other(other),
        }
    }

    /// The `r_maintype` value.
    pub fn raw(self) -> i16 {
        match self {
            Self::Phdb => 0,
            Self::Wave => 1,
            Self::Alarm => 4,
            Self::Network => 5,
            Self::Fo => 8,
            Self::Other(raw) => raw,
        }
    }
}

/// The record header fields that carry information (`r_len` and the
/// descriptors are derived from the subrecords; the reserved bytes are zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriHeader {
    /// `r_nbr`: record number.
    pub record_number: u8,
    /// `dri_level`: interface level, 0x02 ('95) ... 0x0B (2015), 0x0C (2019).
    pub dri_level: u8,
    /// `plug_id`.
    pub plug_id: u16,
    /// `r_time`: seconds since 1970-01-01 on the monitor clock, whose time zone
    /// the record does not say.
    pub time: u32,
    /// `r_maintype`.
    pub main_type: MainType,
}

/// One subrecord: its type and bytes, from its offset to the next one's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subrecord {
    /// `sr_type`; its meaning depends on the main type.
    pub sr_type: u8,
    /// The subrecord bytes.
    pub data: Vec<u8>,
}

/// A whole DRI record (the unescaped frame content without checksum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriRecord {
    /// The header.
    pub header: DriHeader,
    /// The subrecords, in descriptor order.
    pub subrecords: Vec<Subrecord>,
}

impl DriRecord {
    /// Parses a record as the framer returns it.
    ///
    /// # Errors
    ///
    /// [`DatexError::TooShort`] below 40 bytes, [`DatexError::LengthMismatch`]
    /// when `r_len` is not the record length, [`DatexError::BadDescriptor`] when
    /// a subrecord offset is negative, past the data area or before the
    /// previous one.
    pub fn parse(bytes: &[u8]) -> Result<Self, DatexError> {
        let (Some(head), Some(data)) = (bytes.get(..HEADER_BYTES), bytes.get(HEADER_BYTES..))
        else {
            return Err(DatexError::TooShort { len: bytes.len() });
        };
        let declared = le_i16(head, 0);
        if usize::try_from(declared).ok() != Some(bytes.len()) {
            return Err(DatexError::LengthMismatch {
                declared,
                actual: bytes.len(),
            });
        }
        let header = DriHeader {
            record_number: head.get(2).copied().unwrap_or_default(),
            dri_level: head.get(3).copied().unwrap_or_default(),
            plug_id: le_u16(head, 4),
            time: le_u32(head, 6),
            main_type: MainType::from_raw(le_i16(head, 14)),
        };
        let starts = descriptors(head, data.len())?;
        let ends = starts.iter().skip(1).map(|&(at, _)| at).chain([data.len()]);
        let subrecords = starts
            .iter()
            .zip(ends)
            .map(|(&(start, sr_type), end)| Subrecord {
                sr_type,
                data: data.get(start..end).unwrap_or_default().to_vec(),
            })
            .collect();
        Ok(Self { header, subrecords })
    }

    /// The record bytes: header with `r_len` and descriptors, then the data area.
    /// The terminating descriptor is `{0, FF}`, as in devices.md 2.8 #3.
    ///
    /// # Errors
    ///
    /// [`DatexError::TooManySubrecords`] past 8, [`DatexError::TooLong`] past
    /// [`MAX_RECORD_BYTES`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, DatexError> {
        let count = self.subrecords.len();
        if count > MAX_SUBRECORDS {
            return Err(DatexError::TooManySubrecords { count });
        }
        let len = HEADER_BYTES + self.subrecords.iter().map(|s| s.data.len()).sum::<usize>();
        let too_long = DatexError::TooLong {
            len,
            limit: MAX_RECORD_BYTES,
        };
        let r_len = i16::try_from(len).map_err(|_| too_long.clone())?;
        if len > MAX_RECORD_BYTES {
            return Err(too_long);
        }
        let h = &self.header;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&r_len.to_le_bytes());
        out.extend_from_slice(&[h.record_number, h.dri_level]);
        out.extend_from_slice(&h.plug_id.to_le_bytes());
        out.extend_from_slice(&h.time.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&h.main_type.raw().to_le_bytes());
        let mut offset = 0usize;
        for sub in &self.subrecords {
            // The data area is at most 1 450 bytes, so every offset fits an i16.
            let at = i16::try_from(offset).unwrap_or(i16::MAX);
            out.extend_from_slice(&at.to_le_bytes());
            out.push(sub.sr_type);
            offset += sub.data.len();
        }
        if count < MAX_SUBRECORDS {
            out.extend_from_slice(&[0, 0, END_OF_LIST]);
        }
        out.resize(HEADER_BYTES, 0);
        for sub in &self.subrecords {
            out.extend_from_slice(&sub.data);
        }
        Ok(out)
    }

    /// The framed record, ready for the wire.
    ///
    /// # Errors
    ///
    /// As [`Self::to_bytes`].
    pub fn to_frame(&self) -> Result<Vec<u8>, DatexError> {
        self.to_bytes().map(|bytes| encode_frame(&bytes))
    }
}

/// Reads the descriptor list: `(offset, sr_type)` of each subrecord.
fn descriptors(head: &[u8], data_len: usize) -> Result<Vec<(usize, u8)>, DatexError> {
    let mut out: Vec<(usize, u8)> = Vec::new();
    for index in 0..MAX_SUBRECORDS {
        let at = DESCRIPTORS_AT + index * DESCRIPTOR_BYTES;
        let sr_type = head.get(at + 2).copied().unwrap_or(END_OF_LIST);
        if sr_type == END_OF_LIST {
            break;
        }
        let offset = le_i16(head, at);
        let start = usize::try_from(offset).ok().filter(|&start| {
            start <= data_len && out.last().is_none_or(|&(prev, _)| prev <= start)
        });
        let start = start.ok_or(DatexError::BadDescriptor { index, offset })?;
        out.push((start, sr_type));
    }
    Ok(out)
}

/// Reads `N` bytes at `at`; zeros if out of range (callers check lengths first).
fn le_bytes<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes
        .get(at..)
        .and_then(|b| b.get(..N))
        .and_then(|b| b.try_into().ok())
        .unwrap_or([0; N])
}

pub(crate) fn le_i16(bytes: &[u8], at: usize) -> i16 {
    i16::from_le_bytes(le_bytes(bytes, at))
}

pub(crate) fn le_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(le_bytes(bytes, at))
}

pub(crate) fn le_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(le_bytes(bytes, at))
}

/// The transmission request of the physiological database (main type PHDB,
/// subrecord type 0): one request starts a periodic stream (devices.md 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhdbRequest {
    /// `phdb_rcrd_type`: one of the `RECORD_*` constants.
    pub record_type: u8,
    /// `tx_interval` in seconds; 0 stops the stream. VSCapture sends at least 5
    /// and mentions -1 for a single transmission (unconfirmed).
    pub interval_s: i16,
    /// `phdb_class_bf`: `EXT*` bits add classes, [`Self::DENY_BASIC`] drops the
    /// basic class.
    pub classes: u32,
}

impl PhdbRequest {
    /// Displayed values.
    pub const RECORD_DISPLAYED: u8 = 1;
    /// 10-second trend.
    pub const RECORD_TREND_10S: u8 = 2;
    /// 60-second trend.
    pub const RECORD_TREND_60S: u8 = 3;
    /// Auxiliary information.
    pub const RECORD_AUX_INFO: u8 = 4;
    /// Class bit: do not send the basic class.
    pub const DENY_BASIC: u32 = 0x0001;
    /// Class bit: send extended class 1.
    pub const EXT1: u32 = 0x0002;
    /// Class bit: send extended class 2.
    pub const EXT2: u32 = 0x0004;
    /// Class bit: send extended class 3.
    pub const EXT3: u32 = 0x0008;
    /// The `sr_type` of a request subrecord.
    pub const SR_TYPE: u8 = 0;

    /// The request the gateway sends to start, or repeat, the displayed-values
    /// stream: all classes, as in devices.md 2.8 #3. Only the basic class is
    /// decoded; the extended ones arrive as raw subrecords.
    pub fn displayed(interval_s: i16) -> Self {
        Self {
            record_type: Self::RECORD_DISPLAYED,
            interval_s,
            classes: Self::EXT1 | Self::EXT2 | Self::EXT3,
        }
    }

    /// The request that stops the displayed-values stream.
    pub fn stop() -> Self {
        Self {
            record_type: Self::RECORD_DISPLAYED,
            interval_s: 0,
            classes: 0,
        }
    }

    /// The request as a record at the given DRI level.
    pub fn to_record(self, dri_level: u8) -> DriRecord {
        let mut data = vec![self.record_type];
        data.extend_from_slice(&self.interval_s.to_le_bytes());
        data.extend_from_slice(&self.classes.to_le_bytes());
        data.extend_from_slice(&[0, 0]);
        DriRecord {
            header: DriHeader {
                record_number: 0,
                dri_level,
                plug_id: 0,
                time: 0,
                main_type: MainType::Phdb,
            },
            subrecords: vec![Subrecord {
                sr_type: Self::SR_TYPE,
                data,
            }],
        }
    }

    /// The framed request at the given DRI level, ready for the wire.
    pub fn to_frame(self, dri_level: u8) -> Vec<u8> {
        // A 49-byte record with one subrecord always encodes.
        self.to_record(dri_level).to_frame().unwrap_or_default()
    }

    /// Reads a request (what a simulated monitor receives).
    ///
    /// # Errors
    ///
    /// [`DatexError::NotPhdb`] for another main type, [`DatexError::ShortSubrecord`]
    /// when the first subrecord is missing or shorter than 9 bytes.
    pub fn parse(record: &DriRecord) -> Result<Self, DatexError> {
        if record.header.main_type != MainType::Phdb {
            return Err(DatexError::NotPhdb {
                main_type: record.header.main_type.raw(),
            });
        }
        let data = record.subrecords.first().map_or(&[][..], |s| &s.data[..]);
        if data.len() < PHDB_REQUEST_BYTES {
            return Err(DatexError::ShortSubrecord {
                len: data.len(),
                expected: PHDB_REQUEST_BYTES,
            });
        }
        Ok(Self {
            record_type: data.first().copied().unwrap_or_default(),
            interval_s: le_i16(data, 1),
            classes: le_u32(data, 3),
        })
    }
}
