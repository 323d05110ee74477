use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch, StructArray};

use super::*;
use crate::datagen::RowIndices;

fn generate(config: NexmarkConfig, first: u64, step: u64, len: usize) -> RecordBatch {
    let generator = NexmarkGenerator::new(config).unwrap();
    let columns = generator.columns(RowIndices { first, step, len }).unwrap();
    RecordBatch::try_new(schema(), columns).unwrap()
}

fn row(batch: &RecordBatch, column: &str) -> StructArray {
    batch.column_by_name(column).unwrap().as_struct().clone()
}

fn int64(rows: &StructArray, field: &str) -> Vec<Option<i64>> {
    rows.column_by_name(field)
        .unwrap()
        .as_primitive::<Int64Type>()
        .iter()
        .collect()
}

#[test]
fn events_come_in_the_proportion_one_to_three_to_forty_six() {
    let batch = generate(NexmarkConfig::default(), 0, 1, 5_000);
    let types = batch.column(0).as_primitive::<Int32Type>();
    let count = |code| types.iter().filter(|t| *t == Some(code)).count();
    assert_eq!((count(0), count(1), count(2)), (100, 300, 4_600));
    // Exactly one of the three rows is set, the one of the event's kind.
    for (index, code) in types.iter().enumerate() {
        let set: Vec<bool> = ["person", "auction", "bid"]
            .iter()
            .map(|name| row(&batch, name).is_valid(index))
            .collect();
        let expected: Vec<bool> = (0..3).map(|kind| Some(kind) == code).collect();
        assert_eq!(set, expected, "event {index}");
    }
}

#[test]
fn ids_follow_the_event_ids() {
    let batch = generate(NexmarkConfig::default(), 0, 1, 200);
    // Event 0 is person 1000, events 1-3 auctions 1000-1002, event 50 person 1001.
    let people = int64(&row(&batch, "person"), "id");
    assert_eq!((people[0], people[50]), (Some(1_000), Some(1_001)));
    let auctions = int64(&row(&batch, "auction"), "id");
    assert_eq!(
        (auctions[1], auctions[2], auctions[3], auctions[51]),
        (Some(1_000), Some(1_001), Some(1_002), Some(1_003))
    );
    // Sellers and bidders are people that exist, or a few ahead; auctions of bids too.
    let bids = row(&batch, "bid");
    for (index, auction) in int64(&bids, "auction").into_iter().enumerate() {
        if let Some(auction) = auction {
            let last = 1_000 + model::last_auction(&NexmarkConfig::default(), index as u64);
            assert!((1_000..=last as i64 + 10).contains(&auction), "{auction}");
        }
    }
}

#[test]
fn every_value_is_a_pure_function_of_the_event_index() {
    let whole = generate(NexmarkConfig::default(), 0, 1, 1_000);
    // The same events generated as every other event, from 1: the odd rows of the whole.
    let odd = generate(NexmarkConfig::default(), 1, 2, 500);
    for column in 0..4 {
        let expected: Vec<_> = (0..500)
            .map(|i| whole.column(column).slice(2 * i + 1, 1))
            .collect();
        for (i, slice) in expected.iter().enumerate() {
            assert_eq!(
                &odd.column(column).slice(i, 1),
                slice,
                "column {column}, row {i}"
            );
        }
    }
    assert_eq!(generate(NexmarkConfig::default(), 0, 1, 1_000), whole);
}

#[test]
fn event_times_advance_by_the_rate_from_the_first_event_time() {
    let config = NexmarkConfig {
        first_event_rate: 1_000,
        first_event_time: 0,
        ..NexmarkConfig::default()
    };
    let batch = generate(config, 0, 1, 100);
    let bids = row(&batch, "bid");
    let times = bids
        .column_by_name("dateTime")
        .unwrap()
        .as_primitive::<TimestampMillisecondType>();
    for index in 0..100 {
        if times.is_valid(index) {
            assert_eq!(
                times.value(index),
                index as i64,
                "one event per millisecond"
            );
        }
    }
}

#[test]
fn bids_are_padded_to_their_average_size_and_prices_are_in_range() {
    let batch = generate(NexmarkConfig::default(), 0, 1, 10_000);
    let bids = row(&batch, "bid");
    let extra = bids.column_by_name("extra").unwrap().as_string::<i32>();
    let lengths: Vec<usize> = extra.iter().flatten().map(str::len).collect();
    // 100 bytes less the 32 of the numbers: 68 +- 20 %.
    assert!(lengths.iter().all(|l| (54..82).contains(l)), "{lengths:?}");
    let average = lengths.iter().sum::<usize>() as f64 / lengths.len() as f64;
    assert!((66.0..70.0).contains(&average), "{average}");
    for price in int64(&bids, "price").into_iter().flatten() {
        assert!((100..=100_000_000).contains(&price), "{price}");
    }
    // Half the bids come through the four hot channels.
    let channels = bids.column_by_name("channel").unwrap().as_string::<i32>();
    let hot = channels
        .iter()
        .flatten()
        .filter(|c| ["Google", "Facebook", "Baidu", "Apple"].contains(c))
        .count();
    let share = hot as f64 / lengths.len() as f64;
    assert!((0.45..0.55).contains(&share), "{share}");
}

#[test]
fn out_of_range_parameters_are_refused_with_their_name() {
    let zero_ratio = NexmarkConfig {
        hot_bidders_ratio: 0,
        ..NexmarkConfig::default()
    };
    assert_eq!(
        NexmarkGenerator::new(zero_ratio).unwrap_err(),
        "'bid.hot-ratio.bidders' must be at least 1"
    );
    let no_rate = NexmarkConfig {
        first_event_rate: 0,
        ..NexmarkConfig::default()
    };
    assert!(NexmarkGenerator::new(no_rate).is_err());
}
