//! The standard metrics of a task and of an operator, with Flink's names, registered in one
//! call and handed out as a struct of handles for the task's hot path.

use flinkrs_core::Watermark;

use super::counter::Counter;
use super::gauge::Gauge;
use super::groups::ScopedGroup;
use super::meter::{Meter, UPDATE_INTERVAL_SECONDS};
use super::names;

/// A task's input and output totals, their rates, where its time goes, and its input
/// watermark (Flink's `TaskIOMetricGroup`).
///
/// The task adds to the counters once per batch; the rates follow from the counters when the
/// registry ticks. The three time counters take whole milliseconds: a task measuring shorter
/// spans carries the remainder itself, or the totals drift low.
#[derive(Clone, Debug)]
pub struct TaskIoMetrics {
    pub records: RecordMetrics,
    /// Milliseconds spent processing.
    pub accumulate_busy_time_ms: Counter,
    /// Milliseconds spent waiting for room in output channels.
    pub accumulate_back_pressured_time_ms: Counter,
    /// Milliseconds spent waiting for input.
    pub accumulate_idle_time_ms: Counter,
    pub busy_time_ms_per_second: Meter,
    pub back_pressured_time_ms_per_second: Meter,
    pub idle_time_ms_per_second: Meter,
    /// The task's input watermark in milliseconds; `i64::MIN` until the first one, as Flink.
    pub current_input_watermark: Gauge,
}

impl TaskIoMetrics {
    pub(crate) fn register(group: &ScopedGroup) -> Self {
        let records = RecordMetrics::register(group);
        let accumulate_busy_time_ms = group.counter(names::ACCUMULATE_BUSY_TIME_MS);
        let accumulate_back_pressured_time_ms =
            group.counter(names::ACCUMULATE_BACK_PRESSURED_TIME_MS);
        let accumulate_idle_time_ms = group.counter(names::ACCUMULATE_IDLE_TIME_MS);
        TaskIoMetrics {
            busy_time_ms_per_second: time_meter(
                group,
                names::BUSY_TIME_MS_PER_SECOND,
                &accumulate_busy_time_ms,
            ),
            back_pressured_time_ms_per_second: time_meter(
                group,
                names::BACK_PRESSURED_TIME_MS_PER_SECOND,
                &accumulate_back_pressured_time_ms,
            ),
            idle_time_ms_per_second: time_meter(
                group,
                names::IDLE_TIME_MS_PER_SECOND,
                &accumulate_idle_time_ms,
            ),
            accumulate_busy_time_ms,
            accumulate_back_pressured_time_ms,
            accumulate_idle_time_ms,
            current_input_watermark: group.gauge(names::CURRENT_INPUT_WATERMARK, Watermark::MIN.0),
            records,
        }
    }
}

/// An operator's input and output totals, their rates, and its watermarks (Flink's
/// `OperatorIOMetricGroup`).
#[derive(Clone, Debug)]
pub struct OperatorIoMetrics {
    pub records: RecordMetrics,
    /// The operator's input watermark in milliseconds; `i64::MIN` until the first one.
    pub current_input_watermark: Gauge,
    /// The last watermark the operator emitted; `i64::MIN` until the first one.
    pub current_output_watermark: Gauge,
}

impl OperatorIoMetrics {
    pub(crate) fn register(group: &ScopedGroup) -> Self {
        let records = RecordMetrics::register(group);
        OperatorIoMetrics {
            records,
            current_input_watermark: group.gauge(names::CURRENT_INPUT_WATERMARK, Watermark::MIN.0),
            current_output_watermark: group
                .gauge(names::CURRENT_OUTPUT_WATERMARK, Watermark::MIN.0),
        }
    }
}

/// The record and byte totals with their rates, which tasks and operators both have.
#[derive(Clone, Debug)]
pub struct RecordMetrics {
    pub num_records_in: Counter,
    pub num_records_out: Counter,
    pub num_bytes_in: Counter,
    pub num_bytes_out: Counter,
    pub num_records_in_per_second: Meter,
    pub num_records_out_per_second: Meter,
    pub num_bytes_in_per_second: Meter,
    pub num_bytes_out_per_second: Meter,
}

impl RecordMetrics {
    fn register(group: &ScopedGroup) -> Self {
        let num_records_in = group.counter(names::NUM_RECORDS_IN);
        let num_records_out = group.counter(names::NUM_RECORDS_OUT);
        let num_bytes_in = group.counter(names::NUM_BYTES_IN);
        let num_bytes_out = group.counter(names::NUM_BYTES_OUT);
        let rate = |name, counter: &Counter| group.meter(name, Meter::new(counter.clone()));
        RecordMetrics {
            num_records_in_per_second: rate(names::NUM_RECORDS_IN_PER_SECOND, &num_records_in),
            num_records_out_per_second: rate(names::NUM_RECORDS_OUT_PER_SECOND, &num_records_out),
            num_bytes_in_per_second: rate(names::NUM_BYTES_IN_PER_SECOND, &num_bytes_in),
            num_bytes_out_per_second: rate(names::NUM_BYTES_OUT_PER_SECOND, &num_bytes_out),
            num_records_in,
            num_records_out,
            num_bytes_in,
            num_bytes_out,
        }
    }
}

/// Milliseconds per second of a time counter over the last update interval, as Flink's
/// `TimerGauge`: a share of recent time, not of the last minute.
fn time_meter(group: &ScopedGroup, name: &str, milliseconds: &Counter) -> Meter {
    group.meter(
        name,
        Meter::with_time_span(milliseconds.clone(), UPDATE_INTERVAL_SECONDS),
    )
}
