//! Redaction: every secret value is replaced by `***` in anything a run reports.

/// The text that stands in for a secret.
pub const MASK: &str = "***";

/// The secret values of one run: `${secret:…}` values and captures marked `secret: true`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for these values (empty ones are ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(s);
        }
        r
    }

    /// Adds a secret value, e.g. a token captured during the run.
    pub fn add(&mut self, secret: String) {
        if !secret.is_empty() && !self.secrets.contains(&secret) {
            self.secrets.push(secret);
            // Longest first, so a secret that contains another is masked whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `text` with every secret value replaced by [`MASK`].
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let r = Redactor::new(["tok".to_string(), "tok-123".to_string(), String::new()]);
        assert_eq!(r.apply("Bearer tok-123 / tok"), "Bearer *** / ***");
        assert_eq!(r.apply("nothing here"), "nothing here");
    }
}
