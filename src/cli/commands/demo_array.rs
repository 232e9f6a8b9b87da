//! `tessera demo` (array workload): on a local cluster of worker processes, a seeded uniform
//! random field → its column means → the anomalies from them → the standard deviation of every
//! column, all as one task graph of fused chunk tasks and tree reductions. The answer is
//! checked two ways: against the closed form (mean 1/2, standard deviation 1/sqrt(12), within
//! the sampling error) and against a plain two-pass computation of a few columns in this
//! process.

use crate::cli::stdout::outln;
use anyhow::bail;

use crate::array::{Array, IndexItem};
use crate::cli::args::{DemoArgs, OutputFormat};
use crate::cli::array_compute::{compute_with_progress, progress_bar, unwrap_client_error};
use crate::cli::signals::ShutdownSignal;

/// Columns recomputed in this process as the independent check.
const CHECKED_COLUMNS: usize = 3;

/// What the analysis found and how it was checked.
struct Findings {
    mean_of_means: f64,
    mean_of_stds: f64,
    /// |mean - 1/2| and |std - 1/sqrt(12)| in standard errors.
    mean_sigmas: f64,
    std_sigmas: f64,
    /// Largest relative difference to the plain computation of the checked columns.
    local_difference: f64,
}

impl Findings {
    fn ok(&self) -> bool {
        self.mean_sigmas < 6.0 && self.std_sigmas < 6.0 && self.local_difference < 1e-10
    }
}

pub fn run(args: &DemoArgs, signal: &ShutdownSignal) -> anyhow::Result<()> {
    let (cluster, startup) = super::demo::start_cluster(args)?;
    let client = cluster.client()?;
    let human = args.output == OutputFormat::Human;

    let (rows, cols) = (args.rows, args.cols);
    let field = Array::random_uniform(&[rows, cols], args.seed, 0.0, 1.0, [args.chunk, args.chunk])
        .map_err(unwrap_client_error)?;
    let column_mean = field.mean(0).map_err(unwrap_client_error)?;
    let anomaly = field.sub(&column_mean).map_err(unwrap_client_error)?;
    let column_std = anomaly.std(0, 0.0).map_err(unwrap_client_error)?;
    let result = Array::stack(&[column_mean, column_std], 0).map_err(unwrap_client_error)?;
    if human {
        eprintln!(
            "Field: {rows} x {cols} float64 ({:.2} GB) in {} chunks of {} x {}; computing column \
             means, anomalies and column standard deviations",
            gigabytes(rows * cols * 8),
            field.chunks().num_chunks(),
            args.chunk.min(rows),
            args.chunk.min(cols)
        );
    }
    let bar = progress_bar(0, human);
    let (data, stats) = compute_with_progress(&client, &result, &bar, signal)?;
    let values = data.to_f64_vec();
    let (means, stds) = values.split_at(cols);

    let findings = check(&field, means, stds, rows)?;
    // The field is generated twice: once for the means, once for the anomalies.
    let processed = 2 * rows * cols * 8;
    let seconds = stats.elapsed.as_secs_f64();
    let rate = gigabytes(processed) / seconds;
    match args.output {
        OutputFormat::Json => outln!(
            "{}",
            serde_json::json!({
                "workload": "array",
                "workers": args.workers,
                "threads_per_worker": args.nthreads,
                "shape": [rows, cols],
                "chunks": field.chunks().num_chunks(),
                "tasks": stats.tasks,
                "seconds": seconds,
                "gb_processed": gigabytes(processed),
                "gb_per_second": rate,
                "startup_seconds": startup.as_secs_f64(),
                "mean_of_column_means": findings.mean_of_means,
                "mean_of_column_stds": findings.mean_of_stds,
                "mean_error_sigmas": findings.mean_sigmas,
                "std_error_sigmas": findings.std_sigmas,
                "max_relative_difference_to_local": findings.local_difference,
                "ok": findings.ok(),
            })
        ),
        OutputFormat::Human => {
            outln!(
                "Computed {cols} column means and {cols} column standard deviations of a {rows} x {cols} field: {} tasks over {} chunks in {seconds:.2} s ({:.2} GB processed, {rate:.2} GB/s).",
                stats.tasks,
                field.chunks().num_chunks(),
                gigabytes(processed),
            );
            outln!(
                "Mean of the column means {:.6} (closed form 0.5, {:.1} standard errors away); mean column standard deviation {:.6} (closed form 1/sqrt(12) = {:.6}, {:.1} standard errors away).",
                findings.mean_of_means,
                findings.mean_sigmas,
                findings.mean_of_stds,
                1.0 / 12f64.sqrt(),
                findings.std_sigmas
            );
            outln!(
                "First {CHECKED_COLUMNS} columns recomputed in this process: largest relative difference {:.1e}: {}",
                findings.local_difference,
                if findings.ok() { "ok" } else { "MISMATCH" }
            );
        }
    }
    client.close();
    cluster.shutdown();
    if !findings.ok() {
        bail!("the demo's answer does not match its checks");
    }
    Ok(())
}

fn gigabytes(bytes: usize) -> f64 {
    bytes as f64 / 1e9
}

/// Compare the cluster's column means and standard deviations with the closed form and with a
/// plain two-pass computation of the first columns.
fn check(field: &Array, means: &[f64], stds: &[f64], rows: usize) -> anyhow::Result<Findings> {
    let cols = means.len() as f64;
    let n = rows as f64;
    let mean_of_means = means.iter().sum::<f64>() / cols;
    let mean_of_stds = stds.iter().sum::<f64>() / cols;
    // Standard errors: of the grand mean of n*cols uniforms, and of the average of `cols`
    // sample standard deviations of n uniforms each ((mu4 - sigma^4) / (4 sigma^2 n)).
    let sigma2 = 1.0 / 12.0;
    let mean_se = (sigma2 / (n * cols)).sqrt();
    let std_se = (((1.0 / 80.0 - sigma2 * sigma2) / (4.0 * sigma2 * n)) / cols).sqrt();
    let mean_sigmas = (mean_of_means - 0.5).abs() / mean_se;
    let std_sigmas = (mean_of_stds - sigma2.sqrt()).abs() / std_se;

    let checked = CHECKED_COLUMNS.min(means.len());
    let columns = field
        .index(&[
            IndexItem::full(),
            IndexItem::slice(Some(0), Some(checked as i64), 1),
        ])
        .and_then(|c| c.compute_local_as::<f64>())
        .map_err(unwrap_client_error)?;
    let mut local_difference: f64 = 0.0;
    for c in 0..checked {
        let column: Vec<f64> = (0..rows).map(|r| columns[[r, c]]).collect();
        let mean = column.iter().sum::<f64>() / n;
        let var = column.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let relative = |a: f64, b: f64| (a - b).abs() / b.abs().max(f64::MIN_POSITIVE);
        local_difference = local_difference
            .max(relative(means[c], mean))
            .max(relative(stds[c], var.sqrt()));
    }
    Ok(Findings {
        mean_of_means,
        mean_of_stds,
        mean_sigmas,
        std_sigmas,
        local_difference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_accept_the_true_answer_and_reject_a_wrong_one() {
        let field = Array::random_uniform(&[400, 50], 1, 0.0, 1.0, [100, 25]).expect("field");
        let means = field.mean(0).expect("means");
        let stds = field
            .sub(&means)
            .expect("anomaly")
            .std(0, 0.0)
            .expect("stds");
        let means = means.compute_local().expect("m").to_f64_vec();
        let stds = stds.compute_local().expect("s").to_f64_vec();
        let findings = check(&field, &means, &stds, 400).expect("checked");
        assert!(findings.ok(), "{}", findings.local_difference);
        let mut wrong = stds.clone();
        wrong[1] *= 1.001;
        assert!(!check(&field, &means, &wrong, 400).expect("checked").ok());
        let shifted: Vec<f64> = means.iter().map(|m| m + 0.05).collect();
        assert!(!check(&field, &shifted, &stds, 400).expect("checked").ok());
    }
}
