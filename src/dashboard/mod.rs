//! The scheduler's web dashboard: a small HTTP server, started with the scheduler, serving
//! live pages (status, task stream, workers, memory over time) from the scheduler's
//! published [view](crate::runtime::scheduler_view). Pages update over server-sent events;
//! their HTML, JavaScript and CSS are compiled into the binary (no CDN, no files).
//!
//! Private like the cluster: every request needs the token derived from the cluster secret
//! ([`dashboard_token`]), given once in the URL (`?token=…`, which sets a cookie) and then
//! by the cookie; without it, or with a wrong one, 403.
//!
//! Bounded: at most [`DashboardConfig::max_connections`] connections at once (more get 503),
//! request heads of at most 16 KiB, read and write timeouts (a client that stops reading its
//! event stream is dropped). It must not touch the scheduler core nor wait for the central
//! thread: it only reads the published view.

mod assets;
pub mod client;
mod events;
mod http;
pub mod report;
mod routes;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::Secret;
use crate::runtime::scheduler_view::SchedulerViewReader;

/// The label the dashboard token is derived from (HMAC of the cluster secret).
const TOKEN_LABEL: &str = "tessera dashboard token v1";

/// The dashboard's access token for a cluster: 64 hex digits, derived from its secret (it
/// opens the dashboard only, not the cluster).
pub fn dashboard_token(secret: &Secret) -> String {
    secret.derive(TOKEN_LABEL).to_hex()
}

/// The URL that opens a dashboard published at `address` (`http://host:port/`).
pub fn url_with_token(address: &str, secret: &Secret) -> String {
    let base = address.trim_end_matches('/');
    format!("{base}/?token={}", dashboard_token(secret))
}

/// How to start a dashboard.
#[derive(Clone, Debug)]
pub struct DashboardConfig {
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// Host name or IP to publish when listening on a wildcard address.
    pub advertise_host: Option<String>,
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// How often open pages get an update.
    pub update_interval: Duration,
    /// A client that does not take an update within this long is dropped.
    pub write_timeout: Duration,
}

impl DashboardConfig {
    /// Listen on `listen` with the default bounds.
    pub fn new(listen: SocketAddr) -> Self {
        DashboardConfig {
            listen,
            advertise_host: None,
            max_connections: 64,
            update_interval: Duration::from_millis(500),
            write_timeout: Duration::from_secs(5),
        }
    }
}

/// The dashboard could not start.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("dashboard: cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("dashboard: cannot start its thread: {0}")]
    Thread(io::Error),
}

/// What the accept thread and the connection threads share.
struct Shared {
    view: SchedulerViewReader,
    token: String,
    cookie_name: String,
    config: DashboardConfig,
    connections: AtomicUsize,
    stopping: AtomicBool,
}

/// A running dashboard; dropping it stops it (open event streams end within an update).
pub struct DashboardHandle {
    bound: SocketAddr,
    url: String,
    shared: Arc<Shared>,
}

impl DashboardHandle {
    /// The address the server is bound to.
    pub fn local_address(&self) -> SocketAddr {
        self.bound
    }

    /// The URL to publish (`http://host:port/`, without the token).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

impl Drop for DashboardHandle {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        // Wake the accept thread so that it sees `stopping`.
        let _ = TcpStream::connect_timeout(&wake_address(self.bound), Duration::from_millis(200));
    }
}

fn wake_address(bound: SocketAddr) -> SocketAddr {
    let mut a = bound;
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}

/// Start a dashboard reading `view`, private to holders of `secret`.
pub fn start_dashboard(
    config: DashboardConfig,
    view: SchedulerViewReader,
    secret: &Secret,
) -> Result<DashboardHandle, DashboardError> {
    let listener = TcpListener::bind(config.listen).map_err(|source| DashboardError::Bind {
        address: config.listen,
        source,
    })?;
    let bound = listener
        .local_addr()
        .map_err(|source| DashboardError::Bind {
            address: config.listen,
            source,
        })?;
    let host = match (&config.advertise_host, bound.ip()) {
        (Some(h), ip) if ip.is_unspecified() => h.clone(),
        (None, ip) if ip.is_unspecified() => crate::deploy::hostname(),
        (_, ip) => ip.to_string(),
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let url = format!("http://{host}:{}/", bound.port());
    let shared = Arc::new(Shared {
        view,
        token: dashboard_token(secret),
        cookie_name: format!("tessera_dashboard_{}", bound.port()),
        config,
        connections: AtomicUsize::new(0),
        stopping: AtomicBool::new(false),
    });
    {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("tessera-dashboard".into())
            .spawn(move || accept_loop(listener, shared))
            .map_err(DashboardError::Thread)?;
    }
    tracing::info!(%url, "dashboard listening");
    Ok(DashboardHandle { bound, url, shared })
}

/// Stack of a connection thread: parsing a head and writing JSON need little.
const CONNECTION_STACK: usize = 256 << 10;

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::Relaxed) {
            return;
        }
        let Ok(stream) = stream else {
            // EMFILE and the like: do not spin on a listener that keeps failing.
            std::thread::sleep(std::time::Duration::from_millis(50));
            continue;
        };
        let open = shared.connections.fetch_add(1, Ordering::AcqRel);
        if open >= shared.config.max_connections {
            shared.connections.fetch_sub(1, Ordering::AcqRel);
            tracing::debug!(open, "dashboard: too many connections; answering 503");
            http::refuse_busy(stream);
            continue;
        }
        let conn_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("tessera-dashboard-conn".into())
            .stack_size(CONNECTION_STACK)
            .spawn(move || {
                routes::serve_connection(stream, &conn_shared);
                conn_shared.connections.fetch_sub(1, Ordering::AcqRel);
            });
        if let Err(e) = spawned {
            shared.connections.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!(error = %e, "dashboard: cannot start a connection thread");
        }
    }
}
