//! `tessera top`: a terminal view of a running cluster, refreshed every `--interval`, read
//! from the scheduler's dashboard (the token comes from the scheduler file).

use crate::cli::args::TopArgs;
use crate::cli::signals::ShutdownSignal;

pub fn run(args: TopArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    let (url, secret) = super::dashboard::published_dashboard(&args.scheduler_file)?;
    screens(&url, &secret, &args, signal)
}

#[cfg(feature = "dashboard")]
fn screens(
    url: &str,
    secret: &crate::protocol::Secret,
    args: &TopArgs,
    signal: &ShutdownSignal,
) -> anyhow::Result<()> {
    use std::io::Write;
    let token = crate::dashboard::dashboard_token(secret);
    let timeout = std::time::Duration::from_secs(10);
    let mut out = std::io::stdout();
    loop {
        let view = crate::dashboard::client::fetch_view(url, &token, timeout)?;
        let text = crate::cli::top_output::render_top(&view);
        if args.once {
            write!(out, "{text}")?;
            return Ok(());
        }
        // Home, clear the screen, draw; one write so that the terminal does not flicker.
        write!(out, "\x1b[H\x1b[2J{text}\n(Ctrl-C quits)\n")?;
        out.flush()?;
        let next = std::time::Instant::now() + args.interval;
        if super::wait_until(signal, || std::time::Instant::now() >= next) {
            return Ok(());
        }
    }
}

#[cfg(not(feature = "dashboard"))]
fn screens(
    _url: &str,
    _secret: &crate::protocol::Secret,
    _args: &TopArgs,
    _signal: &ShutdownSignal,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "this tessera was built without the `dashboard` feature, which `tessera top` needs"
    )
}
