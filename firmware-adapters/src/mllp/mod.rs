//! HL7 v2 observations over MLLP: the TCP listener that takes ORU^R01 messages
//! (IHE PCD-01) from monitors and central stations, stores their readings and
//! acknowledges each message.
//!
//! The codecs (MLLP framing, message parsing, OBX mapping, the ACK) are pure and
//! live in [`crate::protocols::hl7`]; this module adds the sockets
//! ([`listener`]), the attribution of readings to devices and beds
//! ([`routing`]) and the health entries ([`health`]).

pub mod health;
pub mod listener;
pub mod routing;

pub use health::Hl7Health;
pub use listener::{run, ListenerConfig};
pub use routing::{KnownBed, KnownDevice, Routing, UnknownSenders};
