//! The arithmetic of the Nexmark model: which kind event `n` is, the ids it carries, its event
//! time, and the random choices of sellers, bidders, auctions and auction lengths.

use rand::Rng;

use super::NexmarkConfig;

/// The first id of a person, and of an auction, as in the reference.
pub const FIRST_PERSON_ID: i64 = 1_000;
pub const FIRST_AUCTION_ID: i64 = 1_000;
/// The first category id; there are [`CATEGORIES`] of them.
pub const FIRST_CATEGORY_ID: i64 = 10;
pub const CATEGORIES: u64 = 5;
/// Ids a random choice may reach beyond the last person or auction created, so that a new
/// auction or bid sometimes seems to come before what it refers to.
const PERSON_ID_LEAD: u64 = 10;
const AUCTION_ID_LEAD: u64 = 10;
/// Hot sellers, bidders and auctions: the first of every batch of this many.
pub const HOT_SELLER_RATIO: u64 = 100;
pub const HOT_BIDDER_RATIO: u64 = 100;
pub const HOT_AUCTION_RATIO: u64 = 100;

/// What event `n` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Person,
    Auction,
    Bid,
}

impl EventKind {
    /// The `event_type` column's value.
    pub fn code(self) -> i32 {
        match self {
            EventKind::Person => 0,
            EventKind::Auction => 1,
            EventKind::Bid => 2,
        }
    }
}

pub fn kind(config: &NexmarkConfig, event: u64) -> EventKind {
    let offset = event % config.total_proportion();
    if offset < config.person_proportion {
        EventKind::Person
    } else if offset < config.person_proportion + config.auction_proportion {
        EventKind::Auction
    } else {
        EventKind::Bid
    }
}

/// The event time of event `n`: the first event's, plus `n` times the inter-event delay.
pub fn event_time(config: &NexmarkConfig, event: u64) -> i64 {
    let delay_micros = 1_000_000.0 / config.first_event_rate as f64;
    config.first_event_time + (event as f64 * delay_micros) as i64 / 1_000
}

/// The last person id (from 0) created up to event `n`: event `n`'s own if it is a person.
pub fn last_person(config: &NexmarkConfig, event: u64) -> u64 {
    let total = config.total_proportion();
    let (epoch, offset) = (event / total, event % total);
    epoch * config.person_proportion + offset.min(config.person_proportion - 1)
}

/// The last auction id (from 0) created up to event `n`: event `n`'s own if it is an auction.
/// Before the first auction it is 0, as the reference's arithmetic would have it negative.
pub fn last_auction(config: &NexmarkConfig, event: u64) -> u64 {
    let total = config.total_proportion();
    let (epoch, offset) = (event / total, event % total);
    if offset < config.person_proportion {
        // A person: the last auction of the epoch before.
        (epoch * config.auction_proportion).saturating_sub(1)
    } else if offset >= config.person_proportion + config.auction_proportion {
        // A bid: the last auction of this epoch.
        epoch * config.auction_proportion + config.auction_proportion - 1
    } else {
        epoch * config.auction_proportion + offset - config.person_proportion
    }
}

/// A person id (from 0) among the active people, or a few ahead of the last one.
pub fn random_person(config: &NexmarkConfig, event: u64, rng: &mut impl Rng) -> u64 {
    let people = last_person(config, event) + 1;
    let active = people.min(config.active_people);
    people - active + rng.random_range(0..active + PERSON_ID_LEAD)
}

/// An auction id (from 0) among those likely still open, or a few ahead of the last one.
pub fn random_auction(config: &NexmarkConfig, event: u64, rng: &mut impl Rng) -> u64 {
    let last = last_auction(config, event);
    let first = last.saturating_sub(config.in_flight_auctions);
    first + rng.random_range(0..last - first + 1 + AUCTION_ID_LEAD)
}

/// A seller for the auction of event `n`: mostly the first person of the last batch of
/// [`HOT_SELLER_RATIO`] people.
pub fn seller(config: &NexmarkConfig, event: u64, rng: &mut impl Rng) -> i64 {
    let base0 = if rng.random_range(0..config.hot_sellers_ratio) > 0 {
        last_person(config, event) / HOT_SELLER_RATIO * HOT_SELLER_RATIO
    } else {
        random_person(config, event, rng)
    };
    FIRST_PERSON_ID + base0 as i64
}

/// The auction a bid of event `n` is on: mostly the first of the last batch of
/// [`HOT_AUCTION_RATIO`] auctions.
pub fn bid_auction(config: &NexmarkConfig, event: u64, rng: &mut impl Rng) -> i64 {
    let base0 = if rng.random_range(0..config.hot_auction_ratio) > 0 {
        last_auction(config, event) / HOT_AUCTION_RATIO * HOT_AUCTION_RATIO
    } else {
        random_auction(config, event, rng)
    };
    FIRST_AUCTION_ID + base0 as i64
}

/// The bidder of a bid of event `n`: mostly the second person of the last batch of
/// [`HOT_BIDDER_RATIO`] people (so hot bidders are not hot sellers).
///
/// The reference adds its first person id twice to a bidder; this keeps that, so bidders
/// compare with the reference's.
pub fn bidder(config: &NexmarkConfig, event: u64, rng: &mut impl Rng) -> i64 {
    let base0 = if rng.random_range(0..config.hot_bidders_ratio) > 0 {
        last_person(config, event) / HOT_BIDDER_RATIO * HOT_BIDDER_RATIO + 1
    } else {
        random_person(config, event, rng)
    };
    2 * FIRST_PERSON_ID + base0 as i64
}

/// A price in cents, log-uniform between 1 and 1,000,000 dollars.
pub fn price(rng: &mut impl Rng) -> i64 {
    (10f64.powf(rng.random::<f64>() * 6.0) * 100.0).round() as i64
}

/// How long the auction of event `n` (created at `time`) stays open: on average the time until
/// [`NexmarkConfig::in_flight_auctions`] more auctions are created.
pub fn auction_length_ms(config: &NexmarkConfig, event: u64, time: i64, rng: &mut impl Rng) -> i64 {
    let events_for_auctions =
        config.in_flight_auctions * config.total_proportion() / config.auction_proportion;
    let horizon = event_time(config, event + events_for_auctions) - time;
    let bound = u64::try_from(horizon.saturating_mul(2)).unwrap_or(0).max(1);
    1 + rng.random_range(0..bound) as i64
}
