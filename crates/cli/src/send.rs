//! `ferry upload` and `ferry import`: add jobs to the durable queue, see them to the end
//! with progress, and report one result per input, in input order.
//!
//! When no other process runs this home, this one takes it and sends exactly its jobs,
//! then lets go. When another does (the desktop app, `ferry watch run`), this one is its
//! client: the owner sends the jobs and this process follows them in the journal — same
//! output, JSON and exit codes — and takes over if the owner goes away.
//! Ctrl-C or SIGTERM interrupts: the jobs stay queued with what was sent and resume at
//! the next start; they are not cancelled.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::{Code, Engine, Error, Event, JobId, JobStatus, RemoteMedia, RunOptions, Taken};
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

/// Exit status after Ctrl-C/SIGTERM (128 + SIGINT), as shells expect.
const INTERRUPTED: u8 = 130;

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
    let bars = crate::use_bars(send.json).then(|| Bars::new(&jobs));
    let feed = bars.as_ref().map(|b| b.follow_events(&engine));
    let stop = crate::stop_on_signal();
    let mut told = false;
    loop {
        match engine.take_home("ferry upload") {
            Ok(Taken::Owner { .. }) => {
                let run = engine
                    .run(RunOptions {
                        concurrency: send.concurrency,
                        scope: Some(ids.clone()),
                        stop: Some(stop.clone()),
                        ..RunOptions::default()
                    })
                    .await;
                engine.release_home();
                if let Err(e) = run {
                    return crate::fail(&e);
                }
                break;
            }
            Ok(Taken::HeldBy(holder)) => {
                if !told && !send.json {
                    eprintln!(
                        "ferry: {} is sending for this home; following its progress",
                        holder.describe()
                    );
                    told = true;
                }
            }
            Err(e) => return crate::fail(&e),
        }
        // A client: the owner sends; follow the journal until the jobs end, or the
        // owner goes away (then this process takes over at the next turn).
        match all_settled(&engine, &ids) {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => return crate::fail(&e),
        }
        if let Some(b) = &bars {
            b.update_from_journal(&engine, &ids);
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
    if let Some(task) = feed {
        task.abort();
    }
    if let Some(b) = &bars {
        b.clear();
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
    if stop.is_cancelled() && !outcomes.iter().all(|o| o.ok) {
        ExitCode::from(INTERRUPTED)
    } else if outcomes.iter().all(|o| o.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Whether every job has ended (or waits on a person: paused).
fn all_settled(engine: &Engine, ids: &[JobId]) -> ferry_core::Result<bool> {
    for id in ids {
        let j = engine.job(*id)?;
        if !(j.status.is_final() || j.status == JobStatus::Paused) {
            return Ok(false);
        }
    }
    Ok(true)
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
        JobStatus::Queued | JobStatus::WaitingRetry => failed(
            input,
            &Error::new(
                Code::JobInterrupted,
                format!(
                    "interrupted before it finished; it stays queued and resumes with `ferry queue run`, \
                     `ferry watch run` or the app (job {id})"
                ),
            ),
            Some(id),
        ),
        s if s.is_running() => failed(
            input,
            &Error::new(
                Code::JobInterrupted,
                format!("still being sent by the process that runs this home (job {id}; `ferry queue list` follows it)"),
            ),
            Some(id),
        ),
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

/// One bar per job, fed from the engine's events (when this process sends) or from the
/// journal (when another process does).
struct Bars {
    multi: MultiProgress,
    bars: Arc<std::sync::Mutex<HashMap<JobId, ProgressBar>>>,
}

impl Bars {
    fn new(jobs: &[(String, ferry_core::Result<JobId>)]) -> Bars {
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
        Bars {
            multi,
            bars: Arc::new(std::sync::Mutex::new(bars)),
        }
    }

    fn clear(&self) {
        for b in self.bars.lock().expect("bars lock").values() {
            b.finish_and_clear();
        }
        let _ = self.multi.clear();
    }

    /// Another process sends: show what its journal says.
    fn update_from_journal(&self, engine: &Engine, ids: &[JobId]) {
        let bars = self.bars.lock().expect("bars lock");
        for id in ids {
            let (Some(b), Ok(job)) = (bars.get(id), engine.job(*id)) else {
                continue;
            };
            if let Some(total) = job.bytes_total {
                b.set_length(total);
            }
            b.set_position(job.bytes_sent);
            b.set_message(render::status_words(&job));
        }
    }

    fn follow_events(&self, engine: &Engine) -> tokio::task::JoinHandle<()> {
        let bars = self.bars.clone();
        let mut rx = engine.subscribe();
        tokio::spawn(async move {
            while let Ok(ev) = rx.recv().await {
                let bars = bars.lock().expect("bars lock");
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
                            b.set_message(render::status_words(&job));
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
}
