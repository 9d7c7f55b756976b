//! Redaction: every secret value is replaced by `***` in anything a run reports, in every form
//! canary itself puts it on the wire or into a report (URL- and form-encoded, JSON- and
//! HTML-escaped, base64, and as part of a Basic-auth header).

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine;

/// The text that stands in for a secret.
pub const MASK: &str = "***";

/// The secret values of one run: `${secret:…}` values and captures marked `secret: true`, each
/// with its encoded forms.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// The canary's own secrets' forms, made once at load time and shared by its runs.
    fixed: Arc<Vec<String>>,
    /// What a run added (captured secrets, Basic-auth headers), with their forms.
    added: Vec<String>,
}

impl Redactor {
    /// A redactor for these values (empty ones are ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(&s);
        }
        Redactor {
            fixed: Arc::new(r.added),
            added: Vec::new(),
        }
    }

    /// This redactor with what was added folded into what its clones share: for a canary's own
    /// redactor, complete at load time.
    pub fn frozen(self) -> Redactor {
        let mut all = Vec::clone(&self.fixed);
        all.extend(self.added);
        Redactor {
            fixed: Arc::new(all),
            added: Vec::new(),
        }
    }

    /// Adds a secret value, e.g. a token captured during the run, and its encoded forms.
    pub fn add(&mut self, secret: &str) {
        for form in forms(secret) {
            if !self.fixed.contains(&form) && !self.added.contains(&form) {
                self.added.push(form);
            }
        }
    }

    /// Adds the `Authorization: Basic` credentials of `user` and `password` when either holds a
    /// secret: their base64 would otherwise show what the raw forms hide.
    pub fn add_basic(&mut self, user: &str, password: &str) {
        if self.masks(user) || self.masks(password) {
            let pair = format!("{user}:{password}");
            self.add(&base64::engine::general_purpose::STANDARD.encode(pair));
        }
    }

    /// True when `text` holds a secret.
    pub fn masks(&self, text: &str) -> bool {
        self.all().any(|s| text.contains(s))
    }

    /// `text` with every secret value (in every form) replaced by [`MASK`]. Overlapping
    /// secrets are masked together, so no part of either shows.
    pub fn apply(&self, text: &str) -> String {
        self.redacted(text).into_owned()
    }

    /// [`Redactor::apply`], borrowing `text` when it holds no secret.
    pub fn redacted<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut found: Vec<(usize, usize)> = Vec::new();
        for s in self.all() {
            found.extend(text.match_indices(s).map(|(i, m)| (i, i + m.len())));
        }
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        found.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in found {
            if end <= at {
                continue;
            }
            if start >= at {
                out.push_str(&text[at..start]);
                out.push_str(MASK);
            }
            at = end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    fn all(&self) -> impl Iterator<Item = &str> {
        self.fixed.iter().chain(&self.added).map(String::as_str)
    }
}

/// A secret and the forms canary may put it in: percent-encoded as a query or form value
/// (space as `+`) and as a URL component (space as `%20`), as the URL parser leaves it in a
/// URL's query and path, JSON- and HTML-escaped, and base64.
fn forms(secret: &str) -> Vec<String> {
    if secret.is_empty() {
        return Vec::new();
    }
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let component = form.replace('+', "%20");
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json[1..json.len() - 1].to_string();
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let mut all = vec![secret.to_string(), form, component, json, html, b64];
    all.extend(in_url(secret));
    let mut out: Vec<String> = Vec::new();
    for f in all {
        if !f.is_empty() && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// The secret as the URL parser writes it into a URL: as a query and a path set whole, and as
/// written into the text of a URL's query, path or password (where a `#` or `?` in it starts
/// the next part, and the parts are encoded each in its own way).
fn in_url(secret: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(mut u) = url::Url::parse("http://h/") {
        u.set_query(Some(secret));
        out.extend(u.query().map(str::to_string));
        u.set_query(None);
        u.set_path(&format!("/{secret}"));
        out.push(u.path().trim_start_matches('/').to_string());
    }
    for prefix in ["http://h/?", "http://h/"] {
        if let Ok(u) = url::Url::parse(&format!("{prefix}{secret}")) {
            out.extend(u.as_str().strip_prefix(prefix).map(str::to_string));
        }
    }
    if let Ok(u) = url::Url::parse(&format!("http://u:{secret}@h/")) {
        out.extend(u.password().map(str::to_string));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_and_overlaps_whole() {
        let r = Redactor::new(["tok".to_string(), "tok-123".to_string(), String::new()]);
        assert_eq!(r.apply("Bearer tok-123 / tok"), "Bearer *** / ***");
        assert_eq!(r.apply("nothing here"), "nothing here");
        let r = Redactor::new(["abc".to_string(), "bcd".to_string()]);
        assert_eq!(r.apply("xabcdx"), "x***x");
    }

    #[test]
    fn masks_the_forms_a_secret_takes_on_the_wire() {
        let mut r = Redactor::new(["p@ss w&rd\"/é".to_string()]);
        for form in [
            "p%40ss+w%26rd%22%2F%C3%A9",
            "p%40ss%20w%26rd%22%2F%C3%A9",
            "p@ss%20w&rd%22/%C3%A9",
            "p@ss w&amp;rd&quot;/é",
            r#"p@ss w&rd\"/é"#,
        ] {
            assert_eq!(r.apply(&format!("<{form}>")), "<***>", "{form}");
        }
        r.add_basic("u", "p@ss w&rd\"/é");
        let basic = base64::engine::general_purpose::STANDARD.encode("u:p@ss w&rd\"/é");
        assert_eq!(r.apply(&format!("Basic {basic}")), "Basic ***");
        let mut plain = Redactor::default();
        plain.add_basic("u", "not a secret");
        assert!(!plain.masks("dTpub3QgYSBzZWNyZXQ="));
    }
}
