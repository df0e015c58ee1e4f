//! Runs jobs from the journal: claims runnable ones within the global and per-account
//! limits, runs each through the engine, and commits every outcome before reporting it.
//! A job is controlled (pause, cancel) through its row, so another process — the desktop
//! app, a second `ferry` — can steer a job this process runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Event, JobId, JobStatus};
use crate::engine::Engine;
use crate::error::{Code, Error, Result};
use crate::transfer::{Phase, Progress, ProgressEvent};

/// How a run ends.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Files at once (default: the config's `concurrency`).
    pub concurrency: Option<usize>,
    /// Only these jobs (a `ferry upload`); `None` = every runnable job.
    pub scope: Option<Vec<JobId>>,
    /// Keep running and wait for new jobs (the desktop app, `ferry watch run`).
    pub forever: bool,
    /// Stop when this is cancelled (forever runs).
    pub stop: Option<CancellationToken>,
}

/// A job this process is running, and why it was stopped if it was.
pub struct Running {
    pub cancel: CancellationToken,
    pub stop: Arc<Mutex<Option<String>>>,
}

/// How many times a file that keeps changing is retried before the job fails.
const MAX_CHANGED_RETRIES: u32 = 5;
/// Wait before sending a changed file again: long enough for most writers to finish.
const CHANGED_BACKOFF: Duration = Duration::from_secs(2);
/// How long a paused or cancelled job may take to wind down before it is let go.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub async fn run(engine: &Arc<Engine>, opts: RunOptions) -> Result<()> {
    let global = opts
        .concurrency
        .unwrap_or_else(|| engine.config().settings.concurrency)
        .max(1);
    let mut tasks: JoinSet<String> = JoinSet::new();
    let mut per_account: HashMap<String, usize> = HashMap::new();
    let scope = opts.scope.as_deref();
    loop {
        if opts.stop.as_ref().is_some_and(|s| s.is_cancelled()) {
            for (_, r) in engine.running().lock().expect("running lock").iter() {
                r.cancel.cancel();
            }
            while tasks.join_next().await.is_some() {}
            return Ok(());
        }
        // Start what the limits allow.
        while tasks.len() < global {
            let busy: Vec<String> = per_account
                .iter()
                .filter(|(a, n)| **n >= engine.aimd().limit(a))
                .map(|(a, _)| a.clone())
                .collect();
            let Some(job) = engine.jobs_table().next_runnable(scope, &busy)? else {
                break;
            };
            if !engine.jobs_table().claim(job.id)? {
                continue;
            }
            *per_account.entry(job.account.clone()).or_default() += 1;
            let e = engine.clone();
            tasks.spawn(async move {
                run_job(&e, job.id).await;
                job.account
            });
        }
        if tasks.is_empty() && !opts.forever && !waiting_in_scope(engine, scope)? {
            return Ok(());
        }
        let notified = engine.notify().notified();
        tokio::select! {
            Some(done) = tasks.join_next() => {
                if let Ok(account) = done {
                    if let Some(n) = per_account.get_mut(&account) {
                        *n = n.saturating_sub(1);
                    }
                }
            }
            _ = notified => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = async { match &opts.stop { Some(s) => s.cancelled().await, None => std::future::pending().await } } => {}
        }
    }
}

/// Whether jobs in scope may still become runnable (queued, waiting for a retry, or run
/// by another process right now).
fn waiting_in_scope(engine: &Engine, scope: Option<&[JobId]>) -> Result<bool> {
    let jobs = engine.jobs_table().list(true)?;
    Ok(jobs.iter().any(|j| {
        scope.is_none_or(|s| s.contains(&j.id))
            && (matches!(j.status, JobStatus::Queued | JobStatus::WaitingRetry)
                || j.status.is_running())
    }))
}

/// Throttling state of one job's progress reports.
struct Reporter {
    last_event: Instant,
    last_write: Instant,
    window: std::collections::VecDeque<(Instant, u64)>,
    phase: Phase,
}

fn progress_for(engine: &Arc<Engine>, id: JobId, account: String) -> Progress {
    let weak = Arc::downgrade(engine);
    let state = Mutex::new(Reporter {
        last_event: Instant::now() - Duration::from_secs(1),
        last_write: Instant::now(),
        window: Default::default(),
        phase: Phase::Preparing,
    });
    Progress::new(move |ev| {
        let Some(engine) = weak.upgrade() else { return };
        let mut st = state.lock().expect("reporter lock");
        match ev {
            ProgressEvent::Phase { phase } => {
                if st.phase == phase {
                    return;
                }
                st.phase = phase;
                let status = match phase {
                    Phase::Preparing | Phase::Hashing => JobStatus::Preparing,
                    Phase::Uploading => JobStatus::Uploading,
                    Phase::Processing => JobStatus::Processing,
                };
                let _ = engine.jobs_table().set_status(id, status);
                if let Ok(job) = engine.jobs_table().get(id) {
                    // The status alone does not tell hashing from asking the server: the
                    // phase goes along as a progress event.
                    let progress = Event::JobProgress {
                        id,
                        phase,
                        bytes_sent: job.bytes_sent,
                        bytes_total: job.bytes_total.unwrap_or(0),
                        speed: 0,
                        eta_secs: None,
                    };
                    engine.emit(Event::JobChanged { job });
                    engine.emit(progress);
                }
            }
            ProgressEvent::Bytes { sent, total } => {
                let now = Instant::now();
                st.window.push_back((now, sent));
                while st.window.len() > 2 && now - st.window[0].0 > Duration::from_secs(3) {
                    st.window.pop_front();
                }
                let done = sent >= total;
                if now - st.last_write >= Duration::from_secs(1) || done {
                    st.last_write = now;
                    let _ = engine.jobs_table().set_progress(id, sent, total);
                }
                if now - st.last_event < Duration::from_millis(100) && !done {
                    return;
                }
                st.last_event = now;
                let (t0, s0) = st.window[0];
                let secs = (now - t0).as_secs_f64();
                let speed = if secs > 0.05 {
                    ((sent.saturating_sub(s0)) as f64 / secs) as u64
                } else {
                    0
                };
                let eta_secs = (speed > 0).then(|| total.saturating_sub(sent) / speed);
                engine.emit(Event::JobProgress {
                    id,
                    phase: st.phase,
                    bytes_sent: sent,
                    bytes_total: total,
                    speed,
                    eta_secs,
                });
            }
            ProgressEvent::Retrying {
                attempt,
                delay_ms,
                code,
                message,
            } => {
                if code == Code::ProviderRateLimited.as_str()
                    || code == Code::ProviderUnavailable.as_str()
                {
                    if let Some(limit) = engine.aimd().decrease(&account) {
                        engine.emit(Event::AccountConcurrency {
                            account: account.clone(),
                            limit,
                        });
                    }
                }
                engine.emit(Event::JobRetrying {
                    id,
                    attempt,
                    delay_ms,
                    code,
                    message,
                });
            }
        }
    })
}

async fn run_job(engine: &Arc<Engine>, id: JobId) {
    let job = match engine.jobs_table().get(id) {
        Ok(j) => j,
        Err(e) => {
            tracing::error!("job {id}: {}", e.message);
            return;
        }
    };
    engine.emit(Event::JobChanged { job: job.clone() });
    let cancel = CancellationToken::new();
    let stop = Arc::new(Mutex::new(None::<String>));
    engine.running().lock().expect("running lock").insert(
        id,
        Running {
            cancel: cancel.clone(),
            stop: stop.clone(),
        },
    );
    // Another process asks through the row; poll it while the job runs.
    let watcher = {
        let engine = engine.clone();
        let cancel = cancel.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if let Ok(Some(c)) = engine.jobs_table().control(id) {
                    *stop.lock().expect("stop lock") = Some(c);
                    cancel.cancel();
                    return;
                }
            }
        })
    };
    let mut ctx = engine.ctx(progress_for(engine, id, job.account.clone()));
    ctx.cancel = cancel;
    ctx.journal = Some(Arc::new(JobJournal {
        engine: Arc::downgrade(engine),
        id,
    }));
    let result = {
        let work = engine.process_job(&job, &ctx);
        tokio::pin!(work);
        let done = tokio::select! {
            r = &mut work => Some(r),
            _ = ctx.cancel.cancelled() => None,
        };
        match done {
            Some(r) => r,
            // Every step checks the token and winds down itself (keeping resume state,
            // aborting remote sessions); a step stuck on a silent peer is let go after a
            // grace period, so pause and cancel always take effect. Dropping is safe: temp
            // files and in-flight slots are released by their guards.
            None => match tokio::time::timeout(STOP_GRACE, work).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!("job {id}: did not stop within {STOP_GRACE:?}; let go");
                    Err(Error::cancelled())
                }
            },
        }
    };
    watcher.abort();
    engine.running().lock().expect("running lock").remove(&id);
    let reason = stop.lock().expect("stop lock").clone();
    if let Err(e) = finish(engine, &job, result, reason.as_deref(), &ctx).await {
        tracing::error!("job {id}: could not record its outcome: {}", e.message);
    }
}

async fn finish(
    engine: &Arc<Engine>,
    job: &super::Job,
    result: Result<(Vec<crate::providers::RemoteMedia>, bool)>,
    stop: Option<&str>,
    ctx: &crate::transfer::Ctx,
) -> Result<()> {
    let jobs = engine.jobs_table();
    match result {
        Ok((media, dedup)) => {
            jobs.succeed(job.id, &media, dedup)?;
            if let Some(limit) = engine.aimd().increase(&job.account) {
                engine.emit(Event::AccountConcurrency {
                    account: job.account.clone(),
                    limit,
                });
            }
            engine.emit(Event::JobSucceeded {
                job: jobs.get(job.id)?,
            });
            engine.emit(Event::LibraryChanged);
        }
        Err(e) if e.code == Code::Cancelled && stop == Some("pause") => {
            jobs.set_status(job.id, JobStatus::Paused)?;
            jobs.request_clear(job.id)?;
            engine.emit(Event::JobChanged {
                job: jobs.get(job.id)?,
            });
        }
        Err(e) if e.code == Code::Cancelled => {
            engine.abandon(job.id, &job.account, ctx).await;
            jobs.set_status(job.id, JobStatus::Cancelled)?;
            jobs.request_clear(job.id)?;
            engine.emit(Event::JobCancelled {
                job: jobs.get(job.id)?,
            });
        }
        Err(e) if e.code == Code::InputChanged && job.attempts < MAX_CHANGED_RETRIES => {
            let at = chrono::Utc::now()
                + chrono::Duration::from_std(CHANGED_BACKOFF).unwrap_or_default();
            jobs.fail(job.id, &e, Some(at))?;
            engine.emit(Event::JobChanged {
                job: jobs.get(job.id)?,
            });
        }
        Err(e) => {
            jobs.fail(job.id, &e, None)?;
            engine.emit(Event::JobFailed {
                job: jobs.get(job.id)?,
                code: e.code.as_str().to_string(),
                message: e.message.clone(),
                retryable: e.is_transient() || e.code == Code::InputChanged,
            });
        }
    }
    Ok(())
}

/// A job's resume state, kept in its row.
struct JobJournal {
    engine: std::sync::Weak<Engine>,
    id: JobId,
}

impl crate::transfer::Journal for JobJournal {
    fn load(&self) -> Option<serde_json::Value> {
        self.engine
            .upgrade()?
            .jobs_table()
            .resume_state(self.id)
            .ok()
            .flatten()
    }

    fn save(&self, state: &serde_json::Value) -> Result<()> {
        let engine = self
            .engine
            .upgrade()
            .ok_or_else(|| Error::new(Code::Internal, "engine gone"))?;
        engine.jobs_table().set_resume_state(self.id, Some(state))
    }
}
