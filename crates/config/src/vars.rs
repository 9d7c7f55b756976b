//! Resolving `${…}` at load time: `--var`, `--env-file`, `variables:`, the environment, and
//! names captured by earlier steps (left for run time).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::LoadOptions;
use super::raw::S;
use crate::template::{Source, Template, Token, tokenize};

/// What `${…}` can see while one canary is compiled.
pub struct Vars<'a> {
    opts: &'a LoadOptions,
    variables: &'a BTreeMap<String, S<String>>,
    resolved: HashMap<String, Template>,
    /// Names captured by the steps compiled so far.
    pub captures: HashSet<String>,
    /// Names captured anywhere in the canary, for a better error.
    pub all_captures: HashSet<String>,
    /// Values of `${secret:…}` references seen.
    pub secrets: Vec<String>,
}

impl<'a> Vars<'a> {
    /// A scope over the canary's `variables:` and the load options.
    pub fn new(opts: &'a LoadOptions, variables: &'a BTreeMap<String, S<String>>) -> Self {
        Vars {
            opts,
            variables,
            resolved: HashMap::new(),
            captures: HashSet::new(),
            all_captures: HashSet::new(),
            secrets: Vec::new(),
        }
    }

    /// Resolves the canary variable `name` (used to report each variable's errors at its place).
    pub fn variable(&mut self, name: &str) -> Result<(), String> {
        self.static_var(name, &mut Vec::new()).map(|_| ())
    }

    /// Resolves every static reference in `text`; captures stay for run time.
    pub fn expand(&mut self, text: &str) -> Result<Template, String> {
        let mut t = self.expand_with(text, &mut Vec::new())?;
        t.shrink_to_fit();
        Ok(t)
    }

    fn expand_with(&mut self, text: &str, stack: &mut Vec<String>) -> Result<Template, String> {
        let mut out = Template::empty();
        for token in tokenize(text)? {
            let r = match token {
                Token::Text(t) => {
                    out.push_text(&t);
                    continue;
                }
                Token::Ref(r) => r,
            };
            if r.source == Source::Var && self.captures.contains(&r.name) {
                out.push_capture(&r.name);
                continue;
            }
            if r.source == Source::Var {
                let found = self.static_var(&r.name, stack)?;
                let value = found
                    .or(r.default.map(Template::literal))
                    .ok_or_else(|| self.undefined(r.source, &r.name))?;
                out.push_template(&value);
                continue;
            }
            let value = (self.opts.env.get(&r.name).cloned())
                .or(r.default)
                .ok_or_else(|| self.undefined(r.source, &r.name))?;
            if matches!(r.source, Source::Secret | Source::Totp) {
                self.secrets.push(value.clone());
            }
            match r.source {
                Source::Totp => out.push_totp(
                    canary_model::totp::Totp::parse(&value)
                        .map_err(|e| format!("`${{totp:{}}}`: {e}", r.name))?,
                ),
                _ => out.push_text(&value),
            }
        }
        Ok(out)
    }

    fn static_var(
        &mut self,
        name: &str,
        stack: &mut Vec<String>,
    ) -> Result<Option<Template>, String> {
        if let Some(v) = self.opts.vars.get(name) {
            return Ok(Some(Template::literal(v.clone())));
        }
        if let Some(v) = self.resolved.get(name) {
            return Ok(Some(v.clone()));
        }
        let Some(raw) = self.variables.get(name) else {
            return Ok(None);
        };
        if stack.iter().any(|s| s == name) {
            return Err(format!(
                "variable `{name}` refers to itself: {} → {name}",
                stack.join(" → ")
            ));
        }
        stack.push(name.to_string());
        let value = self.expand_with(&raw.value, stack);
        stack.pop();
        let value = value?;
        self.resolved.insert(name.to_string(), value.clone());
        Ok(Some(value))
    }

    fn undefined(&self, source: Source, name: &str) -> String {
        match source {
            Source::Var if self.all_captures.contains(name) => format!(
                "`{name}` is captured by this step or a later one; a step can only use captures of the steps before it"
            ),
            Source::Var => format!(
                "undefined variable `{name}`: pass --var {name}=…, define it under `variables:`, or give a default: ${{{name}:-…}}"
            ),
            Source::Env => format!(
                "environment variable `{name}` is not set (give a default: ${{env:{name}:-…}})"
            ),
            Source::Secret | Source::Totp => {
                format!("secret `{name}` is not set: export {name}=… or put it in the --env-file")
            }
        }
    }
}
