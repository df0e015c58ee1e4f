//! `ferry settings`: show the settings, and set the proxy (its password from standard
//! input into the OS keychain, or the name of an environment variable). Presentation
//! only: checking and storing are the engine's.

use std::io::BufRead;
use std::process::ExitCode;

use clap::Subcommand;
use ferry_core::net::PasswordInput;
use ferry_core::secrets::Secret;
use ferry_core::{Code, Engine, Error};

use crate::{fail_usage, render};

#[derive(Subcommand)]
pub enum SettingsCmd {
    /// Print the settings (config.toml's [settings]); the proxy password only as where it is.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Set one setting. Keys: `proxy` (`system`, `none`, or http://, https://,
    /// socks5://, socks5h:// HOST:PORT without credentials).
    Set {
        #[arg(value_name = "KEY")]
        key: String,
        #[arg(value_name = "VALUE")]
        value: String,
        /// The proxy's user (a manual proxy only).
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Read the proxy password from one line of standard input and keep it in the OS
        /// keychain.
        #[arg(long, conflicts_with_all = ["password_env", "no_password"])]
        password_stdin: bool,
        /// Read the proxy password from this environment variable each time it is used;
        /// the value is never stored.
        #[arg(long, value_name = "VAR", conflicts_with = "no_password")]
        password_env: Option<String>,
        /// Remove the proxy password (from the keychain, and the variable's name).
        #[arg(long)]
        no_password: bool,
    },
}

pub fn run(engine: &Engine, cmd: SettingsCmd) -> ExitCode {
    match cmd {
        SettingsCmd::Show { json } => {
            let mut v = serde_json::to_value(engine.config().settings).expect("json");
            v["proxy_password"] = serde_json::Value::String(engine.proxy().password);
            if json {
                println!("{}", serde_json::to_string_pretty(&v).expect("json"));
            } else if let Some(map) = v.as_object() {
                for (k, v) in map {
                    println!("{k} = {}", render::shown(&v.to_string()));
                }
            }
            ExitCode::SUCCESS
        }
        SettingsCmd::Set {
            key,
            value,
            user,
            password_stdin,
            password_env,
            no_password,
        } => {
            if key != "proxy" {
                return fail_usage(&Error::new(
                    Code::ConfigInvalid,
                    format!(
                        "`{key}` cannot be set here; `ferry settings set` knows `proxy` (the \
                         other settings are in config.toml's [settings] and the app's Settings)"
                    ),
                ));
            }
            let password = if password_stdin {
                let mut line = String::new();
                if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
                    return fail_usage(&Error::new(
                        Code::ConfigInvalid,
                        format!("reading the proxy password from stdin: {e}"),
                    ));
                }
                PasswordInput::Value(Secret::new(line.trim_end_matches(['\r', '\n'])))
            } else if let Some(var) = password_env {
                PasswordInput::Env(var)
            } else if no_password {
                PasswordInput::Clear
            } else {
                PasswordInput::Keep
            };
            match engine.proxy_set(&value, user.as_deref(), password) {
                Ok(v) => {
                    let user = v.user.map(|u| format!(", user {u}")).unwrap_or_default();
                    println!(
                        "proxy: {}{user}, password: {}",
                        render::shown(&v.proxy),
                        v.password
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail_usage(&e),
            }
        }
    }
}
