//! `ferry upload` and `ferry import`: add jobs to the durable queue, run exactly those
//! jobs to completion with progress, and report one result per input, in input order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::{Code, Engine, Error, Event, JobId, JobStatus, RemoteMedia, RunOptions, Selector};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::{fail_usage, render, SendArgs};

/// One element of `--json` output per input.
#[derive(Serialize)]
pub struct Outcome {
    pub input: String,
    pub ok: bool,
    pub media: Vec<RemoteMedia>,
    pub error: Option<ErrorJson>,
    /// The same bytes were already at this destination: nothing was sent.
    pub deduplicated: bool,
    pub job: Option<JobId>,
}

#[derive(Serialize)]
pub struct ErrorJson {
    pub code: String,
    pub message: String,
}

impl From<&Error> for ErrorJson {
    fn from(e: &Error) -> Self {
        ErrorJson {
            code: e.code.as_str().to_string(),
            message: e.message.clone(),
        }
    }
}

/// Configuration problems (unknown account, no secret, locked keychain) are the same for
/// every input: report them once, exit 2.
fn check_account(
    engine: &Engine,
    account: &str,
    inputs: &[String],
    json: bool,
) -> Result<(), ExitCode> {
    if let Err(e) = engine.provider(account) {
        if json {
            let out: Vec<Outcome> = inputs
                .iter()
                .map(|i| Outcome {
                    input: i.clone(),
                    ok: false,
                    media: vec![],
                    error: Some((&e).into()),
                    deduplicated: false,
                    job: None,
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&out).expect("json"));
        }
        return Err(fail_usage(&e));
    }
    Ok(())
}

pub async fn upload(
    engine: Arc<Engine>,
    paths: Vec<PathBuf>,
    send: SendArgs,
    force: bool,
) -> ExitCode {
    let account = send.to.clone().unwrap_or_else(|| engine.default_account());
    let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    if let Err(code) = check_account(&engine, &account, &inputs, send.json) {
        return code;
    }
    let ids = match engine.enqueue_paths(&paths, &account, "cli", force) {
        Ok(ids) => ids,
        Err(e) => return fail_usage(&e),
    };
    let jobs = inputs.into_iter().zip(ids.into_iter().map(Ok)).collect();
    run_and_report(engine, account, jobs, send).await
}

pub async fn import(engine: Arc<Engine>, urls: Vec<String>, send: SendArgs) -> ExitCode {
    let account = send.to.clone().unwrap_or_else(|| engine.default_account());
    // The results name each URL without its query: a presigned link's signature is a
    // credential, and output ends up in logs and terminals' scrollback.
    let shown: Vec<String> = urls.iter().map(|u| ferry_core::redact::url(u)).collect();
    if let Err(code) = check_account(&engine, &account, &shown, send.json) {
        return code;
    }
    let ids = match engine.enqueue_urls(&urls, &account, "cli") {
        Ok(ids) => ids,
        Err(e) => return fail_usage(&e),
    };
    let jobs = shown.into_iter().zip(ids).collect();
    run_and_report(engine, account, jobs, send).await
}

async fn run_and_report(
    engine: Arc<Engine>,
    account: String,
    jobs: Vec<(String, ferry_core::Result<JobId>)>,
    send: SendArgs,
) -> ExitCode {
    let ids: Vec<JobId> = jobs
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().copied())
        .collect();
    let bars = crate::use_bars(send.json).then(|| progress_bars(&engine, &jobs));
    {
        // Ctrl-C cancels this command's jobs (and aborts what they started remotely).
        let engine = engine.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("ferry: cancelling…");
                for id in ids {
                    let _ = engine.cancel(Selector::One(id)).await;
                }
            }
        });
    }
    let run = engine
        .run(RunOptions {
            concurrency: send.concurrency,
            scope: Some(ids),
            ..RunOptions::default()
        })
        .await;
    if let Some(task) = bars {
        task.abort();
    }
    if let Err(e) = run {
        return crate::fail(&e);
    }
    let mut outcomes = Vec::with_capacity(jobs.len());
    for (input, id) in jobs {
        outcomes.push(outcome(&engine, &account, input, id, send.wait).await);
    }
    if send.json {
        println!("{}", serde_json::to_string_pretty(&outcomes).expect("json"));
    } else {
        for o in &outcomes {
            render::line(o);
        }
    }
    if outcomes.iter().all(|o| o.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn outcome(
    engine: &Engine,
    account: &str,
    input: String,
    id: ferry_core::Result<JobId>,
    wait: bool,
) -> Outcome {
    let failed = |input: String, e: &Error, job: Option<JobId>| Outcome {
        input,
        ok: false,
        media: vec![],
        error: Some(e.into()),
        deduplicated: false,
        job,
    };
    let id = match id {
        Ok(id) => id,
        Err(e) => return failed(input, &e, None),
    };
    let job = match engine.job(id) {
        Ok(j) => j,
        Err(e) => return failed(input, &e, Some(id)),
    };
    match job.status {
        JobStatus::Succeeded => {
            let mut media = job.media.clone();
            if wait {
                let ctx = engine.ctx(ferry_core::transfer::Progress::none());
                match engine
                    .wait(account, media, &ctx, Duration::from_secs(3600))
                    .await
                {
                    Ok(m) => media = m,
                    Err(e) => return failed(input, &e, Some(id)),
                }
            }
            if let Some(m) = media
                .iter()
                .find(|m| m.status == ferry_core::MediaStatus::Failed)
            {
                let e = Error::new(
                    Code::ProviderProcessingFailed,
                    format!("{} failed while the destination processed it", m.name),
                );
                return failed(input, &e, Some(id));
            }
            Outcome {
                input,
                ok: true,
                media,
                error: None,
                deduplicated: job.deduplicated,
                job: Some(id),
            }
        }
        JobStatus::Paused => failed(
            input,
            &Error::new(
                Code::JobPaused,
                format!("paused; resume it with `ferry queue resume {id}`"),
            ),
            Some(id),
        ),
        JobStatus::Cancelled => failed(input, &Error::cancelled(), Some(id)),
        _ => {
            let e = job
                .error
                .map(|e| ErrorJson {
                    code: e.code,
                    message: e.message,
                })
                .unwrap_or(ErrorJson {
                    code: Code::Internal.as_str().into(),
                    message: format!("job {id} ended {}", job.status.as_str()),
                });
            Outcome {
                input,
                ok: false,
                media: vec![],
                error: Some(e),
                deduplicated: false,
                job: Some(id),
            }
        }
    }
}

/// One bar per job, fed from the engine's events.
fn progress_bars(
    engine: &Engine,
    jobs: &[(String, ferry_core::Result<JobId>)],
) -> tokio::task::JoinHandle<()> {
    let multi = MultiProgress::new();
    let style = ProgressStyle::with_template(
        "{prefix:30!} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
    )
    .expect("template")
    .progress_chars("=> ");
    let mut bars: HashMap<JobId, ProgressBar> = HashMap::new();
    for (input, id) in jobs {
        if let Ok(id) = id {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(style.clone());
            let name = std::path::Path::new(input)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| input.clone());
            bar.set_prefix(render::shown(&name).into_owned());
            bar.set_message("waiting");
            bars.insert(*id, bar);
        }
    }
    let mut rx = engine.subscribe();
    tokio::spawn(async move {
        while let Ok(ev) = rx.recv().await {
            match ev {
                Event::JobProgress {
                    id,
                    bytes_sent,
                    bytes_total,
                    ..
                } => {
                    if let Some(b) = bars.get(&id) {
                        b.set_length(bytes_total);
                        b.set_position(bytes_sent);
                    }
                }
                Event::JobChanged { job } => {
                    if let Some(b) = bars.get(&job.id) {
                        b.set_message(job.status.as_str().replace('_', " "));
                    }
                }
                Event::JobRetrying {
                    id,
                    attempt,
                    delay_ms,
                    code,
                    ..
                } => {
                    if let Some(b) = bars.get(&id) {
                        b.set_message(format!(
                            "retry {attempt} in {:.1}s ({code})",
                            delay_ms as f64 / 1000.0
                        ));
                    }
                }
                Event::JobSucceeded { job }
                | Event::JobCancelled { job }
                | Event::JobFailed { job, .. } => {
                    if let Some(b) = bars.get(&job.id) {
                        b.finish_and_clear();
                    }
                }
                _ => {}
            }
        }
    })
}
