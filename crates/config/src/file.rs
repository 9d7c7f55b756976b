//! The canary file's shape: the top-level keys of a canary and of a step, with one section per
//! check kind (the kinds' own raw types live in their modules).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::raw::{RawAlarm, RawAlerting, RawAssert, RawBrowser, RawCapture, RawComposite, S};
use super::section::with_kind_sections;

canary_model::for_each_kind!(with_kind_sections {
    /// One canary file.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RawCanary {
        /// Unique name across all loaded files; the `CanaryName` in reports and metrics.
        pub name: S<String>,
        /// Free text for people reading the file.
        #[allow(dead_code)]
        pub description: Option<String>,
        /// When `canary run` fires it: `rate(5 minutes)`, `cron(0/5 * * * ? *)` or `*/5 * * * *`.
        /// Default `rate(5 minutes)`.
        #[schemars(extend("default" = "rate(5 minutes)", "examples" = ["rate(1 minute)", "cron(0/5 * * * ? *)", "*/5 * * * *"]))]
        pub schedule: Option<S<String>>,
        /// The IANA time zone cron fields are read in, e.g. `Europe/Berlin`. Default `UTC` (as AWS).
        #[schemars(extend("default" = "UTC", "examples" = ["Europe/Berlin", "America/New_York"]))]
        pub timezone: Option<S<String>>,
        /// The time one attempt (all its steps) may take, e.g. `10s`. Default `30s`.
        #[schemars(extend("default" = "30s", "examples" = ["10s", "1m"]))]
        pub timeout: Option<S<String>>,
        /// Extra attempts after a failed or errored one. Default 0. A pass after a retry is reported as such.
        #[schemars(extend("default" = 0, "maximum" = 10))]
        pub retries: Option<S<u32>>,
        /// Extra metric dimensions (CloudWatch, EMF), e.g. `{ Environment: prod }`.
        #[serde(default)]
        pub dimensions: BTreeMap<String, S<String>>,
        /// Free-form labels, shown by `canary list`.
        #[serde(default)]
        pub tags: Vec<String>,
        /// Named values for `${name}`; they may use `${env:…}`, `${secret:…}`, `${totp:…}` and
        /// each other.
        /// `--var` and `--env-file` override them.
        #[serde(default)]
        pub variables: BTreeMap<String, S<String>>,
    }
    // One field per check kind, from the kinds' table, goes here.
    {
        /// A multi-step canary: steps run in order, passing captured values along.
        pub steps: Option<S<Vec<S<RawStep>>>>,
        /// A browser canary: actions in a real Chromium.
        pub browser: Option<S<RawBrowser>>,
        /// Assertions that describe the healthy state more strictly than `assert:` (same syntax),
        /// applied to every step: when every assertion holds but one of these does not, the run is
        /// `degraded` — working, but slower or weaker than it should be.
        #[serde(default)]
        pub degraded: Vec<S<RawAssert>>,
        /// Keep cookies from step to step within an attempt (each attempt starts with an empty jar).
        /// Default true.
        #[schemars(extend("default" = true))]
        pub cookies: Option<bool>,
        /// A forward proxy for this canary's requests, e.g. `http://proxy.internal:3128`
        /// (`http://user:pass@…` for basic auth), or `none`. Default: `--proxy`, else none.
        pub proxy: Option<S<String>>,
        /// CloudWatch alarms on this canary's metrics. The project file's `defaults.alarms` apply
        /// too: an entry with a default's name changes that default's fields; `alarms: []` turns
        /// every alarm off for this canary.
        pub alarms: Option<S<Vec<S<RawAlarm>>>>,
        /// Composite alarms: rules over this canary's alarms (and any alarm by its full name).
        #[serde(default)]
        pub composite: Vec<S<RawComposite>>,
        /// The runner's own alert state and notifications for this canary: changes the project
        /// file's `defaults.alerting` field by field.
        pub alerting: Option<S<RawAlerting>>,
    }
});

canary_model::for_each_kind!(with_kind_sections {
    /// One step of a multi-step canary.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RawStep {
        /// The step's name, unique within the canary; the `StepName` in reports. Default `step N`.
        pub name: Option<S<String>>,
    }
    // One field per check kind, from the kinds' table, goes here.
    {
        /// Assertions (may also sit inside `http:`).
        #[serde(default)]
        pub assert: Vec<S<RawAssert>>,
        /// `degraded:` assertions of this step (may also sit inside `http:`).
        #[serde(default)]
        pub degraded: Vec<S<RawAssert>>,
        /// The cookies this step receives are secrets: redacted from every output. Default false.
        #[serde(default)]
        pub secret: bool,
        /// Captures (may also sit inside `http:`).
        #[serde(default)]
        pub capture: BTreeMap<String, S<RawCapture>>,
        /// This step's own time limit, within the canary's `timeout`.
        pub timeout: Option<S<String>>,
        /// Run the following steps even if this one fails. Default false.
        #[serde(default)]
        pub continue_on_failure: bool,
    }
});
