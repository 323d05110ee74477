//! The `json` format of the filesystem source: one JSON object per line, decoded into the
//! table's columns (ROWs included) by arrow-json, a batch of lines at a time. Fields the table
//! does not declare are ignored and missing ones are null, as Flink's `json` format does. A
//! line that does not decode fails the job naming the file and line, or is skipped under
//! `json.ignore-parse-errors`.

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_json::ReaderBuilder;
use arrow_schema::SchemaRef;
use flinkrs_core::{Error as CoreError, Result as CoreResult};

#[derive(Clone, Debug)]
pub(crate) struct JsonFormat {
    pub schema: SchemaRef,
    pub ignore_errors: bool,
}

impl JsonFormat {
    /// Decodes `text`, the lines numbered `lines` of `path`, each ended by `\n`.
    pub fn decode(&self, text: &str, lines: &[u64], path: &Path) -> CoreResult<RecordBatch> {
        match self.decode_all(text, lines.len()) {
            Ok(batch) => Ok(batch),
            // Line by line, to name the bad line or to skip the bad ones.
            Err(_) => self.decode_each(text, lines, path),
        }
    }

    fn decode_all(&self, text: &str, rows: usize) -> Result<RecordBatch, String> {
        let mut decoder = ReaderBuilder::new(self.schema.clone())
            .with_batch_size(rows.max(1))
            .build_decoder()
            .map_err(|error| error.to_string())?;
        let consumed = decoder
            .decode(text.as_bytes())
            .map_err(|error| error.to_string())?;
        if consumed < text.len() {
            return Err(format!(
                "{} bytes were left undecoded",
                text.len() - consumed
            ));
        }
        let batch = decoder.flush().map_err(|error| error.to_string())?;
        Ok(batch.unwrap_or_else(|| RecordBatch::new_empty(self.schema.clone())))
    }

    fn decode_each(&self, text: &str, lines: &[u64], path: &Path) -> CoreResult<RecordBatch> {
        let mut good = String::with_capacity(text.len());
        let mut kept = 0;
        for (line, number) in text.split_terminator('\n').zip(lines) {
            match self.decode_all(line, 1) {
                Ok(batch) if batch.num_rows() == 1 => {
                    good.push_str(line);
                    good.push('\n');
                    kept += 1;
                }
                Ok(_) if self.ignore_errors => {}
                Err(_) if self.ignore_errors => {}
                outcome => {
                    let why = match outcome {
                        Err(message) => message,
                        Ok(_) => "the line is not one JSON object".to_owned(),
                    };
                    return Err(CoreError::MalformedInput {
                        location: format!("file '{}' line {number}", path.display()),
                        message: format!(
                            "{why} (set 'json.ignore-parse-errors' = 'true' to skip such lines)"
                        ),
                    });
                }
            }
        }
        self.decode_all(&good, kept)
            .map_err(|message| CoreError::function(format!("json source: {message}")))
    }
}
