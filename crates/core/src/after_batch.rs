//! What each destination asks for when a batch of uploads to it is finished, besides the
//! desktop's copying of links: open the links (`after_batch = "open"`), a QR code image of
//! them (`"qr"`, both: `"open,qr"`), and a command run with the links
//! (`after_command = "…"`, set only with `ferry account add` or in config.toml: the app's
//! page never sets a program to run). Parsing, planning per account, the QR code and
//! running the command live here, so the CLI and the app do the same; showing, opening
//! and the clipboard are theirs.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Code, Error, Result};

/// The account option naming the actions (`open`, `qr`).
pub const ACTIONS_OPTION: &str = "after_batch";
/// The account option holding the command line.
pub const COMMAND_OPTION: &str = "after_command";
/// Most links one batch opens: a drop of 500 files must not open 500 tabs.
pub const OPEN_MAX: usize = 10;
/// How long a command may run before Ferry stops waiting for it (it is left running).
const COMMAND_WAIT: Duration = Duration::from_secs(60);

/// One destination's share of a finished batch and what to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub account: String,
    /// Its links, in the order the uploads finished.
    pub links: Vec<String>,
    pub open: bool,
    pub qr: bool,
    pub command: Option<String>,
}

/// `after_batch`'s actions: (open, qr). Refuses anything else, naming the choices.
pub fn parse_actions(text: &str) -> Result<(bool, bool)> {
    let (mut open, mut qr) = (false, false);
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        match word.to_ascii_lowercase().as_str() {
            "open" => open = true,
            "qr" => qr = true,
            "none" => {}
            _ => {
                return Err(Error::new(
                    Code::ConfigInvalid,
                    format!(
                        "`{ACTIONS_OPTION}` has `{word}`; its actions are open (the links in \
                         the browser), qr (a QR code image of them to the clipboard), e.g. \
                         after_batch=open,qr; a command goes in after_command"
                    ),
                ))
            }
        }
    }
    Ok((open, qr))
}

/// The program and arguments of `after_command`, split as a POSIX shell would (quotes
/// and backslashes), without running a shell.
pub fn parse_command(text: &str) -> Result<Vec<String>> {
    let bad = |why: &str| {
        Error::new(
            Code::ConfigInvalid,
            format!(
                "`{COMMAND_OPTION}` = {text:?}: {why}; give a program and its arguments, e.g. \
                 after_command=\"notify-send Uploaded\" (the links are added as arguments \
                 and in FERRY_LINKS, one per line)"
            ),
        )
    };
    let words = shlex::split(text).ok_or_else(|| bad("its quotes do not close"))?;
    if words.is_empty() {
        return Err(bad("it is empty"));
    }
    Ok(words)
}

/// Check an account's after-batch options (at `account add` and when the config is read).
pub fn check_option(key: &str, value: &str) -> Result<()> {
    match key {
        ACTIONS_OPTION => parse_actions(value).map(|_| ()),
        COMMAND_OPTION => parse_command(value).map(|_| ()),
        _ => Ok(()),
    }
}

/// What to do for a finished batch: one plan per account that asks for anything, in the
/// order their first link came. `links` are (account, URL).
pub fn plans(cfg: &Config, links: &[(String, String)]) -> Vec<Plan> {
    let mut out: Vec<Plan> = Vec::new();
    for (account, url) in links {
        if let Some(p) = out.iter_mut().find(|p| &p.account == account) {
            p.links.push(url.clone());
            continue;
        }
        let Some(a) = cfg.accounts.get(account) else {
            continue;
        };
        let (open, qr) = a
            .options
            .get(ACTIONS_OPTION)
            .and_then(|t| parse_actions(t).ok())
            .unwrap_or_default();
        let command = a
            .options
            .get(COMMAND_OPTION)
            .filter(|c| !c.trim().is_empty())
            .cloned();
        out.push(Plan {
            account: account.clone(),
            links: vec![url.clone()],
            open,
            qr,
            command,
        });
    }
    out.retain(|p| p.open || p.qr || p.command.is_some());
    out
}

/// A QR code of the links (one per line), as an image: (RGBA pixels, width, height),
/// 8 pixels a module with the standard 4-module quiet zone. Links that do not all fit in
/// one code give a code of as many of the first ones as fit; the count is returned.
pub fn qr_rgba(links: &[String]) -> Result<(Vec<u8>, u32, u32, usize)> {
    let (code, n) = qr_code(links)?;
    let modules = code.width();
    let colors = code.to_colors();
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let side = (modules + 2 * QUIET) * SCALE;
    let mut rgba = vec![255u8; side * side * 4];
    for (i, c) in colors.iter().enumerate() {
        if *c != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
        for y in my * SCALE..(my + 1) * SCALE {
            for x in mx * SCALE..(mx + 1) * SCALE {
                let at = (y * side + x) * 4;
                rgba[at..at + 3].copy_from_slice(&[0, 0, 0]);
            }
        }
    }
    Ok((rgba, side as u32, side as u32, n))
}

/// The same QR code as a PNG file's bytes.
pub fn qr_png(links: &[String]) -> Result<(Vec<u8>, usize)> {
    let (rgba, w, h, n) = qr_rgba(links)?;
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbaImage::from_raw(w, h, rgba)
        .ok_or_else(|| Error::new(Code::Internal, "QR code image size"))?
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| Error::new(Code::Internal, format!("QR code PNG: {e}")))?;
    Ok((out.into_inner(), n))
}

/// The QR code for a terminal: two modules a character, dark on light.
pub fn qr_text(links: &[String]) -> Result<(String, usize)> {
    let (code, n) = qr_code(links)?;
    let modules = code.width();
    let colors = code.to_colors();
    const QUIET: usize = 2;
    let side = modules + 2 * QUIET;
    let dark = |x: usize, y: usize| {
        x >= QUIET
            && y >= QUIET
            && x < modules + QUIET
            && y < modules + QUIET
            && colors[(y - QUIET) * modules + (x - QUIET)] == qrcode::Color::Dark
    };
    let mut out = String::new();
    for y in (0..side).step_by(2) {
        for x in 0..side {
            // Light modules are drawn (terminals are mostly dark): full block = light.
            out.push(match (!dark(x, y), y + 1 < side && !dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok((out, n))
}

fn qr_code(links: &[String]) -> Result<(qrcode::QrCode, usize)> {
    for n in (1..=links.len()).rev() {
        if let Ok(code) = qrcode::QrCode::new(links[..n].join("\n").as_bytes()) {
            return Ok((code, n));
        }
    }
    Err(Error::new(
        Code::InputInvalid,
        "the link is too long for a QR code",
    ))
}

/// How a finished command went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    Exited(i32),
    /// Killed by a signal (Unix).
    Killed,
    /// Still running after [`COMMAND_WAIT`]; left to finish by itself.
    StillRunning,
}

/// Run `after_command` with the links as its last arguments and in `FERRY_LINKS` (one
/// per line), standard input empty. `inherit` shows its output on Ferry's standard error
/// (the CLI: standard output may be a JSON document); otherwise it is discarded (the app,
/// which logs how it ended). Waits at most a minute.
pub fn run_command(command: &str, account: &str, links: &[String], inherit: bool) -> Result<Ran> {
    let words = parse_command(command)?;
    let mut cmd = Command::new(&words[0]);
    cmd.args(&words[1..])
        .args(links)
        .env("FERRY_LINKS", links.join("\n"))
        .env("FERRY_ACCOUNT", account)
        .stdin(Stdio::null());
    if inherit {
        cmd.stdout(Stdio::from(std::io::stderr()));
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(
            Code::ConfigInvalid,
            format!(
                "could not run `{}` (the account {account}'s {COMMAND_OPTION}): {e}",
                words[0]
            ),
        )
    })?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Ok(status.code().map(Ran::Exited).unwrap_or(Ran::Killed));
            }
            Ok(None) if started.elapsed() < COMMAND_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => return Ok(Ran::StillRunning),
            Err(e) => return Err(Error::io(e, &words[0])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("https://cdn.example.com/media/{i:04}/photo.jpg"))
            .collect()
    }

    fn decode(rgba: &[u8], w: u32, h: u32) -> String {
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
                rgba[(y * w as usize + x) * 4]
            });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code in the image");
        grids[0].decode().expect("a readable QR code").1
    }

    #[test]
    fn the_qr_code_reads_back_as_the_links_one_per_line() {
        let (rgba, w, h, n) = qr_rgba(&links(3)).unwrap();
        assert_eq!(n, 3);
        assert_eq!(decode(&rgba, w, h), links(3).join("\n"));
        // More links than one code holds: as many of the first ones as fit.
        let many = links(200);
        let (rgba, w, h, n) = qr_rgba(&many).unwrap();
        assert!(n > 10 && n < 200, "{n}");
        assert_eq!(decode(&rgba, w, h), many[..n].join("\n"));
        let (png, _) = qr_png(&links(1)).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let (text, _) = qr_text(&links(1)).unwrap();
        assert!(text.lines().count() > 10 && text.contains('█'));
    }

    #[test]
    fn actions_and_commands_are_checked_with_what_to_write_instead() {
        assert_eq!(parse_actions("open,qr").unwrap(), (true, true));
        assert_eq!(parse_actions(" QR ").unwrap(), (false, true));
        assert_eq!(parse_actions("").unwrap(), (false, false));
        let e = parse_actions("open,tweet").unwrap_err();
        assert!(
            e.message.contains("`tweet`") && e.message.contains("after_command"),
            "{}",
            e.message
        );
        assert_eq!(
            parse_command("notify-send 'Ferry uploaded' --urgency=low").unwrap(),
            ["notify-send", "Ferry uploaded", "--urgency=low"]
        );
        assert!(parse_command("echo 'open")
            .unwrap_err()
            .message
            .contains("quotes"));
        assert!(parse_command("  ").unwrap_err().message.contains("empty"));
    }

    #[test]
    fn a_plan_per_account_that_asks_for_something_with_its_links_in_order() {
        let mut cfg = Config::default();
        let mut add = |name: &str, opts: &[(&str, &str)]| {
            cfg.accounts.insert(
                name.into(),
                crate::config::AccountConfig {
                    kind: crate::providers::Kind::Local,
                    options: opts
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    secret_env: None,
                },
            );
        };
        add("blog", &[(ACTIONS_OPTION, "open")]);
        add("s3", &[(COMMAND_OPTION, "true")]);
        add("quiet", &[]);
        let l = |a: &str, u: &str| (a.to_string(), u.to_string());
        let plans = plans(
            &cfg,
            &[
                l("s3", "s1"),
                l("quiet", "q1"),
                l("blog", "b1"),
                l("s3", "s2"),
                l("gone", "g1"),
            ],
        );
        assert_eq!(plans.len(), 2);
        assert_eq!(
            (plans[0].account.as_str(), plans[0].links.clone()),
            ("s3", vec!["s1".into(), "s2".into()])
        );
        assert_eq!(plans[0].command.as_deref(), Some("true"));
        assert!(plans[1].open && !plans[1].qr && plans[1].command.is_none());
    }

    #[cfg(unix)]
    #[test]
    fn the_command_gets_the_links_as_arguments_and_in_ferry_links() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.txt");
        let cmd = format!(
            "sh -c 'printf \"%s|\" \"$@\" > {0}; printf \"%s\" \"$FERRY_LINKS:$FERRY_ACCOUNT\" >> {0}; exit 3' sh",
            out.display()
        );
        let ran = run_command(&cmd, "blog", &links(2), false).unwrap();
        assert_eq!(ran, Ran::Exited(3));
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            got,
            format!(
                "{}|{}|{}:blog",
                links(2)[0],
                links(2)[1],
                links(2).join("\n")
            )
        );
        let e = run_command("/no/such/program", "blog", &links(1), false).unwrap_err();
        assert!(
            e.message.contains("could not run `/no/such/program`"),
            "{}",
            e.message
        );
    }
}
