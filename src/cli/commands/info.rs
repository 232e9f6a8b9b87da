//! `tessera info`: workers, threads, memory and tasks of a running cluster.

use crate::cli::args::{InfoArgs, OutputFormat};
use crate::cli::stdout::outln;
use crate::runtime::Client;

pub fn run(args: InfoArgs) -> anyhow::Result<()> {
    let client = Client::from_scheduler_file(&args.connect.scheduler_file, args.connect.timeout)?;
    let info = client.info()?;
    client.close();
    match args.output {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&info)?),
        OutputFormat::Human => {
            crate::cli::stdout::print_text(&crate::cli::output::render_info(&info))
        }
    }
    Ok(())
}
