//! Medibus command codes (devices.md 2.3), for code pages 1 and 2.

/// A command byte, as sent after ESC and echoed after SOH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Command {
    /// 0x15: the last frame was corrupt.
    Corrupt = 0x15,
    /// 0x24: current measured data, code page 1.
    MeasuredCp1 = 0x24,
    /// 0x25: low alarm limits, code page 1.
    LowLimitsCp1 = 0x25,
    /// 0x26: high alarm limits, code page 1.
    HighLimitsCp1 = 0x26,
    /// 0x27: current alarms, code page 1.
    AlarmsCp1 = 0x27,
    /// 0x28: date and time.
    DateTime = 0x28,
    /// 0x29: device settings.
    DeviceSettings = 0x29,
    /// 0x2A: text messages.
    TextMessages = 0x2A,
    /// 0x2B: current measured data, code page 2.
    MeasuredCp2 = 0x2B,
    /// 0x2C: low alarm limits, code page 2.
    LowLimitsCp2 = 0x2C,
    /// 0x2D: high alarm limits, code page 2.
    HighLimitsCp2 = 0x2D,
    /// 0x2E: current alarms, code page 2.
    AlarmsCp2 = 0x2E,
    /// 0x30: no operation, the keep-alive.
    Nop = 0x30,
    /// 0x49: the time changed.
    TimeChanged = 0x49,
    /// 0x4A: configure the data response.
    ConfigureDataResponse = 0x4A,
    /// 0x51: initialise communication (ICC).
    Icc = 0x51,
    /// 0x52: device identification.
    DeviceId = 0x52,
    /// 0x53: request the realtime configuration.
    RealtimeConfig = 0x53,
    /// 0x54: configure realtime transmission.
    ConfigureRealtime = 0x54,
    /// 0x55: stop communication.
    Stop = 0x55,
    /// 0x56: the realtime configuration changed.
    RealtimeConfigChanged = 0x56,
}

impl Command {
    /// Every command, in code order.
    pub const ALL: [Self; 21] = [
        Self::Corrupt,
        Self::MeasuredCp1,
        Self::LowLimitsCp1,
        Self::HighLimitsCp1,
        Self::AlarmsCp1,
        Self::DateTime,
        Self::DeviceSettings,
        Self::TextMessages,
        Self::MeasuredCp2,
        Self::LowLimitsCp2,
        Self::HighLimitsCp2,
        Self::AlarmsCp2,
        Self::Nop,
        Self::TimeChanged,
        Self::ConfigureDataResponse,
        Self::Icc,
        Self::DeviceId,
        Self::RealtimeConfig,
        Self::ConfigureRealtime,
        Self::Stop,
        Self::RealtimeConfigChanged,
    ];

    /// The command byte.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The command a byte stands for, if it is one of the documented ones.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|command| command.code() == code)
    }
}
