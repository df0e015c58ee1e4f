//! Links to uploaded media as people paste them: a plain URL, Markdown, or HTML. Used by
//! the desktop's "copy URL" (and its setting) and available to the CLI. Also what "Open"
//! on a library item may do with its link ([`open_target`]).
//!
//! Names come from files and remote APIs, so everything put into Markdown or HTML is
//! escaped here; nothing in this module reads the clipboard or knows a screen.

use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};

/// How a link is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum CopyFormat {
    #[default]
    Plain,
    Markdown,
    Html,
}

impl CopyFormat {
    pub fn parse(s: &str) -> Result<CopyFormat> {
        match s {
            "plain" => Ok(CopyFormat::Plain),
            "markdown" => Ok(CopyFormat::Markdown),
            "html" => Ok(CopyFormat::Html),
            other => Err(Error::new(
                Code::InputInvalid,
                format!("copy format must be plain, markdown or html (got `{other}`)"),
            )),
        }
    }
}

/// The link to `url` named `name`, in `format`. Images become inline images in Markdown
/// and HTML, videos an HTML `<video>`; anything else a link.
pub fn format_link(format: CopyFormat, name: &str, url: &str, mime: Option<&str>) -> String {
    let top = mime.and_then(|m| m.split('/').next()).unwrap_or("");
    match format {
        CopyFormat::Plain => url.to_string(),
        CopyFormat::Markdown => {
            let text = markdown_text(name);
            let target = markdown_url(url);
            if top == "image" {
                format!("![{text}]({target})")
            } else {
                format!("[{text}]({target})")
            }
        }
        CopyFormat::Html => {
            let (n, u) = (html_escape(name), html_escape(url));
            match top {
                "image" => format!("<img src=\"{u}\" alt=\"{n}\">"),
                "video" => format!("<video src=\"{u}\" controls title=\"{n}\"></video>"),
                _ => format!("<a href=\"{u}\">{n}</a>"),
            }
        }
    }
}

fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '[' | ']' | '(' | ')' | '*' | '_' | '`' | '!' | '<' | '>'
        ) {
            out.push('\\');
        }
        // A name never spans lines in a link.
        out.push(if c == '\n' || c == '\r' { ' ' } else { c });
    }
    out
}

/// URLs with spaces or parentheses would end the link early: `<…>` keeps them whole.
fn markdown_url(u: &str) -> String {
    if u.contains([' ', '(', ')', '<', '>']) {
        format!("<{}>", u.replace('<', "%3C").replace('>', "%3E"))
    } else {
        u.to_string()
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What "Open" on a library item does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenTarget {
    /// An http(s) link: the browser opens it.
    Browser(String),
    /// The local library's own copy: shown in the file manager, never launched (a file
    /// Ferry stored may be anything a person dropped, or a watch folder picked up).
    Reveal(std::path::PathBuf),
}

/// Decide what opening `item` does. Only http(s) links go to the browser; a `file://` link
/// is revealed only when the local library made it (a remote API's answer must not make
/// Ferry open files on this computer); every other scheme is refused.
pub fn open_target(item: &crate::library::LibraryItem) -> Result<OpenTarget> {
    let link = item.url.as_deref().ok_or_else(|| {
        Error::new(
            Code::InputInvalid,
            format!("{} has no link (yet): {}", item.name, item.status.as_str()),
        )
    })?;
    let refused = |why: String| {
        Error::new(
            Code::InputInvalidUrl,
            format!("{} {why}, which Ferry does not open", item.name),
        )
    };
    let url = url::Url::parse(link).map_err(|_| refused("has a link that is not a URL".into()))?;
    match url.scheme() {
        "http" | "https" => Ok(OpenTarget::Browser(url.into())),
        "file" if item.provider == crate::Kind::Local => {
            let path = url
                .to_file_path()
                .map_err(|_| refused("has a file link with no local path".into()))?;
            if path.is_file() {
                Ok(OpenTarget::Reveal(path))
            } else {
                Err(Error::new(
                    Code::InputNotFound,
                    format!(
                        "{} is no longer in the library folder ({})",
                        item.name,
                        path.display()
                    ),
                ))
            }
        }
        "file" => Err(refused(format!(
            "has a file link from {}",
            item.provider.display_name()
        ))),
        other => Err(refused(format!("has a {other}: link"))),
    }
}

#[cfg(test)]
mod tests {
    use crate::library::{ItemStatus, LibraryItem};
    use crate::Kind;

    fn item(provider: Kind, url: Option<&str>) -> LibraryItem {
        LibraryItem {
            id: 1,
            account: "a".into(),
            provider,
            remote_id: "r".into(),
            name: "x.png".into(),
            mime_type: Some("image/png".into()),
            size: Some(1),
            content_hash: None,
            url: url.map(str::to_string),
            status: ItemStatus::Ready,
            created_at: chrono::Utc::now(),
            expires_at: None,
            job_id: None,
            source: None,
            thumbnail: None,
        }
    }

    #[test]
    fn open_sends_web_links_to_the_browser() {
        let i = item(Kind::Synposter, Some("https://cdn.example.com/x.png"));
        assert_eq!(
            open_target(&i).unwrap(),
            OpenTarget::Browser("https://cdn.example.com/x.png".into())
        );
    }

    #[test]
    fn open_reveals_a_local_library_file_instead_of_launching_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.png");
        std::fs::write(&file, b"x").unwrap();
        let link = url::Url::from_file_path(&file).unwrap().to_string();
        let i = item(Kind::Local, Some(&link));
        assert_eq!(open_target(&i).unwrap(), OpenTarget::Reveal(file.clone()));
        std::fs::remove_file(&file).unwrap();
        assert_eq!(open_target(&i).unwrap_err().code, Code::InputNotFound);
    }

    #[test]
    fn open_refuses_file_links_from_a_remote_provider_and_other_schemes() {
        for (provider, link) in [
            (Kind::Synposter, "file:///etc/passwd"),
            (Kind::S3, "file:///tmp/x.png"),
            (Kind::Local, "javascript:alert(1)"),
            (Kind::Fastpix, "smb://host/share/x.png"),
            (Kind::Local, "not a url"),
        ] {
            let e = open_target(&item(provider, Some(link))).unwrap_err();
            assert_eq!(e.code, Code::InputInvalidUrl, "{link}: {}", e.message);
        }
        let e = open_target(&item(Kind::Local, None)).unwrap_err();
        assert_eq!(e.code, Code::InputInvalid);
    }
    use super::*;

    #[test]
    fn plain_is_the_url_itself() {
        assert_eq!(
            format_link(
                CopyFormat::Plain,
                "a.png",
                "https://x/a.png",
                Some("image/png")
            ),
            "https://x/a.png"
        );
    }

    #[test]
    fn markdown_inlines_images_and_links_the_rest() {
        assert_eq!(
            format_link(
                CopyFormat::Markdown,
                "a.png",
                "https://x/a.png",
                Some("image/png")
            ),
            "![a.png](https://x/a.png)"
        );
        assert_eq!(
            format_link(
                CopyFormat::Markdown,
                "clip.mp4",
                "https://x/c",
                Some("video/mp4")
            ),
            "[clip.mp4](https://x/c)"
        );
    }

    #[test]
    fn markdown_escapes_brackets_in_names_and_wraps_odd_urls() {
        assert_eq!(
            format_link(
                CopyFormat::Markdown,
                "a [b].png",
                "file:///t/a (1).png",
                None
            ),
            "[a \\[b\\].png](<file:///t/a (1).png>)"
        );
    }

    #[test]
    fn html_escapes_names_and_urls() {
        assert_eq!(
            format_link(
                CopyFormat::Html,
                "<script>\".png",
                "https://x/a?b=1&c=2",
                Some("image/png")
            ),
            "<img src=\"https://x/a?b=1&amp;c=2\" alt=\"&lt;script&gt;&quot;.png\">"
        );
        assert_eq!(
            format_link(CopyFormat::Html, "doc", "https://x/d", None),
            "<a href=\"https://x/d\">doc</a>"
        );
    }

    #[test]
    fn copy_format_parses_its_three_names_only() {
        assert_eq!(CopyFormat::parse("html").unwrap(), CopyFormat::Html);
        assert_eq!(
            CopyFormat::parse("rtf").unwrap_err().code,
            Code::InputInvalid
        );
    }
}
