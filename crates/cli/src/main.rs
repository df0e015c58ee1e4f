//! `ferry`: Ferry's engine, headless. Parses arguments, shows progress, prints results
//! (human lines or one JSON document) and maps errors to exit codes:
//! 0 all inputs succeeded, 1 at least one failed, 2 usage or configuration error.
//!
//! All behaviour lives in ferry-core; this crate must stay a thin layer of presentation.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use ferry_core::config::Home;
use ferry_core::{Code, Engine, Error, Kind, SecretInput};

mod queue;
mod render;
mod send;
mod settings;
mod watch;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Send media to PostSyncer, Synposter, SocialSyncer API, FastPix, S3 or a local library"
)]
struct Cli {
    /// Where Ferry keeps its config, queue and library (default: $FERRY_HOME, else the platform's folders).
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
    /// Add, list, test, remove or clean up destination accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Upload files (folders expand to the files in them).
    Upload {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        send: SendArgs,
        /// Send even if the same bytes were already sent to this account.
        #[arg(long)]
        force: bool,
    },
    /// Import media from http(s) URLs.
    Import {
        #[arg(required = true, value_name = "URL")]
        urls: Vec<String>,
        #[command(flatten)]
        send: SendArgs,
    },
    /// The durable queue: list, pause, resume, cancel, retry, run.
    #[command(subcommand)]
    Queue(queue::QueueCmd),
    /// What Ferry has sent (from its records); `remote NAME` for the destination's own list.
    Library(LibraryArgs),
    /// Watch folders: every finished file uploaded once.
    #[command(subcommand)]
    Watch(watch::WatchCmd),
    /// Show the settings; set the proxy (`settings set proxy socks5://127.0.0.1:1080`).
    #[command(subcommand)]
    Settings(settings::SettingsCmd),
    /// Save a zip for a bug report: versions, settings, accounts without secrets, recent
    /// logs, the last jobs and their errors, watch rules, disk/keychain/database checks.
    /// Links lose their queries and secrets are removed.
    Diagnostics {
        /// Where to write the archive (default: ferry-diagnostics-DATE.zip here).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print what was written as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    /// The run's `--bwlimit`, on the commands that send.
    fn bwlimit(&self) -> Option<&str> {
        match self {
            Command::Upload { send, .. } | Command::Import { send, .. } => send.bwlimit.as_deref(),
            Command::Queue(queue::QueueCmd::Run { bwlimit, .. })
            | Command::Watch(watch::WatchCmd::Run { bwlimit, .. }) => bwlimit.as_deref(),
            _ => None,
        }
    }

    /// The accounts an upload or import names (`--to`; empty for the default account);
    /// `None` for the commands that send to any.
    fn destinations(&self) -> Option<&[String]> {
        match self {
            Command::Upload { send, .. } | Command::Import { send, .. } => Some(&send.to),
            _ => None,
        }
    }

    /// The commands that send (and so wait while the bandwidth limit is 0).
    fn sends(&self) -> bool {
        matches!(
            self,
            Command::Upload { .. }
                | Command::Import { .. }
                | Command::Queue(queue::QueueCmd::Run { .. })
                | Command::Watch(watch::WatchCmd::Run { .. })
        )
    }
}

#[derive(Args)]
pub struct SendArgs {
    /// Destination account (default: the default account, `library`). Several send each
    /// file to each of them: `--to blog,s3` or `--to blog --to s3`.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub to: Vec<String>,
    /// Wait until processing finishes (FastPix, PostSyncer videos).
    #[arg(long)]
    pub wait: bool,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Files sent at once (default: the config's `concurrency`, 8).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Most Ferry sends a second while this runs, in rclone's syntax: 4M, 512k, off, or a
    /// timetable like "08:00,512k 18:00,off" (0 = do not send then). Wins over the
    /// `bwlimit` setting.
    #[arg(long, value_name = "RATE")]
    pub bwlimit: Option<String>,
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
    /// Abort uploads Ferry started at this destination that no job owns any more.
    Cleanup { name: String },
    /// Show what a name_template makes of a sample file (IMG_2041.jpg queued now), or
    /// why it is refused: KIND is s3 or local.
    PreviewName {
        kind: String,
        template: String,
        /// The account name {account} stands for (default: `dest`).
        #[arg(long, value_name = "NAME", default_value = "dest")]
        account: String,
    },
}

#[derive(Args)]
struct LibraryArgs {
    #[command(subcommand)]
    cmd: Option<LibraryCmd>,
    /// Only items sent to this account.
    #[arg(long, value_name = "NAME")]
    account: Option<String>,
    /// Only items whose name contains this.
    #[arg(long)]
    search: Option<String>,
    /// At most this many items, newest first (default: all).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
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
    /// Poll items still processing and mark expired ones.
    Refresh {
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
    },
    /// Delete an item at its destination (where the API allows) and record it.
    Delete { id: i64 },
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
    // Ferry's own lines can quote a URL too: every line goes through the redactor.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(|| ferry_core::redact::Writer::new(std::io::stderr()))
        // Colour codes only for a person at a terminal, never into logs or pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

pub fn fail_usage(e: &Error) -> ExitCode {
    eprintln!("ferry: {} [{}]", render::shown(&e.message), e.code);
    ExitCode::from(2)
}

/// Exit 2 for configuration errors, 1 for the rest.
pub fn fail(e: &Error) -> ExitCode {
    if e.code.is_configuration() || e.code == Code::ProviderUnsupported {
        fail_usage(e)
    } else {
        eprintln!("ferry: {} [{}]", render::shown(&e.message), e.code);
        ExitCode::from(1)
    }
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
    if let Some(text) = cli.command.bwlimit() {
        if let Err(e) = engine.force_bwlimit(text) {
            return fail_usage(&e);
        }
    }
    if cli.command.sends() {
        let bandwidth = engine.bandwidth();
        if let Some(line) = render::bandwidth(&bandwidth).filter(|_| bandwidth.waiting) {
            eprintln!("ferry: {line}");
        }
        // Only the destinations this command sends to (a queue or watch run: any).
        let to = cli.command.destinations().map(|to| {
            if to.is_empty() {
                vec![engine.default_account()]
            } else {
                to.to_vec()
            }
        });
        for a in &bandwidth.accounts_waiting {
            if to.as_ref().is_none_or(|to| to.contains(&a.account)) {
                eprintln!("ferry: {}", render::account_waiting(a));
            }
        }
    }
    match cli.command {
        Command::Account(cmd) => account(&engine, cmd).await,
        Command::Upload { paths, send, force } => {
            let paths = ferry_core::expand_paths(&paths);
            send::upload(engine, paths, send, force).await
        }
        Command::Import { urls, send } => send::import(engine, urls, send).await,
        Command::Queue(cmd) => queue::run(engine, cmd).await,
        Command::Library(args) => library(&engine, args).await,
        Command::Watch(cmd) => watch::run(engine, cmd).await,
        Command::Settings(cmd) => settings::run(&engine, cmd),
        Command::Diagnostics { out, json } => diagnostics(&engine, out, json),
    }
}

fn diagnostics(engine: &Engine, out: Option<PathBuf>, json: bool) -> ExitCode {
    let out = out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "ferry-diagnostics-{}.zip",
            chrono::Local::now().format("%Y%m%d-%H%M%S")
        ))
    });
    match engine.diagnostics(&out) {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&report).expect("json"));
            } else {
                println!(
                    "wrote {} ({} entries, {} bytes): {}",
                    report.path.display(),
                    report.entries.len(),
                    report.bytes,
                    report.entries.join(", ")
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail_usage(&e),
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
                        render::shown(&opts.join(" "))
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
                    render::shown(&e.message),
                    e.code
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
        AccountCmd::PreviewName {
            kind,
            template,
            account,
        } => match Kind::parse(&kind).and_then(|k| engine.name_preview(k, &template, &account)) {
            Ok(name) => {
                println!("{}", render::shown(&name));
                ExitCode::SUCCESS
            }
            Err(e) => fail_usage(&e),
        },
        AccountCmd::Cleanup { name } => match engine.account_cleanup(&name).await {
            Ok(done) => {
                if done.is_empty() {
                    println!("nothing to clean up at `{name}`");
                }
                for d in done {
                    println!("{}", render::shown(&d));
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
    }
}

async fn library(engine: &Engine, args: LibraryArgs) -> ExitCode {
    match args.cmd {
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
            Err(e) => fail(&e),
        },
        Some(LibraryCmd::Refresh { account }) => {
            match engine.library_refresh(account.as_deref()).await {
                Ok(n) => {
                    println!("{n} item(s) changed status");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Some(LibraryCmd::Delete { id }) => match engine.library_delete(id).await {
            Ok(item) => {
                println!(
                    "deleted {} from `{}`",
                    render::shown(&item.name),
                    item.account
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        None => {
            let filter = ferry_core::library::Filter {
                account: args.account,
                search: args.search,
                limit: args.limit,
                ..Default::default()
            };
            match engine.library(&filter) {
                Ok(items) => {
                    if args.json {
                        println!("{}", serde_json::to_string_pretty(&items).expect("json"));
                    } else {
                        for i in &items {
                            render::item_row(i);
                        }
                    }
                    let _ = std::io::stdout().flush();
                    ExitCode::SUCCESS
                }
                Err(e) => fail_usage(&e),
            }
        }
    }
}

/// A token cancelled at the first Ctrl-C or SIGTERM: a stop, which interrupts (unfinished
/// uploads resume at the next start), never a cancel.
pub fn stop_on_signal() -> tokio_util::sync::CancellationToken {
    let stop = tokio_util::sync::CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("ferry: stopping; unfinished uploads resume at the next start");
        token.cancel();
    });
    stop
}

/// Become the home's runner for `queue run` / `watch run`. Another process running it is
/// a usage error (exit 2) naming it, unless `wait` — then wait until it ends (or the
/// user stops this one).
pub async fn take_home(
    engine: &Engine,
    program: &str,
    wait: bool,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<(), ExitCode> {
    let mut told = false;
    loop {
        match engine.take_home(program) {
            Ok(ferry_core::Taken::Owner { resumed }) => {
                if resumed > 0 {
                    eprintln!("ferry: resuming {resumed} interrupted job(s)");
                }
                return Ok(());
            }
            Ok(ferry_core::Taken::HeldBy(h)) if wait => {
                if !told {
                    eprintln!(
                        "ferry: waiting for {} to stop running this home…",
                        h.describe()
                    );
                    told = true;
                }
            }
            Ok(ferry_core::Taken::HeldBy(h)) => {
                return Err(fail_usage(&ferry_core::queue::owner::in_use(&h)))
            }
            Err(e) => return Err(fail(&e)),
        }
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
        }
    }
}

/// Progress bars only on a terminal, and never with --json.
pub fn use_bars(json: bool) -> bool {
    !json && std::io::stderr().is_terminal()
}

#[cfg(unix)]
pub async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
pub async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use ferry_core::config::Settings;

    #[test]
    fn the_concurrency_help_and_the_readme_state_the_configs_defaults() {
        let defaults = Settings::default();
        let cli = super::Cli::command();
        let upload = cli.find_subcommand("upload").expect("upload");
        let help = upload
            .get_arguments()
            .find(|a| a.get_id() == "concurrency")
            .and_then(|a| a.get_help())
            .map(|h| h.to_string())
            .expect("--concurrency has help");
        assert!(
            help.contains(&format!("`concurrency`, {})", defaults.concurrency)),
            "{help}"
        );
        let readme = include_str!("../../../README.md");
        let said = format!(
            "{} files at once, at most {} per account",
            defaults.concurrency, defaults.per_account
        );
        assert!(readme.contains(&said), "README should say: {said}");
    }
}
