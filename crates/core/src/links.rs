//! Links to uploaded media as people paste them: a plain URL, Markdown, or HTML. Used by
//! the desktop's "copy URL" (and its setting) and available to the CLI.
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

#[cfg(test)]
mod tests {
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
