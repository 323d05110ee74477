//! Flink's SQL dialect over sqlparser: classifies a statement and parses the statements whose
//! grammar is Flink's own (`CREATE TABLE … WITH (…)` with computed columns and `WATERMARK
//! FOR`, catalogs, `SET`, `SHOW`, `DESCRIBE`). Queries are parsed by sqlparser and planned by
//! DataFusion (see [`crate::planner`]).

use datafusion_sql::sqlparser::ast::{Expr, ObjectName, ObjectNamePart};
use datafusion_sql::sqlparser::dialect::Dialect;
use datafusion_sql::sqlparser::keywords::Keyword;
use datafusion_sql::sqlparser::parser::{Parser, ParserError};
use datafusion_sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::error::{Error, Position, Result};

/// Flink's lexical rules: identifiers quoted with backticks, `$` inside identifiers.
#[derive(Debug, Default)]
pub struct FlinkDialect;

impl Dialect for FlinkDialect {
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '$'
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`'
    }

    fn supports_group_by_expr(&self) -> bool {
        true
    }

    /// `COUNT(*) FILTER (WHERE …)`.
    fn supports_filter_during_aggregation(&self) -> bool {
        true
    }
}

/// One column of `CREATE TABLE`.
#[derive(Clone, Debug)]
pub struct ColumnSpec {
    pub name: String,
    pub kind: ColumnKind,
}

#[derive(Clone, Debug)]
pub enum ColumnKind {
    /// A physical column: its type as written (e.g. `DECIMAL(10, 2)`) and whether it is
    /// `NOT NULL`.
    Physical { data_type: String, not_null: bool },
    /// `name AS expression`: computed from the physical columns.
    Computed(Box<Expr>),
}

/// `CREATE [TEMPORARY] TABLE`.
#[derive(Clone, Debug)]
pub struct CreateTable {
    pub name: Vec<String>,
    pub temporary: bool,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnSpec>,
    /// `WATERMARK FOR column AS expression`.
    pub watermark: Option<(String, Expr)>,
    pub primary_key: Vec<String>,
    /// `PARTITIONED BY (column, …)`.
    pub partition_keys: Vec<String>,
    pub options: Vec<(String, String)>,
}

/// What `SHOW` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShowKind {
    Catalogs,
    Databases,
    Tables,
    Views,
    Functions,
    CurrentCatalog,
    CurrentDatabase,
}

/// A statement of Flink SQL, classified.
#[derive(Clone, Debug)]
pub enum FlinkStatement {
    CreateTable(Box<CreateTable>),
    CreateView {
        name: Vec<String>,
        temporary: bool,
        if_not_exists: bool,
        /// The query's text, planned when the view is used.
        query: String,
    },
    DropTable {
        name: Vec<String>,
        if_exists: bool,
        view: bool,
    },
    CreateCatalog {
        name: String,
        options: Vec<(String, String)>,
    },
    DropCatalog {
        name: String,
        if_exists: bool,
    },
    CreateDatabase {
        name: Vec<String>,
        if_not_exists: bool,
    },
    DropDatabase {
        name: Vec<String>,
        if_exists: bool,
        cascade: bool,
    },
    UseCatalog(String),
    UseDatabase(Vec<String>),
    Show(ShowKind),
    Describe(Vec<String>),
    /// `SET` lists the options; `SET 'key' = 'value'` sets one.
    Set(Option<(String, String)>),
    /// `RESET` resets every option; `RESET 'key'` one.
    Reset(Option<String>),
    /// A query: `SELECT`, `VALUES`, `WITH`.
    Query(String),
    /// `INSERT INTO table query` (also `EXECUTE INSERT INTO …`).
    Insert {
        table: Vec<String>,
        query: String,
    },
    /// `BEGIN STATEMENT SET` (the client's form), or `EXECUTE STATEMENT SET BEGIN` (a
    /// script's), then the set's first `INSERT INTO` when no `;` follows `BEGIN`.
    BeginStatementSet {
        first: Option<Box<FlinkStatement>>,
    },
    /// `END`: the statement set's inserts run as one job.
    EndStatementSet,
    /// `EXPLAIN [PLAN FOR]` a query or an `INSERT INTO`.
    Explain(Box<FlinkStatement>),
}

/// Parses one statement (without its `;`).
pub fn parse_statement(text: &str) -> Result<FlinkStatement> {
    let tokens = tokenize(text)?;
    let words: Vec<String> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .take(4)
        .map(|t| match &t.token {
            Token::Word(word) if word.quote_style.is_none() => word.value.to_uppercase(),
            other => other.to_string(),
        })
        .collect();
    let word = |index: usize| words.get(index).map(String::as_str).unwrap_or("");
    let mut parser = StatementParser::new(text, tokens);
    match (word(0), word(1)) {
        ("SELECT" | "WITH" | "VALUES" | "(", _) => Ok(FlinkStatement::Query(text.to_owned())),
        ("INSERT", _) => parser.insert(),
        ("CREATE", "CATALOG") => parser.create_catalog(),
        ("CREATE", "DATABASE") => parser.create_database(),
        ("CREATE", "TABLE") | ("CREATE", "TEMPORARY") if word(2) != "VIEW" => parser.create_table(),
        ("CREATE", "VIEW" | "TEMPORARY") => parser.create_view(),
        ("DROP", "CATALOG") => parser.drop_catalog(),
        ("DROP", "DATABASE") => parser.drop_database(),
        ("DROP", "TABLE" | "VIEW" | "TEMPORARY") => parser.drop_table(),
        ("USE", "CATALOG") => parser.use_catalog(),
        ("USE", _) => parser.use_database(),
        ("SHOW", _) => parser.show(),
        ("DESCRIBE" | "DESC", _) => parser.describe(),
        ("SET", _) => parser.set(),
        ("RESET", _) => parser.reset(),
        ("EXPLAIN", _) => parser.explain(),
        ("BEGIN", "STATEMENT") if word(2) == "SET" => {
            parser.words(&["BEGIN", "STATEMENT", "SET"])?;
            parser.end()?;
            Ok(FlinkStatement::BeginStatementSet { first: None })
        }
        ("EXECUTE", "STATEMENT") => parser.execute_statement_set(),
        ("EXECUTE", "INSERT") => {
            parser.words(&["EXECUTE"])?;
            parser.insert()
        }
        ("END", "") => Ok(FlinkStatement::EndStatementSet),
        ("BEGIN" | "EXECUTE" | "END", _) => {
            let position = parser.position_of_first_token();
            Err(Error::parse(
                "expected BEGIN STATEMENT SET, EXECUTE STATEMENT SET BEGIN, EXECUTE INSERT INTO or END",
                text,
                position,
            ))
        }
        ("ALTER", _) => Err(Error::unsupported("ALTER")),
        ("", _) => Err(Error::validation("the statement is empty")),
        (first, _) => {
            let position = parser.position_of_first_token();
            Err(Error::parse(
                format!(
                    "Non-query expression encountered in illegal context: '{first}' does not start a statement Flink SQL knows"
                ),
                text,
                position,
            ))
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<TokenWithSpan>> {
    Tokenizer::new(&FlinkDialect, text)
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
        })
}

/// A sqlparser error, turned into ours with the position it names (sqlparser writes it into
/// the message as "at Line: l, Column: c").
pub(crate) fn parser_error(error: ParserError, text: &str, fallback: Position) -> Error {
    let message = match error {
        ParserError::TokenizerError(message) | ParserError::ParserError(message) => message,
        ParserError::RecursionLimitExceeded => "the statement is nested too deeply".to_owned(),
    };
    let (message, position) = match message.find(" at Line: ") {
        Some(at) => {
            let location = &message[at + " at Line: ".len()..];
            let mut numbers = location
                .split(|c: char| !c.is_ascii_digit())
                .filter(|part| !part.is_empty())
                .map(|part| part.parse::<u64>().unwrap_or(1));
            let line = numbers.next().unwrap_or(fallback.line);
            let column = numbers.next().unwrap_or(fallback.column);
            (message[..at].to_owned(), Position { line, column })
        }
        None => (message, fallback),
    };
    Error::parse(
        &message,
        text,
        point_at_found_token(&message, text, position),
    )
}

/// sqlparser sometimes reports the position after the token it complains about ("found:
/// FROM" at the next token): moves the position back onto that token when it is on the
/// same line before it.
fn point_at_found_token(message: &str, text: &str, position: Position) -> Position {
    let Some(found) = message
        .rsplit_once("found: ")
        .map(|(_, found)| found.trim())
    else {
        return position;
    };
    let Some(line) = text.lines().nth(position.line.saturating_sub(1) as usize) else {
        return position;
    };
    let column = position.column.saturating_sub(1) as usize;
    let at: String = line.chars().skip(column).collect();
    if found.is_empty() || at.starts_with(found) {
        return position;
    }
    let before: String = line.chars().take(column).collect();
    match before.rfind(found) {
        Some(byte) => Position {
            line: position.line,
            column: before[..byte].chars().count() as u64 + 1,
        },
        None => position,
    }
}

/// The byte offset of `location` in `text`.
pub(crate) fn byte_offset(text: &str, location: Location) -> usize {
    let mut line_start = 0;
    for _ in 1..location.line {
        match text[line_start..].find('\n') {
            Some(newline) => line_start += newline + 1,
            None => return text.len(),
        }
    }
    text[line_start..]
        .char_indices()
        .nth(location.column.saturating_sub(1) as usize)
        .map_or(text.len(), |(offset, _)| line_start + offset)
}

struct StatementParser<'a> {
    text: &'a str,
    parser: Parser<'a>,
}

impl<'a> StatementParser<'a> {
    fn new(text: &'a str, tokens: Vec<TokenWithSpan>) -> Self {
        StatementParser {
            text,
            parser: Parser::new(&FlinkDialect).with_tokens_with_locations(tokens),
        }
    }

    fn position_of_first_token(&self) -> Position {
        let location = self.parser.peek_token().span.start;
        Position {
            line: location.line.max(1),
            column: location.column.max(1),
        }
    }

    fn error(&self, error: ParserError) -> Error {
        let location = self.parser.peek_token().span.start;
        let fallback = Position {
            line: location.line.max(1),
            column: location.column.max(1),
        };
        parser_error(error, self.text, fallback)
    }

    fn keyword(&mut self, keyword: Keyword) -> Result<()> {
        self.parser
            .expect_keyword(keyword)
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    fn token(&mut self, token: &Token) -> Result<()> {
        self.parser
            .expect_token(token)
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    fn name(&mut self) -> Result<Vec<String>> {
        let name = self
            .parser
            .parse_object_name(false)
            .map_err(|e| self.error(e))?;
        Ok(name_parts(&name))
    }

    fn identifier(&mut self) -> Result<String> {
        self.parser
            .parse_identifier()
            .map(|ident| ident.value)
            .map_err(|e| self.error(e))
    }

    fn string(&mut self) -> Result<String> {
        self.parser
            .parse_literal_string()
            .map_err(|e| self.error(e))
    }

    /// The end of the statement: anything left is an error.
    fn end(&mut self) -> Result<()> {
        let next = self.parser.peek_token();
        if next.token == Token::EOF {
            return Ok(());
        }
        let error = ParserError::ParserError(format!(
            "Encountered \"{}\" at Line: {}, Column: {}",
            next.token, next.span.start.line, next.span.start.column
        ));
        Err(self.error(error))
    }

    /// The text from the next token to the end of the statement.
    fn rest(&self) -> String {
        let start = self.parser.peek_token().span.start;
        self.text[byte_offset(self.text, start)..].to_owned()
    }

    /// `('key' = 'value', …)`.
    fn options(&mut self) -> Result<Vec<(String, String)>> {
        self.token(&Token::LParen)?;
        let mut options = Vec::new();
        if self.parser.consume_token(&Token::RParen) {
            return Ok(options);
        }
        loop {
            let key = self.string()?;
            self.token(&Token::Eq)?;
            let value = self.string()?;
            options.push((key, value));
            if self.parser.consume_token(&Token::RParen) {
                return Ok(options);
            }
            self.token(&Token::Comma)?;
        }
    }

    /// Consumes the next token if it is the unquoted word `word` (for Flink's keywords that
    /// sqlparser does not know).
    fn word_is(&mut self, word: &str) -> bool {
        let matches = matches!(
            &self.parser.peek_token().token,
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word)
        );
        if matches {
            self.parser.next_token();
        }
        matches
    }

    fn if_not_exists(&mut self) -> bool {
        self.parser
            .parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS])
    }

    fn if_exists(&mut self) -> bool {
        self.parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS])
    }

    fn create_catalog(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::CREATE)?;
        self.keyword(Keyword::CATALOG)?;
        let name = self.identifier()?;
        self.keyword(Keyword::WITH)?;
        let options = self.options()?;
        self.end()?;
        Ok(FlinkStatement::CreateCatalog { name, options })
    }

    fn drop_catalog(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::DROP)?;
        self.keyword(Keyword::CATALOG)?;
        let if_exists = self.if_exists();
        let name = self.identifier()?;
        self.end()?;
        Ok(FlinkStatement::DropCatalog { name, if_exists })
    }

    fn create_database(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::CREATE)?;
        self.keyword(Keyword::DATABASE)?;
        let if_not_exists = self.if_not_exists();
        let name = self.name()?;
        if self.parser.parse_keyword(Keyword::COMMENT) {
            self.string()?;
        }
        if self.parser.parse_keyword(Keyword::WITH) {
            self.options()?;
        }
        self.end()?;
        Ok(FlinkStatement::CreateDatabase {
            name,
            if_not_exists,
        })
    }

    fn drop_database(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::DROP)?;
        self.keyword(Keyword::DATABASE)?;
        let if_exists = self.if_exists();
        let name = self.name()?;
        let cascade = self.parser.parse_keyword(Keyword::CASCADE);
        if !cascade {
            let _ = self.parser.parse_keyword(Keyword::RESTRICT);
        }
        self.end()?;
        Ok(FlinkStatement::DropDatabase {
            name,
            if_exists,
            cascade,
        })
    }

    fn use_catalog(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::USE)?;
        self.keyword(Keyword::CATALOG)?;
        let name = self.identifier()?;
        self.end()?;
        Ok(FlinkStatement::UseCatalog(name))
    }

    fn use_database(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::USE)?;
        let name = self.name()?;
        self.end()?;
        Ok(FlinkStatement::UseDatabase(name))
    }

    fn show(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::SHOW)?;
        let kind = if self.parser.parse_keyword(Keyword::CATALOGS) {
            ShowKind::Catalogs
        } else if self.parser.parse_keyword(Keyword::DATABASES) {
            ShowKind::Databases
        } else if self.parser.parse_keyword(Keyword::TABLES) {
            ShowKind::Tables
        } else if self.parser.parse_keyword(Keyword::VIEWS) {
            ShowKind::Views
        } else if self.parser.parse_keyword(Keyword::FUNCTIONS) {
            ShowKind::Functions
        } else if self
            .parser
            .parse_keywords(&[Keyword::CURRENT, Keyword::CATALOG])
        {
            ShowKind::CurrentCatalog
        } else if self
            .parser
            .parse_keywords(&[Keyword::CURRENT, Keyword::DATABASE])
        {
            ShowKind::CurrentDatabase
        } else {
            let next = self.parser.peek_token();
            return Err(Error::parse(
                format!(
                    "SHOW {} is not a statement flinkrs knows; use SHOW CATALOGS, DATABASES, \
                     TABLES, VIEWS, FUNCTIONS, CURRENT CATALOG or CURRENT DATABASE",
                    next.token
                ),
                self.text,
                Position {
                    line: next.span.start.line.max(1),
                    column: next.span.start.column.max(1),
                },
            ));
        };
        self.end()?;
        Ok(FlinkStatement::Show(kind))
    }

    fn describe(&mut self) -> Result<FlinkStatement> {
        self.parser.next_token();
        let name = self.name()?;
        self.end()?;
        Ok(FlinkStatement::Describe(name))
    }

    fn set(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::SET)?;
        if self.parser.peek_token().token == Token::EOF {
            return Ok(FlinkStatement::Set(None));
        }
        let key = self.string()?;
        self.token(&Token::Eq)?;
        let value = self.string()?;
        self.end()?;
        Ok(FlinkStatement::Set(Some((key, value))))
    }

    fn reset(&mut self) -> Result<FlinkStatement> {
        self.parser.next_token();
        if self.parser.peek_token().token == Token::EOF {
            return Ok(FlinkStatement::Reset(None));
        }
        let key = self.string()?;
        self.end()?;
        Ok(FlinkStatement::Reset(Some(key)))
    }

    fn insert(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::INSERT)?;
        if self.parser.parse_keyword(Keyword::OVERWRITE) {
            return Err(Error::unsupported("INSERT OVERWRITE"));
        }
        self.keyword(Keyword::INTO)?;
        let table = self.name()?;
        if self.parser.peek_token().token == Token::LParen {
            let next = self.parser.peek_token();
            if !matches!(self.parser.peek_nth_token(1).token, Token::Word(ref w) if w.keyword == Keyword::SELECT)
            {
                let _ = next;
                return Err(Error::unsupported("INSERT INTO with a column list"));
            }
        }
        let query = self.rest();
        Ok(FlinkStatement::Insert { table, query })
    }

    /// Consumes `expected`, word by word, whatever their case.
    fn words(&mut self, expected: &[&str]) -> Result<()> {
        for expected in expected {
            let position = self.position_of_first_token();
            let token = self.parser.next_token();
            match &token.token {
                Token::Word(word) if word.value.eq_ignore_ascii_case(expected) => {}
                other => {
                    return Err(Error::parse(
                        format!("expected {expected}, found: {other}"),
                        self.text,
                        position,
                    ));
                }
            }
        }
        Ok(())
    }

    /// `EXECUTE STATEMENT SET BEGIN [INSERT INTO …]`: the rest of the set and its `END`
    /// follow as statements of their own, after `;`.
    fn execute_statement_set(&mut self) -> Result<FlinkStatement> {
        self.words(&["EXECUTE", "STATEMENT", "SET", "BEGIN"])?;
        let first = match self.parser.peek_token().token {
            Token::EOF => None,
            Token::Word(ref word) if word.keyword == Keyword::INSERT => {
                Some(Box::new(self.insert()?))
            }
            other => {
                let position = self.position_of_first_token();
                return Err(Error::parse(
                    format!(
                        "only INSERT INTO statements can be in a statement set, found: {other}"
                    ),
                    self.text,
                    position,
                ));
            }
        };
        Ok(FlinkStatement::BeginStatementSet { first })
    }

    /// `EXPLAIN [PLAN FOR] query-or-insert`.
    fn explain(&mut self) -> Result<FlinkStatement> {
        self.words(&["EXPLAIN"])?;
        match self.parser.peek_token().token {
            Token::Word(ref word) if word.value.eq_ignore_ascii_case("PLAN") => {
                self.words(&["PLAN", "FOR"])?;
            }
            Token::LParen => {
                return Err(Error::unsupported(
                    "EXPLAIN with details (ESTIMATED_COST, CHANGELOG_MODE, PLAN_ADVICE, \
                     JSON_EXECUTION_PLAN)",
                ));
            }
            Token::Word(ref word)
                if [
                    "ESTIMATED_COST",
                    "CHANGELOG_MODE",
                    "PLAN_ADVICE",
                    "JSON_EXECUTION_PLAN",
                ]
                .iter()
                .any(|detail| word.value.eq_ignore_ascii_case(detail)) =>
            {
                return Err(Error::unsupported(format!("EXPLAIN {}", word.value)));
            }
            _ => {}
        }
        let position = self.position_of_first_token();
        let explained = parse_statement(&self.rest())?;
        match explained {
            FlinkStatement::Query(_) | FlinkStatement::Insert { .. } => {
                Ok(FlinkStatement::Explain(Box::new(explained)))
            }
            FlinkStatement::BeginStatementSet { .. } => {
                Err(Error::unsupported("EXPLAIN of a statement set"))
            }
            _ => Err(Error::parse(
                "EXPLAIN explains a query or an INSERT INTO",
                self.text,
                position,
            )),
        }
    }

    fn create_view(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::CREATE)?;
        let temporary = self.parser.parse_keyword(Keyword::TEMPORARY);
        self.keyword(Keyword::VIEW)?;
        let if_not_exists = self.if_not_exists();
        let name = self.name()?;
        if self.parser.peek_token().token == Token::LParen {
            return Err(Error::unsupported("CREATE VIEW with a column list"));
        }
        self.keyword(Keyword::AS)?;
        let query = self.rest();
        Ok(FlinkStatement::CreateView {
            name,
            temporary,
            if_not_exists,
            query,
        })
    }

    fn drop_table(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::DROP)?;
        let _ = self.parser.parse_keyword(Keyword::TEMPORARY);
        let view = match self
            .parser
            .parse_one_of_keywords(&[Keyword::TABLE, Keyword::VIEW])
        {
            Some(Keyword::VIEW) => true,
            Some(_) => false,
            None => {
                let error = self
                    .parser
                    .expected::<()>("TABLE or VIEW", self.parser.peek_token());
                return Err(self.error(
                    error
                        .err()
                        .unwrap_or(ParserError::ParserError("expected TABLE or VIEW".into())),
                ));
            }
        };
        let if_exists = self.if_exists();
        let name = self.name()?;
        self.end()?;
        Ok(FlinkStatement::DropTable {
            name,
            if_exists,
            view,
        })
    }

    fn create_table(&mut self) -> Result<FlinkStatement> {
        self.keyword(Keyword::CREATE)?;
        let temporary = self.parser.parse_keyword(Keyword::TEMPORARY);
        self.keyword(Keyword::TABLE)?;
        let if_not_exists = self.if_not_exists();
        let name = self.name()?;
        self.token(&Token::LParen)?;
        let mut columns = Vec::new();
        let mut watermark = None;
        let mut primary_key = Vec::new();
        loop {
            if self.word_is("WATERMARK") {
                self.keyword(Keyword::FOR)?;
                let column = self.identifier()?;
                self.keyword(Keyword::AS)?;
                let expression = self.parser.parse_expr().map_err(|e| self.error(e))?;
                watermark = Some((column, expression));
            } else if self
                .parser
                .parse_keywords(&[Keyword::PRIMARY, Keyword::KEY])
            {
                primary_key = self
                    .parser
                    .parse_parenthesized_column_list(
                        datafusion_sql::sqlparser::parser::IsOptional::Mandatory,
                        false,
                    )
                    .map_err(|e| self.error(e))?
                    .into_iter()
                    .map(|ident| ident.value)
                    .collect();
                self.keyword(Keyword::NOT)?;
                self.keyword(Keyword::ENFORCED)?;
            } else {
                columns.push(self.column()?);
            }
            if self.parser.consume_token(&Token::RParen) {
                break;
            }
            self.token(&Token::Comma)?;
        }
        if self.parser.parse_keyword(Keyword::COMMENT) {
            self.string()?;
        }
        let mut partition_keys = Vec::new();
        if self
            .parser
            .parse_keywords(&[Keyword::PARTITIONED, Keyword::BY])
        {
            partition_keys = self
                .parser
                .parse_parenthesized_column_list(
                    datafusion_sql::sqlparser::parser::IsOptional::Mandatory,
                    false,
                )
                .map_err(|e| self.error(e))?
                .into_iter()
                .map(|ident| ident.value)
                .collect();
        }
        self.keyword(Keyword::WITH)?;
        let options = self.options()?;
        self.end()?;
        Ok(FlinkStatement::CreateTable(Box::new(CreateTable {
            name,
            temporary,
            if_not_exists,
            columns,
            watermark,
            primary_key,
            partition_keys,
            options,
        })))
    }

    /// `name type [NOT NULL] [COMMENT '…']`, or `name AS expression`, or `name type
    /// METADATA` (not supported yet).
    fn column(&mut self) -> Result<ColumnSpec> {
        let name = self.identifier()?;
        if self.parser.parse_keyword(Keyword::AS) {
            let expression = self.parser.parse_expr().map_err(|e| self.error(e))?;
            self.column_comment()?;
            return Ok(ColumnSpec {
                name,
                kind: ColumnKind::Computed(Box::new(expression)),
            });
        }
        let data_type = self.data_type()?;
        let not_null = self.parser.parse_keywords(&[Keyword::NOT, Keyword::NULL]);
        if !not_null {
            let _ = self.parser.parse_keyword(Keyword::NULL);
        }
        if self.parser.parse_keyword(Keyword::METADATA) {
            return Err(Error::unsupported(format!("metadata column '{name}'")));
        }
        if self
            .parser
            .parse_keywords(&[Keyword::PRIMARY, Keyword::KEY])
        {
            self.keyword(Keyword::NOT)?;
            self.keyword(Keyword::ENFORCED)?;
        }
        self.column_comment()?;
        Ok(ColumnSpec {
            name,
            kind: ColumnKind::Physical {
                data_type,
                not_null,
            },
        })
    }

    /// A column's type, as text for [`arrow_type`](crate::types::arrow_type): sqlparser's
    /// types, and Flink's `ROW<name type, …>` (or `ROW(name type, …)`), whose field names keep
    /// their case and are written back quoted.
    fn data_type(&mut self) -> Result<String> {
        let is_row = matches!(
            &self.parser.peek_token().token,
            Token::Word(word) if word.value.eq_ignore_ascii_case("ROW")
        );
        if !is_row {
            return self
                .parser
                .parse_data_type()
                .map(|data_type| data_type.to_string())
                .map_err(|e| self.error(e));
        }
        self.parser.next_token();
        let close = if self.parser.consume_token(&Token::Lt) {
            Token::Gt
        } else {
            self.token(&Token::LParen)?;
            Token::RParen
        };
        let mut fields = Vec::new();
        loop {
            let name = self.identifier()?;
            let field_type = self.data_type()?;
            if self.parser.parse_keywords(&[Keyword::NOT, Keyword::NULL]) {
                return Err(Error::unsupported(format!(
                    "NOT NULL on the field '{name}' of a ROW type"
                )));
            }
            if self.parser.parse_keyword(Keyword::COMMENT) {
                self.string()?;
            }
            fields.push(format!("`{}` {field_type}", name.replace('`', "``")));
            if !self.parser.consume_token(&Token::Comma) {
                break;
            }
        }
        if close == Token::Gt && self.parser.consume_token(&Token::ShiftRight) {
            return Err(Error::unsupported(
                "'>>' closing two ROW types at once: write '> >'".to_owned(),
            ));
        }
        self.token(&close)?;
        Ok(format!("ROW<{}>", fields.join(", ")))
    }

    fn column_comment(&mut self) -> Result<()> {
        if self.parser.parse_keyword(Keyword::COMMENT) {
            self.string()?;
        }
        Ok(())
    }
}

/// The parts of an object name (`catalog.database.table`), unquoted.
pub fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => ident.value.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// Whether a token is whitespace or a comment.
pub(crate) fn is_trivia(token: &Token) -> bool {
    matches!(
        token,
        Token::Whitespace(
            Whitespace::Space
                | Whitespace::Newline
                | Whitespace::Tab
                | Whitespace::SingleLineComment { .. }
                | Whitespace::MultiLineComment(_)
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_table_with_computed_column_watermark_and_options() {
        let sql = "CREATE TABLE orders (\n  id BIGINT NOT NULL,\n  price DECIMAL(10, 2),\n  \
                   ts TIMESTAMP(3),\n  doubled AS id * 2,\n  \
                   WATERMARK FOR ts AS ts - INTERVAL '5' SECOND\n) WITH ('connector' = 'datagen', \
                   'number-of-rows' = '10')";
        let FlinkStatement::CreateTable(table) = parse_statement(sql).unwrap() else {
            panic!("not a CREATE TABLE");
        };
        assert_eq!(table.name, vec!["orders"]);
        assert_eq!(table.columns.len(), 4);
        let kinds: Vec<String> = table
            .columns
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Physical {
                    data_type,
                    not_null,
                } => format!("{} {data_type} {not_null}", c.name),
                ColumnKind::Computed(e) => format!("{} AS {e}", c.name),
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                "id BIGINT true",
                "price DECIMAL(10,2) false",
                "ts TIMESTAMP(3) false",
                "doubled AS id * 2"
            ]
        );
        let (column, expression) = table.watermark.unwrap();
        assert_eq!(column, "ts");
        assert_eq!(expression.to_string(), "ts - INTERVAL '5' SECOND");
        assert_eq!(
            table.options,
            vec![
                ("connector".to_owned(), "datagen".to_owned()),
                ("number-of-rows".to_owned(), "10".to_owned())
            ]
        );
    }

    #[test]
    fn a_syntax_error_names_line_and_column_with_a_caret() {
        let error = parse_statement("CREATE TABLE t (\n  a INT,\n  b INT INT\n) WITH ()")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("at line 3, column 9\n  b INT INT\n        ^"),
            "{error}"
        );
    }

    #[test]
    fn set_reset_show_and_use() {
        assert!(matches!(
            parse_statement("SET 'execution.runtime-mode' = 'batch'").unwrap(),
            FlinkStatement::Set(Some((k, v))) if k == "execution.runtime-mode" && v == "batch"
        ));
        assert!(matches!(
            parse_statement("SHOW TABLES").unwrap(),
            FlinkStatement::Show(ShowKind::Tables)
        ));
        assert!(matches!(
            parse_statement("USE CATALOG c").unwrap(),
            FlinkStatement::UseCatalog(c) if c == "c"
        ));
        assert!(matches!(
            parse_statement("INSERT INTO t SELECT * FROM s").unwrap(),
            FlinkStatement::Insert { table, query } if table == vec!["t"] && query == "SELECT * FROM s"
        ));
    }
}
