//! A deliberately tiny HTTP/1.0 client for plain-http loopback endpoints
//! (readiness probes, Prometheus' API, test targets). HTTP/1.0 keeps responses
//! unchunked and the connection closes after one response, so reading to EOF
//! is the whole parser. Not for anything beyond loopback.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Error, Result};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A response: the status code and the body as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// `GET url`, where url is `http://host:port/path?query` (already encoded).
pub async fn get(url: &str) -> Result<Response> {
    let error = |detail: String| Error::Http {
        url: url.to_owned(),
        detail,
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| error("only http:// URLs are supported".into()))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    let exchange = async {
        let mut stream = TcpStream::connect(authority).await?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: */*\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| error(format!("no response within {REQUEST_TIMEOUT:?}")))?
        .map_err(|io| error(io.to_string()))?;
    parse_response(&raw).ok_or_else(|| error("malformed HTTP response".into()))
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head
        .lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(Response {
        status,
        body: body.to_owned(),
    })
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved kept as is).
pub fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(char::from(byte));
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let response = parse_response(b"HTTP/1.1 404 Not Found\r\nA: b\r\n\r\nnope\r\n").unwrap();
        assert_eq!(
            response,
            Response {
                status: 404,
                body: "nope\r\n".into()
            }
        );
    }

    #[test]
    fn encodes_promql() {
        assert_eq!(
            encode_query_value("up{job=\"a b\"}"),
            "up%7Bjob%3D%22a%20b%22%7D"
        );
    }
}
