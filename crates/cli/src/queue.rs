//! `ferry queue …`: look at and steer the durable queue, and `queue run` to finish every
//! unfinished job (after a crash, say) and exit.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use ferry_core::{Engine, JobId, JobStatus, QueueOrder, RunOptions, Selector};

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
    /// Make these jobs the next to start, the first given first (queued, paused or
    /// waiting jobs; running and finished ones stay as they are).
    Top {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<JobId>,
    },
    /// Show or set the order waiting jobs start in: `added` (oldest first) or
    /// `small-first` (smallest file first, URL imports last). A running queue follows a
    /// change from its next start.
    Order {
        #[arg(value_name = "ORDER")]
        order: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Run every unfinished job (resuming interrupted ones), then exit.
    Run {
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        /// If another process runs this home, wait until it ends instead of exiting 2.
        #[arg(long)]
        wait_for_lock: bool,
        /// Most Ferry sends a second while this runs, in rclone's syntax: 4M, 512k, off,
        /// or a timetable like "08:00,512k 18:00,off" (0 = do not send then). Wins over
        /// the `bwlimit` setting.
        #[arg(long, value_name = "RATE")]
        bwlimit: Option<String>,
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
                    let bandwidth = engine.bandwidth();
                    if let Some(line) = render::bandwidth(&bandwidth) {
                        println!("{line}");
                    }
                    for a in &bandwidth.accounts_waiting {
                        println!("{}", render::account_waiting(a));
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
        QueueCmd::Top { ids } => done("moved to the top", engine.move_to_top(&ids)),
        QueueCmd::Order { order, json } => {
            if let Some(o) = order {
                let set = QueueOrder::parse(&o).and_then(|o| engine.set_queue_order(o));
                if let Err(e) = set {
                    return fail_usage(&e);
                }
            }
            let order = engine.queue_order();
            if json {
                println!("{}", serde_json::json!({ "order": order }));
            } else {
                println!("{}", order.as_str());
            }
            ExitCode::SUCCESS
        }
        QueueCmd::Run {
            concurrency,
            wait_for_lock,
            ..
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
