//! CSV as RFC 4180 writes it: fields separated by `,`; a field containing `,`, `"`, `\r` or
//! `\n` is quoted, with its quotes doubled.
//!
//! Writing: [`CsvRow`] displays a tuple or a slice as one CSV line, so
//! `stream.map(|(a, b)| CsvRow((a, b)))` feeds a [`FileSink`](super::FileSink) or `write_as_text`. Reading:
//! [`parse_csv_line`].

use std::fmt::{self, Display};

use flinkrs_core::{Error, Result};

/// Whether a field must be quoted.
fn needs_quotes(field: &str) -> bool {
    field.contains([',', '"', '\n', '\r'])
}

/// Writes one field, quoted when needed.
pub fn write_csv_field<W: fmt::Write + ?Sized>(out: &mut W, field: &str) -> fmt::Result {
    if !needs_quotes(field) {
        return out.write_str(field);
    }
    out.write_char('"')?;
    for (index, part) in field.split('"').enumerate() {
        if index > 0 {
            out.write_str("\"\"")?;
        }
        out.write_str(part)?;
    }
    out.write_char('"')
}

/// A value that can be one CSV field.
pub trait CsvField {
    fn write_field(&self, out: &mut dyn fmt::Write) -> fmt::Result;
}

impl CsvField for str {
    fn write_field(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        write_csv_field(out, self)
    }
}

impl CsvField for String {
    fn write_field(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        self.as_str().write_field(out)
    }
}

impl<F: CsvField + ?Sized> CsvField for &F {
    fn write_field(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        (**self).write_field(out)
    }
}

/// An absent value is an empty field.
impl<F: CsvField> CsvField for Option<F> {
    fn write_field(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        match self {
            Some(field) => field.write_field(out),
            None => Ok(()),
        }
    }
}

/// Numbers and booleans never need quotes.
macro_rules! plain_csv_fields {
    ($($type:ty),*) => {$(
        impl CsvField for $type {
            fn write_field(&self, out: &mut dyn fmt::Write) -> fmt::Result {
                write!(out, "{self}")
            }
        }
    )*};
}
plain_csv_fields!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, bool
);

impl CsvField for char {
    fn write_field(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let mut buffer = [0; 4];
        self.encode_utf8(&mut buffer).write_field(out)
    }
}

/// The fields of one CSV row: tuples of up to 8 [`CsvField`]s, slices, arrays and vectors.
pub trait CsvFields {
    fn write_fields(&self, out: &mut dyn fmt::Write) -> fmt::Result;
}

impl<F: CsvField> CsvFields for [F] {
    fn write_fields(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        for (index, field) in self.iter().enumerate() {
            if index > 0 {
                out.write_char(',')?;
            }
            field.write_field(out)?;
        }
        Ok(())
    }
}

impl<F: CsvField> CsvFields for Vec<F> {
    fn write_fields(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        self.as_slice().write_fields(out)
    }
}

impl<F: CsvField, const N: usize> CsvFields for [F; N] {
    fn write_fields(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        self.as_slice().write_fields(out)
    }
}

impl<R: CsvFields + ?Sized> CsvFields for &R {
    fn write_fields(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        (**self).write_fields(out)
    }
}

macro_rules! tuple_csv_fields {
    ($first:ident $(, $rest:ident)*) => {
        impl<$first: CsvField, $($rest: CsvField),*> CsvFields for ($first, $($rest,)*) {
            #[expect(non_snake_case, reason = "the tuple's type names double as its bindings")]
            fn write_fields(&self, out: &mut dyn fmt::Write) -> fmt::Result {
                let ($first, $($rest,)*) = self;
                $first.write_field(out)?;
                $(
                    out.write_char(',')?;
                    $rest.write_field(out)?;
                )*
                Ok(())
            }
        }
    };
}
tuple_csv_fields!(A);
tuple_csv_fields!(A, B);
tuple_csv_fields!(A, B, C);
tuple_csv_fields!(A, B, C, D);
tuple_csv_fields!(A, B, C, D, E);
tuple_csv_fields!(A, B, C, D, E, F);
tuple_csv_fields!(A, B, C, D, E, F, G);
tuple_csv_fields!(A, B, C, D, E, F, G, H);

/// Displays its fields as one CSV line (without the line end), quoting where needed.
///
/// ```
/// use flinkrs_connectors::filesystem::CsvRow;
///
/// assert_eq!(CsvRow((1, "a,b", "say \"hi\"")).to_string(), r#"1,"a,b","say ""hi""""#);
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CsvRow<R>(pub R);

impl<R: CsvFields> Display for CsvRow<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_fields(f)
    }
}

/// One CSV line as a `String`.
pub fn format_csv_row<R: CsvFields + ?Sized>(fields: &R) -> String {
    let mut line = String::new();
    // Writing to a String cannot fail.
    let _ = fields.write_fields(&mut line);
    line
}

/// Splits one CSV line into its fields, unquoting quoted ones. `line_number` (1-based) is
/// only used in errors, which name the line and the 1-based column of the fault.
pub fn parse_csv_line(line: &str, line_number: u64) -> Result<Vec<String>> {
    let malformed = |column: usize, message: &str| Error::MalformedInput {
        location: format!("line {line_number}, column {column}"),
        message: message.to_owned(),
    };
    let mut fields = Vec::new();
    let mut chars = line.chars().enumerate().peekable();
    loop {
        let mut field = String::new();
        match chars.peek() {
            Some((opening, '"')) => {
                let opening = *opening;
                chars.next();
                loop {
                    match chars.next() {
                        Some((_, '"')) if matches!(chars.peek(), Some((_, '"'))) => {
                            chars.next();
                            field.push('"');
                        }
                        Some((_, '"')) => break,
                        Some((_, c)) => field.push(c),
                        None => {
                            return Err(malformed(
                                opening + 1,
                                "the quoted field is not closed; end it with '\"' and write a \
                                 quote inside it as '\"\"'",
                            ));
                        }
                    }
                }
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some((_, ',')) => fields.push(field),
                    Some((column, _)) => {
                        return Err(malformed(
                            column + 1,
                            "a closing quote must be followed by ',' or the end of the line; \
                             write a quote inside a quoted field as '\"\"'",
                        ));
                    }
                }
            }
            _ => loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some((_, ',')) => {
                        fields.push(field);
                        break;
                    }
                    Some((column, '"')) => {
                        return Err(malformed(
                            column + 1,
                            "a quote inside an unquoted field; quote the whole field and double \
                             the quote ('\"\"')",
                        ));
                    }
                    Some((_, c)) => field.push(c),
                }
            },
        }
    }
}
