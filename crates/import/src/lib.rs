//! Turning other tools' checks into canary files: what cannot be carried over becomes a comment
//! in the file and a warning, never a silent drop.

// The crates below this one, reached as `crate::…` like this crate's own modules.
use canary_model::{canary, text};

pub mod curl;
pub mod har;
pub mod recorder;
pub mod synthetics;

use std::fmt::Write;

/// What went wrong reading the file to import.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON.
    #[error("{path} is not JSON: {source}")]
    Json {
        /// The file.
        path: String,
        /// Where and why.
        source: serde_json::Error,
    },
    /// JSON, but not the format.
    #[error("{0}")]
    Format(String),
}

/// An imported canary: its YAML, and the warnings about what did not carry over.
#[derive(Debug, Default)]
pub struct Imported {
    /// The canary file.
    pub yaml: String,
    /// One line for each thing without an equivalent (each is a `# NOTE:` comment in `yaml` too).
    pub warnings: Vec<String>,
}

/// A canary file being written: lines at an indent, notes as comments and warnings.
#[derive(Debug, Default)]
pub struct Writer {
    out: Imported,
}

impl Writer {
    /// Writes `text` indented by `indent` levels (two spaces each).
    pub fn line(&mut self, indent: usize, text: impl AsRef<str>) {
        let _ = writeln!(self.out.yaml, "{}{}", "  ".repeat(indent), text.as_ref());
    }

    /// A comment only.
    pub fn comment(&mut self, indent: usize, text: impl AsRef<str>) {
        self.line(indent, format!("# {}", text.as_ref()));
    }

    /// Something without an equivalent: a `# NOTE:` comment here, and a warning naming `place`.
    pub fn note(&mut self, indent: usize, place: &str, text: impl AsRef<str>) {
        self.comment(indent, format!("NOTE: {}", text.as_ref()));
        self.out
            .warnings
            .push(format!("{place}: {}", text.as_ref()));
    }

    /// The file and its warnings.
    pub fn finish(self) -> Imported {
        self.out
    }
}

/// A string as a YAML scalar: bare when that reads back as the same string, else double-quoted
/// (JSON's escapes are YAML's), so it is safe in block and flow context alike.
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    match plain {
        true => s.to_string(),
        false => serde_json::to_string(s).unwrap_or_default(),
    }
}

/// Reads the JSON file at `path` (the errors name it).
pub fn read_json(path: &std::path::Path) -> Result<serde_json::Value, ImportError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: shown.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ImportError::Json {
        path: shown,
        source,
    })
}

/// Writes `headers:` at `indent` with each header (a credential as a `${secret:…}` reference,
/// with a note saying which to set) and then the `extra` lines.
pub fn write_headers<'a>(
    w: &mut Writer,
    indent: usize,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    extra: Vec<String>,
) {
    let (mut lines, mut secrets) = (Vec::new(), Vec::new());
    for (k, v) in headers {
        match secret_name(k) {
            Some(secret) => {
                lines.push(format!("{}: \"${{secret:{secret}}}\"", scalar(k)));
                secrets.push((k, secret));
            }
            None => lines.push(format!("{}: {}", scalar(k), scalar(v))),
        }
    }
    lines.extend(extra);
    if !lines.is_empty() {
        w.line(indent, "headers:");
        for l in lines {
            w.line(indent + 1, l);
        }
    }
    for (header, secret) in secrets {
        let why = format!("the value is read from the {secret} secret, not kept in the file");
        w.note(indent + 1, header, why);
    }
}

/// An environment variable's name from any text: `api-credentials:client_id` →
/// `API_CREDENTIALS_CLIENT_ID`.
pub fn env_name(reference: &str) -> String {
    let mut name: String = reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// A header that carries a credential, as the name of the secret that replaces its value.
pub fn secret_name(header: &str) -> Option<String> {
    let h = header.to_ascii_lowercase();
    let sensitive = matches!(
        h.as_str(),
        "authorization" | "cookie" | "proxy-authorization"
    ) || h.contains("api-key")
        || h.contains("apikey")
        || h.contains("token");
    sensitive.then(|| header.to_ascii_uppercase().replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::scalar;

    #[test]
    fn scalars_read_back_as_written() {
        assert_eq!(scalar("GET"), "GET");
        assert_eq!(scalar("api.example.test"), "api.example.test");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("200"), "\"200\"");
        assert_eq!(scalar("${baseUrl}/x"), "\"${baseUrl}/x\"");
        assert_eq!(scalar("a: b # c"), "\"a: b # c\"");
        assert_eq!(scalar("line\nbreak"), "\"line\\nbreak\"");
    }
}
