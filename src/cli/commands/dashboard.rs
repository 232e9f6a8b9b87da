//! `tessera dashboard`: print the URL of a cluster's web dashboard with its access token.

use anyhow::{bail, Context};

use crate::cli::args::DashboardCommandArgs;
use crate::cli::stdout::outln;
use crate::deploy::schedfile::SchedulerFile;

pub fn run(args: DashboardCommandArgs) -> anyhow::Result<()> {
    let path = &args.scheduler_file;
    let file = SchedulerFile::read(path)
        .with_context(|| format!("cannot read scheduler file {}", path.display()))?;
    let Some(address) = file.services.get("dashboard") else {
        bail!(
            "the scheduler of {} publishes no dashboard (it was started with --no-dashboard, \
             its dashboard address could not be bound (see the scheduler's log), or it was built \
             without the `dashboard` feature)",
            path.display()
        );
    };
    let address = match args.local_port {
        Some(port) => format!("http://localhost:{port}/"),
        None => address.clone(),
    };
    let secret = file.secret()?;
    outln!("{}", url(&address, &secret)?);
    Ok(())
}

#[cfg(feature = "dashboard")]
fn url(address: &str, secret: &crate::protocol::Secret) -> anyhow::Result<String> {
    Ok(crate::dashboard::url_with_token(address, secret))
}

#[cfg(not(feature = "dashboard"))]
fn url(_address: &str, _secret: &crate::protocol::Secret) -> anyhow::Result<String> {
    bail!("this tessera was built without the `dashboard` feature")
}
