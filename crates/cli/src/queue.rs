//! `ferry queue …`: look at and steer the durable queue, and `queue run` to finish every
//! unfinished job (after a crash, say) and exit.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use ferry_core::{Engine, JobId, JobStatus, RunOptions, Selector};

use crate::{fail, fail_usage, render};

#[derive(Subcommand)]
pub enum QueueCmd {
    /// List unfinished jobs (`--all` for finished ones too).
    List {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        all: bool,
    },
    /// Pause jobs (a running upload stops where it is and resumes from there).
    Pause(Target),
    /// Resume paused jobs.
    Resume(Target),
    /// Cancel jobs; anything they started remotely is aborted.
    Cancel(Target),
    /// Queue failed or cancelled jobs again.
    Retry(Target),
    /// Run every unfinished job (resuming interrupted ones), then exit.
    Run {
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        /// If another process runs this home, wait until it ends instead of exiting 2.
        #[arg(long)]
        wait_for_lock: bool,
    },
}

#[derive(Args)]
pub struct Target {
    /// The job's id (see `ferry queue list`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    id: Option<JobId>,
    /// Every job it applies to.
    #[arg(long)]
    all: bool,
}

impl Target {
    fn selector(&self) -> Selector {
        match self.id {
            Some(id) if !self.all => Selector::One(id),
            _ => Selector::All,
        }
    }
}

pub async fn run(engine: Arc<Engine>, cmd: QueueCmd) -> ExitCode {
    let done = |verb: &str, r: ferry_core::Result<usize>| match r {
        Ok(n) => {
            println!("{verb} {n} job(s)");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    };
    match cmd {
        QueueCmd::List { json, all } => match engine.jobs(!all) {
            Ok(jobs) => {
                if !json {
                    match engine.runner() {
                        Some(h) => {
                            println!("sending: {} since {}", h.describe(), h.since.format("%Y-%m-%d %H:%M:%S UTC"));
                            if let Some(p) = &h.problem {
                                println!("problem: {p}");
                            }
                            if let Some(hold) = &h.hold {
                                println!(
                                    "held: {} (since {})",
                                    hold.message,
                                    hold.since.format("%Y-%m-%d %H:%M:%S UTC")
                                );
                            }
                        }
                        None if jobs.iter().any(|j| !j.status.is_final()) => println!(
                            "sending: nobody — start `ferry queue run`, `ferry watch run` or the desktop app"
                        ),
                        None => {}
                    }
                }
                if json {
                    println!("{}", serde_json::to_string_pretty(&jobs).expect("json"));
                } else if jobs.is_empty() {
                    println!("the queue is empty");
                } else {
                    for j in &jobs {
                        render::job_row(j);
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail_usage(&e),
        },
        QueueCmd::Pause(t) => done("paused", engine.pause(t.selector())),
        QueueCmd::Resume(t) => done("resumed", engine.resume(t.selector())),
        QueueCmd::Cancel(t) => done("cancelled", engine.cancel(t.selector()).await),
        QueueCmd::Retry(t) => done("queued again", engine.retry(t.selector())),
        QueueCmd::Run {
            concurrency,
            wait_for_lock,
        } => {
            let stop = crate::stop_on_signal();
            if let Err(code) =
                crate::take_home(&engine, "ferry queue run", wait_for_lock, &stop).await
            {
                return code;
            }
            if let Err(e) = engine
                .run(RunOptions {
                    concurrency,
                    stop: Some(stop.clone()),
                    ..RunOptions::default()
                })
                .await
            {
                return fail(&e);
            }
            engine.release_home();
            match engine.jobs(true) {
                Ok(left) => {
                    let failed: Vec<_> = left
                        .iter()
                        .filter(|j| j.status == JobStatus::Failed)
                        .collect();
                    for j in &failed {
                        render::job_row(j);
                    }
                    if failed.is_empty() {
                        println!("the queue is done");
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => fail(&e),
            }
        }
    }
}
