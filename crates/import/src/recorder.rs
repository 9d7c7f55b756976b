//! A Chrome DevTools Recorder recording (its JSON export, puppeteer/replay's `UserFlow`) as a
//! browser canary: one canary action per recorded step, each step's selector picked from its
//! alternatives (CSS, else XPath, else text), asserted navigations as waits and title checks.

use std::path::Path;

use serde_json::Value;

use super::{ImportError, Imported, Writer, read_json, scalar};
use crate::canary::browser::KEYS;

/// The indent of a `- action` line under `browser.steps`.
const STEP: usize = 2;

/// Imports the recording in `file` as a canary named `name` (default: from its title).
pub fn import(file: &Path, name: Option<&str>) -> Result<Imported, ImportError> {
    let path = file.display().to_string();
    let flow = read_json(file)?;
    let steps = flow["steps"].as_array().ok_or_else(|| {
        ImportError::Format(format!(
            "{path}: no `steps` list (not a Chrome DevTools Recorder JSON export)"
        ))
    })?;
    let title = flow["title"].as_str().unwrap_or("");
    let mut r = Recording {
        w: Writer::default(),
        timeout: flow["timeout"].as_u64(),
        secrets: 0,
    };
    let shown = match title {
        "" => String::new(),
        t => format!(": \"{t}\""),
    };
    r.w.comment(
        0,
        format!(
            "Imported from {path} (Chrome DevTools Recorder{shown}) by `canary import recorder`."
        ),
    );
    let fallback = file
        .file_stem()
        .map_or("imported".into(), |s| s.to_string_lossy().into_owned());
    let name = name.map_or_else(|| slug(title).unwrap_or(fallback), str::to_string);
    r.w.line(0, format!("name: {}", scalar(&name)));
    r.w.line(0, "browser:");
    // Viewports set before anything else are the window's size; the last of them counts.
    let leading = steps
        .iter()
        .take_while(|s| s["type"] == "setViewport")
        .count();
    if let Some(v) = steps[..leading].last() {
        r.viewport(v, 1);
    }
    r.w.line(1, "steps:");
    let leading = steps
        .iter()
        .take_while(|s| s["type"] == "setViewport")
        .count();
    for (i, step) in steps.iter().enumerate().skip(leading) {
        r.step(i + 1, step);
    }
    Ok(r.w.finish())
}

/// The canary being written from a recording.
struct Recording {
    w: Writer,
    /// The recording's own default timeout, milliseconds.
    timeout: Option<u64>,
    /// How many typed values were turned into secrets so far.
    secrets: usize,
}

impl Recording {
    /// `viewport:` from a `setViewport` step, at `indent`; what it cannot carry is noted.
    fn viewport(&mut self, v: &Value, indent: usize) {
        let (w, h) = (v["width"].as_u64(), v["height"].as_u64());
        if let (Some(w), Some(h)) = (w, h) {
            self.w.line(indent, format!("viewport: {w}x{h}"));
        }
        let scale = v["deviceScaleFactor"].as_f64().unwrap_or(1.0);
        let mobile = v["isMobile"] == true || v["hasTouch"] == true;
        if mobile || scale != 1.0 {
            let why = "device emulation (isMobile, hasTouch, deviceScaleFactor) has no canary equivalent: the window is a desktop one of this size";
            self.w.note(indent, "setViewport", why);
        }
    }

    /// Step `n` of the recording as canary actions, then its asserted events.
    fn step(&mut self, n: usize, s: &Value) {
        let kind = s["type"].as_str().unwrap_or("?");
        let place = format!("step {n} ({kind})");
        if let Some(why) = elsewhere(s) {
            self.w.note(
                STEP,
                &place,
                format!("left out: it acts {why}, canary acts on the page's top document"),
            );
            return;
        }
        match kind {
            "navigate" => {
                let url = s["url"].as_str().unwrap_or("");
                self.action(format!("goto: {}", lit(url)));
            }
            "click" => self.click(&place, s),
            "change" => self.change(&place, s),
            "hover" => {
                if let Some(sel) = self.selector(&place, s) {
                    self.action(format!("hover: {}", lit(&sel)));
                }
            }
            "keyDown" => self.key(&place, s),
            "keyUp" => {} // the release of the key `keyDown` pressed
            "waitForElement" => self.wait_for_element(&place, s),
            "waitForExpression" => {
                let js = s["expression"].as_str().unwrap_or("false");
                let timeout = self.timeout_of(s);
                self.action(format!("wait_for: {{ eval: {}{timeout} }}", scalar(js)));
            }
            "scroll" => self.scroll(&place, s),
            "setViewport" => self.w.note(
                STEP,
                &place,
                "left out: a viewport change after the flow started has no canary step (the first one sets `viewport:`)",
            ),
            "close" => self.w.comment(
                STEP,
                "(the recording closes the page here; canary closes the browser after every run)",
            ),
            other => self.w.note(
                STEP,
                &place,
                format!("left out: `{other}` steps have no canary equivalent"),
            ),
        }
        self.asserted_events(s);
    }

    fn action(&mut self, text: String) {
        self.w.line(STEP, format!("- {text}"));
    }

    fn click(&mut self, place: &str, s: &Value) {
        let button = s["button"].as_str().unwrap_or("primary");
        if button != "primary" {
            let why = format!("left out: a {button}-button click has no canary step");
            self.w.note(STEP, place, why);
            return;
        }
        if let Some(sel) = self.selector(place, s) {
            self.action(format!("click: {}", lit(&sel)));
        }
    }

    /// A typed value, or an option chosen; a password's value becomes a secret reference.
    fn change(&mut self, place: &str, s: &Value) {
        let Some(sel) = self.selector(place, s) else {
            return;
        };
        let typed = s["value"].as_str().unwrap_or("");
        let value = match is_password(s) {
            true => {
                self.secrets += 1;
                let secret = match self.secrets {
                    1 => "PASSWORD".to_string(),
                    k => format!("PASSWORD_{k}"),
                };
                let why = format!(
                    "the typed value is read from the {secret} secret, not kept in the file"
                );
                self.w.note(STEP, place, why);
                format!("\"${{secret:{secret}}}\"")
            }
            false => lit(typed),
        };
        self.action(format!(
            "fill: {{ selector: {}, value: {value} }}",
            lit(&sel)
        ));
    }

    /// A key press; modifiers and keys canary cannot press are noted.
    fn key(&mut self, place: &str, s: &Value) {
        let key = s["key"].as_str().unwrap_or("");
        match press(key) {
            Some(k) => self.action(format!("press: {}", scalar(&k))),
            None => self.w.note(
                STEP,
                place,
                format!("left out: the key `{key}` (modifiers and key chords have no canary step)"),
            ),
        }
    }

    /// A wait for elements: their state, then their count and attributes when those were asked.
    fn wait_for_element(&mut self, place: &str, s: &Value) {
        let Some(sel) = self.selector(place, s) else {
            return;
        };
        let sel = lit(&sel);
        let op = s["operator"].as_str().unwrap_or("==");
        let count = s["count"].as_u64().unwrap_or(1);
        let timeout = self.timeout_of(s);
        let gone = count == 0 && op != ">=";
        let state = match (gone, s["visible"] == false) {
            (true, _) => "gone",
            (false, true) => "present",
            (false, false) => "visible",
        };
        self.action(format!(
            "wait_for: {{ selector: {sel}, state: {state}{timeout} }}"
        ));
        let bound = match op {
            ">=" => format!("{{ gte: {count} }}"),
            "<=" => format!("{{ lte: {count} }}"),
            _ => count.to_string(),
        };
        if !gone && (op, count) != (">=", 1) {
            self.action(format!("assert: {{ selector: {sel}, count: {bound} }}"));
        }
        if let Some(attrs) = s["attributes"].as_object() {
            for (k, v) in attrs {
                let v = lit(v.as_str().unwrap_or(""));
                self.action(format!(
                    "assert: {{ selector: {sel}, attribute: {}, equals: {v} }}",
                    scalar(k)
                ));
            }
        }
        if s["properties"].is_object() {
            let why = "its `properties` check has no canary equivalent (attributes are asserted)";
            self.w.note(STEP, place, why);
        }
    }

    /// A scroll of the page, or of the element its CSS selector names.
    fn scroll(&mut self, place: &str, s: &Value) {
        let (x, y) = (s["x"].as_i64().unwrap_or(0), s["y"].as_i64().unwrap_or(0));
        let target = match s["selectors"].as_array() {
            None => "window".to_string(),
            Some(_) => match css(s) {
                Some(css) => format!("document.querySelector({})", serde_json::json!(css)),
                None => {
                    let why = "left out: scrolling an element needs its CSS selector, and none was recorded";
                    self.w.note(STEP, place, why);
                    return;
                }
            },
        };
        let js = format!("({target}.scrollTo({x}, {y}), true)");
        self.action(format!("eval: {}", scalar(&js)));
    }

    /// A navigation the step caused: a wait for its URL, then its title.
    fn asserted_events(&mut self, s: &Value) {
        let events = s["assertedEvents"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        for e in events.iter().filter(|e| e["type"] == "navigation") {
            if let Some(url) = e["url"].as_str().filter(|u| !u.is_empty()) {
                let re = format!("^{}$", regex::escape(url));
                let timeout = self.timeout_of(s);
                self.action(format!("wait_for: {{ url: {}{timeout} }}", scalar(&re)));
            }
            if let Some(title) = e["title"].as_str().filter(|t| !t.is_empty()) {
                self.action(format!("assert: {{ title_equals: {} }}", lit(title)));
            }
        }
    }

    /// The step's selector as canary writes it, or a note saying why there is none.
    fn selector(&mut self, place: &str, s: &Value) -> Option<String> {
        let picked = pick(s);
        if picked.is_none() {
            let why = "left out: none of its selectors is CSS, XPath or text (ARIA, pierce and chained selectors have no canary equivalent)";
            self.w.note(STEP, place, why);
        }
        picked
    }

    /// `, timeout: …` from the step's timeout, else the recording's, else nothing (canary's 10 s).
    fn timeout_of(&self, s: &Value) -> String {
        match s["timeout"].as_u64().or(self.timeout) {
            Some(ms) if ms % 1000 == 0 => format!(", timeout: {}s", ms / 1000),
            Some(ms) => format!(", timeout: {ms}ms"),
            None => String::new(),
        }
    }
}

/// Why a step acts outside the page's top document (another target or a frame), if it does.
fn elsewhere(s: &Value) -> Option<&'static str> {
    let target = s["target"].as_str().unwrap_or("main");
    let in_frame = s["frame"].as_array().is_some_and(|f| !f.is_empty());
    match (target != "main", in_frame) {
        (true, _) => Some("in another tab or window"),
        (false, true) => Some("inside a frame"),
        _ => None,
    }
}

/// The step's single-element selectors (a one-item chain counts; longer chains reach into
/// shadow roots or frames), in the recorded order.
fn singles(s: &Value) -> impl Iterator<Item = &str> {
    let list = s["selectors"].as_array().map_or(&[][..], Vec::as_slice);
    list.iter().filter_map(|sel| match sel {
        Value::String(one) => Some(one.as_str()),
        Value::Array(chain) if chain.len() == 1 => chain[0].as_str(),
        _ => None,
    })
}

/// The first CSS selector of the step.
fn css(s: &Value) -> Option<&str> {
    const OTHERS: [&str; 4] = ["aria/", "xpath/", "pierce/", "text/"];
    singles(s).find(|sel| !OTHERS.iter().any(|p| sel.starts_with(p)))
}

/// The step's selector as canary writes it: CSS, else XPath (`xpath=`), else text (`text=`).
fn pick(s: &Value) -> Option<String> {
    if let Some(css) = css(s) {
        return Some(css.to_string());
    }
    let prefixed = |prefix: &str| singles(s).find_map(|sel| sel.strip_prefix(prefix));
    if let Some(x) = prefixed("xpath/") {
        return Some(format!("xpath={x}"));
    }
    prefixed("text/").map(|t| format!("text={t}"))
}

/// Whether the field typed into is a password field (by any of its selectors).
fn is_password(s: &Value) -> bool {
    singles(s).any(|sel| sel.to_ascii_lowercase().contains("password"))
}

/// A recorded key as canary's `press:` names it, or None for a modifier.
fn press(key: &str) -> Option<String> {
    let named = match key {
        "NumpadEnter" | "\r" | "\n" => "Enter",
        " " => "Space",
        k if KEYS.contains(&k) => k,
        k if k.chars().count() == 1 => return Some(k.to_string()),
        _ => return None,
    };
    Some(named.to_string())
}

/// A canary name from the recording's title: lowercase words joined by `-`.
fn slug(title: &str) -> Option<String> {
    let words: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    (!words.is_empty()).then(|| words.join("-"))
}

/// A string for a templated field: `${` kept literal (`$${`), then as a YAML scalar.
fn lit(s: &str) -> String {
    scalar(&s.replace("${", "$${"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{pick, press, slug};

    #[test]
    fn the_selector_is_css_else_xpath_else_text() {
        let all = json!({ "selectors": [["aria/Sign in"], ["#f > button"], ["xpath///*[@id=\"f\"]/button"], ["pierce/#f > button"], ["text/Sign in"]] });
        assert_eq!(pick(&all).as_deref(), Some("#f > button"));
        let no_css =
            json!({ "selectors": [["aria/Sign in"], ["xpath///button"], ["text/Sign in"]] });
        assert_eq!(pick(&no_css).as_deref(), Some("xpath=//button"));
        let text = json!({ "selectors": [["aria/Sign in"], ["text/Sign in"]] });
        assert_eq!(pick(&text).as_deref(), Some("text=Sign in"));
        let chained = json!({ "selectors": [["my-app", "#inner"], ["aria/Inner"]] });
        assert_eq!(pick(&chained), None);
        let plain = json!({ "selectors": ["#plain"] });
        assert_eq!(pick(&plain).as_deref(), Some("#plain"));
    }

    #[test]
    fn keys_and_titles() {
        assert_eq!(press("Enter").as_deref(), Some("Enter"));
        assert_eq!(press(" ").as_deref(), Some("Space"));
        assert_eq!(press("a").as_deref(), Some("a"));
        assert_eq!(press("Shift"), None);
        assert_eq!(slug("Login flow #2").as_deref(), Some("login-flow-2"));
        assert_eq!(slug(" — "), None);
    }
}
