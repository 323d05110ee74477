//! Writes Nexmark events as JSON lines, one event per line with its `event_type` and the
//! `person`, `auction` and `bid` objects (null for the kinds it is not), for any engine's
//! `filesystem` source with `'format' = 'json'` to read: the side-by-side Nexmark script feeds
//! the same file to flinkrs and to Flink. Timestamps are written as Flink's json format reads
//! them by default (`yyyy-MM-dd HH:mm:ss.SSS`).
//!
//! ```text
//! cargo run --release -p flinkrs-connectors --example nexmark_events -- EVENTS FILE
//! ```

use std::fs::File;
use std::io::BufWriter;

use arrow_array::RecordBatch;
use arrow_json::writer::{LineDelimited, WriterBuilder};
use flinkrs_connectors::datagen::RowIndices;
use flinkrs_connectors::nexmark::{self, NexmarkConfig, NexmarkGenerator};

/// Events per batch written.
const BATCH: u64 = 8_192;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [events, file] = args.as_slice() else {
        return Err("usage: nexmark_events EVENTS FILE".into());
    };
    let events: u64 = events
        .parse()
        .map_err(|_| format!("EVENTS: '{events}' is not a whole number"))?;
    let generator = NexmarkGenerator::new(NexmarkConfig::default())?;
    let out = BufWriter::new(File::create(file).map_err(|e| format!("{file}: {e}"))?);
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .with_timestamp_format("%Y-%m-%d %H:%M:%S%.3f".to_owned())
        .build::<_, LineDelimited>(out);
    let mut first = 0;
    while first < events {
        let len = BATCH.min(events - first);
        let indices = RowIndices {
            first,
            step: 1,
            len: len as usize,
        };
        let batch = RecordBatch::try_new(nexmark::schema(), generator.columns(indices)?)?;
        writer.write(&batch)?;
        first += len;
    }
    writer.finish()?;
    println!("wrote {events} Nexmark events into {file}");
    Ok(())
}
