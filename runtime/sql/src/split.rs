//! Splits a SQL script into statements on `;`, as Flink's SQL client does: a `;` inside a
//! string literal, a quoted identifier or a comment does not end a statement.

/// One statement of a script, with where it starts (1-based line) for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptStatement {
    /// The statement's text, without the `;` and without surrounding blank lines.
    pub text: String,
    /// The script line the text starts on.
    pub line: u64,
}

/// Splits `script` into statements. Text after the last `;` that is not blank or a comment
/// is returned as a last statement (the client reports it as unterminated when interactive).
pub fn split_statements(script: &str) -> Vec<ScriptStatement> {
    let mut statements = Vec::new();
    let mut scanner = Scanner::default();
    let mut start = 0;
    for (index, character) in script.char_indices() {
        if scanner.feed(character) {
            push(&mut statements, script, start, index);
            start = index + character.len_utf8();
        }
    }
    push(&mut statements, script, start, script.len());
    statements
}

/// Whether `text` holds a complete statement: it ends with a `;` outside quotes and comments
/// (trailing blanks and comments allowed). The interactive client reads lines until it does.
pub fn is_complete(text: &str) -> bool {
    let mut scanner = Scanner::default();
    let mut last_end = None;
    for (index, character) in text.char_indices() {
        if scanner.feed(character) {
            last_end = Some(index + 1);
        }
    }
    last_end.is_some_and(|end| is_blank(&text[end..]))
}

fn push(statements: &mut Vec<ScriptStatement>, script: &str, start: usize, end: usize) {
    let piece = &script[start..end];
    if is_blank(piece) {
        return;
    }
    // The statement starts after its leading blanks and comments.
    let leading = piece.len() - skip_blanks_and_comments(piece).len();
    let piece = &piece[leading..];
    let line = script[..start + leading].matches('\n').count() as u64 + 1;
    statements.push(ScriptStatement {
        text: piece.trim().to_owned(),
        line,
    });
}

/// Whether `text` has nothing but whitespace and comments.
pub fn is_blank(text: &str) -> bool {
    skip_blanks_and_comments(text).is_empty()
}

/// `text` after its leading whitespace and comments.
fn skip_blanks_and_comments(text: &str) -> &str {
    let mut rest = text.trim_start();
    loop {
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return rest;
        }
        rest = rest.trim_start();
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Code,
    /// Inside '…' or "…" or `…` (the closing character).
    Quoted(char),
    LineComment,
    BlockComment,
    /// Saw `-` in code.
    Dash,
    /// Saw `/` in code.
    Slash,
    /// Saw `*` in a block comment.
    Star,
}

#[derive(Default)]
struct Scanner {
    state: State,
}

impl Scanner {
    /// Feeds one character; true when it is a statement-ending `;`.
    fn feed(&mut self, character: char) -> bool {
        let code = |scanner: &mut Scanner, character: char| -> bool {
            match character {
                '\'' | '"' | '`' => scanner.state = State::Quoted(character),
                '-' => scanner.state = State::Dash,
                '/' => scanner.state = State::Slash,
                ';' => return true,
                _ => {}
            }
            false
        };
        match self.state {
            State::Code => code(self, character),
            State::Quoted(close) => {
                if character == close {
                    self.state = State::Code;
                }
                false
            }
            State::LineComment => {
                if character == '\n' {
                    self.state = State::Code;
                }
                false
            }
            State::BlockComment => {
                if character == '*' {
                    self.state = State::Star;
                }
                false
            }
            State::Star => {
                self.state = match character {
                    '/' => State::Code,
                    '*' => State::Star,
                    _ => State::BlockComment,
                };
                false
            }
            State::Dash => {
                if character == '-' {
                    self.state = State::LineComment;
                    false
                } else {
                    self.state = State::Code;
                    code(self, character)
                }
            }
            State::Slash => {
                if character == '*' {
                    self.state = State::BlockComment;
                    false
                } else {
                    self.state = State::Code;
                    code(self, character)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(script: &str) -> Vec<String> {
        split_statements(script)
            .into_iter()
            .map(|s| s.text)
            .collect()
    }

    #[test]
    fn semicolons_in_strings_identifiers_and_comments_do_not_split() {
        let script = "SELECT 'a;b' AS `x;y`; -- one; two\nSELECT 2 /* ; */ + 1;\n\n";
        assert_eq!(
            texts(script),
            vec!["SELECT 'a;b' AS `x;y`", "SELECT 2 /* ; */ + 1"]
        );
    }

    #[test]
    fn statements_remember_their_first_line() {
        let statements = split_statements("SET 'a' = 'b';\n\n  SELECT 1\n  ;");
        assert_eq!(statements[1].line, 3);
        assert_eq!(statements[1].text, "SELECT 1");
    }

    #[test]
    fn a_statement_is_complete_only_after_its_semicolon() {
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';'"));
        assert!(is_complete("SELECT 1; -- done"));
        assert!(!is_complete("SELECT 1; SELECT"));
        assert!(is_blank("  -- nothing\n /* at all */ "));
    }
}
