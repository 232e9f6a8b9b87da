//! Bench support: the `--dashboard off|on|watched` switch of the end-to-end benches (W1,
//! W4), so the dashboard's overhead is measured the same way in each. `watched`: two clients
//! follow the dashboard's event stream all along, like two open browser tabs.

use tessera::deploy::{LocalCluster, LocalClusterConfig};

/// The `--dashboard` argument (default `on`, the default of every scheduler).
pub fn dashboard_mode() -> String {
    std::env::args()
        .skip_while(|a| a != "--dashboard")
        .nth(1)
        .unwrap_or_else(|| "on".into())
}

/// Turn the dashboard off in `config` when the mode says so.
pub fn configure(config: &mut LocalClusterConfig, mode: &str) {
    if mode == "off" {
        config.dashboard = tessera::runtime::DashboardChoice::Off;
    }
}

/// With mode `watched`, two event-stream readers follow the cluster's dashboard.
pub fn watch_if_asked(cluster: &LocalCluster, mode: &str) {
    if mode == "watched" {
        for _ in 0..2 {
            watch_dashboard(cluster);
        }
    }
}

/// Follow the dashboard's event stream in a thread until the cluster stops (a browser tab).
fn watch_dashboard(cluster: &LocalCluster) {
    use std::io::{Read, Write};
    let url = cluster.dashboard_url().expect("a dashboard");
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let port = address.rsplit(':').next().unwrap().to_string();
    let token = tessera::dashboard::dashboard_token(cluster.secret());
    std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(&address).expect("dashboard");
        let request =
            format!("GET /api/events HTTP/1.1\r\nCookie: tessera_dashboard_{port}={token}\r\n\r\n");
        s.write_all(request.as_bytes()).unwrap();
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                return;
            }
        }
    });
}
