//! Reads the small CSV inputs of the built-in jobs, with errors that name the file and line.

use std::path::Path;

use flinkrs_api::prelude::{Error, Result};

/// How `--input` names a TCP server to read lines from instead of a file.
pub const SOCKET_SCHEME: &str = "socket://";

/// The `host` and `port` of an `--input` of the form `socket://HOST:PORT`; `None` for a path.
/// A malformed address is an error that says what to write.
pub fn socket_address(input: &Path) -> Result<Option<(String, u16)>> {
    let Some(address) = input
        .to_str()
        .and_then(|text| text.strip_prefix(SOCKET_SCHEME))
    else {
        return Ok(None);
    };
    let malformed = |why: &str| {
        Error::InvalidJob(format!(
            "--input '{}' {why}; write socket://HOST:PORT, e.g. socket://localhost:9999",
            input.display()
        ))
    };
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| malformed("names no port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(malformed("names no host"));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| malformed("has no valid port (1 to 65535)"))?;
    Ok(Some((host.to_owned(), port)))
}

/// Reads `path` and parses each non-empty line that is not a `#` comment with `parse`.
/// A malformed line fails the whole read with `file:line: message`, so nothing is half-read.
pub fn read_csv<T>(
    path: &Path,
    parse: impl Fn(&[&str]) -> std::result::Result<T, String>,
) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| Error::io("cannot read input", path, source))?;
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let row = parse(&fields).map_err(|message| Error::MalformedInput {
            location: format!("{}:{}", path.display(), index + 1),
            message: format!("{message} in '{line}'"),
        })?;
        rows.push(row);
    }
    Ok(rows)
}

/// Parses a field, naming it in the error.
pub fn field<T: std::str::FromStr>(
    fields: &[&str],
    index: usize,
    name: &str,
) -> std::result::Result<T, String> {
    let text = fields
        .get(index)
        .ok_or_else(|| format!("missing field '{name}' (column {})", index + 1))?;
    text.parse().map_err(|_| {
        format!(
            "field '{name}' (column {}) has the invalid value '{text}'",
            index + 1
        )
    })
}

/// Checks the number of fields.
pub fn expect_fields(
    fields: &[&str],
    count: usize,
    layout: &str,
) -> std::result::Result<(), String> {
    if fields.len() == count {
        Ok(())
    } else {
        Err(format!(
            "expected {count} fields ({layout}), found {}",
            fields.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::socket_address;

    #[test]
    fn a_socket_input_names_its_host_and_port_and_a_path_is_none() {
        let address = |text: &str| socket_address(Path::new(text));
        assert_eq!(
            address("socket://localhost:9999").unwrap(),
            Some(("localhost".to_owned(), 9999))
        );
        assert_eq!(
            address("socket://[::1]:7").unwrap(),
            Some(("::1".to_owned(), 7))
        );
        assert_eq!(address("/data/books").unwrap(), None);
        assert_eq!(address("sockets/words.txt").unwrap(), None);
    }

    #[test]
    fn a_malformed_socket_input_says_what_to_write() {
        let message = |text: &str| socket_address(Path::new(text)).unwrap_err().to_string();
        assert!(
            message("socket://localhost").contains(
                "--input 'socket://localhost' names no port; write socket://HOST:PORT, e.g. \
                 socket://localhost:9999"
            ),
            "{}",
            message("socket://localhost")
        );
        assert!(message("socket://:9999").contains("names no host"));
        for port in ["0", "65536", "http"] {
            assert!(
                message(&format!("socket://localhost:{port}"))
                    .contains("has no valid port (1 to 65535)"),
                "{port}"
            );
        }
    }
}
