//! Browser actions: what each does through WebDriver, and what it reports.

use std::time::{Duration, Instant};

use fantoccini::Client;
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::key::Key;
use serde_json::Value;

pub use crate::canary::browser::describe;
use crate::canary::browser::{Action, PageAssert, Selector, WaitTarget};
use crate::run::{AssertionResult, CheckError, ErrorKind};
use crate::template::Captures;

/// Every element `sel` matches.
async fn find_all(
    c: &Client,
    sel: &Selector,
) -> Result<Vec<fantoccini::elements::Element>, CmdError> {
    use fantoccini::Locator;
    match sel {
        Selector::Css(s) => c.find_all(Locator::Css(s)).await,
        Selector::XPath(x) => c.find_all(Locator::XPath(x)).await,
        Selector::Text(t) => {
            c.find_all(Locator::XPath(&Selector::xpath_for_text(t)))
                .await
        }
    }
}

/// The first element `sel` matches, or None.
async fn find(
    c: &Client,
    sel: &Selector,
) -> Result<Option<fantoccini::elements::Element>, CmdError> {
    Ok(find_all(c, sel).await?.into_iter().next())
}

/// Why an action stopped its step.
pub enum Stop {
    /// The page is not as expected (reported as a failed assertion).
    Failed(AssertionResult),
    /// The action could not be carried out.
    Errored(CheckError),
}

/// What the browser logged so far in the run: console errors and failed requests.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Console errors (SEVERE entries from the page).
    pub console_errors: Vec<String>,
    /// Requests that failed.
    pub failed_requests: Vec<String>,
}

/// The files and facts an action leaves for the report.
#[derive(Debug, Default)]
pub struct Done {
    /// An assertion's result (held).
    pub assertion: Option<AssertionResult>,
    /// A screenshot to save, with its name.
    pub screenshot: Option<(String, Vec<u8>)>,
}

fn failed(subject: String, expected: String, actual: String) -> Stop {
    Stop::Failed(AssertionResult::new(subject, false, expected, actual))
}

/// Turns a WebDriver error into a stop: a missing element fails, the rest error.
pub fn webdriver_stop(what: &str, e: CmdError) -> Stop {
    if e.is_no_such_element() {
        return failed(what.to_string(), "the element".into(), "not found".into());
    }
    Stop::Errored(classify(what, &e))
}

/// The error kind of a WebDriver error, from Chromium's network error names.
pub fn classify(what: &str, e: &CmdError) -> CheckError {
    let text = e.to_string();
    let kind = if text.contains("ERR_NAME_NOT_RESOLVED") {
        ErrorKind::Dns
    } else if text.contains("ERR_CONNECTION_REFUSED") || text.contains("ERR_ADDRESS_UNREACHABLE") {
        ErrorKind::Connect
    } else if text.contains("ERR_CERT") || text.contains("ERR_SSL") {
        ErrorKind::Tls
    } else if e.is_timeout() || text.contains("timeout") {
        ErrorKind::Timeout
    } else {
        ErrorKind::Browser
    };
    CheckError::new(
        kind,
        format!("{what}: {}", text.lines().next().unwrap_or("")),
    )
}

/// Performs `action`; `seen` is what the browser logged so far (for the log assertions).
pub async fn perform(
    c: &Client,
    action: &Action,
    captures: &Captures,
    seen: &Seen,
) -> Result<Done, Stop> {
    let what = describe(action);
    let element = |sel: &Selector| {
        let (sel, what) = (sel.clone(), what.clone());
        async move {
            match find(c, &sel).await.map_err(|e| webdriver_stop(&what, e))? {
                Some(el) => Ok(el),
                None => Err(failed(
                    what,
                    format!("an element matching {sel}"),
                    "none".into(),
                )),
            }
        }
    };
    let mut done = Done::default();
    let wd = |e| webdriver_stop(&what, e);
    match action {
        Action::Goto(url) => c
            .goto(&url.render(captures))
            .await
            .map_err(|e| Stop::Errored(classify(&what, &e)))?,
        Action::Click(sel) => element(sel).await?.click().await.map_err(wd)?,
        Action::Fill(sel, value) => {
            let el = element(sel).await?;
            // A one-time code about to expire is not typed: the next one is.
            tokio::time::sleep(value.totp_wait()).await;
            fill(c, &el, &value.render(captures), &what).await?
        }
        Action::Select(sel, value, by_label) => {
            let el = element(sel).await?;
            choose(&el, &value.render(captures), *by_label, &what).await?;
        }
        Action::Check(sel, want) => {
            let el = element(sel).await?;
            if el.is_selected().await.map_err(wd)? != *want {
                el.click().await.map_err(wd)?;
            }
        }
        Action::Press(key) => {
            let el = c.active_element().await.map_err(wd)?;
            el.send_keys(&key_text(key)).await.map_err(wd)?;
        }
        Action::Hover(sel) => {
            let el = element(sel).await?;
            let js = "arguments[0].scrollIntoView({block:'center'}); ['mouseover','mouseenter','mousemove'].forEach(t => arguments[0].dispatchEvent(new MouseEvent(t, {bubbles: true})));";
            let arg = serde_json::to_value(&el).unwrap_or(Value::Null);
            c.execute(js, vec![arg]).await.map_err(wd)?;
        }
        Action::WaitFor(target, timeout) => wait_for(c, target, *timeout, captures, &what).await?,
        Action::Assert(a) => done.assertion = Some(assertion(c, a, captures, seen, &what).await?),
        Action::Screenshot(name) => {
            done.screenshot = Some((name.clone(), c.screenshot().await.map_err(wd)?))
        }
        Action::Eval(js) => {
            let v = c
                .execute(&format!("return ({js});"), Vec::new())
                .await
                .map_err(wd)?;
            if v != Value::Bool(true) {
                return Err(failed(what, "true".into(), v.to_string()));
            }
        }
    }
    Ok(done)
}

/// Fills a field as Playwright's `fill` does: focused, its content selected and replaced by one
/// text insertion (Chromium's `Input.insertText`: the `beforeinput`/`input` events of a paste, no
/// key events; `press` sends keys). Where that is not available or does not take (a date field,
/// a WebDriver that is not Chromium's), the field is cleared and typed into key by key.
async fn fill(c: &Client, el: &Element, v: &str, what: &str) -> Result<(), Stop> {
    let wd = |e| webdriver_stop(what, e);
    let arg = serde_json::to_value(el).unwrap_or(Value::Null);
    let js = "const e = arguments[0]; if (e.tagName === 'SELECT') return 'select'; e.focus(); \
              if (typeof e.select === 'function') { e.select(); } else { const r = document.createRange(); \
              r.selectNodeContents(e); getSelection().removeAllRanges(); getSelection().addRange(r); } return 'ready';";
    if c.execute(js, vec![arg.clone()]).await.map_err(wd)? == "select" {
        return choose(el, v, false, what).await;
    }
    if !v.is_empty() && c.issue_cmd(InsertText(v.to_string())).await.is_ok() {
        let js = "const e = arguments[0]; return (e.value ?? e.innerText) === arguments[1];";
        let took = c.execute(js, vec![arg, Value::from(v)]).await.map_err(wd)?;
        if took == Value::Bool(true) {
            return Ok(());
        }
    }
    el.clear().await.map_err(wd)?;
    el.send_keys(v).await.map_err(wd)
}

/// chromedriver's DevTools passthrough (`POST /session/{id}/goog/cdp/execute`):
/// `Input.insertText` into the focused element.
#[derive(Debug)]
struct InsertText(String);

impl fantoccini::wd::WebDriverCompatibleCommand for InsertText {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": "Input.insertText", "params": { "text": self.0 } });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Chooses the option of the `<select>` `el` with this value (or visible text, `by_label`).
async fn choose(el: &Element, v: &str, by_label: bool, what: &str) -> Result<(), Stop> {
    let chosen = match by_label {
        true => el.select_by_label(v).await,
        false => el.select_by_value(v).await,
    };
    chosen.map_err(|e| match e.is_no_such_element() {
        true => failed(what.to_string(), format!("an option {v:?}"), "none".into()),
        false => Stop::Errored(classify(what, &e)),
    })
}

/// A key by name (`Enter`, `Tab`, `Escape`, `ArrowDown`…) or the text itself.
fn key_text(name: &str) -> String {
    let key = match name {
        "Enter" => Key::Enter,
        "Return" => Key::Return,
        "Tab" => Key::Tab,
        "Escape" => Key::Escape,
        "Backspace" => Key::Backspace,
        "Delete" => Key::Delete,
        "Space" => Key::Space,
        "ArrowUp" => Key::Up,
        "ArrowDown" => Key::Down,
        "ArrowLeft" => Key::Left,
        "ArrowRight" => Key::Right,
        "Home" => Key::Home,
        "End" => Key::End,
        "PageUp" => Key::PageUp,
        "PageDown" => Key::PageDown,
        other => return other.to_string(),
    };
    char::from(key).to_string()
}

/// Polls until `target` holds or `timeout` passes (then the step fails): after 10 ms, then
/// twice as long each time up to every 50 ms, so a quick change is seen quickly.
async fn wait_for(
    c: &Client,
    target: &WaitTarget,
    timeout: Duration,
    captures: &Captures,
    what: &str,
) -> Result<(), Stop> {
    let until = Instant::now() + timeout;
    let mut pause = Duration::from_millis(10);
    loop {
        let holds = match target {
            WaitTarget::Present(s) => find(c, s).await.map(|e| e.is_some()),
            WaitTarget::Visible(s) => visible(c, s).await,
            WaitTarget::Gone(s) => visible(c, s).await.map(|v| !v),
            WaitTarget::Text(t) => {
                let js =
                    "return !!document.body && document.body.innerText.includes(arguments[0]);";
                c.execute(js, vec![Value::String(t.render(captures))])
                    .await
                    .map(|v| v == Value::Bool(true))
            }
            WaitTarget::Url(re) => c.current_url().await.map(|u| re.is_match(u.as_str())),
            WaitTarget::Eval(js) => {
                let js = format!(
                    "try {{ return Promise.resolve(({js})).then(v => !!v, () => false); }} catch (e) {{ return false; }}"
                );
                c.execute(&js, Vec::new())
                    .await
                    .map(|v| v == Value::Bool(true))
            }
        };
        // A stale reference means the page changed the element under the look: look again.
        let holds = match holds {
            Err(e) if e.is_stale_element_reference() => Ok(false),
            holds => holds,
        };
        if holds.map_err(|e| Stop::Errored(classify(what, &e)))? {
            return Ok(());
        }
        if Instant::now() >= until {
            return Err(failed(
                what.to_string(),
                "to happen".into(),
                format!("not within {}", humantime::format_duration(timeout)),
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Whether an element matching `s` is displayed. One removed between the find and the display
/// check (a stale reference: the page replaced or removed it) is not displayed.
async fn visible(c: &Client, s: &Selector) -> Result<bool, CmdError> {
    match find(c, s).await? {
        Some(el) => match el.is_displayed().await {
            Err(e) if e.is_stale_element_reference() => Ok(false),
            shown => shown,
        },
        None => Ok(false),
    }
}

/// Evaluates a page assertion; a failed one stops the step.
async fn assertion(
    c: &Client,
    a: &PageAssert,
    captures: &Captures,
    seen: &Seen,
    what: &str,
) -> Result<AssertionResult, Stop> {
    let err = |e: CmdError| Stop::Errored(classify(what, &e));
    let (passed, expected, actual) = match a {
        PageAssert::Text(sel, test) => {
            let text = match find(c, sel).await.map_err(err)? {
                Some(el) => Some(el.text().await.map_err(err)?),
                None => None,
            };
            let (ok, exp) = crate::assert::text_test(test, text.as_deref(), captures);
            (
                ok,
                exp,
                text.map_or_else(
                    || format!("no element matching {sel}"),
                    |t| format!("{t:?}"),
                ),
            )
        }
        PageAssert::Attribute(sel, name, test) => {
            let value = match find(c, sel).await.map_err(err)? {
                Some(el) => el.attr(name).await.map_err(err)?,
                None => None,
            };
            let (ok, exp) = crate::assert::text_test(test, value.as_deref(), captures);
            (
                ok,
                exp,
                value.map_or_else(|| "(absent)".into(), |v| format!("{v:?}")),
            )
        }
        PageAssert::Count(sel, bound) => {
            let n = find_all(c, sel).await.map_err(err)?.len() as u64;
            (bound.holds(&n), bound.shown.clone(), n.to_string())
        }
        PageAssert::Visible(sel, want) => {
            let v = visible(c, sel).await.map_err(err)?;
            (
                v == *want,
                if *want { "visible" } else { "not visible" }.into(),
                if v { "visible" } else { "not visible" }.into(),
            )
        }
        PageAssert::Title(test) => {
            let t = c.title().await.map_err(err)?;
            let (ok, exp) = crate::assert::text_test(test, Some(&t), captures);
            (ok, exp, format!("{t:?}"))
        }
        PageAssert::Url(re) => {
            let u = c.current_url().await.map_err(err)?;
            (
                re.is_match(u.as_str()),
                format!("matching /{}/", re.as_str()),
                u.to_string(),
            )
        }
        PageAssert::NoConsoleErrors => (
            seen.console_errors.is_empty(),
            "none".into(),
            seen.console_errors.join(" | "),
        ),
        PageAssert::NoFailedRequests => (
            seen.failed_requests.is_empty(),
            "none".into(),
            seen.failed_requests.join(" | "),
        ),
    };
    let result = AssertionResult::new(what.to_string(), passed, expected, actual);
    if passed {
        Ok(result)
    } else {
        Err(Stop::Failed(result))
    }
}
