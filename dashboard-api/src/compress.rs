//! gzip for responses, when the client accepts it.
//!
//! A middleware rather than a general layer: every body of this API is
//! built in memory (JSON, problem details, the metrics text), so the
//! response is collected, compressed at a fast level and sent with
//! `Content-Encoding: gzip` and `Vary: Accept-Encoding`. Bodies under
//! [`MIN_BYTES`] are sent as they are (the header costs more than it saves),
//! and so are protocol switches (the WebSocket), bodies already encoded and
//! types other than JSON and text.
//!
//! Limitation: no Brotli or zstd, and no streaming; a body is compressed
//! whole, which suits responses bounded by page sizes.

use std::io::Write as _;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Bodies smaller than this are not compressed.
pub const MIN_BYTES: usize = 1024;

/// Whether an `Accept-Encoding` value accepts gzip (RFC 9110 section
/// 12.5.3): `gzip`, `x-gzip` or `*` with a non-zero weight, and no explicit
/// refusal of gzip.
pub fn accepts_gzip(value: &str) -> bool {
    let mut star = false;
    let mut gzip = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => gzip = Some(q > 0.0),
            "*" => star = q > 0.0,
            _ => {}
        }
    }
    gzip.unwrap_or(star)
}

fn compressible(headers: &HeaderMap) -> bool {
    if headers.contains_key(header::CONTENT_ENCODING) {
        return false;
    }
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct.split(';').next().unwrap_or("").trim();
    mime.starts_with("text/") || mime == "application/json" || mime.ends_with("+json")
}

/// gzip-compresses `data` at a fast level.
///
/// # Errors
///
/// Only if writing to memory fails, which it does not.
pub fn gzip_bytes(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 4), Compression::fast());
    enc.write_all(data)?;
    enc.finish()
}

/// The middleware.
pub async fn gzip(req: Request, next: Next) -> Response {
    let wanted = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let res = next.run(req).await;
    if !wanted
        || res.status() == StatusCode::SWITCHING_PROTOCOLS
        || res.status() == StatusCode::NO_CONTENT
        || !compressible(res.headers())
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "Response body could not be read for compression");
            return Response::from_parts(parts, Body::empty());
        }
    };
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if bytes.len() < MIN_BYTES {
        return Response::from_parts(parts, Body::from(bytes));
    }
    match gzip_bytes(&bytes) {
        Ok(z) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Response::from_parts(parts, Body::from(z))
        }
        Err(e) => {
            tracing::error!(error = %e, "Response compression failed");
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_read_with_weights() {
        for yes in [
            "gzip",
            "deflate, gzip;q=0.5",
            "*",
            "br, *;q=0.1",
            "GZIP",
            "x-gzip",
        ] {
            assert!(accepts_gzip(yes), "{yes}");
        }
        for no in [
            "",
            "identity",
            "br",
            "gzip;q=0",
            "*, gzip;q=0",
            "gzip; q=0.0",
        ] {
            assert!(!accepts_gzip(no), "{no}");
        }
    }

    #[test]
    fn only_text_and_json_unencoded_bodies_are_compressed() {
        let mut h = HeaderMap::new();
        assert!(!compressible(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        assert!(compressible(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        assert!(!compressible(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        assert!(compressible(&h));
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        assert!(!compressible(&h));
    }
}
