//! Config errors as a person reads them, like rustc and Hurl: the message, `--> file:line:col`,
//! the source line with a caret under the culprit, and `help:` with the fix when there is one.

use std::collections::HashMap;
use std::path::PathBuf;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::{ConfigError, ConfigErrors};

/// Renders every error (then `N errors`), in colour when `color`. A file that cannot be read
/// again shows its errors without the source line.
pub fn render(errors: &ConfigErrors, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut sources: HashMap<PathBuf, Option<String>> = HashMap::new();
    all(errors, |e| {
        let text = sources
            .entry(e.file.clone())
            .or_insert_with(|| std::fs::read_to_string(&e.file).ok());
        one(&renderer, e, text.as_deref())
    })
}

/// Renders the errors of one file whose text is `text` (not read from disk), without colour.
pub fn render_with_source(errors: &ConfigErrors, text: &str) -> String {
    all(errors, |e| one(&Renderer::plain(), e, Some(text)))
}

fn all(errors: &ConfigErrors, mut each: impl FnMut(&ConfigError) -> String) -> String {
    let mut out = String::new();
    for e in &errors.0 {
        out += &each(e);
        out += "\n\n";
    }
    let n = errors.0.len();
    out + &format!("{n} error{}", if n == 1 { "" } else { "s" })
}

fn one(renderer: &Renderer, e: &ConfigError, text: Option<&str>) -> String {
    let (message, help) = e.split_help();
    let path = e.file.display().to_string();
    let line = text.and_then(|t| source_line(t, e.line));
    let title = match (e.line, line) {
        (0, _) => format!("{path}: {message}"),
        (_, None) => format!("{path}:{}:{}: {message}", e.line, e.column),
        (_, Some(_)) => message.to_string(),
    };
    let title = Level::ERROR.primary_title(title);
    let mut group = match line {
        Some(src) => title.element(
            Snippet::source(src)
                .line_start(e.line as usize)
                .path(path.as_str())
                .annotation(AnnotationKind::Primary.span(culprit(src, e.column))),
        ),
        None => Group::with_title(title),
    };
    if let Some(h) = help {
        group = group.element(Level::HELP.message(h));
    }
    renderer.render(&[group])
}

/// Line `n` (1-based) without its line end (`\n` or `\r\n`).
fn source_line(text: &str, n: u64) -> Option<&str> {
    let line = text
        .split('\n')
        .nth(usize::try_from(n).ok()?.checked_sub(1)?)?;
    Some(line.strip_suffix('\r').unwrap_or(line))
}

/// The byte range to underline: the value or key starting at `column` (1-based, in
/// characters) — a quoted string whole, a flow mapping or list to its closing bracket, a plain
/// scalar up to `: `, ` #`, flow punctuation or the line's end; at least one character.
fn culprit(line: &str, column: u64) -> std::ops::Range<usize> {
    let skip = usize::try_from(column.max(1) - 1).unwrap_or(usize::MAX);
    let Some((start, first)) = line.char_indices().nth(skip) else {
        return line.len()..line.len();
    };
    let rest = &line[start + first.len_utf8()..];
    let len = match first {
        '"' | '\'' => rest.find(first).map_or(rest.len(), |i| i + 1),
        '{' | '[' => closing(rest, first).unwrap_or(0),
        _ => rest[..plain_end(rest)].trim_end().len(),
    };
    start..start + first.len_utf8() + len
}

/// Where a plain YAML scalar ends in `rest`: at `: `, ` #`, flow punctuation, or the end.
fn plain_end(rest: &str) -> usize {
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_blank = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
        let comment = c.is_whitespace() && chars.peek().is_some_and(|(_, n)| *n == '#');
        if ",{}[]".contains(c) || (c == ':' && next_blank) || comment {
            return i;
        }
    }
    rest.len()
}

/// The length up to and including the bracket that closes `open`, on this line.
fn closing(rest: &str, open: char) -> Option<usize> {
    let close = if open == '{' { '}' } else { ']' };
    let mut depth = 1;
    for (i, c) in rest.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(i + 1);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caret_lands_under_the_culprit() {
        assert_eq!(culprit("timout: 10s", 1), 0..6);
        assert_eq!(culprit("url: http://h:8/x, b", 6), 5..17);
        assert_eq!(culprit("schedule: every minute # no", 11), 10..22);
        assert_eq!(culprit("- json: { path: $.x } # c", 9), 8..21);
        assert_eq!(culprit("  url: \"not a url\"", 8), 7..18);
        // Non-ASCII before the culprit: the column counts characters, the range is in bytes.
        assert_eq!(culprit("name: café: x", 7), 6..11);
        assert_eq!(culprit("abc", 9), 3..3);
        assert_eq!(source_line("a\r\nb\r\n", 2), Some("b"));
        assert_eq!(source_line("a\n", 3), None);
    }
}
