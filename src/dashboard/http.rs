//! Just enough HTTP/1.x for the dashboard: read one request head (bounded, with a timeout),
//! parse it with `httparse`, write one response and close. Must not know pages or tokens.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Largest request head accepted.
pub const MAX_HEAD: usize = 16 << 10;
/// A client must send its request head within this long.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The parts of a request the dashboard looks at.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The raw query (after `?`), empty when none.
    pub query: String,
    /// The `Cookie` header, empty when none.
    pub cookie: String,
}

/// Why no request could be read.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("not an HTTP request: {0}")]
    Malformed(String),
    #[error("request head larger than {MAX_HEAD} bytes")]
    TooLarge,
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Request {
    /// The value of query parameter `name` (not percent-decoded: the dashboard's values are
    /// hex), if present.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
    }

    /// The value of cookie `name`, if sent.
    pub fn cookie_value(&self, name: &str) -> Option<&str> {
        self.cookie.split(';').find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        })
    }
}

/// Parse a complete request head.
pub fn parse_head(head: &[u8]) -> Result<Request, RequestError> {
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(RequestError::Malformed("incomplete request head".into()))
        }
        Err(e) => return Err(RequestError::Malformed(e.to_string())),
    }
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let cookie = req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
        .filter_map(|h| std::str::from_utf8(h.value).ok())
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Request {
        method: req.method.unwrap_or("").to_string(),
        path: path.to_string(),
        query: query.to_string(),
        cookie,
    })
}

/// Read one request head from `stream` (up to the blank line).
pub fn read_request(stream: &mut TcpStream) -> Result<Request, RequestError> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(RequestError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            return parse_head(&head[..end + 4]);
        }
        if head.len() > MAX_HEAD {
            return Err(RequestError::TooLarge);
        }
        // Something that is not HTTP at all is refused before a whole head arrives.
        if !head.is_empty() && !head[0].is_ascii_uppercase() {
            return Err(RequestError::Malformed(
                "does not start with a method".into(),
            ));
        }
    }
}

/// One complete response.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Response::new(status, "text/plain; charset=utf-8", format!("{body}\n"))
    }

    pub fn header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_string(), value));
        self
    }

    /// Write it (the body only when `with_body`: not for `HEAD`) and close.
    pub fn write_to(&self, stream: &mut TcpStream, with_body: bool) -> io::Result<()> {
        let mut out = head(self.status, self.content_type);
        out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("Connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        if with_body {
            bytes.extend_from_slice(&self.body);
        }
        stream.write_all(&bytes)?;
        stream.flush()
    }
}

/// Status line and the headers every response has.
pub fn head(status: u16, content_type: &str) -> String {
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nCache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n",
        reason(status)
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Answer 503 to a connection over the cap, without waiting on a slow peer.
pub fn refuse_busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = Response::text(503, "dashboard busy: too many connections").write_to(&mut stream, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_head_gives_path_query_and_cookies() {
        let r = parse_head(
            b"GET /tasks?token=ab12&x=1 HTTP/1.1\r\nHost: h\r\nCookie: a=1; t_9=ff\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/tasks");
        assert_eq!(r.query_param("token"), Some("ab12"));
        assert_eq!(r.query_param("nope"), None);
        assert_eq!(r.cookie_value("t_9"), Some("ff"));
        assert_eq!(r.cookie_value("a"), Some("1"));
        assert_eq!(r.cookie_value("b"), None);
    }

    #[test]
    fn bytes_that_are_not_http_are_refused() {
        assert!(matches!(
            parse_head(b"\x16\x03\x01 hello\r\n\r\n"),
            Err(RequestError::Malformed(_))
        ));
        assert!(matches!(
            parse_head(b"GET\r\n\r\n"),
            Err(RequestError::Malformed(_))
        ));
    }
}
