//! The project file (`.canary.yaml`): what a team states once for all its canaries — the alarm
//! names' prefix and owner, the default alarms and alerting, channels, and maintenance windows.

use schemars::JsonSchema;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::LoadOptions;
use super::alarms::AlarmPatch;
use super::alerting::{AlertingPatch, RawChannel};
use super::compiler::Compiler;
use super::error::{ConfigError, ConfigErrors};
use super::maintenance::{Covering, RawWindow};
use super::raw::{RawAlarm, RawAlerting, S};
use crate::canary::alerting::Channel;

/// The project file's name, looked for in the current folder. Hidden, so never loaded as a canary.
pub const FILE: &str = ".canary.yaml";

/// The project file as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    /// The project's name: tags the alarms it manages (`canary:project`), so two projects can
    /// share a CloudWatch namespace without touching each other's alarms. Default `canary`.
    pub project: Option<S<String>>,
    /// Put before every alarm's name: `<prefix><canary>-<alarm>`. Default `canary-`.
    pub alarm_prefix: Option<S<String>>,
    /// What every canary gets unless it says otherwise.
    #[serde(default)]
    pub defaults: RawDefaults,
    /// Notification channels by name, chosen per canary in `alerting.notify`.
    #[serde(default)]
    pub notify: BTreeMap<String, S<RawChannel>>,
    /// YAML files in the canary folders that are not canaries, as globs relative to this file's
    /// folder: `[ "monitoring/rules.yml", "**/k8s/**" ]` (`*` stays within a folder, `**`
    /// crosses folders).
    #[serde(default)]
    #[schemars(extend("examples" = [["rules/*.yml", "**/k8s/**"]]))]
    pub exclude: Vec<S<String>>,
    /// Maintenance windows: the canaries they cover run and are recorded, but change no alert
    /// state and notify nobody; one still failing when its window closes alerts then.
    #[serde(default)]
    pub maintenance: Vec<S<RawWindow>>,
    /// Where the project's runners run (their `--location`s), e.g. `[eu-west-1, us-east-1]`:
    /// every alarm then watches each location's series, and fires when its `locations: N of M`
    /// agree (default `1 of M`).
    #[serde(default)]
    #[schemars(extend("examples" = [["eu-west-1", "us-east-1", "ap-southeast-2"]]))]
    pub locations: Vec<S<String>>,
}

/// `defaults:` of the project file.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// Alarms every canary gets (a canary changes one by naming it, or opts out with `alarms: []`).
    #[serde(default)]
    pub alarms: Vec<S<RawAlarm>>,
    /// The runner's alert policy for every canary (a canary changes it field by field).
    pub alerting: Option<S<RawAlerting>>,
}

/// The project, compiled.
#[derive(Debug, Clone)]
pub struct Project {
    /// Where it was read from (None: no project file, all defaults).
    pub file: Option<PathBuf>,
    /// The owner tag of the alarms.
    pub name: String,
    /// The alarm names' prefix.
    pub alarm_prefix: String,
    /// The default alarms, checked complete.
    pub default_alarms: Vec<AlarmPatch>,
    /// The default alert policy.
    pub default_alerting: Option<AlertingPatch>,
    /// The notification channels.
    pub channels: Vec<Channel>,
    /// Secret values the project file uses (webhook keys, Slack URLs), redacted everywhere.
    pub secrets: Vec<String>,
    /// Files a folder of canaries leaves out (`exclude:`), relative to the project's folder.
    pub exclude: Vec<glob::Pattern>,
    /// The maintenance windows, and what each covers.
    pub maintenance: Vec<Covering>,
    /// Where the project's runners run (`locations:`), in the file's order.
    pub locations: Vec<String>,
}

impl Project {
    /// The names of the notification channels.
    pub fn channel_names(&self) -> Vec<String> {
        self.channels.iter().map(|c| c.name.clone()).collect()
    }
}

impl Default for Project {
    fn default() -> Project {
        Project {
            file: None,
            name: "canary".into(),
            alarm_prefix: "canary-".into(),
            default_alarms: Vec::new(),
            default_alerting: None,
            channels: Vec::new(),
            secrets: Vec::new(),
            exclude: Vec::new(),
            maintenance: Vec::new(),
            locations: Vec::new(),
        }
    }
}

impl Project {
    /// True when `file`, found in a folder of canaries, is one `exclude:` leaves out.
    pub fn excludes(&self, file: &Path) -> bool {
        if self.exclude.is_empty() {
            return false;
        }
        let root = self
            .file
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new(""));
        let absolute = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let rel = match file.strip_prefix(root) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => {
                let (file, root) = (absolute(file), absolute(root));
                file.strip_prefix(&root)
                    .map_or(file.clone(), Path::to_path_buf)
            }
        };
        let rel = rel.strip_prefix(".").unwrap_or(&rel);
        let opts = glob::MatchOptions {
            require_literal_separator: true,
            ..glob::MatchOptions::new()
        };
        self.exclude.iter().any(|p| p.matches_path_with(rel, opts))
    }
}

/// Loads the project file at `path`; a missing file at the default place is no project.
pub fn load(path: &Path, required: bool, opts: &LoadOptions) -> Result<Arc<Project>, ConfigErrors> {
    if !path.exists() && !required {
        return Ok(Arc::new(Project::default()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::file(
            path,
            format!("cannot read the project file: {e}"),
        )])
    })?;
    let raw: RawProject = super::shape::parse(path, &text).map_err(ConfigErrors)?;
    compile(path, &raw, opts)
        .map(Arc::new)
        .map_err(ConfigErrors)
}

fn compile(path: &Path, raw: &RawProject, opts: &LoadOptions) -> Result<Project, Vec<ConfigError>> {
    let no_variables = BTreeMap::new();
    let mut c = Compiler::new(path, opts, &no_variables);
    let defaults = Project::default();
    let name = match &raw.project {
        Some(p) => c.owner_name(p),
        None => Some(defaults.name),
    };
    let alarm_prefix = match &raw.alarm_prefix {
        Some(p) => c.alarm_prefix(p),
        None => Some(defaults.alarm_prefix),
    };
    let locations = c.locations(&raw.locations);
    let mut default_alarms: Vec<AlarmPatch> = Vec::new();
    for a in &raw.defaults.alarms {
        let Some(patch) = c.alarm_patch(a) else {
            continue;
        };
        if default_alarms.iter().any(|d| d.name() == patch.name()) {
            c.fail(
                &a.referenced,
                format!("default alarm `{}` is given twice", patch.name()),
            );
            continue;
        }
        let r = patch.complete(None, &locations).map(|_| ());
        if c.check(&a.referenced, r).is_some() {
            default_alarms.push(patch);
        }
    }
    let mut channels = Vec::new();
    for (channel, raw_channel) in &raw.notify {
        channels.extend(c.channel(channel, raw_channel));
    }
    let names: Vec<String> = raw.notify.keys().cloned().collect();
    let default_alerting = raw
        .defaults
        .alerting
        .as_ref()
        .map(|a| c.alerting_patch(a, &names, &locations));
    let mut exclude = Vec::new();
    for g in &raw.exclude {
        let pattern = glob::Pattern::new(&g.value).map_err(|e| format!("not a glob: {e}"));
        exclude.extend(c.check(&g.referenced, pattern));
    }
    let maintenance = c.windows(&raw.maintenance);
    let errors = c.finish();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Project {
        file: Some(path.to_path_buf()),
        name: name.unwrap_or_default(),
        alarm_prefix: alarm_prefix.unwrap_or_default(),
        default_alarms,
        default_alerting,
        channels,
        secrets: c.vars.secrets.clone(),
        exclude,
        maintenance,
        locations,
    })
}

impl Compiler<'_> {
    /// `locations:`: each a valid `Location` dimension value, each once.
    fn locations(&mut self, raw: &[S<String>]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for l in raw {
            let v = l.value.trim().to_string();
            let r =
                crate::names::check_dimension(crate::names::LOCATION, &v).and_then(|()| match out
                    .contains(&v)
                {
                    true => Err(format!("the location `{v}` is named twice")),
                    false => Ok(v),
                });
            out.extend(self.check(&l.referenced, r));
        }
        out
    }

    fn owner_name(&mut self, p: &S<String>) -> Option<String> {
        self.identifier(p, "a project name", 128)
    }

    fn alarm_prefix(&mut self, p: &S<String>) -> Option<String> {
        let v = p.value.as_str();
        let ok = v.len() <= 64 && !v.chars().any(|c| c.is_control() || c == '"');
        let r = if ok {
            Ok(v.to_string())
        } else {
            Err(
                "an alarm prefix has at most 64 characters, no quotes and no control characters"
                    .into(),
            )
        };
        self.check(&p.referenced, r)
    }
}
