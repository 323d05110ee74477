//! The Nexmark event stream: people, auctions and bids of an online auction site, the input
//! of the Nexmark benchmark that Flink, RisingWave, Arroyo and Feldera publish figures for.
//!
//! The model is the reference generator's (the `nexmark/nexmark` project): events come in the
//! proportion person : auction : bid = 1 : 3 : 46 by default, ids follow the event id, most
//! auctions are by "hot" sellers and most bids on "hot" auctions by "hot" bidders, prices are
//! log-uniform between 1 and 1,000,000 dollars (in cents), auctions expire within about twice
//! the time it takes for 100 more auctions to come, and every event is padded with an `extra`
//! string to the average size of its kind (200, 500 and 100 bytes).
//!
//! One difference, on purpose: the reference draws from an unseeded random generator. Here
//! every value of event `n` is a pure function of `n` (its random numbers come from a
//! generator seeded with the event's index), and its event time is `first-event.time` plus
//! `n` inter-event delays of the whole stream. A replay from a checkpoint, or a run at another
//! parallelism, produces exactly the same events, which is what makes results comparable
//! between engines and runs.
//!
//! [`NexmarkGenerator::columns`] fills the columns of a batch of events for the `nexmark`
//! table source (`event_type`, and the `person`, `auction` and `bid` rows, one of them set).

mod columns;
mod model;
mod strings;

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use flinkrs_core::Result;

use crate::datagen::RowIndices;

pub use model::EventKind;

/// The generator's parameters, with the reference's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct NexmarkConfig {
    /// Events per second of event time (`first-event.rate`): the spacing of event times.
    pub first_event_rate: u64,
    /// How many events in all (`events.num`); `None` for an endless stream.
    pub events: Option<u64>,
    /// Relative frequencies of people, auctions and bids.
    pub person_proportion: u64,
    pub auction_proportion: u64,
    pub bid_proportion: u64,
    /// Average sizes in bytes that the `extra` padding aims at.
    pub avg_person_bytes: usize,
    pub avg_auction_bytes: usize,
    pub avg_bid_bytes: usize,
    /// One in this many bids is on a random auction, the others on a hot one
    /// (`bid.hot-ratio.auctions`).
    pub hot_auction_ratio: u64,
    /// The same for bidders (`bid.hot-ratio.bidders`).
    pub hot_bidders_ratio: u64,
    /// The same for the sellers of auctions (`auction.hot-ratio.sellers`).
    pub hot_sellers_ratio: u64,
    /// Auctions likely to be open at any time.
    pub in_flight_auctions: u64,
    /// People likely to be active at any time.
    pub active_people: u64,
    /// The event time of the first event, in milliseconds since the epoch
    /// (`first-event.time`).
    pub first_event_time: i64,
}

impl Default for NexmarkConfig {
    fn default() -> Self {
        NexmarkConfig {
            first_event_rate: 10_000,
            events: None,
            person_proportion: 1,
            auction_proportion: 3,
            bid_proportion: 46,
            avg_person_bytes: 200,
            avg_auction_bytes: 500,
            avg_bid_bytes: 100,
            hot_auction_ratio: 2,
            hot_bidders_ratio: 4,
            hot_sellers_ratio: 4,
            in_flight_auctions: 100,
            active_people: 1_000,
            // 2015-07-15 00:00:00 UTC: fixed, so runs are comparable.
            first_event_time: 1_436_918_400_000,
        }
    }
}

impl NexmarkConfig {
    fn total_proportion(&self) -> u64 {
        self.person_proportion + self.auction_proportion + self.bid_proportion
    }
}

/// Generates the columns of batches of Nexmark events; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct NexmarkGenerator {
    config: Arc<NexmarkConfig>,
}

impl NexmarkGenerator {
    /// A generator for `config`; an error names a parameter out of range.
    pub fn new(config: NexmarkConfig) -> std::result::Result<Self, String> {
        if config.first_event_rate == 0 {
            return Err("the event rate must be at least 1 event per second".into());
        }
        if config.total_proportion() == 0 {
            return Err("the proportions of people, auctions and bids add up to 0".into());
        }
        if config.person_proportion == 0 || config.auction_proportion == 0 {
            return Err(
                "people and auctions need a proportion of at least 1: bids refer to them".into(),
            );
        }
        for (name, ratio) in [
            ("bid.hot-ratio.auctions", config.hot_auction_ratio),
            ("bid.hot-ratio.bidders", config.hot_bidders_ratio),
            ("auction.hot-ratio.sellers", config.hot_sellers_ratio),
        ] {
            if ratio == 0 {
                return Err(format!("'{name}' must be at least 1"));
            }
        }
        Ok(NexmarkGenerator {
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &NexmarkConfig {
        &self.config
    }

    /// The kind of event `index`.
    pub fn kind(&self, index: u64) -> EventKind {
        model::kind(&self.config, index)
    }

    /// The columns of the events `indices`, in the order of [`schema`]: `event_type`
    /// (0 person, 1 auction, 2 bid), then the `person`, `auction` and `bid` rows, of which
    /// only the one of the event's kind is set.
    pub fn columns(&self, indices: RowIndices) -> Result<Vec<ArrayRef>> {
        Ok(columns::events(&self.config, indices))
    }
}

/// The Arrow schema of the event table: the reference's `datagen` table without its computed
/// `dateTime` column.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("event_type", DataType::Int32, true),
        Field::new("person", DataType::Struct(person_fields()), true),
        Field::new("auction", DataType::Struct(auction_fields()), true),
        Field::new("bid", DataType::Struct(bid_fields()), true),
    ]))
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

pub(crate) fn person_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("emailAddress", DataType::Utf8, true),
        Field::new("creditCard", DataType::Utf8, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("state", DataType::Utf8, true),
        Field::new("dateTime", timestamp(), true),
        Field::new("extra", DataType::Utf8, true),
    ])
}

pub(crate) fn auction_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("itemName", DataType::Utf8, true),
        Field::new("description", DataType::Utf8, true),
        Field::new("initialBid", DataType::Int64, true),
        Field::new("reserve", DataType::Int64, true),
        Field::new("dateTime", timestamp(), true),
        Field::new("expires", timestamp(), true),
        Field::new("seller", DataType::Int64, true),
        Field::new("category", DataType::Int64, true),
        Field::new("extra", DataType::Utf8, true),
    ])
}

pub(crate) fn bid_fields() -> Fields {
    Fields::from(vec![
        Field::new("auction", DataType::Int64, true),
        Field::new("bidder", DataType::Int64, true),
        Field::new("price", DataType::Int64, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("url", DataType::Utf8, true),
        Field::new("dateTime", timestamp(), true),
        Field::new("extra", DataType::Utf8, true),
    ])
}

#[cfg(test)]
mod tests;
