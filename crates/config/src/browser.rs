//! Compiling `browser:` into steps of browser actions.

use std::time::Duration;

use serde_saphyr::Location;

use super::compiler::Compiler;
use super::raw::{RawAction, RawBrowser, RawPageAssert, RawWait, S};
use super::values;
use crate::canary::assertion::TextTest;
use crate::canary::browser::{Action, BrowserCheck, PageAssert, Selector, WaitTarget, describe};
use crate::canary::{Step, StepKind};

/// The window size unless `viewport:` says otherwise.
pub const DEFAULT_VIEWPORT: (u32, u32) = (1280, 800);
/// How long `wait_for` waits unless told.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

impl Compiler<'_> {
    /// The steps of a browser canary: each action a step (`N action`), each `step:` one.
    pub(super) fn browser(&mut self, raw: &S<RawBrowser>) -> Vec<Step> {
        let viewport = raw
            .value
            .viewport
            .as_ref()
            .map_or(Some(DEFAULT_VIEWPORT), |v| {
                let r = parse_viewport(&v.value);
                self.check(&v.referenced, r)
            });
        let viewport = viewport.unwrap_or(DEFAULT_VIEWPORT);
        if raw.value.steps.value.is_empty() {
            self.fail(
                &raw.value.steps.referenced,
                "`steps:` is empty: give at least one action",
            );
        }
        let mut out: Vec<Step> = Vec::new();
        for (i, a) in raw.value.steps.value.iter().enumerate() {
            let step = match &a.value {
                RawAction::Step(group) => {
                    let g = &group.value;
                    let actions: Vec<Action> = g
                        .actions
                        .iter()
                        .filter_map(|a| self.action(a, true))
                        .collect();
                    let name = g.name.value.trim().to_string();
                    if name.is_empty() || out.iter().any(|s| s.name == name) {
                        self.fail(
                            &g.name.referenced,
                            format!("step name `{name}` is empty or used twice"),
                        );
                    }
                    let timeout = g
                        .timeout
                        .as_ref()
                        .and_then(|t| self.check(&t.referenced, values::duration(&t.value)));
                    let check = BrowserCheck { actions, viewport };
                    Step {
                        timeout,
                        ..Step::new(name, StepKind::Browser(check))
                    }
                }
                _ => {
                    let Some(action) = self.action(a, false) else {
                        continue;
                    };
                    let name = format!("{} {}", i + 1, describe(&action));
                    let check = BrowserCheck {
                        actions: vec![action],
                        viewport,
                    };
                    Step::new(name, StepKind::Browser(check))
                }
            };
            out.push(step);
        }
        out
    }

    fn action(&mut self, a: &S<RawAction>, in_group: bool) -> Option<Action> {
        Some(match &a.value {
            RawAction::Goto(u) => {
                let t = self.template(u)?;
                if let Some(url) = t.as_static() {
                    self.check(&u.referenced, crate::canary::http::parse_url(&url));
                }
                Action::Goto(t)
            }
            RawAction::Click(s) => Action::Click(self.selector(s)?),
            RawAction::Fill(f) => Action::Fill(
                self.selector(&f.value.selector)?,
                self.template(&f.value.value)?,
            ),
            RawAction::Select(s) => {
                let sel = self.selector(&s.value.selector)?;
                match (&s.value.value, &s.value.label) {
                    (Some(v), None) => Action::Select(sel, self.template(v)?, false),
                    (None, Some(l)) => Action::Select(sel, self.template(l)?, true),
                    _ => {
                        self.fail(
                            &s.referenced,
                            "`select:` takes `selector` and exactly one of `value` or `label`",
                        );
                        return None;
                    }
                }
            }
            RawAction::Check(s) => Action::Check(self.selector(s)?, true),
            RawAction::Uncheck(s) => Action::Check(self.selector(s)?, false),
            RawAction::Press(k) => Action::Press(k.value.clone()),
            RawAction::Hover(s) => Action::Hover(self.selector(s)?),
            RawAction::WaitFor(w) => self.wait(w)?,
            RawAction::Assert(p) => Action::Assert(self.page_assert(p)?),
            RawAction::Screenshot(n) => Action::Screenshot(n.value.trim().to_string()),
            RawAction::Eval(js) => Action::Eval(js.value.clone()),
            RawAction::Step(g) if in_group => {
                self.fail(&g.referenced, "a `step:` cannot hold another `step:`");
                return None;
            }
            RawAction::Step(_) => return None,
        })
    }

    fn selector(&mut self, s: &S<String>) -> Option<Selector> {
        let text = self.template(s)?.as_static().unwrap_or_default();
        if text.trim().is_empty() {
            self.fail(&s.referenced, "the selector is empty");
            return None;
        }
        Some(Selector::parse(text.trim()))
    }

    fn wait(&mut self, w: &S<RawWait>) -> Option<Action> {
        let r = &w.value;
        let timeout = match &r.timeout {
            Some(t) => self.check(&t.referenced, values::duration(&t.value))?,
            None => DEFAULT_WAIT,
        };
        let given = [
            r.selector.is_some(),
            r.text.is_some(),
            r.url.is_some(),
            r.eval.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            self.fail(
                &w.referenced,
                "`wait_for:` takes exactly one of `selector`, `text`, `url` or `eval`",
            );
            return None;
        }
        let target = if let Some(s) = &r.selector {
            let sel = self.selector(s)?;
            match r.state.as_ref().map(|s| s.value.as_str()) {
                None | Some("visible") => WaitTarget::Visible(sel),
                Some("present") => WaitTarget::Present(sel),
                Some("gone") => WaitTarget::Gone(sel),
                Some(other) => {
                    let at = r.state.as_ref().map_or(&w.referenced, |s| &s.referenced);
                    self.fail(
                        at,
                        format!("unknown state `{other}`: visible, present or gone"),
                    );
                    return None;
                }
            }
        } else if let Some(t) = &r.text {
            WaitTarget::Text(self.template(t)?)
        } else if let Some(u) = &r.url {
            WaitTarget::Url(self.regex(u)?)
        } else {
            let js = r.eval.as_ref().map(|j| j.value.clone()).unwrap_or_default();
            WaitTarget::Eval(js)
        };
        Some(Action::WaitFor(target, timeout))
    }

    fn page_assert(&mut self, p: &S<RawPageAssert>) -> Option<PageAssert> {
        let a = &p.value;
        let at = &p.referenced;
        let kinds = [
            a.text_contains.is_some() || a.text_equals.is_some() || a.text_matches.is_some(),
            a.attribute.is_some(),
            a.count.is_some(),
            a.visible.is_some(),
            a.title_contains.is_some() || a.title_equals.is_some(),
            a.url_matches.is_some(),
            a.no_console_errors == Some(true),
            a.no_failed_requests == Some(true),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            self.fail(at, "`assert:` takes one test: text_contains/text_equals/text_matches, attribute, count, visible, title_contains/title_equals, url_matches, no_console_errors or no_failed_requests");
            return None;
        }
        if let Some(u) = &a.url_matches {
            return Some(PageAssert::Url(self.regex(u)?));
        }
        if a.title_contains.is_some() || a.title_equals.is_some() {
            return Some(PageAssert::Title(self.text(
                &a.title_equals,
                &a.title_contains,
                &None,
                at,
            )?));
        }
        if a.no_console_errors == Some(true) {
            return Some(PageAssert::NoConsoleErrors);
        }
        if a.no_failed_requests == Some(true) {
            return Some(PageAssert::NoFailedRequests);
        }
        let Some(sel) = &a.selector else {
            self.fail(at, "this assertion needs `selector:`");
            return None;
        };
        let sel = self.selector(sel)?;
        if let Some(attr) = &a.attribute {
            let test = self.text(&a.equals, &a.contains, &a.matches, at)?;
            return Some(PageAssert::Attribute(sel, attr.value.clone(), test));
        }
        if let Some(c) = &a.count {
            return Some(PageAssert::Count(sel, self.length(c)?));
        }
        if let Some(v) = a.visible {
            return Some(PageAssert::Visible(sel, v));
        }
        Some(PageAssert::Text(
            sel,
            self.text(&a.text_equals, &a.text_contains, &a.text_matches, at)?,
        ))
    }

    fn text(
        &mut self,
        equals: &Option<S<String>>,
        contains: &Option<S<String>>,
        matches: &Option<S<String>>,
        at: &Location,
    ) -> Option<TextTest> {
        match (equals, contains, matches) {
            (Some(e), None, None) => self.template(e).map(TextTest::Equals),
            (None, Some(c), None) => self.template(c).map(TextTest::Contains),
            (None, None, Some(m)) => self.regex(m).map(TextTest::Matches),
            _ => {
                self.fail(at, "give exactly one of equals, contains or matches");
                None
            }
        }
    }
}

/// `1280x800`.
fn parse_viewport(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not a viewport: write WIDTHxHEIGHT, like 1280x800");
    let (w, h) = s.trim().split_once('x').ok_or_else(bad)?;
    let (w, h): (u32, u32) = (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
    if !(100..=7680).contains(&w) || !(100..=4320).contains(&h) {
        return Err(format!("`{s}`: a viewport is 100x100 to 7680x4320"));
    }
    Ok((w, h))
}
