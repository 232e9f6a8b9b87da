//! The web dashboard of a real cluster: headless Chromium loads every page during a
//! computation and the DOM shows the right workers, per-prefix progress and task-stream
//! entries (screenshots under target/tmp/dashboard/); the token guards every request; bad
//! requests get clear statuses; many connections neither grow the scheduler nor stall it.

mod browser;
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use common::naps::{nap_graph, register_nap};
use tessera::dashboard::{dashboard_token, url_with_token};
use tessera::deploy::{LocalCluster, LocalClusterConfig};
use tessera::runtime::Value;

const NAP: &str = "dashboard-test.nap";

fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard")
}

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn chromium_shows_workers_progress_and_the_task_stream_of_a_running_computation() {
    let Some(chromium) = browser::require_chromium() else {
        return;
    };
    register_nap(NAP, 40);
    let cluster = LocalCluster::start(LocalClusterConfig::new(2, 2)).unwrap();
    let url = cluster
        .dashboard_url()
        .expect("the local cluster runs a dashboard");
    let client = cluster.client().unwrap();
    // 300 naps of 40 ms on 4 threads: about 3 s of work.
    let (tasks, total) = nap_graph(NAP, 300);
    let futures = client.submit_graph(tasks, &[total]).unwrap();

    let mut b = browser::Browser::start(chromium);
    let tab = b.open(&url_with_token(&url, cluster.secret()));
    // The token in the URL set a cookie and the browser landed on the status page.
    b.wait_for(
        &tab,
        "location.pathname === '/status'",
        WAIT,
        "the status page",
    );
    b.wait_for(
        &tab,
        "document.getElementById('worker-count')?.textContent === '2'",
        WAIT,
        "two workers in the summary",
    );
    b.wait_for(
        &tab,
        "(() => { const r = document.querySelector('tr[data-prefix=\"nap\"]'); \
         return !!r && Number(r.querySelector('.done').textContent) > 0 \
         && Number(r.querySelector('.done').textContent) < 300; })()",
        WAIT,
        "nap tasks in progress",
    );
    let total_waiting = b.eval(
        &tab,
        "document.querySelector('tr[data-prefix=\"total\"] .waiting')?.textContent",
    );
    assert_eq!(total_waiting, "1", "total waits for the naps");
    b.screenshot(&tab, &artifacts().join("status.png"));

    b.show(
        &tab,
        &format!("{url}tasks"),
        "document.querySelectorAll('#task-stream rect.task[data-prefix=\"nap\"]').length > 0",
        "nap tasks in the task stream",
    );
    let lanes = b.eval(
        &tab,
        "document.querySelectorAll('#task-stream text.lane').length",
    );
    assert_eq!(
        lanes, 4,
        "one lane per worker thread (2 workers × 2 threads)"
    );
    let workers = b.eval(
        &tab,
        "[...new Set([...document.querySelectorAll('#task-stream rect.task')]\
         .map(r => r.dataset.worker))].length",
    );
    assert_eq!(workers, 2, "both workers ran tasks");
    b.screenshot(&tab, &artifacts().join("tasks.png"));

    b.show(
        &tab,
        &format!("{url}workers"),
        "document.querySelectorAll('#workers tr[data-worker-id]').length === 2",
        "two worker rows",
    );
    let threshold_marks = b.eval(
        &tab,
        "document.querySelectorAll('line.threshold-pause').length",
    );
    // Threads-mode local workers have no memory limit: no bar to mark.
    assert_eq!(threshold_marks, 0);
    b.screenshot(&tab, &artifacts().join("workers.png"));

    b.show(
        &tab,
        &format!("{url}memory"),
        "document.querySelectorAll('#memory-chart polyline.mem-line').length === 2",
        "a memory line per worker",
    );
    b.screenshot(&tab, &artifacts().join("memory.png"));

    b.show(
        &tab,
        &format!("{url}jobs"),
        "!!document.getElementById('no-job-queue')",
        "the jobs page of a cluster without a job queue",
    );
    // 301 tasks: one more than the graph page draws.
    b.show(
        &tab,
        &format!("{url}graph"),
        "!!document.getElementById('graph-too-large')",
        "the graph page saying the graph is too large",
    );
    assert_eq!(i64::decode(&futures[0].result().unwrap()).unwrap(), 301);
    // A small submission is drawn: 10 naps into one total, states and edges.
    let (small, small_total) = {
        let (mut tasks, _) = nap_graph(NAP, 10);
        for t in &mut tasks {
            t.key = tessera::core::TaskKey::new(format!("small-{}", t.key));
            t.deps = t
                .deps
                .iter()
                .map(|d| tessera::core::TaskKey::new(format!("small-{d}")))
                .collect();
        }
        let total = tasks.last().unwrap().key.clone();
        (tasks, total)
    };
    drop(futures);
    let small_futures = client.submit_graph(small, &[small_total]).unwrap();
    b.show(
        &tab,
        &format!("{url}graph"),
        "document.querySelectorAll('#task-graph circle.node').length === 11 && \
         document.querySelectorAll('#task-graph line.edge').length === 10",
        "the small graph: 11 tasks, 10 edges",
    );
    b.screenshot(&tab, &artifacts().join("graph.png"));
    assert_eq!(
        i64::decode(&small_futures[0].result().unwrap()).unwrap(),
        11
    );
    b.wait_for(
        &tab,
        "document.querySelectorAll('#task-graph circle.state-memory').length >= 1",
        WAIT,
        "the total in memory",
    );
    b.show(
        &tab,
        &format!("{url}status"),
        "document.querySelector('tr[data-prefix=\"nap\"] .done')?.textContent === '300' && \
         document.querySelector('tr[data-prefix=\"total\"] .done')?.textContent === '1'",
        "every task done",
    );
    let errors = b.errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let foreign: Vec<String> = b
        .requested_urls()
        .into_iter()
        .filter(|u| !u.starts_with(&url) && !u.starts_with("data:") && u != "about:blank")
        .collect();
    assert!(foreign.is_empty(), "requests elsewhere: {foreign:?}");
}

/// Send raw bytes, read the whole answer (the server closes).
fn exchange(address: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn get(address: SocketAddr, target: &str, cookie: Option<&str>) -> String {
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    exchange(
        address,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\n{cookie}\r\n").as_bytes(),
    )
}

fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {response:?}"))
}

/// The socket address of a dashboard URL (`http://host:port/`).
fn dashboard_address(url: &str) -> SocketAddr {
    use std::net::ToSocketAddrs;
    let host_port = url.trim_start_matches("http://").trim_end_matches('/');
    host_port
        .to_socket_addrs()
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .next()
        .unwrap()
}

fn scheduler_file(path: &std::path::Path) -> tessera::deploy::schedfile::SchedulerFile {
    tessera::deploy::schedfile::SchedulerFile::read(path).unwrap()
}

#[test]
fn tessera_scheduler_publishes_its_dashboard_and_no_dashboard_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let _scheduler = common::start_scheduler(&file);
    let published = scheduler_file(&file);
    let url = published
        .services
        .get("dashboard")
        .expect("services.dashboard");
    let address = dashboard_address(url);
    assert_eq!(status(&get(address, "/status", None)), 403);
    let out = common::run(
        &["dashboard", "--scheduler-file", file.to_str().unwrap()],
        WAIT,
    );
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let token = dashboard_token(&published.secret().unwrap());
    assert_eq!(printed, format!("{url}?token={token}\n"));
    let tunnel = common::run(
        &[
            "dashboard",
            "--scheduler-file",
            file.to_str().unwrap(),
            "--local-port",
            "8787",
        ],
        WAIT,
    );
    assert_eq!(
        String::from_utf8(tunnel.stdout).unwrap(),
        format!("http://localhost:8787/?token={token}\n")
    );

    let off = dir.path().join("off.json");
    let mut local = common::start_local(&off, 1, &["--no-dashboard"]);
    assert!(scheduler_file(&off).services.is_empty());
    let out = common::run(
        &["dashboard", "--scheduler-file", off.to_str().unwrap()],
        WAIT,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("publishes no dashboard") && err.contains("--no-dashboard"),
        "{err}"
    );
    let down = common::run(
        &["shutdown", "--scheduler-file", off.to_str().unwrap()],
        WAIT,
    );
    assert!(down.status.success());
    let _ = local.wait();
}

#[test]
fn a_dashboard_port_in_use_leaves_the_scheduler_running_without_a_dashboard() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let scheduler = common::tessera()
        .args([
            "scheduler",
            "--host",
            "127.0.0.1",
            "--dashboard-address",
            &port,
        ])
        .arg("--scheduler-file")
        .arg(&file)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for_file(&file, WAIT);
    assert!(scheduler_file(&file).services.is_empty());
    let info = common::run(&["info", "--scheduler-file", file.to_str().unwrap()], WAIT);
    assert!(info.status.success(), "the scheduler runs: {info:?}");
    let down = common::run(
        &["shutdown", "--scheduler-file", file.to_str().unwrap()],
        WAIT,
    );
    assert!(down.status.success());
    let out = common::wait_output(scheduler, WAIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("dashboard: cannot listen on 127.0.0.1:{port}"))
            && err.contains("the scheduler runs without a dashboard"),
        "{err}"
    );
    assert!(out.status.success());

    // A malformed address is a usage error.
    let bad = common::run(
        &[
            "scheduler",
            "--scheduler-file",
            "/nonexistent/x.json",
            "--dashboard-address",
            "nowhere:port",
        ],
        WAIT,
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--dashboard-address") && err.contains("nowhere:port"),
        "{err}"
    );
    drop(taken);
}

#[test]
fn the_token_guards_every_page_and_bad_requests_get_clear_statuses() {
    let cluster = LocalCluster::start(LocalClusterConfig::new(1, 1)).unwrap();
    let url = cluster.dashboard_url().unwrap();
    let address = dashboard_address(&url);
    let token = dashboard_token(cluster.secret());
    let port = address.port();
    let cookie = format!("tessera_dashboard_{port}={token}");

    for target in [
        "/",
        "/status",
        "/api/view",
        "/api/events",
        "/static/dashboard.js",
        "/nope",
    ] {
        assert_eq!(
            status(&get(address, target, None)),
            403,
            "{target} without a token"
        );
        let wrong = format!("tessera_dashboard_{port}={}", "0".repeat(64));
        assert_eq!(
            status(&get(address, target, Some(&wrong))),
            403,
            "{target}, wrong cookie"
        );
    }
    for bad in [
        "0",
        "zz",
        &"f".repeat(5000),
        &token[..63],
        &format!("{token}0"),
    ] {
        let r = get(address, &format!("/status?token={bad}"), None);
        assert_eq!(status(&r), 403, "token {bad:.20}…");
    }
    // Another cluster's token does not open this one.
    let other = tessera::protocol::Secret::generate();
    assert_eq!(
        status(&get(
            address,
            &format!("/?token={}", dashboard_token(&other)),
            None
        )),
        403
    );
    // The right token sets the cookie and sends the browser on.
    let r = get(address, &format!("/status?token={token}"), None);
    assert_eq!(status(&r), 303, "{r}");
    assert!(r.contains(&format!("Set-Cookie: {cookie};")), "{r}");
    assert!(r.contains("HttpOnly") && r.contains("SameSite=Strict"));
    assert!(r.contains("Location: /status\r\n"));

    let page = get(address, "/status", Some(&cookie));
    assert_eq!(status(&page), 200);
    assert!(page.contains("<title>Tessera · Status</title>"));
    let view = get(address, "/api/view", Some(&cookie));
    let body = view.split("\r\n\r\n").nth(1).unwrap();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(json["view"]["info"]["workers"].is_array(), "{json}");
    assert_eq!(status(&get(address, "/nope", Some(&cookie))), 404);
    assert_eq!(
        status(&exchange(
            address,
            format!("POST /status HTTP/1.1\r\nCookie: {cookie}\r\n\r\n").as_bytes()
        )),
        405
    );
    // Bytes that are not HTTP, and a head too large: clear statuses, and the server goes on.
    assert_eq!(
        status(&exchange(address, b"\x16\x03\x01\x02\x00hello\r\n\r\n")),
        400
    );
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(40_000));
    assert_eq!(status(&exchange(address, huge.as_bytes())), 431);
    // A client that connects and sends nothing is simply closed later; others are served.
    let _idle = TcpStream::connect(address).unwrap();
    assert_eq!(status(&get(address, "/workers", Some(&cookie))), 200);
    // The event stream starts with an update.
    let mut s = TcpStream::connect(address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(format!("GET /api/events HTTP/1.1\r\nCookie: {cookie}\r\n\r\n").as_bytes())
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("event: update\ndata: {") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&got).contains("Content-Type: text/event-stream"));
}

/// Resident set size of a process, in bytes.
fn rss_of(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    let pages: u64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn a_hundred_connections_neither_grow_the_scheduler_nor_stall_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let file_arg = file.to_str().unwrap();
    let mut local = common::start_local(&file, 1, &[]);
    let out = common::run(&["dashboard", "--scheduler-file", file_arg], WAIT);
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap();
    let (base, token) = printed.trim().split_once("?token=").unwrap();
    let address = dashboard_address(base);
    let cookie = format!("tessera_dashboard_{}={token}", address.port());

    let mut rss = Vec::new();
    for round in 0..3 {
        // 100 at once: half event streams that are never read, half that send nothing.
        let mut open = Vec::new();
        let mut refused = 0;
        for i in 0..100 {
            let mut s = TcpStream::connect(address).unwrap();
            if i % 2 == 0 {
                let _ = s.write_all(
                    format!("GET /api/events HTTP/1.1\r\nCookie: {cookie}\r\n\r\n").as_bytes(),
                );
            }
            open.push(s);
        }
        std::thread::sleep(Duration::from_millis(1500));
        // `tessera info` still answers while they hang on.
        let info = common::run(
            &["info", "--scheduler-file", file_arg, "--output", "json"],
            WAIT,
        );
        assert!(info.status.success(), "round {round}: {info:?}");
        let json: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        assert_eq!(json["workers"].as_array().unwrap().len(), 1);
        for s in &mut open {
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut head = [0u8; 12];
            if let Ok(12) = s.read(&mut head) {
                if &head[9..12] == b"503" {
                    refused += 1;
                }
            }
        }
        assert!(
            refused >= 100 - 64,
            "round {round}: the connection cap answers 503"
        );
        rss.push(rss_of(local.id()));
        drop(open);
        std::thread::sleep(Duration::from_millis(1500));
    }
    eprintln!("scheduler RSS after each round of 100 connections: {rss:?}");
    // Once they are gone the dashboard serves again.
    assert_eq!(status(&get(address, "/status", Some(&cookie))), 200);
    assert!(
        rss[2] < rss[0] + (32 << 20),
        "scheduler RSS keeps growing with connections: {rss:?}"
    );
    let down = common::run(&["shutdown", "--scheduler-file", file_arg], WAIT);
    assert!(down.status.success(), "{down:?}");
    let _ = local.wait();
}

/// Split a documented command line into words (no quoting needed in docs/dashboard.md).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn every_command_in_docs_dashboard_md_runs_as_shown() {
    let docs = include_str!("../docs/dashboard.md");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let mut background: Vec<std::process::Child> = Vec::new();
    let mut commands = 0;
    for block in docs.split("```console\n").skip(1) {
        let block = block.split("```").next().unwrap();
        let lines: Vec<&str> = block.lines().collect();
        // A block that talks to a cluster without starting one gets one (the cluster of the
        // previous block was shut down).
        let starts_one = lines.iter().any(|l| l.ends_with(" &"));
        if !file.exists() && !starts_one {
            background.push(common::start_local(&file, 2, &[]));
        }
        for (i, line) in lines.iter().enumerate() {
            let Some(command) = line.strip_prefix("$ ") else {
                continue;
            };
            commands += 1;
            let shown: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| !l.starts_with("$ "))
                .copied()
                .collect();
            let w = words(command);
            if w[0] == "ssh" {
                // The tunnel runs on a laptop: here its options are checked (`ssh -G` parses
                // them and prints the configuration without connecting).
                let out = std::process::Command::new("ssh")
                    .arg("-G")
                    .args(&w[1..])
                    .output()
                    .expect("ssh");
                assert!(out.status.success(), "{command}: {out:?}");
                let config = String::from_utf8_lossy(&out.stdout);
                assert!(
                    config.contains("localforward 8787 [node042]:41234"),
                    "{config}"
                );
                continue;
            }
            assert_eq!(w[0], "tessera", "{command}");
            if w.last() == Some(&"&") {
                let child = common::tessera()
                    .args(&w[1..w.len() - 1])
                    .current_dir(dir.path())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap();
                background.push(child);
                common::wait_for_file(&file, WAIT);
                continue;
            }
            let out = common::run_in(dir.path(), &w[1..], WAIT);
            assert!(out.status.success(), "{command}: {out:?}");
            let printed = String::from_utf8(out.stdout).unwrap();
            if w[1] == "dashboard" {
                assert_eq!(
                    printed.lines().count(),
                    shown.len(),
                    "{command} prints the URLs the doc shows: {printed}"
                );
            } else if w[1] == "top" {
                assert!(
                    printed.contains("WORKER") && printed.contains("local-0"),
                    "{command} shows the workers: {printed}"
                );
            }
            for (want, got) in shown.iter().zip(printed.lines()) {
                // URLs: the same form; host and port are this machine's unless shown as
                // localhost (the tunnel's end).
                let (want_base, _) = want.split_once("?token=").expect("a URL is shown");
                let (got_base, token) = got.split_once("?token=").expect("a URL is printed");
                assert!(
                    got_base.starts_with("http://") && got_base.ends_with('/'),
                    "{got}"
                );
                if want_base.contains("localhost") {
                    assert_eq!(got_base, want_base);
                }
                assert!(token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()));
            }
            if w[1] == "top" {
                assert!(printed.contains("workers 2 ("), "{printed}");
            }
            if w[1] == "shutdown" {
                for mut child in background.drain(..) {
                    assert!(common::wait_status(&mut child, WAIT).success());
                }
            }
        }
    }
    assert!(commands >= 7, "docs/dashboard.md shows the commands");
    if file.exists() {
        let down = common::run(
            &["shutdown", "--scheduler-file", file.to_str().unwrap()],
            WAIT,
        );
        assert!(down.status.success());
    }
    for mut child in background {
        let _ = common::wait_status(&mut child, WAIT);
    }
}

#[test]
fn a_client_that_stops_reading_its_event_stream_is_dropped() {
    use tessera::dashboard::{start_dashboard, DashboardConfig};
    let cluster = LocalCluster::start(LocalClusterConfig::new(1, 1)).unwrap();
    let mut config = DashboardConfig::new("127.0.0.1:0".parse().unwrap());
    // Updates as fast as possible, little patience: the socket buffers fill in seconds.
    config.update_interval = Duration::from_millis(1);
    config.write_timeout = Duration::from_millis(200);
    let dashboard = start_dashboard(config, cluster.view().unwrap(), cluster.secret()).unwrap();
    let address = dashboard.local_address();
    let cookie = format!(
        "tessera_dashboard_{}={}",
        address.port(),
        dashboard_token(cluster.secret())
    );
    let mut stalled = TcpStream::connect(address).unwrap();
    stalled
        .write_all(format!("GET /api/events HTTP/1.1\r\nCookie: {cookie}\r\n\r\n").as_bytes())
        .unwrap();
    // It is served, then never read again: the server must give up on it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(dashboard.open_connections(), 1);
    while dashboard.open_connections() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "a stalled event-stream client is still held"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The dashboard serves others meanwhile, and the stalled socket is still open on our side.
    assert_eq!(status(&get(address, "/status", Some(&cookie))), 200);
    drop(stalled);
}
