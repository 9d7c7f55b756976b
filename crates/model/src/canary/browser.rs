//! A browser step as compiled: actions, selectors, waits and page assertions.

use std::time::Duration;

use regex::Regex;

use super::assertion::{Bound, TextTest};
use crate::template::Template;

/// A browser step: one action, or several reported as one named step.
#[derive(Debug, Clone)]
pub struct BrowserCheck {
    /// The actions, in order.
    pub actions: Vec<Action>,
    /// The window size of the attempt's browser.
    pub viewport: (u32, u32),
}

/// How an element is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// A CSS selector (the default).
    Css(String),
    /// `xpath=…`.
    XPath(String),
    /// `text=…`: the innermost element whose text contains this.
    Text(String),
}

impl Selector {
    /// `xpath=…`, `text=…`, or CSS.
    pub fn parse(s: &str) -> Selector {
        if let Some(x) = s.strip_prefix("xpath=") {
            Selector::XPath(x.to_string())
        } else if let Some(t) = s.strip_prefix("text=") {
            Selector::Text(t.to_string())
        } else {
            Selector::Css(s.to_string())
        }
    }

    /// The XPath of the innermost elements whose text contains `t`.
    pub fn xpath_for_text(t: &str) -> String {
        let lit = if t.contains('\'') {
            format!("\"{t}\"")
        } else {
            format!("'{t}'")
        };
        format!(
            "//*[contains(normalize-space(.), {lit}) and not(.//*[contains(normalize-space(.), {lit})])]"
        )
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Css(s) => f.write_str(s),
            Selector::XPath(x) => write!(f, "xpath={x}"),
            Selector::Text(t) => write!(f, "text={t}"),
        }
    }
}

/// What `wait_for` waits for.
#[derive(Debug, Clone)]
pub enum WaitTarget {
    /// An element is in the page.
    Present(Selector),
    /// An element is in the page and visible.
    Visible(Selector),
    /// No visible element matches.
    Gone(Selector),
    /// The page's text contains this.
    Text(Template),
    /// The URL matches this.
    Url(Regex),
    /// This JavaScript expression is truthy.
    Eval(String),
}

/// An assertion on the page.
#[derive(Debug, Clone)]
pub enum PageAssert {
    /// An element's text.
    Text(Selector, TextTest),
    /// An element's attribute.
    Attribute(Selector, String, TextTest),
    /// How many elements match.
    Count(Selector, Bound<u64>),
    /// Whether an element is visible.
    Visible(Selector, bool),
    /// The page title.
    Title(TextTest),
    /// The URL matches.
    Url(Regex),
    /// No console errors so far in this run.
    NoConsoleErrors,
    /// No failed requests so far in this run.
    NoFailedRequests,
}

/// One browser action.
#[derive(Debug, Clone)]
pub enum Action {
    /// Open a URL and wait for it to load.
    Goto(Template),
    /// Click an element.
    Click(Selector),
    /// Clear a field and type into it.
    Fill(Selector, Template),
    /// Choose an option of a `<select>` by value or by label.
    Select(Selector, Template, bool),
    /// Tick (`true`) or untick a checkbox.
    Check(Selector, bool),
    /// Press a key in the focused element.
    Press(String),
    /// Move the mouse over an element.
    Hover(Selector),
    /// Wait until something holds.
    WaitFor(WaitTarget, Duration),
    /// Assert something about the page.
    Assert(PageAssert),
    /// Save a screenshot with this name.
    Screenshot(String),
    /// Run a JavaScript expression that must return true.
    Eval(String),
}

/// The keys `press:` knows by name; anything else is typed as text.
pub const KEYS: [&str; 15] = [
    "Enter",
    "Return",
    "Tab",
    "Escape",
    "Backspace",
    "Delete",
    "Space",
    "ArrowUp",
    "ArrowDown",
    "ArrowLeft",
    "ArrowRight",
    "Home",
    "End",
    "PageUp",
    "PageDown",
];

/// A short description of an action for reports — never a typed value (it may be a secret).
pub fn describe(action: &Action) -> String {
    match action {
        Action::Goto(_) => "goto".into(),
        Action::Click(s) => format!("click {s}"),
        Action::Fill(s, _) => format!("fill {s}"),
        Action::Select(s, _, _) => format!("select {s}"),
        Action::Check(s, true) => format!("check {s}"),
        Action::Check(s, false) => format!("uncheck {s}"),
        Action::Press(k) if k.chars().count() == 1 || KEYS.contains(&k.as_str()) => {
            format!("press {k}")
        }
        Action::Press(_) => "press".into(),
        Action::Hover(s) => format!("hover {s}"),
        Action::WaitFor(t, _) => match t {
            WaitTarget::Present(s) => format!("wait_for {s} present"),
            WaitTarget::Visible(s) => format!("wait_for {s} visible"),
            WaitTarget::Gone(s) => format!("wait_for {s} gone"),
            WaitTarget::Text(_) => "wait_for text".into(),
            WaitTarget::Url(re) => format!("wait_for url /{}/", re.as_str()),
            WaitTarget::Eval(_) => "wait_for eval".into(),
        },
        Action::Assert(a) => match a {
            PageAssert::Text(s, _) => format!("assert text of {s}"),
            PageAssert::Attribute(s, n, _) => format!("assert {n} of {s}"),
            PageAssert::Count(s, _) => format!("assert count of {s}"),
            PageAssert::Visible(s, _) => format!("assert {s} visible"),
            PageAssert::Title(_) => "assert title".into(),
            PageAssert::Url(_) => "assert url".into(),
            PageAssert::NoConsoleErrors => "assert no console errors".into(),
            PageAssert::NoFailedRequests => "assert no failed requests".into(),
        },
        Action::Screenshot(n) => format!("screenshot {n}"),
        Action::Eval(_) => "eval".into(),
    }
}
