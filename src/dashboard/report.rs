//! Performance reports: one self-contained HTML file (it opens offline and requests nothing:
//! its style, script and data are inside, and a Content-Security-Policy forbids any fetch)
//! with the summary figures, time per task prefix (compute, reading spilled inputs), the task
//! stream, the workers, memory over time and the program text. Drawn by the dashboard's own
//! script in report mode. Must not fetch anything itself: it gets the data.

/// The report HTML for `data` (the dashboard's `/api/view` JSON with its rings), titled
/// `title`, showing `program` when given.
pub fn render_report(data: &str, title: &str, program: Option<&str>) -> String {
    let program = match program {
        Some(text) => format!(
            "<h2>Program</h2>\n<pre id=\"report-program\">{}</pre>\n",
            escape_html(text)
        ),
        None => String::new(),
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tessera performance report · {title}</title>
<link rel="icon" href="data:,">
<style>
{css}
main h2 {{ font-size: 16px; margin: 1.4em 0 .5em; }}
pre {{ background: #fff; border: 1px solid var(--line); padding: .6em; white-space: pre-wrap; }}
</style>
</head>
<body data-page="report">
<header><span class="brand">Tessera</span><span>performance report · {title}</span></header>
<section id="summary" class="summary"></section>
<main id="main">
<h2>Summary</h2>
<div id="report-figures" class="summary"></div>
<h2>Time per task prefix</h2>
<div id="report-status"></div>
<h2>Task stream</h2>
<div id="report-tasks"></div>
<h2>Workers</h2>
<div id="report-workers"></div>
<h2>Memory over time</h2>
<div id="report-memory"></div>
{program}</main>
<script id="report-data" type="application/json">{data}</script>
<script>
{js}
</script>
</body>
</html>
"#,
        title = escape_html(title),
        css = include_str!("assets/dashboard.css"),
        js = include_str!("assets/dashboard.js"),
        data = data.replace("</", "<\\/"),
    )
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_program_cannot_break_out_of_the_page() {
        let html = render_report(
            r#"{"view":{"x":"</script><script>alert(1)</script>"}}"#,
            "a < b",
            Some("x = h5('</pre>', '/t') & 1"),
        );
        assert_eq!(html.matches("</script>").count(), 2, "only the page's own");
        assert!(html.contains("x = h5('&lt;/pre&gt;', '/t') &amp; 1"));
        assert!(html.contains("performance report · a &lt; b"));
        assert!(html.contains("default-src 'none'"));
    }
}
