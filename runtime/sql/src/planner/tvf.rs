//! Window table-valued functions: `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10'
//! SECOND))`, `HOP(TABLE t, DESCRIPTOR(ts), slide, size)` and `CUMULATE(TABLE t,
//! DESCRIPTOR(ts), step, size)`, each with an optional offset, and `SESSION(TABLE t
//! [PARTITION BY k], DESCRIPTOR(ts), gap)`. sqlparser does not know them, so each call is
//! replaced, before parsing, by a
//! virtual table (`__tumble_1`, …) whose columns are the input's plus `window_start`,
//! `window_end` and `window_time`. The replacement keeps the text's lines, so positions in
//! error messages still point at the original text.

use std::sync::Arc;

use arrow_schema::{Field, Schema, SchemaRef};
use datafusion_expr::LogicalPlan;
use datafusion_sql::sqlparser::keywords::Keyword;
use datafusion_sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, Position, Result};
use crate::parse::{FlinkDialect, byte_offset, is_trivia};

/// Which windows a window TVF assigns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WindowKind {
    /// `TUMBLE`: one window of `size` per row.
    Tumble,
    /// `HOP`: the windows of `size` starting every `slide` that hold the row.
    Hop { slide: i64 },
    /// `CUMULATE`: from each `size` boundary, the windows ending every `step` up to `size`
    /// that hold the row.
    Cumulate { step: i64 },
    /// `SESSION`: each row opens a window of `size` (the gap) from its time; the window
    /// aggregate merges a partition's overlapping windows into sessions.
    Session,
}

impl WindowKind {
    /// The TVF's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            WindowKind::Tumble => "TUMBLE",
            WindowKind::Hop { .. } => "HOP",
            WindowKind::Cumulate { .. } => "CUMULATE",
            WindowKind::Session => "SESSION",
        }
    }
}

/// A window TVF call, resolved.
#[derive(Clone, Debug)]
pub(crate) struct TumbleSpec {
    pub kind: WindowKind,
    /// `SESSION(TABLE t PARTITION BY columns, …)`: the partition columns.
    pub partition: Vec<String>,
    /// The input table or view, as written.
    pub base: Vec<String>,
    /// The input's plan (a table scan, or a view's query).
    pub base_plan: Option<LogicalPlan>,
    /// `DESCRIPTOR(column)`: the time attribute.
    pub time_column: String,
    pub size_millis: i64,
    pub offset_millis: i64,
    /// The input's columns, then `window_start`, `window_end`, `window_time`.
    pub schema: SchemaRef,
}

impl TumbleSpec {
    /// The schema of the TVF's output for an input of `base` columns.
    pub(crate) fn output_schema(base: &Schema) -> SchemaRef {
        let mut fields: Vec<Field> = base.fields().iter().map(|f| f.as_ref().clone()).collect();
        for name in ["window_start", "window_end", "window_time"] {
            fields.push(Field::new(
                name,
                arrow_schema::DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, None),
                false,
            ));
        }
        Arc::new(Schema::new(fields))
    }
}

/// A TVF call found in the text, before its input is resolved.
#[derive(Clone, Debug)]
pub(crate) struct TvfCall {
    pub name: String,
    pub kind: WindowKind,
    pub partition: Vec<String>,
    pub base: Vec<String>,
    pub time_column: String,
    pub size_millis: i64,
    pub offset_millis: i64,
}

const WINDOW_FUNCTIONS: [&str; 4] = ["TUMBLE", "HOP", "CUMULATE", "SESSION"];

/// Replaces each `TABLE(TUMBLE(…))`, `TABLE(HOP(…))` and `TABLE(CUMULATE(…))` of `text` by
/// a virtual table name.
pub(crate) fn rewrite_window_tvfs(text: &str) -> Result<(String, Vec<TvfCall>)> {
    let tokens: Vec<TokenWithSpan> = Tokenizer::new(&FlinkDialect, text)
        .tokenize_with_location()
        .map_err(|error| {
            Error::parse(
                &error.message,
                text,
                Position {
                    line: error.location.line,
                    column: error.location.column,
                },
            )
        })?
        .into_iter()
        .filter(|token| !is_trivia(&token.token))
        .collect();
    let mut calls = Vec::new();
    let mut rewritten = String::with_capacity(text.len());
    let mut copied = 0;
    let mut index = 0;
    while index < tokens.len() {
        let is_call = is_keyword(&tokens[index].token, Keyword::TABLE)
            && tokens
                .get(index + 1)
                .is_some_and(|t| t.token == Token::LParen)
            && tokens
                .get(index + 2)
                .is_some_and(|t| window_function(&t.token).is_some());
        if !is_call {
            index += 1;
            continue;
        }
        let function = window_function(&tokens[index + 2].token).unwrap_or("TUMBLE");
        let name = format!("__tumble_{}", calls.len() + 1);
        let mut cursor = Cursor {
            tokens: &tokens,
            index: index + 3,
            text,
            function,
        };
        let call = cursor.window_call(name.clone())?;
        let start = byte_offset(text, tokens[index].span.start);
        let last = &tokens[cursor.index - 1];
        let end = byte_offset(text, last.span.start) + 1;
        rewritten.push_str(&text[copied..start]);
        let blank: String = text[start..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        let first_line = blank.find('\n').unwrap_or(blank.len());
        rewritten.push_str(&name);
        rewritten.push_str(&blank[name.len().min(first_line)..]);
        copied = end;
        calls.push(call);
        index = cursor.index;
    }
    rewritten.push_str(&text[copied..]);
    Ok((rewritten, calls))
}

fn is_keyword(token: &Token, keyword: Keyword) -> bool {
    matches!(token, Token::Word(word) if word.keyword == keyword && word.quote_style.is_none())
}

fn window_function(token: &Token) -> Option<&'static str> {
    match token {
        Token::Word(word) if word.quote_style.is_none() => WINDOW_FUNCTIONS
            .iter()
            .find(|name| word.value.eq_ignore_ascii_case(name))
            .copied(),
        _ => None,
    }
}

struct Cursor<'a> {
    tokens: &'a [TokenWithSpan],
    index: usize,
    text: &'a str,
    /// The TVF being read, for error messages.
    function: &'static str,
}

impl Cursor<'_> {
    fn error(&self, expected: &str) -> Error {
        let (found, location) = match self.tokens.get(self.index) {
            Some(token) => (token.token.to_string(), token.span.start),
            None => (
                "the end of the statement".to_owned(),
                self.tokens
                    .last()
                    .map_or(Location { line: 1, column: 1 }, |t| t.span.end),
            ),
        };
        Error::parse(
            format!("{}: expected {expected}, found {found}", self.function),
            self.text,
            Position {
                line: location.line.max(1),
                column: location.column.max(1),
            },
        )
    }

    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.index).map(|t| &t.token);
        self.index += 1;
        token
    }

    fn expect(&mut self, token: &Token, expected: &str) -> Result<()> {
        if self.tokens.get(self.index).map(|t| &t.token) == Some(token) {
            self.index += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn keyword(&mut self, keyword: Keyword, expected: &str) -> Result<()> {
        match self.tokens.get(self.index) {
            Some(token) if is_keyword(&token.token, keyword) => {
                self.index += 1;
                Ok(())
            }
            _ => Err(self.error(expected)),
        }
    }

    fn word(&mut self, expected: &str) -> Result<String> {
        match self.tokens.get(self.index).map(|t| &t.token) {
            Some(Token::Word(word)) => {
                self.index += 1;
                Ok(word.value.clone())
            }
            _ => Err(self.error(expected)),
        }
    }

    /// `( TABLE name , DESCRIPTOR ( column ) , INTERVAL … [, INTERVAL …] ) )`, after
    /// `TABLE ( TUMBLE`; `HOP` and `CUMULATE` take two intervals before the offset (the
    /// slide or step, then the size).
    fn window_call(&mut self, name: String) -> Result<TvfCall> {
        self.expect(&Token::LParen, "(")?;
        if matches!(
            self.tokens.get(self.index + 1).map(|t| &t.token),
            Some(Token::Arrow | Token::RArrow)
        ) {
            return Err(Error::unsupported("named arguments of a window TVF"));
        }
        self.keyword(Keyword::TABLE, "TABLE <name>")?;
        let mut base = vec![self.word("a table name")?];
        while self.tokens.get(self.index).map(|t| &t.token) == Some(&Token::Period) {
            self.index += 1;
            base.push(self.word("a table name")?);
        }
        let mut partition = Vec::new();
        if self
            .tokens
            .get(self.index)
            .is_some_and(|t| is_keyword(&t.token, Keyword::PARTITION))
        {
            if self.function != "SESSION" {
                return Err(self.error(","));
            }
            self.index += 1;
            self.keyword(Keyword::BY, "BY")?;
            partition.push(self.word("a partition column")?);
            while self.tokens.get(self.index).map(|t| &t.token) == Some(&Token::Comma)
                && !self.tokens.get(self.index + 1).is_some_and(|t| {
                    matches!(&t.token, Token::Word(w) if w.value.eq_ignore_ascii_case("DESCRIPTOR"))
                })
            {
                self.index += 1;
                partition.push(self.word("a partition column")?);
            }
        }
        self.expect(&Token::Comma, ",")?;
        match self.tokens.get(self.index).map(|t| &t.token) {
            Some(Token::Word(word)) if word.value.eq_ignore_ascii_case("DESCRIPTOR") => {
                self.index += 1;
            }
            _ => return Err(self.error("DESCRIPTOR(<time column>)")),
        }
        self.expect(&Token::LParen, "(")?;
        let time_column = self.word("a time column")?;
        self.expect(&Token::RParen, ")")?;
        self.expect(&Token::Comma, ",")?;
        let first = self.interval()?;
        let (kind, size_millis) = match self.function {
            "HOP" | "CUMULATE" => {
                self.expect(&Token::Comma, ",")?;
                let size = self.interval()?;
                let kind = if self.function == "HOP" {
                    WindowKind::Hop { slide: first }
                } else {
                    WindowKind::Cumulate { step: first }
                };
                (kind, size)
            }
            "SESSION" => (WindowKind::Session, first),
            _ => (WindowKind::Tumble, first),
        };
        let offset_millis = if self.tokens.get(self.index).map(|t| &t.token) == Some(&Token::Comma)
        {
            self.index += 1;
            self.interval()?
        } else {
            0
        };
        self.expect(&Token::RParen, ")")?;
        self.expect(&Token::RParen, ")")?;
        check_windows(kind, size_millis)?;
        Ok(TvfCall {
            name,
            kind,
            partition,
            base,
            time_column,
            size_millis,
            offset_millis,
        })
    }

    /// `INTERVAL '10' SECOND`, in milliseconds.
    fn interval(&mut self) -> Result<i64> {
        self.keyword(Keyword::INTERVAL, "INTERVAL '<n>' <unit>")?;
        let amount = match self.next() {
            Some(Token::SingleQuotedString(amount)) => amount.trim().to_owned(),
            Some(Token::Number(amount, _)) => amount.clone(),
            _ => {
                self.index -= 1;
                return Err(self.error("a quoted amount such as '10'"));
            }
        };
        let unit = self.word("a unit such as SECOND")?;
        let amount: i64 = amount
            .parse()
            .map_err(|_| Error::unsupported(format!("the interval '{amount}' {unit}")))?;
        let factor = interval_unit_millis(&unit)
            .ok_or_else(|| Error::unsupported(format!("the interval unit {unit}")))?;
        Ok(amount.saturating_mul(factor))
    }
}

/// Checks a window TVF's intervals as Flink does: positive, and a hopping or cumulative
/// window's size a whole multiple of its slide or step.
fn check_windows(kind: WindowKind, size: i64) -> Result<()> {
    let function = kind.name();
    if size <= 0 {
        return Err(Error::validation(format!(
            "{function}: the window size must be positive"
        )));
    }
    let (part, what) = match kind {
        WindowKind::Tumble | WindowKind::Session => return Ok(()),
        WindowKind::Hop { slide } => (slide, "slide"),
        WindowKind::Cumulate { step } => (step, "step"),
    };
    if part <= 0 {
        return Err(Error::validation(format!(
            "{function}: the window {what} must be positive"
        )));
    }
    if size % part != 0 {
        return Err(Error::unsupported(format!(
            "{function} with a size ({size} ms) that is not a whole multiple of its {what} \
             ({part} ms)"
        )));
    }
    Ok(())
}

/// Milliseconds per `SECOND`, `MINUTE`, `HOUR` or `DAY`.
pub(crate) fn interval_unit_millis(unit: &str) -> Option<i64> {
    Some(match unit.to_uppercase().trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tumble_call_becomes_a_virtual_table_and_keeps_the_lines() {
        let text = "SELECT window_start, COUNT(*)\nFROM TABLE(\n  TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECONDS))\nGROUP BY window_start, window_end";
        let (rewritten, calls) = rewrite_window_tvfs(text).unwrap();
        assert_eq!(rewritten.lines().count(), text.lines().count());
        assert!(rewritten.starts_with("SELECT window_start, COUNT(*)\nFROM __tumble_1"));
        assert!(rewritten.ends_with("\nGROUP BY window_start, window_end"));
        assert_eq!(calls[0].base, vec!["bids"]);
        assert_eq!(calls[0].time_column, "ts");
        assert_eq!(calls[0].size_millis, 10_000);
    }

    #[test]
    fn hop_and_cumulate_take_their_slide_or_step_before_the_size() {
        let (_, calls) = rewrite_window_tvfs(
            "SELECT * FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '2' SECOND))",
        )
        .unwrap();
        assert_eq!(calls[0].kind, WindowKind::Hop { slide: 1_000 });
        assert_eq!(calls[0].size_millis, 2_000);
        let (_, calls) = rewrite_window_tvfs(
            "SELECT * FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '1' MINUTE, INTERVAL '1' SECOND))",
        )
        .unwrap();
        assert_eq!(calls[0].kind, WindowKind::Cumulate { step: 5_000 });
        assert_eq!(
            (calls[0].size_millis, calls[0].offset_millis),
            (60_000, 1_000)
        );
    }

    #[test]
    fn session_takes_partition_columns_and_a_size_not_a_multiple_of_the_slide_is_not_supported_yet()
    {
        let error = rewrite_window_tvfs(
            "SELECT * FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '3' SECOND, INTERVAL '10' SECOND))",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "HOP with a size (10000 ms) that is not a whole multiple of its slide (3000 ms) is \
             not supported yet"
        );
        let (_, calls) = rewrite_window_tvfs(
            "SELECT * FROM TABLE(SESSION(TABLE t PARTITION BY k, j, DESCRIPTOR(ts), INTERVAL '3' SECOND))",
        )
        .unwrap();
        assert_eq!(calls[0].kind, WindowKind::Session);
        assert_eq!(calls[0].partition, ["k", "j"]);
        assert_eq!(calls[0].size_millis, 3_000);
        let error = rewrite_window_tvfs(
            "SELECT * FROM TABLE(TUMBLE(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '3' SECOND))",
        )
        .unwrap_err();
        assert!(error.to_string().contains("TUMBLE: expected ,"), "{error}");
        let error = rewrite_window_tvfs(
            "SELECT * FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND))",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("CUMULATE: expected ,"),
            "{error}"
        );
    }
}
