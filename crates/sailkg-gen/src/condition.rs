//! The condition language for sampling: comparisons, set membership, ranges and conjunctions
//! over columns — `weather = 'snow'`, `magnitude >= 7 and depth < 70`,
//! `genre in ('Western', 'Film-Noir')`, `year between 1950 and 1960`. Quote a column name with
//! backticks (`` `dep delay` > 60 ``). Errors name the character where parsing stopped.

use crate::GenError;

/// A literal in a condition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    Number(f64),
    Text(String),
    Bool(bool),
}

impl Value {
    /// The value as a label (how categorical columns compare).
    pub fn label(&self) -> String {
        match self {
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Value::Number(n) => n.to_string(),
            Value::Text(t) => t.clone(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// What one clause asks of a column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Test {
    Eq(Value),
    Ne(Value),
    In(Vec<Value>),
    /// Bounds with whether each is inclusive.
    Range {
        lo: Option<(f64, bool)>,
        hi: Option<(f64, bool)>,
    },
}

/// One `column test` clause.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Clause {
    pub column: String,
    pub test: Test,
}

/// A conjunction of clauses; empty means no condition.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Condition {
    pub clauses: Vec<Clause>,
    /// The text it was parsed from.
    pub text: String,
}

impl Condition {
    /// Parses a condition; an empty text is no condition.
    pub fn parse(text: &str) -> Result<Self, GenError> {
        let mut parser = Parser { text, pos: 0 };
        let mut clauses = Vec::new();
        parser.skip_space();
        if parser.pos == text.len() {
            return Ok(Self::default());
        }
        loop {
            clauses.push(parser.clause()?);
            parser.skip_space();
            if parser.pos == text.len() {
                break;
            }
            if !parser.keyword("and") {
                return Err(parser.error("expected `and` or the end of the condition"));
            }
        }
        Ok(Self { clauses, text: text.to_owned() })
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, message: &str) -> GenError {
        let column = self.text[..self.pos].chars().count() + 1;
        let found: String = self.text[self.pos..].chars().take(12).collect();
        let found = if found.is_empty() { "the end".to_owned() } else { format!("`{found}`") };
        GenError::Condition { column, message: format!("{message}, found {found}") }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn keyword(&mut self, word: &str) -> bool {
        self.skip_space();
        let rest = self.rest();
        let matches = rest.len() >= word.len()
            && rest[..word.len()].eq_ignore_ascii_case(word)
            && !rest[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
        if matches {
            self.pos += word.len();
        }
        matches
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(symbol) {
            self.pos += symbol.len();
            true
        } else {
            false
        }
    }

    fn identifier(&mut self) -> Result<String, GenError> {
        self.skip_space();
        if self.symbol("`") {
            let end = self.rest().find('`').ok_or_else(|| self.error("unclosed `` ` `` in a column name"))?;
            let name = self.rest()[..end].to_owned();
            self.pos += end + 1;
            return Ok(name);
        }
        let len = self
            .rest()
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '-'))
            .unwrap_or(self.rest().len());
        if len == 0 || self.rest().starts_with(|c: char| c.is_ascii_digit()) {
            return Err(self.error("expected a column name"));
        }
        let name = self.rest()[..len].to_owned();
        self.pos += len;
        Ok(name)
    }

    fn value(&mut self) -> Result<Value, GenError> {
        self.skip_space();
        let rest = self.rest();
        if let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
            // A doubled quote stands for itself.
            let mut out = String::new();
            let mut chars = rest.char_indices().skip(1).peekable();
            while let Some((i, c)) = chars.next() {
                if c == quote {
                    if chars.peek().map(|(_, c)| *c) == Some(quote) {
                        out.push(quote);
                        chars.next();
                        continue;
                    }
                    self.pos += i + 1;
                    return Ok(Value::Text(out));
                }
                out.push(c);
            }
            return Err(self.error("unclosed string"));
        }
        if self.keyword("true") {
            return Ok(Value::Bool(true));
        }
        if self.keyword("false") {
            return Ok(Value::Bool(false));
        }
        let len = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
            .unwrap_or(rest.len());
        match rest[..len].parse::<f64>() {
            Ok(n) if len > 0 && n.is_finite() => {
                self.pos += len;
                Ok(Value::Number(n))
            }
            _ => Err(self.error("expected a value: a number, a 'quoted string', true or false")),
        }
    }

    fn number(&mut self) -> Result<f64, GenError> {
        let at = self.pos;
        match self.value()? {
            Value::Number(n) => Ok(n),
            _ => {
                self.pos = at;
                Err(self.error("expected a number"))
            }
        }
    }

    fn clause(&mut self) -> Result<Clause, GenError> {
        let column = self.identifier()?;
        let test = if self.keyword("in") {
            if !self.symbol("(") {
                return Err(self.error("expected `(` after `in`"));
            }
            let mut values = vec![self.value()?];
            while self.symbol(",") {
                values.push(self.value()?);
            }
            if !self.symbol(")") {
                return Err(self.error("expected `,` or `)`"));
            }
            Test::In(values)
        } else if self.keyword("between") {
            let lo = self.number()?;
            if !self.keyword("and") {
                return Err(self.error("expected `and` in `between ... and ...`"));
            }
            let hi = self.number()?;
            Test::Range { lo: Some((lo, true)), hi: Some((hi, true)) }
        } else if self.symbol("<=") {
            Test::Range { lo: None, hi: Some((self.number()?, true)) }
        } else if self.symbol(">=") {
            Test::Range { lo: Some((self.number()?, true)), hi: None }
        } else if self.symbol("!=") || self.symbol("<>") {
            Test::Ne(self.value()?)
        } else if self.symbol("<") {
            Test::Range { lo: None, hi: Some((self.number()?, false)) }
        } else if self.symbol(">") {
            Test::Range { lo: Some((self.number()?, false)), hi: None }
        } else if self.symbol("==") || self.symbol("=") {
            Test::Eq(self.value()?)
        } else {
            return Err(self.error("expected =, !=, <, <=, >, >=, in or between"));
        };
        Ok(Clause { column, test })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_examples() {
        let c = Condition::parse("weather = 'snow'").unwrap();
        assert_eq!(
            c.clauses,
            [Clause { column: "weather".into(), test: Test::Eq(Value::Text("snow".into())) }]
        );
        let c = Condition::parse("magnitude >= 7 and depth < 70").unwrap();
        assert_eq!(c.clauses[0].test, Test::Range { lo: Some((7.0, true)), hi: None });
        assert_eq!(c.clauses[1].test, Test::Range { lo: None, hi: Some((70.0, false)) });
        let c = Condition::parse("genre IN ('Western', \"Film-Noir\") AND `dep delay` between -5 and 1e2")
            .unwrap();
        assert_eq!(
            c.clauses[0].test,
            Test::In(vec![Value::Text("Western".into()), Value::Text("Film-Noir".into())])
        );
        assert_eq!(c.clauses[1].column, "dep delay");
        assert_eq!(c.clauses[1].test, Test::Range { lo: Some((-5.0, true)), hi: Some((100.0, true)) });
        assert_eq!(
            Condition::parse("name = 'O''Hare'").unwrap().clauses[0].test,
            Test::Eq(Value::Text("O'Hare".into()))
        );
        assert!(Condition::parse("  ").unwrap().is_empty());
    }

    #[test]
    fn errors_are_located() {
        for (text, column) in [
            ("magnitude >= seven", 14),
            ("magnitude >= 7 or depth < 3", 16),
            ("weather = 'snow", 11),
            ("7 > magnitude", 1),
            ("genre in ('a' 'b')", 15),
            ("depth ~ 3", 7),
        ] {
            match Condition::parse(text) {
                Err(GenError::Condition { column: at, message }) => {
                    assert_eq!(at, column, "{text}: {message}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
