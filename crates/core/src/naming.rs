//! Remote names from an account's `name_template` (S3 keys, local library paths):
//! parsing and checking a template when the account is added, rendering it for one
//! upload, a preview on a sample file for the account form, and recognising a name a
//! template made (so `ferry account cleanup` still knows Ferry's own S3 uploads).
//!
//! Tokens: `{yyyy}` `{mm}` `{dd}` (the day the job was queued, this machine's local
//! time), `{name}` (the file name), `{stem}`, `{ext}` (with its dot, or empty),
//! `{hash8}` (the first 8 hex digits of the content hash), `{rule}` (the watch rule's id,
//! `manual` for anything else) and `{account}`. `/` in the template makes folders.
//!
//! Nothing here touches the network or the filesystem: providers decide where a
//! rendered name goes and what happens when it is taken.

use chrono::{DateTime, Local, Utc};

use crate::error::{Code, Error, Result};
use crate::providers::Kind;

/// The option that holds an account's template.
pub const OPTION: &str = "name_template";

/// The tokens a template may use, as written.
pub const TOKENS: &[&str] = &[
    "{yyyy}",
    "{mm}",
    "{dd}",
    "{name}",
    "{stem}",
    "{ext}",
    "{hash8}",
    "{rule}",
    "{account}",
];

/// `{rule}` of an upload that no watch rule made.
pub const NO_RULE: &str = "manual";

/// Characters Windows refuses in a file name: a local library template may not hold them
/// (the library may be on Windows, or on an exFAT card that refuses them everywhere).
const WINDOWS_ILLEGAL: &[char] = &['<', '>', ':', '"', '|', '?', '*', '\\'];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Year,
    Month,
    Day,
    Name,
    Stem,
    Ext,
    Hash8,
    Rule,
    Account,
}

impl Token {
    fn parse(word: &str) -> Option<Token> {
        Some(match word {
            "yyyy" => Token::Year,
            "mm" => Token::Month,
            "dd" => Token::Day,
            "name" => Token::Name,
            "stem" => Token::Stem,
            "ext" => Token::Ext,
            "hash8" => Token::Hash8,
            "rule" => Token::Rule,
            "account" => Token::Account,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Token(Token),
}

/// A parsed, checked template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// What one upload's name is made of.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The file name as sent (sanitised: no `/`, no control characters).
    pub name: &'a str,
    /// The content hash (hex), or for a URL import sent as it downloads, a hash of the
    /// URL (see [`Facts::hash_of_url`]).
    pub hash: &'a str,
    /// The watch rule that took the file, if one did.
    pub rule: Option<&'a str>,
    pub account: &'a str,
    /// When the job was queued.
    pub queued: DateTime<Utc>,
}

impl Facts<'_> {
    /// What `{hash8}` comes from for a URL import whose bytes are sent as they download
    /// (their hash is known only afterwards): the URL's hash.
    pub fn hash_of_url(url: &str) -> String {
        blake3::hash(url.as_bytes()).to_hex().to_string()
    }
}

fn bad(template: &str, why: impl std::fmt::Display) -> Error {
    Error::new(
        Code::ConfigInvalid,
        format!("name_template `{template}` {why}"),
    )
}

impl Template {
    /// Parse and check `source` for an account of `kind`: every `{…}` is a known token,
    /// braces match, the template names each file (`{name}`, `{stem}` or `{hash8}`), and
    /// every name it can make is a safe relative path — no absolute path, no `.` or `..`
    /// folder, no empty folder name, and for the local library no character Windows
    /// refuses.
    pub fn parse(source: &str, kind: Kind) -> Result<Template> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        while let Some(c) = rest.chars().next() {
            match c {
                '{' => {
                    let end = rest.find('}').ok_or_else(|| {
                        bad(source, "has a `{` without its `}`; tokens look like {name}")
                    })?;
                    let word = &rest[1..end];
                    let token = Token::parse(word).ok_or_else(|| {
                        bad(
                            source,
                            format!(
                                "uses `{{{word}}}`, which is not a token; use {}",
                                TOKENS.join(" ")
                            ),
                        )
                    })?;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Token(token));
                    rest = &rest[end + 1..];
                }
                '}' => return Err(bad(source, "has a `}` without its `{`")),
                c => {
                    text.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        let t = Template {
            source: source.to_string(),
            pieces,
        };
        t.check(kind)?;
        Ok(t)
    }

    fn check(&self, kind: Kind) -> Result<()> {
        let src = &self.source;
        if src.trim().is_empty() {
            return Err(bad(
                src,
                "is empty; leave the option out for Ferry's own names",
            ));
        }
        if !self
            .pieces
            .iter()
            .any(|p| matches!(p, Piece::Token(Token::Name | Token::Stem | Token::Hash8)))
        {
            return Err(bad(
                src,
                "gives every file the same name; include {name}, {stem} or {hash8}",
            ));
        }
        if src.starts_with('/') || src.starts_with('\\') {
            return Err(bad(
                src,
                "is an absolute path; names are relative to the destination",
            ));
        }
        let bytes = src.as_bytes();
        if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
            return Err(bad(
                src,
                "starts with a drive letter; names are relative to the destination",
            ));
        }
        for c in src.chars() {
            if c.is_control() {
                return Err(bad(src, "holds a control character"));
            }
            if kind == Kind::Local && WINDOWS_ILLEGAL.contains(&c) {
                return Err(bad(
                    src,
                    format!(
                        "holds `{c}`, which Windows and exFAT refuse in file names; use `/` for \
                         folders and none of < > : \" | ? * \\"
                    ),
                ));
            }
        }
        // Folder by folder, as written: tokens never add a `/` (their values cannot hold
        // one), so the segments here are the segments of every name.
        for segment in self.segments() {
            let only_text: Option<String> = segment
                .iter()
                .map(|p| match p {
                    Piece::Text(t) => Some(t.as_str()),
                    Piece::Token(_) => None,
                })
                .collect();
            match only_text.as_deref() {
                Some("") => {
                    return Err(bad(
                        src,
                        "has an empty folder name (`//`, or `/` at the start or end)",
                    ))
                }
                Some("." | "..") => {
                    return Err(bad(
                        src,
                        "has a `.` or `..` folder; names stay inside the destination",
                    ))
                }
                _ => {}
            }
            if segment
                .iter()
                .all(|p| matches!(p, Piece::Token(Token::Ext)))
            {
                return Err(bad(
                    src,
                    "has a folder of only {ext}, which is empty for files without an extension",
                ));
            }
        }
        Ok(())
    }

    /// The pieces between `/`s (a text piece holding `/` is split).
    fn segments(&self) -> Vec<Vec<Piece>> {
        let mut out = vec![Vec::new()];
        for p in &self.pieces {
            match p {
                Piece::Text(t) => {
                    let mut parts = t.split('/');
                    if let Some(first) = parts.next() {
                        out.last_mut()
                            .expect("one segment")
                            .push(Piece::Text(first.into()));
                    }
                    for part in parts {
                        out.push(vec![Piece::Text(part.into())]);
                    }
                }
                token => out.last_mut().expect("one segment").push(token.clone()),
            }
        }
        // "" text pieces left by a split say nothing: drop them, keep empty segments empty.
        for seg in &mut out {
            let non_empty: Vec<Piece> = seg
                .iter()
                .filter(|p| !matches!(p, Piece::Text(t) if t.is_empty()))
                .cloned()
                .collect();
            *seg = if non_empty.is_empty() {
                vec![Piece::Text(String::new())]
            } else {
                non_empty
            };
        }
        out
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether a name needs the content hash before the upload starts.
    pub fn uses_hash(&self) -> bool {
        self.pieces.contains(&Piece::Token(Token::Hash8))
    }

    /// The name for one upload: folders joined with `/`. A token's value never holds a
    /// `/` or `\` (replaced by `_`), and a folder that would still come out empty, `.`
    /// or `..` becomes `_`.
    pub fn render(&self, f: &Facts<'_>) -> String {
        let day = f.queued.with_timezone(&Local);
        let (stem, ext) = crate::media::split_extension(f.name);
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Token(t) => {
                    let v = match t {
                        Token::Year => day.format("%Y").to_string(),
                        Token::Month => day.format("%m").to_string(),
                        Token::Day => day.format("%d").to_string(),
                        Token::Name => f.name.to_string(),
                        Token::Stem => stem.to_string(),
                        Token::Ext => ext.to_string(),
                        Token::Hash8 => f.hash.chars().take(8).collect(),
                        Token::Rule => f.rule.unwrap_or(NO_RULE).to_string(),
                        Token::Account => f.account.to_string(),
                    };
                    out.push_str(&v.replace(['/', '\\'], "_"));
                }
            }
        }
        out.split('/')
            .map(|s| match s.trim() {
                "" | "." | ".." => "_",
                _ => s,
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Whether `name` is one this template could have made for `account`: each token
    /// stands for what it can hold (`{yyyy}` four digits, `{hash8}` eight hex digits,
    /// `{name}` anything but `/`…). How cleanup tells Ferry's uploads from others'.
    pub fn matches(&self, name: &str, account: &str) -> bool {
        matches_from(&self.pieces, name, account)
    }
}

fn matches_from(pieces: &[Piece], name: &str, account: &str) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return name.is_empty();
    };
    let fixed = |len: usize, ok: fn(char) -> bool| {
        name.len() >= len
            && name.is_char_boundary(len)
            && name[..len].chars().all(ok)
            && matches_from(rest, &name[len..], account)
    };
    match first {
        Piece::Text(t) => name
            .strip_prefix(t.as_str())
            .is_some_and(|r| matches_from(rest, r, account)),
        Piece::Token(Token::Year) => fixed(4, |c| c.is_ascii_digit()),
        Piece::Token(Token::Month | Token::Day) => fixed(2, |c| c.is_ascii_digit()),
        Piece::Token(Token::Hash8) => fixed(8, |c| c.is_ascii_hexdigit()),
        Piece::Token(Token::Account) => name
            .strip_prefix(account.replace(['/', '\\'], "_").as_str())
            .is_some_and(|r| matches_from(rest, r, account)),
        Piece::Token(t) => {
            // Anything up to the next `/` (an extension: empty, or a dot and more).
            let stop = name.find('/').unwrap_or(name.len());
            (0..=stop)
                .filter(|i| name.is_char_boundary(*i))
                .filter(|i| match t {
                    Token::Ext => *i == 0 || name.starts_with('.'),
                    _ => *i > 0,
                })
                .any(|i| matches_from(rest, &name[i..], account))
        }
    }
}

/// The sample file the account form previews a template on.
pub const SAMPLE_NAME: &str = "IMG_2041.jpg";

/// What `template` makes of a sample file (`IMG_2041.jpg` queued now, by no watch
/// rule) for `account` of `kind`; the template's error when it is not valid.
pub fn preview(template: &str, kind: Kind, account: &str) -> Result<String> {
    if !supports(kind) {
        return Err(Error::new(
            Code::ConfigInvalid,
            format!(
                "{} chooses its own names; name_template is for S3 and the local library",
                kind.display_name()
            ),
        ));
    }
    let t = Template::parse(template, kind)?;
    let hash = blake3::hash(SAMPLE_NAME.as_bytes()).to_hex().to_string();
    Ok(t.render(&Facts {
        name: SAMPLE_NAME,
        hash: &hash,
        rule: None,
        account,
        queued: Utc::now(),
    }))
}

/// The destinations whose names Ferry chooses (the others' APIs name what they store).
pub fn supports(kind: Kind) -> bool {
    matches!(kind, Kind::S3 | Kind::Local)
}

/// The template in an account's options, parsed; `None` when it has none (Ferry's own
/// names).
pub fn from_options(
    options: &std::collections::BTreeMap<String, String>,
    kind: Kind,
) -> Result<Option<Template>> {
    match options.get(OPTION).map(|s| s.as_str()) {
        None | Some("") => Ok(None),
        Some(t) => Template::parse(t, kind).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn facts<'a>(name: &'a str, rule: Option<&'a str>) -> Facts<'a> {
        Facts {
            name,
            hash: "0123abcdef9999",
            rule,
            account: "photos",
            queued: Local
                .with_ymd_and_hms(2026, 3, 7, 12, 0, 0)
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn every_token_renders() {
        let t = Template::parse(
            "{account}/{yyyy}/{mm}/{dd}/{rule}/{stem}-{hash8}{ext}|{name}",
            Kind::S3,
        )
        .unwrap();
        assert_eq!(
            t.render(&facts("IMG 1.JPG", Some("w3"))),
            "photos/2026/03/07/w3/IMG 1-0123abcd.JPG|IMG 1.JPG"
        );
        assert_eq!(
            t.render(&facts("noext", None)),
            "photos/2026/03/07/manual/noext-0123abcd|noext"
        );
        assert!(t.uses_hash());
        assert!(!Template::parse("{name}", Kind::S3).unwrap().uses_hash());
    }

    #[test]
    fn token_values_never_add_folders_or_climb_out() {
        let t = Template::parse("{rule}/{name}", Kind::S3).unwrap();
        assert_eq!(t.render(&facts("a.png", Some("../x"))), ".._x/a.png");
        assert_eq!(t.render(&facts("a.png", Some(".."))), "_/a.png");
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        for (tpl, kind, says) in [
            ("{yyyy}/{nme}", Kind::S3, "`{nme}`, which is not a token"),
            ("{name", Kind::S3, "without its `}`"),
            ("name}", Kind::S3, "without its `{`"),
            ("{yyyy}/{mm}", Kind::S3, "include {name}, {stem} or {hash8}"),
            ("/{name}", Kind::S3, "absolute"),
            ("C:/{name}", Kind::S3, "drive letter"),
            ("{yyyy}//{name}", Kind::S3, "empty folder name"),
            ("{name}/", Kind::S3, "empty folder name"),
            ("../{name}", Kind::S3, "`..` folder"),
            ("a/./{name}", Kind::S3, "`..` folder"),
            ("{stem}/{ext}", Kind::S3, "only {ext}"),
            ("{yyyy}:{name}", Kind::Local, "holds `:`"),
            ("{yyyy}\\{name}", Kind::Local, "holds `\\`"),
            ("a?{name}", Kind::Local, "holds `?`"),
            ("", Kind::S3, "empty"),
        ] {
            let e = Template::parse(tpl, kind).unwrap_err();
            assert_eq!(e.code, Code::ConfigInvalid, "{tpl}");
            assert!(e.message.contains(says), "{tpl}: {}", e.message);
            assert!(e.message.contains("name_template"), "{}", e.message);
        }
        // S3 keys may hold what Windows file names may not.
        Template::parse("{yyyy}:{name}", Kind::S3).unwrap();
    }

    #[test]
    fn a_template_recognises_the_names_it_makes_and_nothing_else() {
        let t = Template::parse("{yyyy}/{mm}/{stem}-{hash8}{ext}", Kind::S3).unwrap();
        let made = t.render(&facts("clip.final.mp4", None));
        assert_eq!(made, "2026/03/clip.final-0123abcd.mp4");
        assert!(t.matches(&made, "photos"));
        assert!(t.matches("2026/03/x-deadbeef", "photos"), "no extension");
        for other in [
            "2026/03/clip-nothex!!.mp4",
            "26/03/clip-0123abcd.mp4",
            "2026/03/sub/clip-0123abcd.mp4",
            "backups/db.sql",
        ] {
            assert!(!t.matches(other, "photos"), "{other}");
        }
        let t = Template::parse("{account}/{rule}/{name}", Kind::S3).unwrap();
        assert!(t.matches("photos/w1/a.png", "photos"));
        assert!(!t.matches("others/w1/a.png", "photos"));
    }

    #[test]
    fn the_preview_renders_the_sample_file_or_says_what_is_wrong() {
        let p = preview("{account}/{stem}-{hash8}{ext}", Kind::Local, "library").unwrap();
        assert!(p.starts_with("library/IMG_2041-"), "{p}");
        assert!(p.ends_with(".jpg"), "{p}");
        let e = preview("{when}/{name}", Kind::Local, "library").unwrap_err();
        assert!(e.message.contains("{when}"), "{}", e.message);
        let e = preview("{name}", Kind::Synposter, "sp").unwrap_err();
        assert!(
            e.message.contains("S3 and the local library"),
            "{}",
            e.message
        );
    }
}
