//! WordCount's throughput over a text file, without the rest of the benchmark binary: for
//! profiling the job (`perf record`, `valgrind --tool=cachegrind`) with a quick build.
//!
//! `wordcount_throughput generate FILE MEGABYTES` writes the text of benchmark (d), lines of
//! words drawn from a fixed vocabulary, skewed towards frequent words as natural text is.
//! `wordcount_throughput run FILE [RUNS]` runs WordCount over it (lines → counts → discard, at
//! parallelism 1) and prints MB/s of wall time and per core (CPU time of all threads).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use flinkrs_api::prelude::*;
use flinkrs_jobs::JobOptions;
use rand::Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", file, megabytes] => {
            let bytes = megabytes.parse::<u64>()? * 1_000_000;
            let written = write_text(Path::new(file), bytes)?;
            println!("wrote {written} bytes into {file}");
        }
        ["run", file, rest @ ..] => {
            let runs = rest.first().map_or(Ok(1), |runs| runs.parse::<usize>())?;
            let bytes = std::fs::metadata(file)?.len();
            for _ in 0..runs {
                let cpu_before = process_cpu_time();
                let started = Instant::now();
                run(Path::new(file))?;
                let wall = started.elapsed().as_secs_f64();
                let cpu = process_cpu_time().saturating_sub(cpu_before).as_secs_f64();
                let megabytes = bytes as f64 / 1e6;
                println!(
                    "wordcount: {:.1} MB/s wall, {:.1} MB/s per core ({wall:.2} s wall, \
                     {cpu:.2} s CPU)",
                    megabytes / wall,
                    megabytes / cpu.max(1e-3)
                );
            }
        }
        _ => {
            return Err("usage: wordcount_throughput generate FILE MEGABYTES | \
                        wordcount_throughput run FILE [RUNS]"
                .into());
        }
    }
    Ok(())
}

fn run(path: &Path) -> Result<()> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1)?;
    let lines = flinkrs_jobs::wordcount::lines(&env, &JobOptions::with_input(Some(path)))?;
    flinkrs_jobs::wordcount::counts(&lines).discard();
    env.execute("wordcount throughput")?;
    Ok(())
}

/// The text of benchmark (d): lines of twelve words from a vocabulary of 20,000.
fn write_text(path: &Path, bytes: u64) -> std::io::Result<u64> {
    let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(7);
    let vocabulary: Vec<String> = (0..20_000)
        .map(|i| {
            let length = 2 + (i * 7919) % 9;
            (0..length)
                .map(|j| (b'a' + ((i * 31 + j * 17) % 26) as u8) as char)
                .collect()
        })
        .collect();
    let mut writer = BufWriter::new(std::fs::File::create(path)?);
    let mut written = 0u64;
    let mut line = String::with_capacity(128);
    while written < bytes {
        line.clear();
        for _ in 0..12 {
            let rank = (rng.random::<f64>().powi(3) * vocabulary.len() as f64) as usize;
            line.push_str(&vocabulary[rank.min(vocabulary.len() - 1)]);
            line.push(' ');
        }
        line.push('\n');
        writer.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    writer.flush()?;
    Ok(written)
}

/// CPU time of the whole process (all threads): utime and stime from /proc/self/stat, in
/// clock ticks of 10 ms.
fn process_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((field(11) + field(12)) * 10)
}
