//! `ferry`: Ferry's engine, headless. Parses arguments, shows progress, prints results
//! (human lines or one JSON document) and maps errors to exit codes:
//! 0 all inputs succeeded, 1 at least one failed, 2 usage or configuration error.
//!
//! All behaviour lives in ferry-core; this file must stay a thin layer of presentation.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ferry_core::config::Home;
use ferry_core::transfer::{Phase, Progress, ProgressEvent};
use ferry_core::{Code, Engine, Error, Kind, RemoteMedia, SecretInput};
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

mod render;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Send media to PostSyncer, Synposter, SocialSyncer API, FastPix, S3 or a local library"
)]
struct Cli {
    /// Where Ferry keeps its config and records (default: $FERRY_HOME, else the platform's folders).
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Log what happens to stderr (-v debug, -vv trace of Ferry's own steps).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add, list, test or remove destination accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Upload files (folders expand to the files in them).
    Upload {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Import media from http(s) URLs.
    Import {
        #[arg(required = true, value_name = "URL")]
        urls: Vec<String>,
        #[command(flatten)]
        send: SendArgs,
    },
    /// What Ferry has sent (from its records), or `remote NAME` for the destination's own list.
    Library(LibraryArgs),
}

#[derive(Args)]
struct SendArgs {
    /// Destination account (default: the default account, `library`).
    #[arg(long, value_name = "NAME")]
    to: Option<String>,
    /// Wait until processing finishes (FastPix, PostSyncer videos).
    #[arg(long)]
    wait: bool,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum AccountCmd {
    /// Add an account: NAME KIND [key=value ...]; the secret comes from stdin or an env var.
    Add {
        name: String,
        kind: String,
        #[arg(value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Read the secret (API key, token, secret key) from one line of standard input
        /// and keep it in the OS keychain.
        #[arg(long, conflicts_with = "secret_env")]
        secret_stdin: bool,
        /// Read the secret from this environment variable each time it is used (headless
        /// machines); the value is never stored.
        #[arg(long, value_name = "VAR")]
        secret_env: Option<String>,
    },
    /// List accounts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a cheap authenticated call to check the account works.
    Test { name: String },
    /// Remove an account and its keychain entry.
    Remove { name: String },
}

#[derive(Args)]
struct LibraryArgs {
    #[command(subcommand)]
    remote: Option<LibraryCmd>,
    /// Only items sent to this account.
    #[arg(long, value_name = "NAME")]
    account: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum LibraryCmd {
    /// List the destination's own library, where its API has one.
    Remote {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

/// One element of `--json` output per input, in input order.
#[derive(Serialize)]
struct Outcome {
    input: String,
    ok: bool,
    media: Vec<RemoteMedia>,
    error: Option<ErrorJson>,
}

#[derive(Serialize)]
struct ErrorJson {
    code: &'static str,
    message: String,
}

impl From<&Error> for ErrorJson {
    fn from(e: &Error) -> Self {
        ErrorJson {
            code: e.code.as_str(),
            message: e.message.clone(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(run(cli))
}

fn init_logging(verbose: u8) {
    // Only Ferry's own targets: HTTP libraries at debug level could print URLs whose
    // query is a credential.
    let filter = match verbose {
        0 => "warn",
        1 => "warn,ferry_core=debug,ferry=debug",
        _ => "warn,ferry_core=trace,ferry=trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn fail_usage(e: &Error) -> ExitCode {
    eprintln!("ferry: {} [{}]", e.message, e.code);
    ExitCode::from(2)
}

async fn run(cli: Cli) -> ExitCode {
    let home = match cli
        .home
        .map(Home::at)
        .map(Ok)
        .unwrap_or_else(Home::from_env)
    {
        Ok(h) => h,
        Err(e) => return fail_usage(&e),
    };
    let engine = match Engine::open(home) {
        Ok(e) => Arc::new(e),
        Err(e) => return fail_usage(&e),
    };
    match cli.command {
        Command::Account(cmd) => account(&engine, cmd).await,
        Command::Upload { paths, send } => {
            let inputs: Vec<String> = ferry_core::expand_paths(&paths)
                .into_iter()
                .map(|p| p.display().to_string())
                .collect();
            transfer(engine, inputs, send, false).await
        }
        Command::Import { urls, send } => transfer(engine, urls, send, true).await,
        Command::Library(args) => library(&engine, args).await,
    }
}

async fn account(engine: &Engine, cmd: AccountCmd) -> ExitCode {
    match cmd {
        AccountCmd::Add {
            name,
            kind,
            options,
            secret_stdin,
            secret_env,
        } => {
            let kind = match Kind::parse(&kind) {
                Ok(k) => k,
                Err(e) => return fail_usage(&e),
            };
            let mut pairs = Vec::new();
            for o in &options {
                match o.split_once('=') {
                    Some((k, v)) if !k.is_empty() => pairs.push((k.to_string(), v.to_string())),
                    _ => {
                        return fail_usage(&Error::new(
                            Code::ConfigInvalid,
                            format!("`{o}` is not key=value"),
                        ))
                    }
                }
            }
            let secret = if secret_stdin {
                let mut line = String::new();
                if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
                    return fail_usage(&Error::new(
                        Code::ConfigInvalid,
                        format!("reading the secret from stdin: {e}"),
                    ));
                }
                SecretInput::Value(ferry_core::secrets::Secret::new(
                    line.trim_end_matches(['\r', '\n']),
                ))
            } else if let Some(var) = secret_env {
                SecretInput::Env(var)
            } else {
                SecretInput::None
            };
            match engine.account_add(&name, kind, &pairs, secret) {
                Ok(()) => {
                    println!("added account `{name}` ({kind})");
                    ExitCode::SUCCESS
                }
                Err(e) => fail_usage(&e),
            }
        }
        AccountCmd::List { json } => {
            let accounts = engine.accounts();
            if json {
                println!("{}", serde_json::to_string_pretty(&accounts).expect("json"));
            } else {
                for a in accounts {
                    let opts: Vec<String> =
                        a.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    println!(
                        "{}{}\t{}\tsecret: {}\t{}",
                        a.name,
                        if a.default { " (default)" } else { "" },
                        a.kind,
                        a.secret,
                        opts.join(" ")
                    );
                }
            }
            ExitCode::SUCCESS
        }
        AccountCmd::Test { name } => match engine.account_test(&name).await {
            Ok(()) => {
                println!("account `{name}` works");
                ExitCode::SUCCESS
            }
            Err(e) if e.code.is_configuration() => fail_usage(&e),
            Err(e) => {
                eprintln!(
                    "ferry: account `{name}` failed its test: {} [{}]",
                    e.message, e.code
                );
                ExitCode::from(1)
            }
        },
        AccountCmd::Remove { name } => match engine.account_remove(&name) {
            Ok(()) => {
                println!("removed account `{name}`");
                ExitCode::SUCCESS
            }
            Err(e) => fail_usage(&e),
        },
    }
}

async fn transfer(
    engine: Arc<Engine>,
    inputs: Vec<String>,
    send: SendArgs,
    is_import: bool,
) -> ExitCode {
    let account = send.to.clone().unwrap_or_else(|| engine.default_account());
    // Configuration problems (unknown account, no secret, locked keychain) are the same
    // for every input: report them once, exit 2.
    if let Err(e) = engine.provider(&account) {
        if send.json {
            let out: Vec<Outcome> = inputs
                .iter()
                .map(|i| Outcome {
                    input: i.clone(),
                    ok: false,
                    media: vec![],
                    error: Some((&e).into()),
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&out).expect("json"));
        }
        return fail_usage(&e);
    }
    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("ferry: cancelling…");
                cancel.cancel();
            }
        });
    }
    let bars = (!send.json && std::io::stderr().is_terminal()).then(MultiProgress::new);
    let concurrency = engine.config().settings.concurrency.max(1);
    let outcomes: Vec<Outcome> = futures_util::stream::iter(inputs)
        .map(|input| {
            let engine = engine.clone();
            let account = account.clone();
            let cancel = cancel.child_token();
            let bar = bars.as_ref().map(|m| m.add(new_bar(&input)));
            let human = !send.json;
            async move {
                let progress = progress_for(bar.clone());
                let mut ctx = engine.ctx(progress);
                ctx.cancel = cancel;
                let mut result = if is_import {
                    engine.import(&input, &account, &ctx).await
                } else {
                    engine
                        .upload(std::path::Path::new(&input), &account, &ctx)
                        .await
                };
                if send.wait {
                    if let Ok(media) = result {
                        if let Some(b) = &bar {
                            b.set_message("processing");
                        }
                        result = engine
                            .wait(&account, media, &ctx, Duration::from_secs(3600))
                            .await;
                    }
                }
                // `--wait` turns a remote processing failure into a failed input.
                if let Ok(media) = &result {
                    if let Some(m) = media
                        .iter()
                        .find(|m| m.status == ferry_core::MediaStatus::Failed)
                    {
                        result = Err(Error::new(
                            Code::ProviderProcessingFailed,
                            format!("{} failed while {} processed it", m.name, "the destination"),
                        ));
                    }
                }
                if let Some(b) = bar {
                    b.finish_and_clear();
                }
                let outcome = match result {
                    Ok(media) => Outcome {
                        input,
                        ok: true,
                        media,
                        error: None,
                    },
                    Err(e) => Outcome {
                        input,
                        ok: false,
                        media: vec![],
                        error: Some((&e).into()),
                    },
                };
                if human {
                    render::line(
                        &outcome.input,
                        outcome.ok,
                        &outcome.media,
                        outcome.error.as_ref().map(|e| (e.code, e.message.as_str())),
                    );
                }
                outcome
            }
        })
        .buffered(concurrency)
        .collect()
        .await;
    if send.json {
        println!("{}", serde_json::to_string_pretty(&outcomes).expect("json"));
    }
    let _ = std::io::stdout().flush();
    if outcomes.iter().all(|o| o.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn new_bar(input: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:30!} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    let name = std::path::Path::new(input)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| input.to_string());
    bar.set_prefix(name);
    bar.set_message("waiting");
    bar
}

fn progress_for(bar: Option<ProgressBar>) -> Progress {
    match bar {
        None => Progress::none(),
        Some(bar) => Progress::new(move |ev| match ev {
            ProgressEvent::Phase { phase } => bar.set_message(match phase {
                Phase::Preparing => "checking",
                Phase::Uploading => "",
                Phase::Processing => "processing",
            }),
            ProgressEvent::Bytes { sent, total } => {
                bar.set_length(total);
                bar.set_position(sent);
            }
            ProgressEvent::Retrying {
                attempt,
                delay_ms,
                code,
                ..
            } => bar.set_message(format!(
                "retry {attempt} in {:.1}s ({code})",
                delay_ms as f64 / 1000.0
            )),
        }),
    }
}

async fn library(engine: &Engine, args: LibraryArgs) -> ExitCode {
    match args.remote {
        Some(LibraryCmd::Remote { name, json }) => match engine.list_remote(&name).await {
            Ok(items) => {
                if json || args.json {
                    println!("{}", serde_json::to_string_pretty(&items).expect("json"));
                } else {
                    for m in &items {
                        render::media_row(m);
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) if e.code.is_configuration() || e.code == Code::ProviderUnsupported => {
                fail_usage(&e)
            }
            Err(e) => {
                eprintln!("ferry: {} [{}]", e.message, e.code);
                ExitCode::from(1)
            }
        },
        None => match engine.library(args.account.as_deref()) {
            Ok(records) => {
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&records).expect("json"));
                } else {
                    for r in &records {
                        render::record_row(r);
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail_usage(&e),
        },
    }
}
