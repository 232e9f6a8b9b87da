//! `tessera dashboard`: print the URL of a cluster's web dashboard with its access token.

use anyhow::{bail, Context};

use crate::cli::args::DashboardCommandArgs;
use crate::cli::stdout::outln;
use crate::deploy::schedfile::SchedulerFile;
use crate::protocol::Secret;
use std::path::Path;

pub fn run(args: DashboardCommandArgs) -> anyhow::Result<()> {
    let (address, secret) = published_dashboard(&args.scheduler_file)?;
    let address = match args.local_port {
        Some(port) => format!("http://localhost:{port}/"),
        None => address,
    };
    outln!("{}", url(&address, &secret)?);
    Ok(())
}

/// The dashboard URL published in the scheduler file at `path`, and the cluster secret.
pub(crate) fn published_dashboard(path: &Path) -> anyhow::Result<(String, Secret)> {
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
    Ok((address.clone(), file.secret()?))
}

#[cfg(feature = "dashboard")]
fn url(address: &str, secret: &Secret) -> anyhow::Result<String> {
    Ok(crate::dashboard::url_with_token(address, secret))
}

#[cfg(not(feature = "dashboard"))]
fn url(_address: &str, _secret: &Secret) -> anyhow::Result<String> {
    bail!("this tessera was built without the `dashboard` feature")
}
