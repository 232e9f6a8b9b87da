//! Reading a dashboard's view over HTTP, for `tessera top` and performance reports: one
//! `GET /api/view` with the token cookie. Must not keep connections.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::runtime::scheduler_view::SchedulerView;

/// The view could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("dashboard URL {0:?} is not http://HOST:PORT/")]
    BadUrl(String),
    #[error("cannot reach the dashboard at {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the dashboard at {url} answered {status}")]
    Status { url: String, status: String },
    #[error("the dashboard at {url} sent a view that cannot be read: {reason}")]
    BadView { url: String, reason: String },
}

#[derive(serde::Deserialize)]
struct Wrapped {
    view: SchedulerView,
}

/// The latest view of the dashboard at `url` (`http://host:port/`), opened with `token`.
pub fn fetch_view(url: &str, token: &str, timeout: Duration) -> Result<SchedulerView, FetchError> {
    let body = fetch(url, token, "/api/view?events=0", timeout)?;
    serde_json::from_str::<Wrapped>(&body)
        .map(|w| w.view)
        .map_err(|e| FetchError::BadView {
            url: url.to_string(),
            reason: e.to_string(),
        })
}

/// The view with its rings (task events, memory samples) as the dashboard's JSON, once the
/// scheduler has published a view taken after this call began (so that it holds every task
/// that ended before). For performance reports.
pub fn fetch_report_data(url: &str, token: &str, timeout: Duration) -> Result<String, FetchError> {
    let first = fetch_view(url, token, timeout)?.now_ms;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let body = fetch(url, token, "/api/view", timeout)?;
        let view = serde_json::from_str::<Wrapped>(&body).map_err(|e| FetchError::BadView {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        if view.view.now_ms > first || std::time::Instant::now() >= deadline {
            return Ok(body);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The body of `GET target` on the dashboard at `url`, with the token cookie.
fn fetch(url: &str, token: &str, target: &str, timeout: Duration) -> Result<String, FetchError> {
    let host_port = url
        .strip_prefix("http://")
        .map(|r| r.trim_end_matches('/'))
        .filter(|r| !r.is_empty() && !r.contains('/'))
        .ok_or_else(|| FetchError::BadUrl(url.to_string()))?;
    let port = host_port
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| FetchError::BadUrl(url.to_string()))?;
    let unreachable = |source| FetchError::Unreachable {
        url: url.to_string(),
        source,
    };
    let address = host_port
        .to_socket_addrs()
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| FetchError::BadUrl(url.to_string()))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(unreachable)?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(unreachable)?;
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {host_port}\r\n\
         Cookie: tessera_dashboard_{port}={token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(unreachable)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(unreachable)?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or("").to_string();
    if !status.starts_with("HTTP/1.1 200") {
        return Err(FetchError::Status {
            url: url.to_string(),
            status,
        });
    }
    Ok(body.to_string())
}
