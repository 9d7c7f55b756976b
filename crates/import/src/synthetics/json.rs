//! Reading a JSON object field by field, remembering which fields were read, so that what is
//! left over can be reported instead of dropped.

use std::cell::RefCell;

use serde_json::{Map, Value};

use crate::ImportError;

/// A JSON object being read.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    used: RefCell<Vec<&'a str>>,
    /// Where it is, for messages: `step 2 (dnsCheck)`.
    pub place: String,
}

impl<'a> Obj<'a> {
    /// `v`, which must be an object.
    pub fn new(v: &'a Value, place: &str) -> Result<Obj<'a>, ImportError> {
        match v {
            Value::Object(map) => Ok(Obj {
                map,
                used: RefCell::new(Vec::new()),
                place: place.to_string(),
            }),
            _ => Err(ImportError::Format(format!(
                "{place} must be a JSON object"
            ))),
        }
    }

    /// A field, marked as read.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        let (k, v) = self.map.get_key_value(key)?;
        self.used.borrow_mut().push(k.as_str());
        Some(v)
    }

    /// A string (or a number or boolean, as text).
    pub fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A string that must be there.
    pub fn required(&self, key: &str) -> Result<String, ImportError> {
        self.text(key)
            .ok_or_else(|| ImportError::Format(format!("{}: `{key}` is required", self.place)))
    }

    /// A boolean (also `"true"`/`"false"`).
    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// A number; a string `${name}` is looked up in `vars` (Synthetics substitutes variables in
    /// numeric fields too).
    pub fn number(&self, key: &str, vars: &Map<String, Value>) -> Result<Option<f64>, ImportError> {
        let bad = |v: &Value| {
            ImportError::Format(format!("{}: `{key}` is not a number: {v}", self.place))
        };
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let text = match v {
            Value::Number(n) => return Ok(n.as_f64()),
            Value::String(s) => s.trim(),
            other => return Err(bad(other)),
        };
        let resolved = match text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
            Some(name) => match vars.get(name) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(bad(v)),
            },
            None => text.to_string(),
        };
        resolved.trim().parse().map(Some).map_err(|_| bad(v))
    }

    /// The fields never read, in file order.
    pub fn rest(&self) -> Vec<&'a str> {
        let used = self.used.borrow();
        self.map
            .keys()
            .map(String::as_str)
            .filter(|k| !used.contains(k))
            .collect()
    }
}
