//! Identity: passwords, access tokens, one-time passwords, throttling and the
//! login sessions built from them.

pub mod jwt;
pub mod password;
pub mod session;
pub mod throttle;
pub mod totp;
pub mod users;
