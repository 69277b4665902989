//! HTML-only mail to readable text: block elements and `<br>` become line breaks, scripts,
//! styles and comments vanish, entities are decoded, and everything else (backslashes in
//! `\\fs01\share` included) is kept exactly as written.

/// Converts an HTML body to plain text.
pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skip_until: Option<&'static str> = None;
    let mut pre = 0usize;
    while !rest.is_empty() {
        if let Some(end) = skip_until {
            match find_ci(rest, end) {
                Some(i) => {
                    rest = &rest[i..];
                    skip_until = None;
                }
                None => break,
            }
            continue;
        }
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        if rest.starts_with('<') {
            let Some(close) = rest.find('>') else {
                text(&mut out, rest, pre > 0);
                break;
            };
            let tag = &rest[1..close];
            rest = &rest[close + 1..];
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            match name.as_str() {
                "style" | "script" | "head" | "title" if !closing => {
                    skip_until = Some(match name.as_str() {
                        "style" => "</style",
                        "script" => "</script",
                        "head" => "</head",
                        _ => "</title",
                    });
                }
                "br" => out.push('\n'),
                "pre" => {
                    pre = if closing {
                        pre.saturating_sub(1)
                    } else {
                        pre + 1
                    };
                    newline(&mut out);
                }
                "li" if !closing => {
                    newline(&mut out);
                    out.push('・');
                }
                "td" | "th" if closing => out.push('\t'),
                "p" | "div" | "tr" | "table" | "ul" | "ol" | "li" | "h1" | "h2" | "h3" | "h4"
                | "h5" | "h6" | "blockquote" | "hr" | "address" | "section" | "article"
                | "header" | "footer" | "dl" | "dt" | "dd" => newline(&mut out),
                _ => {}
            }
            continue;
        }
        let next = rest.find(['<']).unwrap_or(rest.len());
        text(&mut out, &rest[..next], pre > 0);
        rest = &rest[next..];
    }
    tidy(&out)
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn newline(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Appends text content: whitespace runs collapse to one space outside `<pre>`.
fn text(out: &mut String, s: &str, pre: bool) {
    let decoded = entities(s);
    if pre {
        out.push_str(&decoded);
        return;
    }
    for c in decoded.chars() {
        if c == '\u{a0}' {
            out.push(' ');
        } else if c.is_ascii_whitespace() {
            if !(out.is_empty() || out.ends_with([' ', '\n'])) {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

/// Decodes character references: the common named ones and all numeric ones.
fn entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(';').map(|j| j + 1).filter(|j| *j <= 12);
        let decoded = end.and_then(|j| {
            let name = &rest[1..j];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                "yen" => Some('¥'),
                "copy" => Some('©'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, j))
        });
        match decoded {
            Some((c, j)) => {
                out.push(c);
                rest = &rest[j + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Trims spaces at line ends and keeps at most one empty line in a row.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim_end();
        // The space a collapsed line break left; indentation (two or more) is kept.
        let line = if line.starts_with("  ") {
            line
        } else {
            line.strip_prefix(' ').unwrap_or(line)
        };
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn blocks_become_lines_and_markup_disappears() {
        let html = r#"<html><head><style>p{color:red}</style><title>t</title></head><body>
<div>お疲れ様です。</div><div><br></div><div>共有フォルダ <b>\\fs01\share\new</b> に&nbsp;入れません。</div>
<p class=MsoNormal>よろしく&amp;お願いします&#12290;</p><!-- comment --><script>alert(1)</script>
<ul><li>一つ目</li><li>二つ目</li></ul></body></html>"#;
        assert_eq!(
            to_text(html),
            "お疲れ様です。\n\n共有フォルダ \\\\fs01\\share\\new に 入れません。\nよろしく&お願いします。\n・一つ目\n・二つ目"
        );
    }

    #[test]
    fn pre_keeps_its_spacing_and_broken_markup_loses_nothing() {
        assert_eq!(to_text("<pre>a  b\n  c</pre>"), "a  b\n  c");
        assert_eq!(to_text("a &bogus; b < c"), "a &bogus; b < c");
    }
}
