//! `ferry watch …`: manage watch rules and run them in the foreground.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use ferry_core::watch::{After, Existing, NewRule};
use ferry_core::{Code, Engine, Error};

use crate::{fail, fail_usage, render};

#[derive(Subcommand)]
pub enum WatchCmd {
    /// Watch a folder: every finished file in it goes to an account (or several), once.
    Add {
        dir: PathBuf,
        /// Destination (default: the default account); several send each file to each:
        /// `--to blog,s3` or `--to blog --to s3`.
        #[arg(long, value_name = "NAME", value_delimiter = ',')]
        to: Vec<String>,
        /// Watch subfolders too.
        #[arg(long)]
        recursive: bool,
        /// Only files matching (name or relative path); default: the media types the destination accepts.
        #[arg(long, value_name = "GLOB")]
        include: Vec<String>,
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
        /// Quiet time: seconds a file's size and mtime must stay unchanged before it is taken.
        #[arg(long, value_name = "SECS", default_value_t = 2.0)]
        settle: f64,
        /// Files already in the folder: skip them, or import them now.
        #[arg(long, value_name = "skip|import", default_value = "skip")]
        existing: String,
        /// After a successful upload: keep, move:SUBDIR, or delete.
        #[arg(long, value_name = "keep|move:SUBDIR|delete", default_value = "keep")]
        after: String,
    },
    /// Rules with their state (watching / paused / unavailable / degraded-polling), files waiting, last error.
    List {
        #[arg(long)]
        json: bool,
    },
    Pause {
        id: String,
    },
    Resume {
        id: String,
    },
    Remove {
        id: String,
    },
    /// Run every active rule and the queue until Ctrl-C or SIGTERM (which interrupt:
    /// unfinished uploads resume at the next start).
    Run {
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

pub async fn run(engine: Arc<Engine>, cmd: WatchCmd) -> ExitCode {
    match cmd {
        WatchCmd::Add {
            dir,
            to,
            recursive,
            include,
            exclude,
            settle,
            existing,
            after,
        } => {
            let existing = match existing.as_str() {
                "skip" => Existing::Skip,
                "import" => Existing::Import,
                other => {
                    return fail_usage(&Error::new(
                        Code::ConfigInvalid,
                        format!("--existing must be skip or import (got `{other}`)"),
                    ))
                }
            };
            let after = match After::parse(&after) {
                Ok(a) => a,
                Err(e) => return fail_usage(&e),
            };
            let mut to = to.into_iter().filter(|a| !a.trim().is_empty());
            let account = to.next().unwrap_or_else(|| engine.default_account());
            let rule = NewRule {
                also: to.collect(),
                recursive,
                include,
                exclude,
                settle_secs: settle,
                existing,
                after,
                ..NewRule::new(dir, &account)
            };
            match engine.watch_add(rule) {
                Ok(r) => {
                    println!(
                        "watching {} for `{}` as {}",
                        render::shown(&r.dir.display().to_string()),
                        r.accounts().join("`, `"),
                        r.id
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail_usage(&e),
            }
        }
        WatchCmd::List { json } => match engine.watch_list() {
            Ok(rules) => {
                if json {
                    println!("{}", serde_json::to_string_pretty(&rules).expect("json"));
                } else if rules.is_empty() {
                    println!("no watch rules; add one with `ferry watch add DIR --to NAME`");
                } else {
                    for v in rules {
                        let r = &v.rule;
                        println!(
                            "{}\t{}\t{} -> {}\t{} waiting\tafter: {}{}{}",
                            r.id,
                            v.state,
                            render::shown(&r.dir.display().to_string()),
                            r.accounts().join(","),
                            v.waiting,
                            render::shown(&r.after.describe()),
                            v.reason
                                .map(|x| format!("\t({})", render::shown(&x)))
                                .unwrap_or_default(),
                            v.last_error
                                .map(|x| format!("\tlast error: {}", render::shown(&x)))
                                .unwrap_or_default(),
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        WatchCmd::Pause { id } => done("paused", &id, engine.watch_pause(&id).map(|_| ())),
        WatchCmd::Resume { id } => done("resumed", &id, engine.watch_resume(&id).map(|_| ())),
        WatchCmd::Remove { id } => done("removed", &id, engine.watch_remove(&id)),
        WatchCmd::Run { wait_for_lock, .. } => {
            let stop = crate::stop_on_signal();
            if let Err(code) =
                crate::take_home(&engine, "ferry watch run", wait_for_lock, &stop).await
            {
                return code;
            }
            if stop.is_cancelled() {
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "ferry: watching {} rule(s); Ctrl-C to stop",
                engine.watch_rules().iter().filter(|r| !r.paused).count()
            );
            match engine.watch_run(stop).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
    }
}

fn done(verb: &str, id: &str, r: ferry_core::Result<()>) -> ExitCode {
    match r {
        Ok(()) => {
            println!("{verb} {id}");
            ExitCode::SUCCESS
        }
        Err(e) => fail_usage(&e),
    }
}
