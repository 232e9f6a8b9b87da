//! `tessera job list | info | wait | cancel | output`: jobs of command tasks on a running
//! cluster, as the scheduler keeps them.

use std::time::{Duration, Instant};

use crate::cli::args::OutputFormat;
use crate::cli::job_args::{JobArgs, JobCommand, JobOutputArgs};
use crate::cli::stdout::outln;
use crate::cli::UsageError;
use crate::protocol::job_control::{JobDetail, JobReply, JobRequest, JobSummary, TaskState};
use crate::runtime::command::placeholders::{expand, PlaceholderValues};
use crate::runtime::Client;

/// Some task of a waited-for job failed or was cancelled (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JobFailed(pub String);

pub fn run(args: JobArgs) -> anyhow::Result<()> {
    match args.command {
        JobCommand::List(a) => {
            let client = connect(&a.connect)?;
            let JobReply::List(jobs) = ask(&client, JobRequest::List)? else {
                anyhow::bail!("unexpected answer from the scheduler");
            };
            match a.output {
                OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&jobs)?),
                OutputFormat::Human => {
                    outln!(
                        "{:>5}  {:<20} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}",
                        "job",
                        "name",
                        "state",
                        "tasks",
                        "waiting",
                        "running",
                        "finished",
                        "failed"
                    );
                    for j in &jobs {
                        let c = &j.counts;
                        outln!(
                            "{:>5}  {:<20} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}",
                            j.id,
                            j.name,
                            c.state(),
                            c.total(),
                            c.waiting,
                            c.running,
                            c.finished,
                            c.failed + c.cancelled
                        );
                    }
                }
            }
        }
        JobCommand::Info(a) => {
            let client = connect(&a.connect)?;
            let detail = info(&client, a.job)?;
            match a.output {
                OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&detail)?),
                OutputFormat::Human => print_detail(&detail),
            }
        }
        JobCommand::Wait(a) => {
            let client = connect(&a.connect)?;
            return wait_for(&client, &a.jobs, a.output);
        }
        JobCommand::Cancel(a) => {
            let client = connect(&a.connect)?;
            let JobReply::Cancelled { job, tasks } =
                ask(&client, JobRequest::Cancel { job: a.job })?
            else {
                anyhow::bail!("unexpected answer from the scheduler");
            };
            match a.output {
                OutputFormat::Json => {
                    outln!("{}", serde_json::json!({ "job": job, "cancelled": tasks }))
                }
                OutputFormat::Human => outln!("job {job}: {tasks} tasks cancelled"),
            }
        }
        JobCommand::Output(a) => output(a)?,
        JobCommand::Resubmit(a) => {
            let client = connect(&a.connect)?;
            let detail = info(&client, a.job)?;
            let ids: Vec<u64> = detail
                .tasks
                .iter()
                .filter(|t| matches!(t.state, TaskState::Failed | TaskState::Cancelled))
                .map(|t| t.task_id)
                .collect();
            if ids.is_empty() {
                return Err(UsageError(format!(
                    "job {}: no failed or cancelled task to resubmit",
                    a.job
                ))
                .into());
            }
            let mut submission = detail.submission;
            submission.entries = submission.entries.subset(&ids);
            submission.after.clear();
            let job = match ask(&client, JobRequest::Submit(Box::new(submission)))? {
                JobReply::Submitted { job, .. } => job,
                _ => anyhow::bail!("unexpected answer from the scheduler"),
            };
            match a.output {
                OutputFormat::Json if !a.wait => outln!(
                    "{}",
                    serde_json::json!({ "job": job, "tasks": ids.len(), "from": a.job })
                ),
                OutputFormat::Human => outln!(
                    "job {job} submitted: {} failed tasks of job {}",
                    ids.len(),
                    a.job
                ),
                OutputFormat::Json => {}
            }
            if a.wait {
                return wait_for(&client, &[job], a.output);
            }
        }
    }
    Ok(())
}

fn connect(c: &crate::cli::args::ConnectArgs) -> anyhow::Result<Client> {
    Ok(Client::from_scheduler_file(&c.scheduler_file, c.timeout)?)
}

/// A job request; a refusal is a usage error (exit 2).
fn ask(client: &Client, request: JobRequest) -> anyhow::Result<JobReply> {
    match client.job_request(request)? {
        JobReply::Refused(why) => Err(UsageError(why).into()),
        reply => Ok(reply),
    }
}

fn info(client: &Client, job: u64) -> anyhow::Result<JobDetail> {
    match ask(client, JobRequest::Info { job })? {
        JobReply::Info(detail) => Ok(*detail),
        _ => anyhow::bail!("unexpected answer from the scheduler"),
    }
}

fn seconds_since(start: u64, t: Option<u64>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| format!("{:.3}", t.saturating_sub(start) as f64 / 1000.0),
    )
}

fn print_detail(d: &JobDetail) {
    let s = &d.summary;
    outln!(
        "job {} ({}): {}, {} tasks: {} waiting, {} running, {} finished, {} failed, {} cancelled",
        s.id,
        s.name,
        s.counts.state(),
        s.counts.total(),
        s.counts.waiting,
        s.counts.running,
        s.counts.finished,
        s.counts.failed,
        s.counts.cancelled
    );
    outln!("command: {}", d.submission.command.argv.join(" "));
    outln!("times in seconds since submission");
    outln!(
        "{:>6} {:>8} {:>9} {:>5} {:>8} {:<20} {:>9} {:>9}",
        "task",
        "index",
        "state",
        "exit",
        "attempts",
        "worker",
        "start",
        "end"
    );
    for t in &d.tasks {
        outln!(
            "{:>6} {:>8} {:>9} {:>5} {:>8} {:<20} {:>9} {:>9}",
            t.task_id,
            t.array_index.map_or_else(|| "-".into(), |i| i.to_string()),
            t.state.name(),
            t.exit_code.map_or_else(|| "-".into(), |c| c.to_string()),
            t.attempts,
            t.worker.as_deref().unwrap_or("-"),
            seconds_since(s.submitted_ms, t.started_ms),
            seconds_since(s.submitted_ms, t.ended_ms)
        );
        if t.state == TaskState::Failed {
            if let Some(e) = &t.error {
                outln!("       {}", e.replace('\n', "\n       "));
            }
        }
    }
}

/// Wait until every job in `jobs` ended; a progress bar on a terminal's stderr.
pub fn wait_for(client: &Client, jobs: &[u64], output: OutputFormat) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tasks ended {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut pause = Duration::from_millis(20);
    let started = Instant::now();
    let ended: Vec<JobSummary> = loop {
        let JobReply::List(all) = ask(client, JobRequest::List)? else {
            anyhow::bail!("unexpected answer from the scheduler");
        };
        let mut mine = Vec::with_capacity(jobs.len());
        for id in jobs {
            match all.iter().find(|j| j.id == *id) {
                Some(j) => mine.push(j.clone()),
                None => return Err(UsageError(format!("no job {id} on this scheduler")).into()),
            }
        }
        let total: u64 = mine.iter().map(|j| j.counts.total()).sum();
        let done: u64 = mine
            .iter()
            .map(|j| j.counts.finished + j.counts.failed + j.counts.cancelled)
            .sum();
        let failed: u64 = mine
            .iter()
            .map(|j| j.counts.failed + j.counts.cancelled)
            .sum();
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(if failed > 0 {
            format!("({failed} failed)")
        } else {
            String::new()
        });
        if mine.iter().all(|j| j.counts.done()) {
            break mine;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(500));
    };
    bar.finish_and_clear();
    match output {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&ended)?),
        OutputFormat::Human => {
            for j in &ended {
                let c = &j.counts;
                outln!(
                    "job {}: {} ({} finished, {} failed, {} cancelled) in {:.1} s",
                    j.id,
                    c.state(),
                    c.finished,
                    c.failed,
                    c.cancelled,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    let bad: Vec<String> = ended
        .iter()
        .filter(|j| j.counts.failed + j.counts.cancelled > 0)
        .map(|j| format!("job {} {}", j.id, j.counts.state()))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(JobFailed(bad.join(", ")).into())
    }
}

fn output(a: JobOutputArgs) -> anyhow::Result<()> {
    let client = connect(&a.connect)?;
    let d = info(&client, a.job)?;
    client.close();
    let template = if a.stderr {
        d.submission.command.stderr.clone()
    } else {
        d.submission.command.stdout.clone()
    };
    let Some(template) = template else {
        return Err(UsageError(format!("job {}: its output was not kept", a.job)).into());
    };
    let cwd = std::path::PathBuf::from(d.submission.command.cwd.clone().unwrap_or_default());
    let tasks: Vec<_> = match a.task {
        Some(t) => match d.tasks.get(t as usize) {
            Some(task) => vec![task],
            None => {
                return Err(UsageError(format!(
                    "job {} has no task {t} (it has {})",
                    a.job,
                    d.tasks.len()
                ))
                .into())
            }
        },
        None => d.tasks.iter().collect(),
    };
    for t in tasks {
        let (array_index, entry) = d.submission.entries.task(t.task_id);
        let values = PlaceholderValues {
            job_id: d.summary.id,
            task_id: t.task_id,
            array_index,
            entry,
            worker: t.worker.as_deref().unwrap_or(""),
        };
        let path = cwd.join(expand(&template, &values)?);
        match std::fs::read(&path) {
            Ok(bytes) => crate::cli::stdout::print_text(&String::from_utf8_lossy(&bytes)),
            Err(e) if t.state.is_terminal() => {
                return Err(anyhow::anyhow!("{}: {e}", path.display()))
            }
            Err(_) => {}
        }
    }
    Ok(())
}
