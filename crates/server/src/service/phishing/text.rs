//! Report text as stored: plain, bounded, with no markup left in it.

/// Bounded plain text for storage: HTML tags, scripts and styles removed, common
/// entities decoded, control characters dropped, cut at a character boundary.
pub fn plain_text(s: &str, max_bytes: usize) -> String {
    // Only documents that use HTML markup lose their tags: `Name <addr@x>` is text.
    const MARKERS: [&str; 14] = [
        "<html",
        "<body",
        "<head",
        "<p>",
        "<p ",
        "<div",
        "<a ",
        "<br",
        "<table",
        "<span",
        "<img",
        "<font",
        "<script",
        "<!doctype",
    ];
    let lower = s.to_ascii_lowercase();
    let looks_html = MARKERS.iter().any(|m| lower.contains(m));
    let text = if looks_html {
        strip_tags(s)
    } else {
        s.to_owned()
    };
    let mut out = String::with_capacity(text.len().min(max_bytes));
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            continue;
        }
        if out.len() + c.len_utf8() > max_bytes {
            break;
        }
        out.push(c);
    }
    out.trim().to_owned()
}

/// A header-like value: control characters dropped, bounded.
pub(super) fn one_line(s: &str, max_bytes: usize) -> String {
    let mut out = String::new();
    for c in s.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max_bytes {
            break;
        }
        out.push(c);
    }
    out.trim().to_owned()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let lower = s.to_ascii_lowercase();
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let rest = &lower[i..];
            let skip_to = if rest.starts_with("<script") {
                rest.find("</script").map(|e| i + e)
            } else if rest.starts_with("<style") {
                rest.find("</style").map(|e| i + e)
            } else if rest.starts_with("<!--") {
                rest.find("-->").map(|e| i + e + 2)
            } else {
                Some(i)
            };
            let Some(from) = skip_to else { break }; // an unclosed script or style: drop the rest
            match lower[from..].find('>') {
                Some(e) => {
                    let tag = &lower[i..(from + e).min(lower.len())];
                    if tag.starts_with("<br")
                        || tag.starts_with("<p")
                        || tag.starts_with("</p")
                        || tag.starts_with("<div")
                        || tag.starts_with("</div")
                    {
                        out.push('\n');
                    }
                    i = from + e + 1;
                }
                None => {
                    out.push_str(&s[i..]);
                    break;
                }
            }
            continue;
        }
        let next = lower[i..].find('<').map_or(bytes.len(), |e| i + e);
        out.push_str(&s[i..next]);
        i = next;
    }
    // `&lt;` and `&gt;` stay encoded, so no markup comes back out of the text.
    out.replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_is_plain_and_bounded() {
        let html = "<html><head><style>p{}</style></head><body><p>Pay now</p><script>x()</script>\
                    <a href=\"https://evil.example\">here</a> &amp; &lt;b&gt;</body></html>";
        let t = plain_text(html, 1000);
        assert!(t.contains("Pay now") && t.contains("here"), "{t}");
        assert!(
            !t.contains('<') && !t.contains("x()") && !t.contains("p{}"),
            "{t}"
        );
        assert!(t.contains("& &lt;b&gt;"), "{t}");
        assert_eq!(
            plain_text("From Netflix <billing@x.example>: pay\u{0}", 1000),
            "From Netflix <billing@x.example>: pay"
        );
        assert_eq!(plain_text("ééé", 5), "éé");
        assert_eq!(one_line("Subject\r\nBcc: x", 100), "SubjectBcc: x");
    }
}
