//! One dashboard connection: read the request, check the token, answer (a page, an asset,
//! the JSON view, or the event stream), close. Must not hold anything of the scheduler but
//! what the view reader hands out.

use std::net::TcpStream;
use std::sync::atomic::Ordering;

use super::http::{self, Request, RequestError, Response};
use super::{assets, events, Shared};

/// Serve one connection (one request; the event stream keeps it until the client leaves).
pub(super) fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let _ = stream.set_write_timeout(Some(shared.config.write_timeout));
    let request = match http::read_request(&mut stream) {
        Ok(r) => r,
        Err(RequestError::Io(e)) => {
            tracing::debug!(%peer, error = %e, "dashboard: connection without a request");
            return;
        }
        Err(e @ RequestError::TooLarge) => {
            tracing::debug!(%peer, error = %e, "dashboard: refused a request");
            let _ = Response::text(431, &e.to_string()).write_to(&mut stream, true);
            return;
        }
        Err(e) => {
            tracing::info!(%peer, error = %e, "dashboard: refused a request that is not HTTP");
            let _ = Response::text(400, "bad request: not HTTP").write_to(&mut stream, true);
            return;
        }
    };
    let with_body = request.method != "HEAD";
    if request.method != "GET" && request.method != "HEAD" {
        let _ = Response::text(405, "only GET and HEAD")
            .header("Allow", "GET, HEAD".into())
            .write_to(&mut stream, true);
        return;
    }
    let answer = match authorize(&request, shared) {
        Access::Granted => route(&request, shared),
        Access::SetCookie => Response::text(303, "see other")
            .header("Location", request.path.clone())
            .header(
                "Set-Cookie",
                format!(
                    "{}={}; Path=/; HttpOnly; SameSite=Strict",
                    shared.cookie_name, shared.token
                ),
            )
            .into(),
        Access::Denied(why) => {
            tracing::debug!(%peer, path = %request.path, why, "dashboard: 403");
            Response::text(
                403,
                "forbidden: open the URL printed by `tessera dashboard --scheduler-file FILE` \
                 (it carries the cluster's dashboard token)",
            )
            .into()
        }
    };
    let response = match answer {
        Answer::Response(r) => r,
        Answer::EventStream => return events::stream(stream, shared, with_body),
    };
    if let Err(e) = response.write_to(&mut stream, with_body) {
        tracing::debug!(%peer, error = %e, "dashboard: client left before the answer");
    }
}

enum Access {
    Granted,
    /// A right token in the URL: set the cookie and send the browser to the same page.
    SetCookie,
    Denied(&'static str),
}

fn authorize(request: &Request, shared: &Shared) -> Access {
    if let Some(token) = request.query_param("token") {
        return if same(token, &shared.token) {
            Access::SetCookie
        } else {
            Access::Denied("wrong token in the URL")
        };
    }
    match request.cookie_value(&shared.cookie_name) {
        Some(c) if same(c, &shared.token) => Access::Granted,
        Some(_) => Access::Denied("wrong cookie"),
        None => Access::Denied("no token"),
    }
}

/// Equal strings, compared in time independent of where they differ.
fn same(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What to answer: a response, or the event stream.
enum Answer {
    Response(Response),
    EventStream,
}

impl From<Response> for Answer {
    fn from(r: Response) -> Self {
        Answer::Response(r)
    }
}

fn route(request: &Request, shared: &Shared) -> Answer {
    let path = request.path.as_str();
    if path == "/" {
        return Response::text(303, "see other")
            .header("Location", "/status".into())
            .into();
    }
    if let Some(page) = assets::page(path) {
        return Response::new(200, "text/html; charset=utf-8", page).into();
    }
    if let Some((body, content_type)) = assets::asset(path) {
        return Response::new(200, content_type, body).into();
    }
    match path {
        "/api/view" => {
            // `?events=0`: the view alone (`tessera top`), without the rings.
            let rings = request.query_param("events") != Some("0");
            let body = events::snapshot_json(&shared.view, rings);
            Response::new(200, "application/json", body).into()
        }
        "/api/events" if !shared.stopping.load(Ordering::Relaxed) => Answer::EventStream,
        _ => Response::text(404, &format!("no page {path}")).into(),
    }
}
