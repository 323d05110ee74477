//! Flink's legacy group windows: `GROUP BY TUMBLE(ts, INTERVAL '10' SECOND)` or `HOP(ts,
//! slide, size)`, with `TUMBLE_START`, `TUMBLE_END`, `HOP_START` and `HOP_END` in the select
//! list (and `SESSION`, `SESSION_START`, `SESSION_END`). They compute what the window TVFs compute, so the query is rewritten, before
//! parsing, into its window TVF form: the table `t` becomes `TABLE(TUMBLE(TABLE t,
//! DESCRIPTOR(ts), …))`, the group window `window_start, window_end`, and `TUMBLE_START(…)`
//! and `TUMBLE_END(…)` the columns `window_start` and `window_end`.
//!
//! `SESSION(ts, gap)` becomes the `SESSION` TVF partitioned by the other `GROUP BY` columns.
//!
//! Only a query over one table (with `WHERE`, `GROUP BY` and `HAVING`) is rewritten; a group
//! window over a join or a subquery, and `*_ROWTIME` and `*_PROCTIME`, are not supported yet.

use datafusion_sql::sqlparser::keywords::Keyword;
use datafusion_sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, Result};
use crate::parse::{FlinkDialect, byte_offset, is_trivia};

const GROUP_WINDOWS: [&str; 3] = ["TUMBLE", "HOP", "SESSION"];

fn word(token: &Token) -> Option<&str> {
    match token {
        Token::Word(word) if word.quote_style.is_none() => Some(&word.value),
        _ => None,
    }
}

fn is_keyword(token: &Token, keyword: Keyword) -> bool {
    matches!(token, Token::Word(word) if word.keyword == keyword && word.quote_style.is_none())
}

/// Rewrites a query with a legacy group window into its window TVF form; any other text comes
/// back unchanged.
pub(crate) fn rewrite_group_windows(text: &str) -> Result<String> {
    // A text that does not tokenize is left to the parser, which reports where.
    let Ok(tokens) = Tokenizer::new(&FlinkDialect, text).tokenize_with_location() else {
        return Ok(text.to_owned());
    };
    let tokens: Vec<TokenWithSpan> = tokens
        .into_iter()
        .filter(|token| !is_trivia(&token.token))
        .collect();
    let Some(group_by) = tokens.windows(2).position(|pair| {
        is_keyword(&pair[0].token, Keyword::GROUP) && is_keyword(&pair[1].token, Keyword::BY)
    }) else {
        return Ok(text.to_owned());
    };
    // The GROUP BY clause ends where its enclosing parenthesis closes (a subquery's), or with
    // the statement: a window TVF of a later subquery (`TABLE(TUMBLE(…))`) is not a group
    // window of this one.
    let mut depth = 0i32;
    let clause_end = (group_by + 2..tokens.len())
        .find(|&index| {
            match tokens[index].token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            depth < 0
        })
        .unwrap_or(tokens.len());
    let calls: Vec<usize> = (group_by + 2..clause_end)
        .filter(|&index| {
            word(&tokens[index].token)
                .is_some_and(|name| GROUP_WINDOWS.iter().any(|w| name.eq_ignore_ascii_case(w)))
                && tokens
                    .get(index + 1)
                    .is_some_and(|t| t.token == Token::LParen)
        })
        .collect();
    let [call] = calls[..] else {
        if calls.is_empty() {
            return Ok(text.to_owned());
        }
        return Err(Error::unsupported(
            "more than one group window in a GROUP BY",
        ));
    };
    let kind = word(&tokens[call].token).unwrap_or_default().to_uppercase();
    let rewriter = Rewriter {
        text,
        tokens: &tokens,
    };
    // `KIND ( time , INTERVAL … [, INTERVAL …] )`
    let close = rewriter.closing(call + 1)?;
    let arguments = rewriter.arguments(call + 2, close);
    let wanted = if kind == "HOP" { 3 } else { 2 };
    if arguments.len() != wanted {
        return Err(Error::unsupported(format!(
            "{kind} with {} arguments in GROUP BY (flinkrs takes {kind}(time, {}))",
            arguments.len(),
            if kind == "HOP" { "slide, size" } else { "size" }
        )));
    }
    let table = rewriter.single_table(group_by)?;
    // Inside the window TVF, columns are the table's own: without the alias' qualifier.
    let unqualified = |column: &str| -> String {
        let bare = match &table.alias {
            Some(alias) => column
                .strip_prefix(alias.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .unwrap_or(column),
            None => column,
        };
        bare.to_owned()
    };
    let time = unqualified(rewriter.argument(arguments[0].clone()));
    let intervals: Vec<&str> = arguments[1..]
        .iter()
        .map(|range| rewriter.argument(range.clone()))
        .collect();

    // A SESSION window's sessions are per the other GROUP BY columns: its PARTITION BY.
    let partition = if kind == "SESSION" {
        let end = (close + 1..tokens.len())
            .find(|&index| {
                let token = &tokens[index].token;
                is_keyword(token, Keyword::HAVING)
                    || is_keyword(token, Keyword::ORDER)
                    || is_keyword(token, Keyword::LIMIT)
                    || *token == Token::SemiColon
            })
            .unwrap_or(tokens.len());
        let mut columns = Vec::new();
        for range in rewriter
            .arguments(group_by + 2, end)
            .into_iter()
            .filter(|range| !range.contains(&call))
        {
            match &tokens[range.clone()] {
                [only] if word(&only.token).is_some() => {
                    columns.push(rewriter.argument(range).to_owned());
                }
                [qualifier, dot, _]
                    if word(&qualifier.token).is_some() && dot.token == Token::Period =>
                {
                    columns.push(unqualified(rewriter.argument(range)));
                }
                _ => {
                    return Err(Error::unsupported(
                        "a SESSION group window with GROUP BY expressions other than columns",
                    ));
                }
            }
        }
        if columns.is_empty() {
            String::new()
        } else {
            format!(" PARTITION BY {}", columns.join(", "))
        }
    } else {
        String::new()
    };
    let mut replacements = vec![
        (
            table.name.clone(),
            format!(
                "TABLE({kind}(TABLE {}{partition}, DESCRIPTOR({time}), {}))",
                rewriter.source(table.name.clone()),
                intervals.join(", ")
            ),
        ),
        (
            rewriter.byte_range(call, close),
            "window_start, window_end".to_owned(),
        ),
    ];
    // The auxiliary functions: `TUMBLE_START(…)` and the like.
    let mut index = 0;
    while index < tokens.len() {
        let Some(name) = word(&tokens[index].token) else {
            index += 1;
            continue;
        };
        let upper = name.to_uppercase();
        let Some((prefix, suffix)) = upper.split_once('_') else {
            index += 1;
            continue;
        };
        let is_auxiliary = GROUP_WINDOWS.contains(&prefix)
            && matches!(suffix, "START" | "END" | "ROWTIME" | "PROCTIME")
            && tokens
                .get(index + 1)
                .is_some_and(|t| t.token == Token::LParen);
        if !is_auxiliary {
            index += 1;
            continue;
        }
        if prefix != kind {
            return Err(Error::validation(format!(
                "{upper} does not belong to the group window {kind} of this query"
            )));
        }
        let column = match suffix {
            "START" => "window_start",
            "END" => "window_end",
            _ => {
                return Err(Error::unsupported(format!(
                    "the group window function {upper}"
                )));
            }
        };
        let close = rewriter.closing(index + 1)?;
        replacements.push((rewriter.byte_range(index, close), column.to_owned()));
        index = close + 1;
    }
    replacements.sort_by_key(|(range, _)| range.start);
    let mut rewritten = String::with_capacity(text.len() + 64);
    let mut copied = 0;
    for (range, replacement) in replacements {
        if range.start < copied {
            return Err(Error::unsupported(
                "a group window function inside the group window's arguments",
            ));
        }
        rewritten.push_str(&text[copied..range.start]);
        rewritten.push_str(&replacement);
        copied = range.end;
    }
    rewritten.push_str(&text[copied..]);
    Ok(rewritten)
}

struct Rewriter<'a> {
    text: &'a str,
    tokens: &'a [TokenWithSpan],
}

impl Rewriter<'_> {
    /// The index of the `)` that closes the `(` at `open`.
    fn closing(&self, open: usize) -> Result<usize> {
        let mut depth = 0usize;
        for (index, token) in self.tokens.iter().enumerate().skip(open) {
            match token.token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(index);
                    }
                }
                _ => {}
            }
        }
        Err(Error::validation(
            "a group window call is missing its closing parenthesis",
        ))
    }

    /// The token ranges of the comma-separated arguments in `first..close`.
    fn arguments(&self, first: usize, close: usize) -> Vec<std::ops::Range<usize>> {
        let mut arguments = Vec::new();
        let mut depth = 0usize;
        let mut start = first;
        for index in first..close {
            match self.tokens[index].token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                Token::Comma if depth == 0 => {
                    arguments.push(start..index);
                    start = index + 1;
                }
                _ => {}
            }
        }
        if start < close {
            arguments.push(start..close);
        }
        arguments
    }

    /// The bytes of the text from token `first` to the end of token `last`.
    fn byte_range(&self, first: usize, last: usize) -> std::ops::Range<usize> {
        let start = byte_offset(self.text, self.tokens[first].span.start);
        let end = byte_offset(self.text, self.tokens[last].span.end);
        start..end.max(start)
    }

    /// The text of a byte range.
    fn source(&self, range: std::ops::Range<usize>) -> &str {
        self.text.get(range).unwrap_or_default()
    }

    /// The text of the tokens of an argument.
    fn argument(&self, range: std::ops::Range<usize>) -> &str {
        self.source(self.source_tokens(range))
    }

    /// The byte range of the tokens `range`.
    fn source_tokens(&self, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
        self.byte_range(range.start, range.end.saturating_sub(1).max(range.start))
    }

    /// The byte range of the one table the query reads: `SELECT … FROM name [WHERE …] GROUP
    /// BY`, with no other `SELECT`.
    fn single_table(&self, group_by: usize) -> Result<SingleTable> {
        let not_one_table = || {
            Error::unsupported("a group window over anything but one table (a join, a subquery)")
        };
        let selects = self
            .tokens
            .iter()
            .filter(|t| is_keyword(&t.token, Keyword::SELECT))
            .count();
        if selects != 1 {
            return Err(not_one_table());
        }
        let from = self.tokens[..group_by]
            .iter()
            .position(|t| is_keyword(&t.token, Keyword::FROM))
            .ok_or_else(not_one_table)?;
        let mut end = from + 1;
        while matches!(self.tokens.get(end).map(|t| &t.token), Some(Token::Word(_))) {
            end += 1;
            if self.tokens.get(end).map(|t| &t.token) == Some(&Token::Period) {
                end += 1;
            } else {
                break;
            }
        }
        let name = from + 1..end;
        // An alias: `bid B` or `bid AS B`.
        let mut alias = None;
        let mut after = end;
        if self
            .tokens
            .get(after)
            .is_some_and(|t| is_keyword(&t.token, Keyword::AS))
        {
            after += 1;
        }
        if after < group_by
            && let Some(word) = word(&self.tokens[after].token)
            && !is_keyword(&self.tokens[after].token, Keyword::WHERE)
        {
            alias = Some(word.to_owned());
            end = after + 1;
        }
        let followed_by = self.tokens.get(end).map(|t| &t.token);
        let name_ends_well =
            end == group_by || followed_by.is_some_and(|token| is_keyword(token, Keyword::WHERE));
        if name.is_empty() || !name_ends_well {
            return Err(not_one_table());
        }
        Ok(SingleTable {
            name: self.source_tokens(name),
            alias,
        })
    }
}

/// The one table a group window reads: the byte range of its name, and its alias.
struct SingleTable {
    name: std::ops::Range<usize>,
    alias: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tumble_group_window_becomes_the_window_tvf() {
        let rewritten = rewrite_group_windows(
            "SELECT TUMBLE_START(ts, INTERVAL '10' SECOND) AS s, COUNT(*) FROM orders \
             WHERE quantity > 1 GROUP BY customer, TUMBLE(ts, INTERVAL '10' SECOND)",
        )
        .unwrap();
        assert_eq!(
            rewritten,
            "SELECT window_start AS s, COUNT(*) FROM TABLE(TUMBLE(TABLE orders, \
             DESCRIPTOR(ts), INTERVAL '10' SECOND)) WHERE quantity > 1 GROUP BY customer, \
             window_start, window_end"
        );
    }

    #[test]
    fn a_table_alias_stays_on_the_window_and_leaves_its_columns() {
        // Nexmark's q11.
        let rewritten = rewrite_group_windows(
            "SELECT B.bidder, COUNT(*), SESSION_START(B.ts, INTERVAL '10' SECOND) FROM bid B \
             GROUP BY B.bidder, SESSION(B.ts, INTERVAL '10' SECOND)",
        )
        .unwrap();
        assert_eq!(
            rewritten,
            "SELECT B.bidder, COUNT(*), window_start FROM TABLE(SESSION(TABLE bid PARTITION BY \
             bidder, DESCRIPTOR(ts), INTERVAL '10' SECOND)) B GROUP BY B.bidder, window_start, \
             window_end"
        );
    }

    #[test]
    fn a_hop_group_window_keeps_its_slide_and_size() {
        let rewritten = rewrite_group_windows(
            "SELECT HOP_END(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND), COUNT(*) FROM db.t \
             GROUP BY HOP(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND)",
        )
        .unwrap();
        assert_eq!(
            rewritten,
            "SELECT window_end, COUNT(*) FROM TABLE(HOP(TABLE db.t, DESCRIPTOR(ts), INTERVAL \
             '5' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end"
        );
    }

    #[test]
    fn a_session_group_window_partitions_by_the_other_group_columns() {
        let rewritten = rewrite_group_windows(
            "SELECT k, SESSION_START(ts, INTERVAL '5' SECOND), COUNT(*) FROM t GROUP BY k, \
             SESSION(ts, INTERVAL '5' SECOND) HAVING COUNT(*) > 1",
        )
        .unwrap();
        assert_eq!(
            rewritten,
            "SELECT k, window_start, COUNT(*) FROM TABLE(SESSION(TABLE t PARTITION BY k, \
             DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY k, window_start, window_end HAVING \
             COUNT(*) > 1"
        );
    }

    #[test]
    fn queries_without_a_group_window_are_unchanged() {
        let text = "SELECT job, COUNT(*) FROM people GROUP BY job";
        assert_eq!(rewrite_group_windows(text).unwrap(), text);
    }

    #[test]
    fn what_flinkrs_cannot_rewrite_is_not_supported_yet() {
        for (text, message) in [
            (
                "SELECT COUNT(*) FROM t GROUP BY k + 1, SESSION(ts, INTERVAL '5' SECOND)",
                "a SESSION group window with GROUP BY expressions other than columns is not \
                 supported yet",
            ),
            (
                "SELECT TUMBLE_ROWTIME(ts, INTERVAL '5' SECOND) FROM t GROUP BY TUMBLE(ts, \
                 INTERVAL '5' SECOND)",
                "the group window function TUMBLE_ROWTIME is not supported yet",
            ),
            (
                "SELECT COUNT(*) FROM (SELECT * FROM t) GROUP BY TUMBLE(ts, INTERVAL '5' SECOND)",
                "a group window over anything but one table (a join, a subquery) is not supported yet",
            ),
        ] {
            assert_eq!(
                rewrite_group_windows(text).unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
        let error = rewrite_group_windows(
            "SELECT HOP_START(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND) FROM t GROUP BY \
             TUMBLE(ts, INTERVAL '5' SECOND)",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "HOP_START does not belong to the group window TUMBLE of this query"
        );
    }
}
