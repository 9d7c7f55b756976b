//! Every shape error of a file at once (an unknown key, a value of the wrong type): serde stops
//! at the first, so after each one the entry it is in is blanked out — every other character
//! keeps its line and column — and the file is parsed again.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::error::ConfigError;

/// At most this many shape errors a file (each costs a parse).
const MAX: usize = 20;

/// `text` parsed as `T`, or every shape error found in it, in the order of the file.
pub fn parse<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, Vec<ConfigError>> {
    let first = match serde_saphyr::from_str::<T>(text) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let mut errors = vec![ConfigError::from_yaml(file, text, &first)];
    let mut current = text.to_string();
    let mut at = first.location().filter(|l| l.line() > 0);
    let mut blanked: Vec<Blank> = Vec::new();
    while let Some(loc) = at.take() {
        if errors.len() >= MAX {
            break;
        }
        // A second key in a one-key item: the whole item goes, both keys.
        let item = errors
            .last()
            .is_some_and(|e| e.message.starts_with("one key per item"));
        let (line, column) = (loc.line() as usize, loc.column() as usize);
        let Some(blank) = entry_at(&current, line, column, item) else {
            break;
        };
        current = blank.apply(&current);
        blanked.push(blank);
        if current.trim().is_empty() {
            break;
        }
        let Err(e) = serde_saphyr::from_str::<T>(&current) else {
            break;
        };
        let next = ConfigError::from_yaml(file, &current, &e);
        // What the blanking itself caused (a required key gone, an item left empty) is no error
        // of the user's; it ends the search.
        let caused = next.message.starts_with("missing field")
            || blanked
                .iter()
                .any(|b| b.touches(next.line as usize, next.column as usize))
            || e.location().is_none_or(|l| l.line() == 0);
        if caused
            || errors
                .iter()
                .any(|x| x.line == next.line && x.column == next.column)
        {
            break;
        }
        at = e.location();
        errors.push(next);
    }
    errors.sort_by_key(|e| (e.line, e.column));
    Err(errors)
}

/// A stretch of a file to blank: from (line, column) to the end of the entry, 1-based lines,
/// 0-based byte columns.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Blank {
    start: (usize, usize),
    /// Exclusive.
    end: (usize, usize),
}

impl Blank {
    /// `text` with this stretch replaced by spaces (line breaks kept).
    fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let n = i + 1;
            if n < self.start.0 || n > self.end.0 {
                out.push_str(line);
                continue;
            }
            let from = if n == self.start.0 { self.start.1 } else { 0 };
            let body = line.trim_end_matches(['\n', '\r']);
            let to = if n == self.end.0 {
                self.end.1.min(body.len())
            } else {
                body.len()
            };
            let from = from.min(to);
            out.push_str(&line[..from]);
            out.extend(std::iter::repeat_n(' ', line[from..to].chars().count()));
            out.push_str(&line[to..]);
        }
        out
    }

    /// True when (`line`, `column`: 1-based) is in the stretch, or just before it on its first
    /// line (an item's `- `).
    fn touches(&self, line: usize, column: usize) -> bool {
        let at = (line, column.saturating_sub(1));
        let from = (self.start.0, self.start.1.saturating_sub(2));
        (from..=self.end).contains(&at)
    }
}

/// The entry (a `key: value` of a mapping, or an item of a flow sequence) at `line`, `column`
/// (1-based, as serde-saphyr reports them).
fn entry_at(text: &str, line: usize, column: usize, item: bool) -> Option<Blank> {
    let lines: Vec<&str> = text.lines().collect();
    let row = lines.get(line.checked_sub(1)?)?;
    let col = byte_col(row, column.checked_sub(1)?);
    match flow_depth_at(row, col) {
        Some(open) => {
            let (s, e) = flow_entry(row, open, col)?;
            // The only entry of a flow mapping takes the mapping along (an empty one would be
            // an error of its own): it is an entry of what holds it.
            let close = closing(row, open).unwrap_or(e);
            let alone = row[open + 1..s].trim().is_empty() && row[e..close].trim().is_empty();
            if (alone || item) && row[open..].starts_with('{') {
                return entry_at(text, line, row[..open].chars().count() + 1, true);
            }
            Some(Blank {
                start: (line, s),
                end: (line, e),
            })
        }
        None if item => block_item(&lines, line),
        None => block_entry(&lines, line, col),
    }
}

/// The byte offset of the `chars`-th character of `row`.
fn byte_col(row: &str, chars: usize) -> usize {
    row.char_indices().nth(chars).map_or(row.len(), |(i, _)| i)
}

/// Where the innermost flow collection (`{` or `[`) open at `col` starts, if any.
fn flow_depth_at(row: &str, col: usize) -> Option<usize> {
    let mut open = Vec::new();
    for (i, c) in unquoted(row, 0).take_while(|(i, _)| *i < col) {
        match c {
            '#' if i == 0 || row[..i].ends_with(' ') => return None,
            '{' | '[' => open.push(i),
            '}' | ']' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.last().copied()
}

/// The entry of the flow collection opened at `open` that holds `col`: from after the previous
/// separator to the next one (included, so the collection stays well formed).
fn flow_entry(row: &str, open: usize, col: usize) -> Option<(usize, usize)> {
    let mut start = open + 1;
    for (i, c, depth) in nested(row, open) {
        match c {
            '}' | ']' if depth == 0 => return (i > col).then_some((start, i)),
            ',' if depth == 1 && i >= col => return Some((start, i + 1)),
            ',' if depth == 1 => start = i + 1,
            _ => {}
        }
    }
    None
}

/// Where the flow collection opened at `open` closes.
fn closing(row: &str, open: usize) -> Option<usize> {
    nested(row, open).find_map(|(i, c, depth)| (matches!(c, '}' | ']') && depth == 0).then_some(i))
}

/// The characters of `row` from `from` on that are outside quoted strings, with their offsets.
fn unquoted(row: &str, from: usize) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut quote = None;
    row.char_indices()
        .skip_while(move |(i, _)| *i < from)
        .filter(move |&(_, c)| match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                false
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                false
            }
            None => true,
        })
}

/// The unquoted characters of the flow collection opened at `open` (itself first), each with
/// the nesting depth after it: 1 inside the collection, 0 at its close.
fn nested(row: &str, open: usize) -> impl Iterator<Item = (usize, char, usize)> + '_ {
    let mut depth = 0usize;
    unquoted(row, open).map_while(move |(i, c)| {
        if depth == 0 && i > open {
            return None;
        }
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        Some((i, c, depth))
    })
}

/// The block entry at (`line`, `col`): the `key:` written there, the key whose value starts
/// there on its line, or the key of the lines above that holds a value starting there; with
/// every more indented line after it.
fn block_entry(lines: &[&str], line: usize, col: usize) -> Option<Blank> {
    let row = lines[line - 1];
    let key_col = key_column(row)?;
    if !is_key(&row[key_col..]) && row.trim_start().starts_with('-') {
        // An item that is no `key:` (a bare word, a number): the item.
        return block_item(lines, line);
    }
    let (line, key_col) = match is_key(&row[key_col..]) && col >= key_col {
        true => (line, key_col),
        // A value on lines of its own (a list or mapping under a key): the key above it.
        false => parent(lines, line, row.len() - row.trim_start().len())?,
    };
    let end = extent(lines, line, key_col);
    let last = lines[end - 1];
    // The only key of a `- ` item takes its dash along when the list has other items: an
    // empty item would be an error of its own (and an empty list too, so a lone item keeps it).
    let row = lines[line - 1];
    let dash = row[..key_col].trim_end().strip_suffix('-').map(str::len);
    let indent = |l: &str| l.len() - l.trim_start().len();
    let sibling_key = lines
        .get(end)
        .is_some_and(|next| indent(next) == key_col && !next.trim_start().starts_with('-'));
    let start = match dash {
        Some(d) if !sibling_key && has_other_item(lines, line, end, d) => d,
        Some(d) if !sibling_key => return whole_list(lines, line, d),
        _ => key_col,
    };
    Some(Blank {
        start: (line, start),
        end: (end, last.len()),
    })
}

/// The list (its key and all its items) whose last item starts on `line` with its dash at
/// `dash`: an empty list or item would be an error of its own, an absent one is none.
fn whole_list(lines: &[&str], line: usize, dash: usize) -> Option<Blank> {
    let (at, col) = parent(lines, line, dash)?;
    let end = extent(lines, at, col);
    Some(Blank {
        start: (at, col),
        end: (end, lines[end - 1].len()),
    })
}

/// The `- ` item that starts on `line`, all of it.
fn block_item(lines: &[&str], line: usize) -> Option<Blank> {
    let row = lines[line - 1];
    let dash = row.len() - row.trim_start().len();
    if !row[dash..].starts_with('-') {
        return None;
    }
    let end = extent(lines, line, dash);
    if !has_other_item(lines, line, end, dash) {
        return whole_list(lines, line, dash);
    }
    Some(Blank {
        start: (line, dash),
        end: (end, lines[end - 1].len()),
    })
}

/// The last line (1-based) of what starts on `line` at `col`: the lines after it that are more
/// indented (or blank, or comments), and at the same indent the items of a list under a key.
fn extent(lines: &[&str], line: usize, col: usize) -> usize {
    let mut end = line;
    while let Some(next) = lines.get(end) {
        let indent = next.len() - next.trim_start().len();
        let blank = next.trim().is_empty() || next.trim_start().starts_with('#');
        let key = !lines[line - 1][col..].starts_with('-');
        let deeper = indent > col || (key && indent == col && next.trim_start().starts_with("- "));
        if !(blank || deeper) {
            break;
        }
        end += 1;
    }
    end
}

/// True when the list whose item at `line` (to `end`) has its dash at `dash` has another item.
fn has_other_item(lines: &[&str], line: usize, end: usize, dash: usize) -> bool {
    let item = |l: &&str| {
        let i = l.len() - l.trim_start().len();
        (i == dash && l.trim_start().starts_with('-')).then_some(true)
    };
    let outside = |l: &&str| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#') && l.len() - t.len() < dash
    };
    let before = lines[..line - 1]
        .iter()
        .rev()
        .take_while(|l| !outside(l))
        .any(|l| item(l).is_some());
    let after = lines[end..]
        .iter()
        .take_while(|l| !outside(l))
        .any(|l| item(l).is_some());
    before || after
}

/// Where the key of a block line starts: after its indentation and any `- ` item markers.
fn key_column(row: &str) -> Option<usize> {
    let mut i = row.len() - row.trim_start().len();
    while row[i..].starts_with("- ") {
        i += 2;
        i += row[i..].len() - row[i..].trim_start().len();
    }
    (i < row.len()).then_some(i)
}

/// True when `s` starts with a mapping key (`name:` followed by a space or the end).
fn is_key(s: &str) -> bool {
    let s = s.trim_end();
    let key = |i: usize| i > 0 && (s[i + 1..].is_empty() || s[i + 1..].starts_with(' '));
    s.find(':').is_some_and(key) && !s.starts_with(['{', '[', '"', '\''])
}

/// The nearest key above `line` (indented by `indent`) that holds it: less indented, or as
/// indented when `line` is an item of a sequence (`key:` then `- item` below it).
fn parent(lines: &[&str], line: usize, indent: usize) -> Option<(usize, usize)> {
    let item = lines[line - 1].trim_start().starts_with('-');
    (1..line).rev().find_map(|n| {
        let row = lines[n - 1];
        let k = key_column(row)?;
        let holds = k < indent || (item && k == indent);
        (holds && is_key(&row[k..])).then_some((n, k))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_blanked_with_every_position_kept() {
        // (text, line, column of the error, the text after)
        let cases = [
            (
                "name: a\ntimout: 5s\nhttp:\n  url: x\n",
                2,
                1,
                "name: a\n          \nhttp:\n  url: x\n",
            ),
            (
                "http: { url: x, metod: GET, headers: { a: b } }\n",
                1,
                17,
                "http: { url: x,             headers: { a: b } }\n",
            ),
            (
                "assert: [ { status: 200, foo: 1 } ]\n",
                1,
                26,
                "assert: [ { status: 200,        } ]\n",
            ),
            (
                "steps:\n  - name: a\n    http:\n      - x\n    tcp: {}\n",
                4,
                7,
                "steps:\n  - name: a\n         \n         \n    tcp: {}\n",
            ),
            (
                "assert:\n  - status: 200\n  - bdy: x\n",
                3,
                5,
                "assert:\n  - status: 200\n          \n",
            ),
            ("h: { foo: 1, url: x }\n", 1, 6, "h: {         url: x }\n"),
            (
                "a: [ { foo: 1 }, { b: 2 } ]\n",
                1,
                8,
                "a: [             { b: 2 } ]\n",
            ),
            (
                "name: a\nretries: lots\n",
                2,
                10,
                "name: a\n             \n",
            ),
        ];
        for (text, line, column, after) in cases {
            let blank = entry_at(text, line, column, false).unwrap();
            assert_eq!(blank.apply(text), after, "{text:?} at {line}:{column}");
        }
    }
}
