//! Event-time tumbling windows over out-of-order sensor readings. Readings may arrive up to
//! two seconds out of order; a reading that arrives after its window has closed is late and
//! goes to a side output instead of being silently lost.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use flinkrs_api::prelude::*;
use flinkrs_api::window::{AggregateFunction, TimeWindow, TumblingEventTimeWindows};
use serde::{Deserialize, Serialize};

use crate::input::{expect_fields, field, read_csv};
use crate::java_format::java_double;
use crate::options::JobOptions;

/// One temperature reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub sensor: String,
    /// Event time, epoch milliseconds.
    pub timestamp: i64,
    pub temperature: f64,
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {} ms: {}",
            self.sensor,
            self.timestamp,
            java_double(self.temperature)
        )
    }
}

/// The built-in readings, in arrival order: out of order within two seconds, plus two late
/// ones (s1 at 4000 ms and s2 at 9500 ms arrive after their windows closed).
pub fn builtin_readings() -> Vec<Reading> {
    let rows: &[(&str, i64, f64)] = &[
        ("s1", 1_000, 20.0),
        ("s2", 1_500, 30.0),
        ("s1", 3_000, 21.0),
        ("s1", 2_000, 22.0),
        ("s2", 9_000, 31.0),
        ("s1", 11_000, 23.0),
        ("s2", 12_500, 32.0),
        ("s1", 4_000, 19.0),
        ("s1", 10_500, 24.0),
        ("s2", 9_500, 29.0),
        ("s2", 21_000, 33.0),
        ("s1", 25_000, 25.0),
    ];
    rows.iter()
        .map(|(sensor, timestamp, temperature)| Reading {
            sensor: (*sensor).to_owned(),
            timestamp: *timestamp,
            temperature: *temperature,
        })
        .collect()
}

/// Reads readings from a CSV file of `sensor,timestamp_ms,temperature` lines.
pub fn read_readings(path: &Path) -> Result<Vec<Reading>> {
    read_csv(path, |fields| {
        expect_fields(fields, 3, "sensor,timestamp_ms,temperature")?;
        Ok(Reading {
            sensor: field(fields, 0, "sensor")?,
            timestamp: field(fields, 1, "timestamp_ms")?,
            temperature: field(fields, 2, "temperature")?,
        })
    })
}

/// A bounded-out-of-orderness generator that emits a watermark after every reading, so the
/// job's lateness does not depend on timing.
#[derive(Debug, Clone)]
pub struct PerReadingWatermarks {
    max_timestamp: i64,
    bound_millis: i64,
}

impl PerReadingWatermarks {
    pub fn new(bound: Duration) -> Self {
        PerReadingWatermarks {
            max_timestamp: i64::MIN / 2,
            bound_millis: bound.as_millis() as i64,
        }
    }
}

impl WatermarkGenerator<Reading> for PerReadingWatermarks {
    fn on_event(&mut self, _reading: &Reading, timestamp: i64, output: &mut WatermarkOutput) {
        self.max_timestamp = self.max_timestamp.max(timestamp);
        output.emit_watermark(self.max_timestamp - self.bound_millis - 1);
    }

    fn on_periodic_emit(&mut self, _output: &mut WatermarkOutput) {}
}

/// Count, average and maximum of the temperatures in a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub count: u64,
    pub sum: f64,
    pub max: f64,
}

/// Aggregates readings into [`Stats`] incrementally.
#[derive(Clone, Copy, Debug)]
pub struct TemperatureStats;

impl AggregateFunction<Reading, Stats, Stats> for TemperatureStats {
    fn create_accumulator(&self) -> Stats {
        Stats {
            count: 0,
            sum: 0.0,
            max: f64::MIN,
        }
    }

    fn add(&self, accumulator: &mut Stats, reading: Reading) {
        accumulator.count += 1;
        accumulator.sum += reading.temperature;
        accumulator.max = accumulator.max.max(reading.temperature);
    }

    fn get_result(&self, accumulator: &Stats) -> Stats {
        *accumulator
    }

    fn merge(&self, a: Stats, b: Stats) -> Stats {
        Stats {
            count: a.count + b.count,
            sum: a.sum + b.sum,
            max: a.max.max(b.max),
        }
    }
}

/// One sensor's window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowSummary {
    pub sensor: String,
    pub start: i64,
    pub end: i64,
    pub count: u64,
    pub average: f64,
    pub max: f64,
}

impl fmt::Display for WindowSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}, {}) readings={} avg={} max={}",
            self.sensor,
            self.start,
            self.end,
            self.count,
            java_double(self.average),
            java_double(self.max)
        )
    }
}

/// The job: returns the window summaries and the late readings.
pub fn summaries(
    env: &StreamExecutionEnvironment,
    readings: Vec<Reading>,
) -> (DataStream<WindowSummary>, DataStream<Reading>) {
    summaries_of(&env.from_collection(readings))
}

/// The job on a stream of readings in arrival order.
pub fn summaries_of(
    readings: &DataStream<Reading>,
) -> (DataStream<WindowSummary>, DataStream<Reading>) {
    let late = OutputTag::<Reading>::new("late-readings");
    let strategy =
        WatermarkStrategy::for_generator(|| PerReadingWatermarks::new(Duration::from_secs(2)))
            .with_timestamp_assigner(|reading: &Reading, _| reading.timestamp);
    let summaries = readings
        .assign_timestamps_and_watermarks(strategy)
        // One watermark generator sees every reading in arrival order, so which readings are
        // late does not depend on the parallelism.
        .set_parallelism(1)
        .key_by(|reading: &Reading| reading.sensor.clone())
        .window(TumblingEventTimeWindows::of(Duration::from_secs(10)))
        .side_output_late_data(&late)
        .aggregate_with(
            TemperatureStats,
            |sensor: &String, window: &TimeWindow, stats: Stats| WindowSummary {
                sensor: sensor.clone(),
                start: window.start,
                end: window.end,
                count: stats.count,
                average: stats.sum / stats.count as f64,
                max: stats.max,
            },
        );
    let late_readings = summaries.get_side_output(&late);
    (summaries, late_readings)
}

/// Runs the job: window summaries on standard output, late readings prefixed `late>`; or,
/// into the `--output` folder, window summaries in `part-…` files and late readings in
/// `late-…` files.
pub fn run(env: &StreamExecutionEnvironment, options: &JobOptions) -> Result<JobResult> {
    let readings = match &options.input {
        Some(path) => read_readings(path)?,
        None => builtin_readings(),
    };
    let (windows, late) = summaries_of(&options.collection(env, readings));
    options.emit(&windows, "part", None)?;
    options.emit(&late, "late", Some("late"))?;
    env.execute("Windowed Sensors")
}
