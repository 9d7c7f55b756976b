//! The canary file as written: serde types with source locations, before any validation.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_saphyr::{Location, Spanned};

/// A value with the line and column it was written at: serde-saphyr's `Spanned`, whose JSON
/// Schema is the value's own.
#[derive(Debug, Clone, PartialEq)]
pub struct S<T> {
    /// The value.
    pub value: T,
    /// Where it was written (where an alias was used, for an alias).
    pub referenced: Location,
    /// Where it was defined (the anchor, for an alias).
    pub defined: Location,
}

impl<T> S<T> {
    /// A value written at `at`.
    pub fn new(value: T, referenced: Location, defined: Location) -> Self {
        S {
            value,
            referenced,
            defined,
        }
    }
}

/// Ordered by the value alone, so a map's keys can carry where they were written.
impl<T: Ord> Ord for S<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl<T: Ord> PartialOrd for S<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> Eq for S<T> {}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for S<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<T>::deserialize(d)?;
        Ok(S::new(s.value, s.referenced, s.defined))
    }
}

impl<T: JsonSchema> JsonSchema for S<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<T>()
    }
}

/// When a canary goes to ALARM and back, and who hears of it.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlerting {
    /// `N of M`: ALARM when N of the last M runs failed (a number N means N of N). Default `1 of 1`.
    pub failures: Option<S<Value>>,
    /// OK again after this many passes in a row. Default 1.
    pub recover: Option<S<u32>>,
    /// How a degraded run counts: `pass` (default) or `fail`.
    pub degraded: Option<S<String>>,
    /// The channels told (names from the project file's `notify:`); `[]` tells none.
    pub notify: Option<Vec<S<String>>>,
    /// Tell the channels again this often while an ALARM lasts, e.g. `1h` or `90s` (a reminder,
    /// with how long it has lasted and how many runs failed); `never` (the default) tells once.
    #[schemars(extend("examples" = ["1h", "30m", "never"]))]
    pub remind: Option<S<String>>,
    /// `N of M`: the state is shared by the runners of the project's `locations:` (through
    /// `--state-dir s3://…`), and is ALARM only while N of them see the canary in ALARM; one
    /// message, from the runner that flips it. A number N means N of all.
    #[schemars(extend("examples" = ["2 of 3", 2]))]
    pub locations: Option<S<Value>>,
}

/// A CloudWatch metric alarm, named `<prefix><canary>-<name>`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlarm {
    /// The alarm's short name (letters, digits, `-`, `_`, `.`), unique within the canary.
    pub name: S<String>,
    /// The metric: SuccessPercent, Duration, Failed, Error, Degraded, 2xx, 4xx, 5xx,
    /// RetryCount or SkippedRuns.
    #[schemars(extend("enum" = ["SuccessPercent", "Duration", "Failed", "Error", "Degraded", "2xx", "4xx", "5xx", "RetryCount", "SkippedRuns"]))]
    pub metric: Option<S<String>>,
    /// A step's series instead of the canary's (SuccessPercent and Duration).
    pub step: Option<S<String>>,
    /// Average (default), Sum, Minimum, Maximum, SampleCount, or a percentile like p99
    /// (also tm90, wm90, tc90, ts90, IQM).
    #[schemars(extend("default" = "Average", "examples" = ["Average", "Sum", "Minimum", "Maximum", "SampleCount", "p99", "p90"]))]
    pub statistic: Option<S<String>>,
    /// A fixed threshold: exactly one of `lt`, `lte`, `gt`, `gte`, e.g. `{ lt: 90 }`.
    pub threshold: Option<S<BTreeMap<String, S<Value>>>>,
    /// An anomaly-detection band instead of a threshold: `{ band: 2 }` (standard deviations),
    /// `side: above | below | both` (default both).
    pub anomaly: Option<S<RawAnomaly>>,
    /// The period: `1m` (default), any multiple of a minute, or 10s/30s for high-resolution metrics.
    #[schemars(extend("default" = "1m", "examples" = ["1m", "5m", "10s"]))]
    pub period: Option<S<String>>,
    /// `M of N`: the alarm fires when M of the last N periods breach (DatapointsToAlarm of
    /// EvaluationPeriods); a number N means N of N. Default `1 of 1`.
    pub datapoints: Option<S<Value>>,
    /// How a period without data counts: breaching (default: a canary that stopped reporting is
    /// failing), notBreaching, ignore or missing.
    #[schemars(extend("default" = "breaching", "enum" = ["breaching", "notBreaching", "not_breaching", "ignore", "missing"]))]
    pub missing: Option<S<String>>,
    /// ARNs to notify on ALARM (SNS topics, Lambda functions, …).
    pub actions: Option<Vec<S<String>>>,
    /// ARNs to notify on OK.
    pub ok_actions: Option<Vec<S<String>>>,
    /// ARNs to notify on INSUFFICIENT_DATA.
    pub insufficient_data_actions: Option<Vec<S<String>>>,
    /// Free text shown with the alarm.
    pub description: Option<S<String>>,
    /// `false` turns a project default off for this canary.
    pub enabled: Option<bool>,
    /// `N of M`: in ALARM only when N of the project's M `locations:` breach (a number N means
    /// N of all). Default, when the project names locations: `1 of M`, any location.
    #[schemars(extend("examples" = ["2 of 3", 2]))]
    pub locations: Option<S<Value>>,
}

/// An anomaly-detection band.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAnomaly {
    /// The band's width in standard deviations, e.g. 2.
    pub band: S<Value>,
    /// Which side breaches: above, below or both (default).
    #[schemars(extend("default" = "both", "enum" = ["above", "below", "both"]))]
    pub side: Option<S<String>>,
}

/// A composite alarm.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawComposite {
    /// The short name, unique within the canary (with its alarms).
    pub name: S<String>,
    /// The rule: this canary's alarm names with AND, OR, NOT and parentheses, or
    /// `ALARM("full-name")` (also `OK(…)`, `INSUFFICIENT_DATA(…)`) for any alarm.
    pub rule: S<String>,
    /// ARNs to notify on ALARM.
    #[serde(default)]
    pub actions: Vec<S<String>>,
    /// ARNs to notify on OK.
    #[serde(default)]
    pub ok_actions: Vec<S<String>>,
    /// ARNs to notify on INSUFFICIENT_DATA.
    #[serde(default)]
    pub insufficient_data_actions: Vec<S<String>>,
    /// Free text shown with the alarm.
    pub description: Option<S<String>>,
}

/// TLS settings of a request or connection.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// Accept any certificate (self-signed, expired, wrong host). Default false.
    #[serde(default)]
    pub insecure: bool,
    /// A PEM file of CA certificates trusted in addition to the built-in roots; a relative
    /// path is looked up next to the canary file, then from the current folder.
    /// Empty means none (handy with `${CA_FILE:-}`).
    pub ca_file: Option<S<String>>,
    /// A PEM file with the client certificate (and its chain) for mutual TLS; found like `ca_file`.
    pub cert_file: Option<S<String>>,
    /// The PEM private key of `cert_file`: PKCS#8 (encrypted or not), PKCS#1 or SEC1.
    pub key_file: Option<S<String>>,
    /// The password of an encrypted `key_file`; use `${secret:NAME}`.
    pub key_password: Option<S<String>>,
    /// The name sent as SNI and checked on the certificate, when it differs from the host
    /// connected to (tcp, tls, websocket and grpc checks).
    pub server_name: Option<S<String>>,
    /// Send SNI. Default true (tcp, tls, websocket and grpc checks).
    pub sni: Option<bool>,
    /// Check that the certificate is valid for the name (the chain is checked regardless).
    /// Default true.
    pub verify_hostname: Option<bool>,
}

/// One assertion: a map with exactly one of these keys.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(remote = "Self", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawAssert {
    /// `status: 200`, `status: [200, 204]`, `status: 2xx`, `status: { gte: 200, lt: 400 }`,
    /// `status: { not: 500 }`.
    Status(S<Value>),
    /// Phase bounds: `latency: { total: { lt: 800ms } }`; phases resolve, connect, tls,
    /// processing, transfer, total.
    Latency(BTreeMap<String, S<RawBound>>),
    /// `header: { name: content-type, contains: html }`.
    Header(Box<S<RawNamedTest>>),
    /// `body: { contains: "<title>" }`; also `equals`, `not_contains`, `matches` (regex).
    Body(Box<S<RawTextTest>>),
    /// `json: { path: $.id, exists: true }`; also `equals`, `contains`, `length`, `matches`, `lt`…
    Json(Box<S<RawJsonTest>>),
    /// `tls: { expires_in: { gt: 14d }, chain_expires_in: { gt: 7d }, protocol: "1.3",
    /// hostname_matches: true }` — one or more.
    Tls(Box<S<RawTlsTest>>),
    /// `cookie: { name: session, exists: true }`; also `equals`, `contains`, `not_contains`,
    /// `matches`: a cookie the canary holds after the step.
    Cookie(Box<S<RawNamedTest>>),
    /// DNS: the response code, `rcode: NOERROR` (NXDOMAIN, SERVFAIL, REFUSED…).
    Rcode(S<String>),
    /// DNS: the answers' data: `{ contains: mail }`; also `not_contains`, `includes` (one answer
    /// is exactly), `excludes`, `equals` (a list, any order), `matches`, `count`.
    Answers(Box<S<RawAnswersTest>>),
    /// DNS: the lowest TTL of the answers, in seconds: `ttl: { gte: 60 }`.
    Ttl(Box<S<RawBound>>),
    /// DNS: the answer is (`true`) or is not authoritative.
    Authoritative(S<bool>),
}

impl<'de> Deserialize<'de> for RawAssert {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::one_key::item(d)
    }
}

impl super::one_key::OneKeyEnum for RawAssert {
    const WHAT: &'static str = "an assertion";

    fn derived<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawAssert::deserialize(d)
    }
}

impl<'de> Deserialize<'de> for RawAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::one_key::item(d)
    }
}

impl super::one_key::OneKeyEnum for RawAction {
    const WHAT: &'static str = "a browser action";

    fn derived<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawAction::deserialize(d)
    }
}

/// A test on DNS answers: exactly one of its keys.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAnswersTest {
    /// Some answer contains this text.
    pub contains: Option<S<String>>,
    /// No answer contains this text.
    pub not_contains: Option<S<String>>,
    /// Some answer is exactly this.
    pub includes: Option<S<String>>,
    /// No answer is exactly this.
    pub excludes: Option<S<String>>,
    /// The answers are exactly these, in any order.
    pub equals: Option<S<Vec<S<String>>>>,
    /// Some answer matches this regular expression.
    pub matches: Option<S<String>>,
    /// How many answers: a number, or bounds like `{ gte: 2 }`.
    pub count: Option<S<Value>>,
}

/// Bounds: one or more of `lt`, `lte`, `gt`, `gte`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBound {
    /// Less than.
    pub lt: Option<S<Value>>,
    /// Less than or equal.
    pub lte: Option<S<Value>>,
    /// Greater than.
    pub gt: Option<S<Value>>,
    /// Greater than or equal.
    pub gte: Option<S<Value>>,
}

/// A text test: exactly one of its keys.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTextTest {
    /// Equal to.
    pub equals: Option<S<String>>,
    /// Not equal to.
    pub not_equals: Option<S<String>>,
    /// Contains.
    pub contains: Option<S<String>>,
    /// Does not contain.
    pub not_contains: Option<S<String>>,
    /// Matches this regular expression (anywhere; anchor with `^…$`).
    pub matches: Option<S<String>>,
}

/// A header or cookie test: the name and exactly one test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNamedTest {
    /// The header's name (any case) or the cookie's name.
    pub name: S<String>,
    /// Present (`true`) or absent (`false`).
    pub exists: Option<bool>,
    /// Equal to.
    pub equals: Option<S<String>>,
    /// Not equal to (or absent).
    pub not_equals: Option<S<String>>,
    /// Contains.
    pub contains: Option<S<String>>,
    /// Does not contain.
    pub not_contains: Option<S<String>>,
    /// Matches this regular expression.
    pub matches: Option<S<String>>,
}

/// A JSON test: a JSONPath (RFC 9535) and exactly one test (or number bounds).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJsonTest {
    /// JSONPath, e.g. `$.items[0].id`. Several matches are tested as one array.
    pub path: S<String>,
    /// Something is (`true`) or is not (`false`) selected.
    pub exists: Option<bool>,
    /// Equal to this JSON value; a string may use `${…}` and is compared with the value as text.
    pub equals: Option<S<Value>>,
    /// Not equal to this JSON value (a string as with `equals`).
    pub not_equals: Option<S<Value>>,
    /// A string contains this text, an array holds this value, or an object has this key.
    pub contains: Option<S<Value>>,
    /// The opposite of `contains`.
    pub not_contains: Option<S<Value>>,
    /// Length of an array, string or object: a number, or bounds like `{ gte: 1 }`.
    pub length: Option<S<Value>>,
    /// The value as text matches this regular expression.
    pub matches: Option<S<String>>,
    /// A number less than.
    pub lt: Option<S<Value>>,
    /// A number less than or equal.
    pub lte: Option<S<Value>>,
    /// A number greater than.
    pub gt: Option<S<Value>>,
    /// A number greater than or equal.
    pub gte: Option<S<Value>>,
}

/// TLS tests: one or more of these keys.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTlsTest {
    /// Time left on the server's own (leaf) certificate, e.g. `{ gt: 14d }`.
    pub expires_in: Option<S<RawBound>>,
    /// Time left on the certificate of the verified chain that expires first (leaf or
    /// intermediate; the trust store's root is not part of it), e.g. `{ gt: 7d }`.
    pub chain_expires_in: Option<S<RawBound>>,
    /// The negotiated TLS version: `"1.2"` or `"1.3"`.
    pub protocol: Option<S<Value>>,
    /// The leaf certificate is (`true`) or is not valid for the host name asked for
    /// (useful with `insecure: true`, which otherwise accepts any name).
    pub hostname_matches: Option<bool>,
    /// The leaf's subject: `{ contains: shop }`, or one field: `{ field: CN, equals: shop.test }`.
    pub subject: Option<S<RawNameTest>>,
    /// The leaf's issuer, tested like `subject`: `{ field: O, equals: "Let's Encrypt" }`.
    pub issuer: Option<S<RawNameTest>>,
    /// The leaf's DNS names and IP addresses, joined by `, `: `{ contains: www.shop.test }`.
    pub names: Option<S<RawTextTest>>,
    /// The negotiated cipher suite: `{ matches: AES_256 }`.
    pub cipher: Option<S<RawTextTest>>,
}

/// A test on a certificate's subject or issuer: the whole name or one `field`, and one text test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNameTest {
    /// One attribute: CN, O, OU, C, ST or L. Default: the whole name, like `CN=shop.test, O=Shop`.
    pub field: Option<S<String>>,
    /// Equal to.
    pub equals: Option<S<String>>,
    /// Not equal to.
    pub not_equals: Option<S<String>>,
    /// Contains.
    pub contains: Option<S<String>>,
    /// Does not contain.
    pub not_contains: Option<S<String>>,
    /// Matches this regular expression.
    pub matches: Option<S<String>>,
}

/// Where a captured value comes from: exactly one of `json`, `header`, `regex`, `status`,
/// `cookie`, `answer`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCapture {
    /// A JSONPath; a string is kept unquoted, anything else as JSON text.
    pub json: Option<S<String>>,
    /// A response header.
    pub header: Option<S<String>>,
    /// A regex over the body (a TCP reply, the last WebSocket message): its first group, or the
    /// whole match when it has none.
    pub regex: Option<S<String>>,
    /// With `regex`: the group to take (0 is the whole match).
    pub group: Option<S<usize>>,
    /// A DNS answer's data, by its place: `answer: 0` is the first.
    pub answer: Option<S<usize>>,
    /// The status code (`status: true`).
    pub status: Option<bool>,
    /// A cookie the canary holds after the step, by name.
    pub cookie: Option<S<String>>,
    /// Redact the value from every output (for tokens). Default false.
    #[serde(default)]
    pub secret: bool,
}

/// A browser canary.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBrowser {
    /// The window size, `WIDTHxHEIGHT`. Default `1280x800`.
    #[schemars(extend("default" = "1280x800", "examples" = ["1280x800", "390x844"]))]
    pub viewport: Option<S<String>>,
    /// The actions, in order.
    pub steps: S<Vec<S<RawAction>>>,
}

/// One browser action: a map with exactly one of these keys.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(remote = "Self", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawAction {
    /// `goto: URL` — open it and wait for the page to load.
    Goto(S<String>),
    /// `click: SELECTOR`.
    Click(S<String>),
    /// `fill: { selector, value }` — clear the field and type (on a `<select>`: choose the option with that value).
    Fill(S<RawFill>),
    /// `select: { selector, value }` or `{ selector, label }`.
    Select(S<RawSelect>),
    /// `check: SELECTOR` — tick a checkbox.
    Check(S<String>),
    /// `uncheck: SELECTOR`.
    Uncheck(S<String>),
    /// `press: Enter` — a key (Enter, Tab, Escape, Backspace, Delete, Space, ArrowUp…) in the focused element.
    Press(S<String>),
    /// `hover: SELECTOR`.
    Hover(S<String>),
    /// `wait_for: { selector, state: visible|present|gone, timeout: 5s }`, `{ text }`, `{ url }` (a regex) or `{ eval }` (JS, until truthy).
    WaitFor(Box<S<RawWait>>),
    /// `assert: { … }` — see [`RawPageAssert`].
    Assert(Box<S<RawPageAssert>>),
    /// `screenshot: NAME` — saved as NAME.png under the run's artifacts.
    Screenshot(S<String>),
    /// `eval: "JS expression"` — must return true.
    Eval(S<String>),
    /// `step: { name, actions: [...] }` — several actions reported as one step.
    Step(S<RawGroup>),
}

/// `fill:`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFill {
    /// The field.
    pub selector: S<String>,
    /// What to type; use `${secret:NAME}` for passwords.
    pub value: S<String>,
}

/// `select:`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSelect {
    /// The `<select>`.
    pub selector: S<String>,
    /// The option's value.
    pub value: Option<S<String>>,
    /// The option's visible text.
    pub label: Option<S<String>>,
}

/// `wait_for:`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWait {
    /// An element to wait for.
    pub selector: Option<S<String>>,
    /// `visible` (default), `present` or `gone`.
    #[schemars(extend("default" = "visible", "enum" = ["visible", "present", "gone"]))]
    pub state: Option<S<String>>,
    /// Text to wait for in the page.
    pub text: Option<S<String>>,
    /// A regex the URL must match.
    pub url: Option<S<String>>,
    /// A JavaScript expression: until it is truthy (a promise is awaited; an exception counts as
    /// not yet).
    pub eval: Option<S<String>>,
    /// How long to wait. Default `10s`.
    #[schemars(extend("default" = "10s"))]
    pub timeout: Option<S<String>>,
}

/// `assert:` on the page: an element's text, attribute, count or visibility, the title, the URL,
/// or the console.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPageAssert {
    /// The element(s) the assertion is about.
    pub selector: Option<S<String>>,
    /// The element's text contains.
    pub text_contains: Option<S<String>>,
    /// The element's text equals.
    pub text_equals: Option<S<String>>,
    /// The element's text matches this regex.
    pub text_matches: Option<S<String>>,
    /// An attribute of the element, tested with `equals`, `contains` or `matches`.
    pub attribute: Option<S<String>>,
    /// With `attribute`: equals.
    pub equals: Option<S<String>>,
    /// With `attribute`: contains.
    pub contains: Option<S<String>>,
    /// With `attribute`: matches this regex.
    pub matches: Option<S<String>>,
    /// How many elements match: a number or bounds like `{ gte: 1 }`.
    pub count: Option<S<Value>>,
    /// The element is visible (`true`) or not.
    pub visible: Option<bool>,
    /// The title contains.
    pub title_contains: Option<S<String>>,
    /// The title equals.
    pub title_equals: Option<S<String>>,
    /// The URL matches this regex.
    pub url_matches: Option<S<String>>,
    /// No console errors so far in the run (`true`).
    pub no_console_errors: Option<bool>,
    /// No failed requests so far in the run (`true`).
    pub no_failed_requests: Option<bool>,
}

/// `step:` — several actions as one named step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// The step's name (its `StepName`).
    pub name: S<String>,
    /// The actions (no nested `step:`).
    pub actions: Vec<S<RawAction>>,
    /// This step's own time limit.
    pub timeout: Option<S<String>>,
}
