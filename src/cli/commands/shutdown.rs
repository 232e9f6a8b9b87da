//! `tessera shutdown`: stop the scheduler and every worker of a cluster.

use std::time::{Duration, Instant};

use crate::cli::args::ShutdownArgs;
use crate::runtime::{Client, ClientError};

pub fn run(args: ShutdownArgs) -> anyhow::Result<()> {
    let client = Client::from_scheduler_file(&args.connect.scheduler_file, args.connect.timeout)?;
    let address = client.scheduler_address().to_string();
    client.shutdown_cluster();
    let deadline = Instant::now() + args.connect.timeout;
    while client.is_connected() {
        if Instant::now() >= deadline {
            return Err(ClientError::Timeout(args.connect.timeout).into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    eprintln!("tessera: cluster at {address} shut down");
    Ok(())
}
