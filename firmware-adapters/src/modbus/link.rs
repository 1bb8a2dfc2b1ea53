//! Links: an open connection to one or more Modbus units (a TCP socket or a
//! serial port), behind a small trait so the polling loop can be tested with
//! scripted links and paused time.
//!
//! The real links use tokio-modbus. Its async client has no timeout (a device
//! that never answers hangs the call forever) and recovers poorly from malformed
//! RTU frames, so the polling loop wraps every call in `tokio::time::timeout` and
//! drops the link after any [`LinkError`]; the connector then opens a fresh one.

use std::future::Future;

use tokio::net::TcpStream;
use tokio_modbus::client::{Context, Reader as _};
use tokio_modbus::slave::{Slave, SlaveContext as _};
use tokio_serial::{SerialPort as _, SerialPortBuilderExt as _};

use super::error::{ExceptionCode, LinkError};
use super::plan::ReadRequest;
use crate::profile::modbus::{Parity, RtuConnection, Table};

/// What a read returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Holding or input registers.
    Registers(Vec<u16>),
    /// Coils or discrete inputs.
    Bits(Vec<bool>),
}

/// A read's outcome: the link failed, or the device answered with data or an
/// exception.
pub type ReadResult = Result<Result<Response, ExceptionCode>, LinkError>;

/// An open connection that carries requests to units.
pub(crate) trait Link: Send {
    /// Reads `request` from unit `unit`. Not cancel-safe: after the caller gives
    /// up on it (a timeout), the link must be dropped.
    fn read(&mut self, unit: u8, request: &ReadRequest) -> impl Future<Output = ReadResult> + Send;
}

/// Opens links.
pub(crate) trait Connector: Send + Sync + 'static {
    /// The link it opens.
    type Link: Link + 'static;

    /// Opens a link.
    fn connect(&self) -> impl Future<Output = Result<Self::Link, LinkError>> + Send;

    /// `host:port` or the serial device path, for logs.
    fn target(&self) -> &str;
}

/// A tokio-modbus client context.
pub(crate) struct ModbusLink {
    ctx: Context,
}

impl std::fmt::Debug for ModbusLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModbusLink").finish_non_exhaustive()
    }
}

impl ModbusLink {
    pub(crate) fn new(ctx: Context) -> Self {
        Self { ctx }
    }
}

impl Link for ModbusLink {
    async fn read(&mut self, unit: u8, request: &ReadRequest) -> ReadResult {
        self.ctx.set_slave(Slave(unit));
        let (address, count) = (request.address, request.count);
        let result = match request.table {
            Table::Coil => self
                .ctx
                .read_coils(address, count)
                .await
                .map(|r| r.map(Response::Bits)),
            Table::DiscreteInput => self
                .ctx
                .read_discrete_inputs(address, count)
                .await
                .map(|r| r.map(Response::Bits)),
            Table::InputRegister => self
                .ctx
                .read_input_registers(address, count)
                .await
                .map(|r| r.map(Response::Registers)),
            Table::HoldingRegister => self
                .ctx
                .read_holding_registers(address, count)
                .await
                .map(|r| r.map(Response::Registers)),
        };
        match result {
            Ok(Ok(response)) => Ok(Ok(response)),
            Ok(Err(code)) => Ok(Err(ExceptionCode(u8::from(code)))),
            Err(tokio_modbus::Error::Transport(e)) => Err(LinkError::Io(e)),
            Err(tokio_modbus::Error::Protocol(e)) => Err(LinkError::Protocol(e.to_string())),
        }
    }
}

/// Connects to a Modbus TCP device or gateway.
#[derive(Debug, Clone)]
pub(crate) struct TcpConnector {
    target: String,
}

impl TcpConnector {
    pub(crate) fn new(host: &str, port: u16) -> Self {
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Self { target }
    }
}

impl Connector for TcpConnector {
    type Link = ModbusLink;

    async fn connect(&self) -> Result<ModbusLink, LinkError> {
        let stream = TcpStream::connect(self.target.as_str())
            .await
            .map_err(|error| LinkError::Connect {
                target: self.target.clone(),
                error,
            })?;
        // Requests are small and each waits for its answer: send them at once.
        stream.set_nodelay(true).map_err(LinkError::Io)?;
        Ok(ModbusLink::new(tokio_modbus::client::tcp::attach(stream)))
    }

    fn target(&self) -> &str {
        &self.target
    }
}

/// Opens a serial port for Modbus RTU.
#[derive(Debug, Clone)]
pub(crate) struct RtuConnector {
    settings: RtuConnection,
}

impl RtuConnector {
    pub(crate) fn new(settings: RtuConnection) -> Self {
        Self { settings }
    }
}

impl Connector for RtuConnector {
    type Link = ModbusLink;

    async fn connect(&self) -> Result<ModbusLink, LinkError> {
        let s = &self.settings;
        let connect_error = |e: tokio_serial::Error| LinkError::Connect {
            target: s.path.clone(),
            error: std::io::Error::from(e),
        };
        let stop_bits = if s.stop_bits == 2 {
            tokio_serial::StopBits::Two
        } else {
            tokio_serial::StopBits::One
        };
        let parity = match s.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Even => tokio_serial::Parity::Even,
            Parity::Odd => tokio_serial::Parity::Odd,
        };
        let port = tokio_serial::new(&s.path, s.baud_rate)
            .data_bits(tokio_serial::DataBits::Eight)
            .parity(parity)
            .stop_bits(stop_bits)
            .open_native_async()
            .map_err(connect_error)?;
        // A late answer to a request that timed out must not be taken for the
        // answer to the next one.
        port.clear(tokio_serial::ClearBuffer::All)
            .map_err(connect_error)?;
        Ok(ModbusLink::new(tokio_modbus::client::rtu::attach(port)))
    }

    fn target(&self) -> &str {
        &self.settings.path
    }
}
