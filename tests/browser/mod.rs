//! Headless Chromium driven over the DevTools protocol (a websocket), for tests of web
//! pages: open a page, evaluate JavaScript, wait for a condition, take a screenshot, and
//! collect console errors and network requests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// The Chromium binary (Debian package `chromium`, installed by `scripts/install.sh
/// --with-tests`), or `None` when it is missing.
pub fn chromium_path() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// Skip (or fail under `TESSERA_TEST_STRICT`) when Chromium is missing.
pub fn require_chromium() -> Option<&'static str> {
    let found = chromium_path();
    if found.is_none() {
        let why = "chromium is not installed (scripts/install.sh --with-tests installs it)";
        if std::env::var_os("TESSERA_TEST_STRICT").is_some() {
            panic!("{why}");
        }
        eprintln!("skipped: {why}");
    }
    found
}

pub struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Events received (console messages, network requests, exceptions).
    pub events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One open tab.
pub struct Tab {
    session: String,
}

impl Browser {
    /// Start headless Chromium with a fresh profile.
    pub fn start(program: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(program)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(url.trim().to_string());
                    }
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium did not print its DevTools address");
        let (ws, _) = tungstenite::connect(url.as_str()).expect("connect to DevTools");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        }
        Browser {
            child,
            ws,
            next_id: 1,
            events: Vec::new(),
            _profile: profile,
        }
    }

    /// Call `method`; its result (panics on a protocol error).
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let reply = match self.ws.read().expect("DevTools connection") {
                Message::Text(t) => serde_json::from_str::<Value>(t.as_str()).unwrap(),
                _ => continue,
            };
            if reply["id"] == json!(id) {
                if let Some(e) = reply.get("error") {
                    panic!("{method} failed: {e}");
                }
                return reply["result"].clone();
            }
            if reply.get("method").is_some() {
                self.events.push(reply);
            }
        }
    }

    /// A new tab showing `url`, with console, network and runtime events recorded.
    pub fn open(&mut self, url: &str) -> Tab {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        let session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in [
            "Runtime.enable",
            "Network.enable",
            "Log.enable",
            "Page.enable",
        ] {
            self.call(Some(&session), domain, json!({}));
        }
        let tab = Tab { session };
        self.navigate(&tab, url);
        tab
    }

    pub fn navigate(&mut self, tab: &Tab, url: &str) {
        self.call(Some(&tab.session), "Page.navigate", json!({"url": url}));
    }

    /// The value of a JavaScript expression (promises awaited).
    pub fn eval(&mut self, tab: &Tab, expression: &str) -> Value {
        let r = self.call(
            Some(&tab.session),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expression} threw: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Poll `expression` until it is true (at most `timeout`); panics with `what` otherwise.
    pub fn wait_for(&mut self, tab: &Tab, expression: &str, timeout: Duration, what: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.call(
                Some(&tab.session),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            );
            if r["result"]["value"] == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let body = self.eval(tab, "document.body ? document.body.innerText : ''");
                panic!("timed out waiting for {what} ({expression}); page text: {body}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Go to `url` and wait until `ready` (a JavaScript expression) is true.
    pub fn show(&mut self, tab: &Tab, url: &str, ready: &str, what: &str) {
        self.navigate(tab, url);
        self.wait_for(tab, ready, Duration::from_secs(30), what);
    }

    /// Save a PNG screenshot of the tab.
    pub fn screenshot(&mut self, tab: &Tab, path: &Path) {
        let r = self.call(
            Some(&tab.session),
            "Page.captureScreenshot",
            json!({"format": "png"}),
        );
        let png = base64_decode(r["data"].as_str().unwrap());
        assert_eq!(&png[1..4], b"PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// URLs of every network request seen so far.
    pub fn requested_urls(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str().map(String::from))
            .collect()
    }

    /// Console errors and uncaught exceptions seen so far.
    pub fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| {
                e["method"] == "Runtime.exceptionThrown"
                    || (e["method"] == "Runtime.consoleAPICalled" && e["params"]["type"] == "error")
                    || (e["method"] == "Log.entryAdded" && e["params"]["entry"]["level"] == "error")
            })
            .map(|e| e.to_string())
            .collect()
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}
