//! The dashboard's pages and static files, compiled into the binary. Must not read files at
//! run time.

/// The pages, by path, with their titles.
pub const PAGES: [(&str, &str); 6] = [
    ("/status", "Status"),
    ("/tasks", "Task stream"),
    ("/workers", "Workers"),
    ("/memory", "Memory"),
    ("/graph", "Graph"),
    ("/jobs", "Jobs"),
];

const SHELL: &str = include_str!("assets/page.html");

/// The HTML of the page at `path`, if there is one.
pub fn page(path: &str) -> Option<String> {
    let (_, title) = PAGES.iter().find(|(p, _)| *p == path)?;
    let nav: String = PAGES
        .iter()
        .map(|(p, t)| {
            let current = if *p == path {
                r#" aria-current="page""#
            } else {
                ""
            };
            format!(r#"<a href="{p}"{current}>{t}</a>"#)
        })
        .collect();
    Some(
        SHELL
            .replace("{{title}}", title)
            .replace("{{nav}}", &nav)
            .replace("{{page}}", &path[1..]),
    )
}

/// A static file at `path`: its bytes and content type.
pub fn asset(path: &str) -> Option<(&'static [u8], &'static str)> {
    match path {
        "/static/dashboard.js" => Some((
            include_bytes!("assets/dashboard.js"),
            "text/javascript; charset=utf-8",
        )),
        "/static/dashboard.css" => Some((
            include_bytes!("assets/dashboard.css"),
            "text/css; charset=utf-8",
        )),
        _ => None,
    }
}
