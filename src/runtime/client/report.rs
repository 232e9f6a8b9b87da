//! `Client::performance_report`: the cluster's recent work as one self-contained HTML file,
//! read from the scheduler's dashboard (see [`crate::dashboard::report`]).

use std::path::Path;
use std::time::Duration;

use super::{Client, ClientError};

impl Client {
    /// Write a performance report of the cluster's recent work (the task stream kept by the
    /// scheduler: its last 20,000 tasks; memory over the last 15 minutes) to `path`: one HTML
    /// file that opens offline. Needs the scheduler's dashboard.
    pub fn performance_report(&self, path: impl AsRef<Path>) -> Result<(), ClientError> {
        self.performance_report_of(path.as_ref(), None)
    }

    /// [`Client::performance_report`] showing `program` (the text that was computed).
    pub fn performance_report_of(
        &self,
        path: &Path,
        program: Option<&str>,
    ) -> Result<(), ClientError> {
        let info = self.info()?;
        let url = info.dashboard.ok_or_else(|| {
            ClientError::Report(format!(
                "the scheduler at {} runs no dashboard (started with --no-dashboard?)",
                info.scheduler_address
            ))
        })?;
        let token = crate::dashboard::dashboard_token(&self.secret);
        let data =
            crate::dashboard::client::fetch_report_data(&url, &token, Duration::from_secs(30))
                .map_err(|e| ClientError::Report(e.to_string()))?;
        let title = info.scheduler_address;
        let html = crate::dashboard::report::render_report(&data, &title, program);
        write_atomically(path, html.as_bytes())
            .map_err(|e| ClientError::Report(format!("{}: {e}", path.display())))
    }
}

/// Write through a temporary file beside `path`, then rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
