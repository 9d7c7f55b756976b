//! Parsing a composite alarm's rule: `failing AND slow`, `ALARM("other") OR NOT ok`, with
//! AND binding tighter than OR, NOT tighter than both, and parentheses.

use crate::canary::alarm::{Rule, State};

/// Parses `text`; bare names are this canary's alarms (in ALARM).
pub fn parse(text: &str) -> Result<Rule, String> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, at: 0 };
    let rule = p.or()?;
    match p.tokens.get(p.at) {
        None => Ok(rule),
        Some(Token::Word(w)) if ["and", "or", "not"].contains(&w.as_str()) => Err(format!(
            "`{w}`: write the operators in capitals: AND, OR, NOT"
        )),
        Some(t) => Err(format!("unexpected {} after a complete rule", t.show())),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Call(State, String),
}

impl Token {
    fn show(&self) -> String {
        match self {
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::Word(w) => format!("`{w}`"),
            Token::Call(s, n) => format!("`{}(\"{n}\")`", s.as_str()),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::Open);
            i += 1;
        } else if c == ')' {
            out.push(Token::Close);
            i += 1;
        } else if is_name(c) {
            let start = i;
            while i < chars.len() && is_name(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let state = match word.as_str() {
                "ALARM" => Some(State::Alarm),
                "OK" => Some(State::Ok),
                "INSUFFICIENT_DATA" => Some(State::InsufficientData),
                _ => None,
            };
            match (state, chars.get(i)) {
                (Some(s), Some('(')) => {
                    let (name, next) = call_argument(&chars, i + 1, &word)?;
                    out.push(Token::Call(s, name));
                    i = next;
                }
                _ => out.push(Token::Word(word)),
            }
        } else {
            return Err(format!(
                "`{c}` cannot appear in a rule: use alarm names, AND, OR, NOT, parentheses and ALARM(\"name\")"
            ));
        }
    }
    Ok(out)
}

/// `"name")` or `name)` after `ALARM(`; returns the name and the index after `)`.
fn call_argument(chars: &[char], mut i: usize, func: &str) -> Result<(String, usize), String> {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    let quoted = chars.get(i) == Some(&'"');
    if quoted {
        i += 1;
    }
    let start = i;
    while i < chars.len()
        && chars[i] != ')'
        && (quoted && chars[i] != '"' || !quoted && is_name(chars[i]))
    {
        i += 1;
    }
    let name: String = chars[start..i].iter().collect();
    if quoted {
        if chars.get(i) != Some(&'"') {
            return Err(format!("{func}(\"…: the name's closing quote is missing"));
        }
        i += 1;
    }
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    if chars.get(i) != Some(&')') || name.is_empty() {
        return Err(format!(
            "{func}(…) takes one alarm name, like {func}(\"checkout-failing\")"
        ));
    }
    Ok((name, i + 1))
}

fn is_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-.:/".contains(c)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(x)) if x == w)
    }

    fn or(&mut self) -> Result<Rule, String> {
        let mut left = self.and()?;
        while self.peek_word("OR") {
            self.at += 1;
            left = Rule::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Rule, String> {
        let mut left = self.not()?;
        while self.peek_word("AND") {
            self.at += 1;
            left = Rule::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Rule, String> {
        if self.peek_word("NOT") {
            self.at += 1;
            return Ok(Rule::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Rule, String> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            None => Err("the rule ends where an alarm name or `(` is expected".into()),
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.tokens.get(self.at) {
                    Some(Token::Close) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    _ => Err("a `(` is not closed".into()),
                }
            }
            Some(Token::Call(s, name)) => Ok(Rule::External(s, name)),
            Some(Token::Word(w)) => match w.as_str() {
                "TRUE" => Ok(Rule::Const(true)),
                "FALSE" => Ok(Rule::Const(false)),
                "AND" | "OR" | "NOT" => Err(format!("`{w}` where an alarm name is expected")),
                "and" | "or" | "not" => Err(format!(
                    "`{w}`: write the operators in capitals: AND, OR, NOT"
                )),
                _ => Ok(Rule::Local(State::Alarm, w)),
            },
            Some(t @ Token::Close) => Err(format!("unexpected {}", t.show())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(r: &str) -> String {
        parse(r).unwrap().render(&|n| format!("canary-shop-{n}"))
    }

    #[test]
    fn parses_and_renders_as_cloudwatch_writes_it() {
        assert_eq!(
            render("failing AND slow"),
            r#"ALARM("canary-shop-failing") AND ALARM("canary-shop-slow")"#
        );
        assert_eq!(
            render("a OR b AND NOT c"),
            r#"ALARM("canary-shop-a") OR ALARM("canary-shop-b") AND NOT ALARM("canary-shop-c")"#
        );
        assert_eq!(
            render("(a OR b) AND ALARM(\"other-team-db\")"),
            r#"(ALARM("canary-shop-a") OR ALARM("canary-shop-b")) AND ALARM("other-team-db")"#
        );
        assert_eq!(
            render("NOT (a AND TRUE)"),
            r#"NOT (ALARM("canary-shop-a") AND TRUE)"#
        );
        assert_eq!(parse("a AND b").unwrap().locals(), ["a", "b"]);
    }

    #[test]
    fn says_what_is_wrong() {
        assert!(parse("a AND").unwrap_err().contains("ends where"));
        assert!(parse("(a OR b").unwrap_err().contains("not closed"));
        assert!(parse("a and b").unwrap_err().contains("capitals"));
        assert!(parse("a b").unwrap_err().contains("after a complete rule"));
        assert!(parse("ALARM(\"x").unwrap_err().contains("closing quote"));
        assert!(parse("a & b").unwrap_err().contains("cannot appear"));
    }
}
