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
    /// The destination (one element per input and destination, in that order).
    pub account: String,
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

/// The destinations asked for, each once, in the order given; the default account
/// when none was.
fn destinations(engine: &Engine, send: &SendArgs) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in send.to.iter().map(|a| a.trim()).filter(|a| !a.is_empty()) {
        if !out.iter().any(|o| o == a) {
            out.push(a.to_string());
        }
    }
    if out.is_empty() {
        out.push(engine.default_account());
    }
    out
}

/// Configuration problems (unknown account, no secret, locked keychain) are the same for
/// every input: report them once, exit 2. Every destination is checked before anything
/// is queued.
fn check_accounts(
    engine: &Engine,
    accounts: &[String],
    inputs: &[String],
    json: bool,
) -> Result<(), ExitCode> {
    for account in accounts {
        check_account(engine, account, inputs, json)?;
    }
    Ok(())
}

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
                    account: account.to_string(),
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
    let accounts = destinations(&engine, &send);
    let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    if let Err(code) = check_accounts(&engine, &accounts, &inputs, send.json) {
        return code;
    }
    // File by file, destination by destination: a file's jobs start together.
    let ids = match engine.enqueue_paths_to(&paths, &accounts, "cli", force) {
        Ok(ids) => ids,
        Err(e) => return fail_usage(&e),
    };
    let pairs = inputs
        .iter()
        .flat_map(|i| accounts.iter().map(move |a| (i.clone(), a.clone())));
    let jobs = pairs
        .zip(ids.into_iter().map(Ok))
        .map(|((input, account), id)| (input, account, id))
        .collect();
    run_and_report(engine, jobs, send).await
}

pub async fn import(engine: Arc<Engine>, urls: Vec<String>, send: SendArgs) -> ExitCode {
    let accounts = destinations(&engine, &send);
    // The results name each URL without its query: a presigned link's signature is a
    // credential, and output ends up in logs and terminals' scrollback.
    let shown: Vec<String> = urls.iter().map(|u| ferry_core::redact::url(u)).collect();
    if let Err(code) = check_accounts(&engine, &accounts, &shown, send.json) {
        return code;
    }
    // Each destination downloads the URL itself (an import's bytes are not kept).
    let mut per_account = Vec::with_capacity(accounts.len());
    for account in &accounts {
        match engine.enqueue_urls(&urls, account, "cli") {
            Ok(ids) => per_account.push(ids.into_iter()),
            Err(e) => return fail_usage(&e),
        }
    }
    let mut jobs = Vec::with_capacity(urls.len() * accounts.len());
    for input in &shown {
        for (account, ids) in accounts.iter().zip(per_account.iter_mut()) {
            let id = ids.next().expect("one result per URL");
            jobs.push((input.clone(), account.clone(), id));
        }
    }
    run_and_report(engine, jobs, send).await
}

/// Exit status after Ctrl-C/SIGTERM (128 + SIGINT), as shells expect.
const INTERRUPTED: u8 = 130;

/// (input, destination, its job or why it has none).
type Queued = (String, String, ferry_core::Result<JobId>);

async fn run_and_report(engine: Arc<Engine>, jobs: Vec<Queued>, send: SendArgs) -> ExitCode {
    let ids: Vec<JobId> = jobs
        .iter()
        .filter_map(|(_, _, r)| r.as_ref().ok().copied())
        .collect();
    let several = jobs
        .iter()
        .any(|(_, a, _)| jobs.first().is_some_and(|(_, first, _)| first != a));
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
    for (input, account, id) in jobs {
        outcomes.push(outcome(&engine, &account, input, id, send.wait).await);
    }
    if send.json {
        println!("{}", serde_json::to_string_pretty(&outcomes).expect("json"));
    } else {
        for o in &outcomes {
            render::line(o, several);
        }
    }
    if !stop.is_cancelled() {
        after_batch(&engine, &outcomes);
    }
    if stop.is_cancelled() && !outcomes.iter().all(|o| o.ok) {
        ExitCode::from(INTERRUPTED)
    } else if outcomes.iter().all(|o| o.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// What the destination asks for once this batch is finished (`after_batch`,
/// `after_command`): the command runs with the links (its output shown, on stderr too
/// when `--json` keeps stdout for the document), `qr` prints a QR code of them on stderr.
/// Opening links is the desktop app's. Nothing runs when no link came back.
fn after_batch(engine: &Engine, outcomes: &[Outcome]) {
    let links: Vec<(String, String)> = outcomes
        .iter()
        .filter(|o| o.ok)
        .flat_map(|o| {
            o.media
                .iter()
                .filter_map(|m| m.url.clone())
                .map(|u| (o.account.clone(), u))
        })
        .collect();
    for plan in ferry_core::after_batch::plans(&engine.config(), &links) {
        if plan.qr {
            match ferry_core::after_batch::qr_text(&plan.links) {
                Ok((text, n)) => {
                    eprintln!("ferry: QR code of {n} link(s) to {}:", plan.account);
                    eprint!("{text}");
                }
                Err(e) => eprintln!("ferry: no QR code: {}", e.message),
            }
        }
        if let Some(cmd) = &plan.command {
            use ferry_core::after_batch::Ran;
            match ferry_core::after_batch::run_command(cmd, &plan.account, &plan.links, true) {
                Ok(Ran::Exited(0)) => {}
                Ok(Ran::Exited(code)) => {
                    eprintln!(
                        "ferry: after_command of {} exited with {code}",
                        plan.account
                    )
                }
                Ok(Ran::Killed) => eprintln!("ferry: after_command of {} was killed", plan.account),
                Ok(Ran::StillRunning) => eprintln!(
                    "ferry: after_command of {} still runs after a minute; not waiting for it",
                    plan.account
                ),
                Err(e) => eprintln!("ferry: {}", render::shown(&e.message)),
            }
        }
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
        account: account.to_string(),
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
                account: account.to_string(),
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
                account: account.to_string(),
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
    fn new(jobs: &[Queued]) -> Bars {
        let multi = MultiProgress::new();
        let style = ProgressStyle::with_template(
            "{prefix:30!} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .expect("template")
        .progress_chars("=> ");
        let mut bars: HashMap<JobId, ProgressBar> = HashMap::new();
        let several = jobs.iter().any(|(_, a, _)| a != &jobs[0].1);
        for (input, account, id) in jobs {
            if let Ok(id) = id {
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(style.clone());
                let name = std::path::Path::new(input)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| input.clone());
                let name = if several {
                    format!("{name} → {account}")
                } else {
                    name
                };
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
