//! A minimal HTTP/1.1 POST client over a tokio `TcpStream`.
//!
//! Enough for webhooks to pager and phone gateways on the hospital network:
//! one request per connection (`Connection: close`), a body with
//! `Content-Length`, the status line of the answer read and the rest ignored.
//!
//! Limitation: `http://` only, no TLS and no redirects; an `https://` URL is
//! refused at configuration time. Put a TLS-terminating proxy on the same host
//! when an endpoint is reached over an untrusted network.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// A parsed `http://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address.
    pub host: String,
    /// Port (80 when not given).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// A URL the client cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not `http://` (TLS is not supported).
    #[error("only http:// URLs are supported (no TLS); got `{0}`")]
    Scheme(String),
    /// No host, or a bad port.
    #[error("`{0}` has no valid host and port")]
    HostPort(String),
}

impl HttpUrl {
    /// Parses `url`.
    ///
    /// # Errors
    ///
    /// See [`UrlError`].
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| UrlError::Scheme(url.to_owned()))?;
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse().map_err(|_| UrlError::HostPort(url.to_owned()))?,
            ),
            None => (authority, 80),
        };
        let bad = host.is_empty() || authority.contains('@') || host.contains(char::is_whitespace);
        if bad {
            return Err(UrlError::HostPort(url.to_owned()));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

/// A POST did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Connecting, writing or reading failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// No complete answer within the time limit.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The answer is not HTTP.
    #[error("the answer is not an HTTP status line")]
    BadResponse,
}

/// POSTs `body` with `headers` to `url` and returns the HTTP status, all
/// within `limit`.
///
/// # Errors
///
/// See [`PostError`].
pub async fn post(
    url: &HttpUrl,
    headers: &[(&str, String)],
    body: &[u8],
    limit: Duration,
) -> Result<u16, PostError> {
    timeout(limit, exchange(url, headers, body))
        .await
        .map_err(|_| PostError::Timeout(limit))?
}

async fn exchange(
    url: &HttpUrl,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<u16, PostError> {
    let mut stream = TcpStream::connect((url.host.as_str(), url.port)).await?;
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Length: {}\r\nConnection: close\r\n",
        url.path,
        url.host,
        url.port,
        body.len()
    );
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await?;
    // The status line is all we need; read until its end (at most 1 KiB).
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 1024 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    parse_status(&buf).ok_or(PostError::BadResponse)
}

fn parse_status(buf: &[u8]) -> Option<u16> {
    let line = buf.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    parts
        .next()?
        .parse()
        .ok()
        .filter(|s| (100..600).contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_and_tls_is_refused() {
        let u = HttpUrl::parse("http://127.0.0.1:8088/hooks/pager?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8088, "/hooks/pager?x=1")
        );
        let u = HttpUrl::parse("http://pager.ward").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        assert!(matches!(
            HttpUrl::parse("https://x/"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            HttpUrl::parse("http://:80/"),
            Err(UrlError::HostPort(_))
        ));
        assert!(matches!(
            HttpUrl::parse("http://h:x/"),
            Err(UrlError::HostPort(_))
        ));
        assert!(matches!(
            HttpUrl::parse("http://u:p@h/"),
            Err(UrlError::HostPort(_))
        ));
    }

    #[test]
    fn status_lines_are_parsed() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status(b"HTTP/1.0 500 x\r\n"), Some(500));
        assert_eq!(parse_status(b"SSH-2.0\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 99999 x\r\n"), None);
    }
}
