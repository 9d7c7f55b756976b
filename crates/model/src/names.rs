//! Metric names and dimensions as each engine spells and limits them.

/// Checks a dimension as CloudWatch accepts it: a name of 1–255 and a value of 1–1024
/// characters, no control characters, and a name that does not start with `:`.
pub fn check_dimension(name: &str, value: &str) -> Result<(), String> {
    let ok = |s: &str, max: usize| {
        !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
    };
    if !ok(name, 255) || name.starts_with(':') {
        return Err(format!(
            "dimension name `{name}`: 1 to 255 characters, no control characters, not starting with `:`"
        ));
    }
    if !ok(value, 1024) {
        return Err(format!(
            "dimension `{name}`: the value must have 1 to 1024 characters and no control characters"
        ));
    }
    Ok(())
}

/// A Prometheus label name from a dimension name: invalid characters become `_`.
pub fn label_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}
