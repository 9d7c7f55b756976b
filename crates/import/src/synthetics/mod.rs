//! `canary import synthetics`: a CloudWatch Synthetics *multi checks blueprint* configuration
//! (`globalSettings`, `variables`, numbered `steps` of HTTP, DNS, SSL and TCP checks) as one
//! multi-step canary. `${AWS_SECRET:name[:key]}` becomes `${secret:NAME[_KEY]}`.

mod assertions;
mod checks;
mod json;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::{ImportError, Imported, Writer, env_name, scalar};
use json::Obj;

/// The Synthetics default step timeout, in milliseconds.
const DEFAULT_STEP_TIMEOUT_MS: u64 = 30_000;

/// What every step needs to know while it is written.
struct Ctx<'a> {
    /// The configuration's variables, for numbers written as `${name}`.
    vars: &'a serde_json::Map<String, Value>,
    /// Environment names of the secrets referred to.
    secrets: BTreeSet<(String, String)>,
    /// `globalSettings.userAgent`, sent by HTTP steps.
    user_agent: Option<String>,
    /// `globalSettings.stepTimeout`.
    step_timeout_ms: u64,
}

/// Imports the configuration in `path` as a canary named `name` (default: the file's stem).
pub fn import(path: &Path, name: Option<&str>) -> Result<Imported, ImportError> {
    let shown = path.display().to_string();
    let doc = super::read_json(path)?;
    let stem = path
        .file_stem()
        .map_or("imported".into(), |s| s.to_string_lossy().into_owned());
    let file = path
        .file_name()
        .map_or(shown.clone(), |f| f.to_string_lossy().into_owned());
    convert(&doc, name.unwrap_or(&stem), &file)
}

/// Converts a parsed configuration; `file` is named in the header comment.
pub fn convert(doc: &Value, name: &str, file: &str) -> Result<Imported, ImportError> {
    let root = Obj::new(doc, "the configuration")?;
    let empty = serde_json::Map::new();
    let vars = match root.get("variables") {
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(ImportError::Format(
                "`variables` must be an object of strings".into(),
            ));
        }
        None => &empty,
    };
    let global = match root.get("globalSettings") {
        Some(g) => Some(Obj::new(g, "globalSettings")?),
        None => None,
    };
    let mut ctx = Ctx {
        vars,
        secrets: BTreeSet::new(),
        user_agent: global.as_ref().and_then(|g| g.text("userAgent")),
        step_timeout_ms: DEFAULT_STEP_TIMEOUT_MS,
    };
    if let Some(g) = &global {
        ctx.step_timeout_ms = g
            .number("stepTimeout", vars)?
            .map_or(DEFAULT_STEP_TIMEOUT_MS, |n| n as u64);
    }
    let steps = ordered_steps(&root)?;

    let mut body = Writer::default();
    write_variables(&mut body, vars, &mut ctx);
    body.line(0, "steps:");
    let mut total_ms = 0;
    for (key, step) in &steps {
        total_ms += checks::step(&mut body, key, step, &mut ctx)?;
    }
    if let Some(g) = &global {
        for k in g.rest() {
            body.note(
                0,
                "globalSettings",
                format!("`{k}` has no equivalent and was left out"),
            );
        }
    }
    for k in root.rest() {
        body.note(
            0,
            "the configuration",
            format!("`{k}` has no equivalent and was left out"),
        );
    }
    let body = body.finish();

    let mut head = Writer::default();
    head.comment(
        0,
        format!("Imported by `canary import synthetics` from {file}, a CloudWatch Synthetics"),
    );
    head.comment(
        0,
        "multi checks configuration: one step per check, in their order.",
    );
    if !ctx.secrets.is_empty() {
        head.comment(
            0,
            "Its secrets are read from the environment (or --env-file):",
        );
        for (env, aws) in &ctx.secrets {
            head.comment(0, format!("  {env}  (AWS Secrets Manager: {aws})"));
        }
    }
    head.line(0, format!("name: {}", scalar(name)));
    // The steps' own timeouts bind; the canary's allows all of them (at most an hour).
    head.line(0, format!("timeout: {}", millis(total_ms.min(3_600_000))));
    let mut out = head.finish();
    out.yaml.push_str(&body.yaml);
    out.warnings.extend(body.warnings);
    Ok(out)
}

/// `steps`, ordered by their number ("1" to "10").
fn ordered_steps<'a>(root: &Obj<'a>) -> Result<Vec<(String, &'a Value)>, ImportError> {
    let Some(Value::Object(steps)) = root.get("steps") else {
        return Err(ImportError::Format(
            "the configuration has no `steps` object: it is not a multi checks configuration"
                .into(),
        ));
    };
    let mut out = Vec::new();
    for (k, v) in steps {
        let n: u32 = k.parse().map_err(|_| {
            ImportError::Format(format!("step key `{k}` is not a number from 1 to 10"))
        })?;
        out.push((n, k.clone(), v));
    }
    if out.is_empty() {
        return Err(ImportError::Format(
            "`steps` is empty: give at least one step".into(),
        ));
    }
    out.sort_by_key(|(n, _, _)| *n);
    Ok(out.into_iter().map(|(_, k, v)| (k, v)).collect())
}

fn write_variables(w: &mut Writer, vars: &serde_json::Map<String, Value>, ctx: &mut Ctx) {
    if vars.is_empty() {
        return;
    }
    w.line(0, "variables:");
    for (k, v) in vars {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        w.line(
            1,
            format!("{}: {}", scalar(k), scalar(&ctx.secret_refs(&text))),
        );
    }
}

impl Ctx<'_> {
    /// `text` with each `${AWS_SECRET:name[:key]}` as `${secret:NAME[_KEY]}`.
    fn secret_refs(&mut self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${AWS_SECRET:") {
            out.push_str(&rest[..at]);
            let after = &rest[at + "${AWS_SECRET:".len()..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[at..]);
                return out;
            };
            let reference = &after[..end];
            let env = env_name(reference);
            self.secrets.insert((env.clone(), reference.to_string()));
            out.push_str(&format!("${{secret:{env}}}"));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A string value as a YAML scalar, secrets converted.
    fn text(&mut self, s: &str) -> String {
        scalar(&self.secret_refs(s))
    }
}

/// Milliseconds as a canary duration.
fn millis(ms: u64) -> String {
    match ms % 1000 {
        0 => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references_become_environment_names() {
        assert_eq!(env_name("api-credentials"), "API_CREDENTIALS");
        assert_eq!(env_name("oauth-creds:client_id"), "OAUTH_CREDS_CLIENT_ID");
        let vars = serde_json::Map::new();
        let mut ctx = Ctx {
            vars: &vars,
            secrets: BTreeSet::new(),
            user_agent: None,
            step_timeout_ms: 1,
        };
        assert_eq!(
            ctx.secret_refs("Bearer ${AWS_SECRET:tok} and ${AWS_SECRET:db:password}"),
            "Bearer ${secret:TOK} and ${secret:DB_PASSWORD}"
        );
        assert_eq!(millis(15_000), "15s");
        assert_eq!(millis(1500), "1500ms");
    }
}
