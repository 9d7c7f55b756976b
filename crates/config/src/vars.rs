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
    resolved: HashMap<String, String>,
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
            let found = match r.source {
                Source::Var => self.static_var(&r.name, stack)?,
                Source::Env | Source::Secret => self.opts.env.get(&r.name).cloned(),
            };
            let value = found
                .or(r.default)
                .ok_or_else(|| self.undefined(r.source, &r.name))?;
            if r.source == Source::Secret {
                self.secrets.push(value.clone());
            }
            out.push_text(&value);
        }
        Ok(out)
    }

    fn static_var(
        &mut self,
        name: &str,
        stack: &mut Vec<String>,
    ) -> Result<Option<String>, String> {
        if let Some(v) = self.opts.vars.get(name).or_else(|| self.resolved.get(name)) {
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
        let value = value?.as_static().unwrap_or_default();
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
            Source::Secret => {
                format!("secret `{name}` is not set: export {name}=… or put it in the --env-file")
            }
        }
    }
}
