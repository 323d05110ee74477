//! Fills the columns of a batch of events: one builder per field, the rows of the kinds an
//! event is not left null.

use std::sync::Arc;

use arrow_array::builder::{
    Int32Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, StructArray};
use arrow_buffer::NullBufferBuilder;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::model::{
    self, CATEGORIES, EventKind, FIRST_AUCTION_ID, FIRST_CATEGORY_ID, FIRST_PERSON_ID,
};
use super::strings::{self, FIRST_NAMES, LAST_NAMES, US_CITIES, US_STATES};
use super::{NexmarkConfig, auction_fields, bid_fields, person_fields};
use crate::datagen::{RowIndices, mix64};

/// Mixed with the event index into the seed of the event's random numbers.
const EVENT_SEED: u64 = 0x4e45_584d_4152_4b00;

/// The columns of the events `indices`: `event_type`, `person`, `auction`, `bid`.
pub fn events(config: &NexmarkConfig, indices: RowIndices) -> Vec<ArrayRef> {
    let rows = indices.len;
    let mut event_type = Int32Builder::with_capacity(rows);
    let mut people = People::new(rows);
    let mut auctions = Auctions::new(rows);
    let mut bids = Bids::new(rows);
    let mut scratch = Vec::with_capacity(128);
    for event in indices.iter() {
        let mut rng = SmallRng::seed_from_u64(mix64(event, EVENT_SEED));
        let kind = model::kind(config, event);
        event_type.append_value(kind.code());
        let time = model::event_time(config, event);
        match kind {
            EventKind::Person => people.append(config, event, time, &mut rng, &mut scratch),
            EventKind::Auction => auctions.append(config, event, time, &mut rng, &mut scratch),
            EventKind::Bid => bids.append(config, event, time, &mut rng),
        }
        if kind != EventKind::Person {
            people.append_null();
        }
        if kind != EventKind::Auction {
            auctions.append_null();
        }
        if kind != EventKind::Bid {
            bids.append_null();
        }
    }
    vec![
        Arc::new(event_type.finish()),
        people.finish(),
        auctions.finish(),
        bids.finish(),
    ]
}

struct People {
    id: Int64Builder,
    name: StringBuilder,
    email: StringBuilder,
    credit_card: StringBuilder,
    city: StringBuilder,
    state: StringBuilder,
    time: TimestampMillisecondBuilder,
    extra: StringBuilder,
    nulls: NullBufferBuilder,
}

impl People {
    fn new(rows: usize) -> Self {
        People {
            id: Int64Builder::with_capacity(rows),
            name: StringBuilder::new(),
            email: StringBuilder::new(),
            credit_card: StringBuilder::new(),
            city: StringBuilder::new(),
            state: StringBuilder::new(),
            time: TimestampMillisecondBuilder::with_capacity(rows),
            extra: StringBuilder::new(),
            nulls: NullBufferBuilder::new(rows),
        }
    }

    fn append(
        &mut self,
        config: &NexmarkConfig,
        event: u64,
        time: i64,
        rng: &mut SmallRng,
        scratch: &mut Vec<u8>,
    ) {
        self.id
            .append_value(FIRST_PERSON_ID + model::last_person(config, event) as i64);
        let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
        scratch.clear();
        scratch.extend_from_slice(first.as_bytes());
        scratch.push(b' ');
        scratch.extend_from_slice(last.as_bytes());
        let name_length = scratch.len();
        self.name
            .append_value(std::str::from_utf8(scratch).unwrap_or_default());
        let email_length = strings::append_email(&mut self.email, rng, scratch);
        strings::append_credit_card(&mut self.credit_card, rng);
        let city = US_CITIES[rng.random_range(0..US_CITIES.len())];
        let state = US_STATES[rng.random_range(0..US_STATES.len())];
        self.city.append_value(city);
        self.state.append_value(state);
        self.time.append_value(time);
        let size = 8 + name_length + email_length + 19 + city.len() + state.len();
        strings::append_extra(&mut self.extra, rng, size, config.avg_person_bytes);
        self.nulls.append_non_null();
    }

    fn append_null(&mut self) {
        self.id.append_null();
        self.name.append_null();
        self.email.append_null();
        self.credit_card.append_null();
        self.city.append_null();
        self.state.append_null();
        self.time.append_null();
        self.extra.append_null();
        self.nulls.append_null();
    }

    fn finish(mut self) -> ArrayRef {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.email.finish()),
            Arc::new(self.credit_card.finish()),
            Arc::new(self.city.finish()),
            Arc::new(self.state.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.extra.finish()),
        ];
        Arc::new(StructArray::new(
            person_fields(),
            children,
            self.nulls.finish(),
        ))
    }
}

struct Auctions {
    id: Int64Builder,
    item_name: StringBuilder,
    description: StringBuilder,
    initial_bid: Int64Builder,
    reserve: Int64Builder,
    time: TimestampMillisecondBuilder,
    expires: TimestampMillisecondBuilder,
    seller: Int64Builder,
    category: Int64Builder,
    extra: StringBuilder,
    nulls: NullBufferBuilder,
}

impl Auctions {
    fn new(rows: usize) -> Self {
        Auctions {
            id: Int64Builder::with_capacity(rows),
            item_name: StringBuilder::new(),
            description: StringBuilder::new(),
            initial_bid: Int64Builder::with_capacity(rows),
            reserve: Int64Builder::with_capacity(rows),
            time: TimestampMillisecondBuilder::with_capacity(rows),
            expires: TimestampMillisecondBuilder::with_capacity(rows),
            seller: Int64Builder::with_capacity(rows),
            category: Int64Builder::with_capacity(rows),
            extra: StringBuilder::new(),
            nulls: NullBufferBuilder::new(rows),
        }
    }

    fn append(
        &mut self,
        config: &NexmarkConfig,
        event: u64,
        time: i64,
        rng: &mut SmallRng,
        scratch: &mut Vec<u8>,
    ) {
        self.id
            .append_value(FIRST_AUCTION_ID + model::last_auction(config, event) as i64);
        self.seller.append_value(model::seller(config, event, rng));
        self.category
            .append_value(FIRST_CATEGORY_ID + rng.random_range(0..CATEGORIES) as i64);
        let initial_bid = model::price(rng);
        self.initial_bid.append_value(initial_bid);
        self.time.append_value(time);
        self.expires
            .append_value(time + model::auction_length_ms(config, event, time, rng));
        strings::append_word(&mut self.item_name, rng, 20, scratch);
        let name_length = scratch.len();
        strings::append_word(&mut self.description, rng, 100, scratch);
        let description_length = scratch.len();
        self.reserve.append_value(initial_bid + model::price(rng));
        let size = 8 + name_length + description_length + 40;
        strings::append_extra(&mut self.extra, rng, size, config.avg_auction_bytes);
        self.nulls.append_non_null();
    }

    fn append_null(&mut self) {
        self.id.append_null();
        self.item_name.append_null();
        self.description.append_null();
        self.initial_bid.append_null();
        self.reserve.append_null();
        self.time.append_null();
        self.expires.append_null();
        self.seller.append_null();
        self.category.append_null();
        self.extra.append_null();
        self.nulls.append_null();
    }

    fn finish(mut self) -> ArrayRef {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.item_name.finish()),
            Arc::new(self.description.finish()),
            Arc::new(self.initial_bid.finish()),
            Arc::new(self.reserve.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.expires.finish()),
            Arc::new(self.seller.finish()),
            Arc::new(self.category.finish()),
            Arc::new(self.extra.finish()),
        ];
        Arc::new(StructArray::new(
            auction_fields(),
            children,
            self.nulls.finish(),
        ))
    }
}

struct Bids {
    auction: Int64Builder,
    bidder: Int64Builder,
    price: Int64Builder,
    channel: StringBuilder,
    url: StringBuilder,
    time: TimestampMillisecondBuilder,
    extra: StringBuilder,
    nulls: NullBufferBuilder,
}

impl Bids {
    fn new(rows: usize) -> Self {
        Bids {
            auction: Int64Builder::with_capacity(rows),
            bidder: Int64Builder::with_capacity(rows),
            price: Int64Builder::with_capacity(rows),
            channel: StringBuilder::with_capacity(rows, rows * 8),
            url: StringBuilder::with_capacity(rows, rows * 64),
            time: TimestampMillisecondBuilder::with_capacity(rows),
            extra: StringBuilder::with_capacity(rows, rows * 72),
            nulls: NullBufferBuilder::new(rows),
        }
    }

    fn append(&mut self, config: &NexmarkConfig, event: u64, time: i64, rng: &mut SmallRng) {
        self.auction
            .append_value(model::bid_auction(config, event, rng));
        self.bidder.append_value(model::bidder(config, event, rng));
        self.price.append_value(model::price(rng));
        let (channel, url) = strings::channel_and_url(rng);
        self.channel.append_value(channel);
        self.url.append_value(url);
        self.time.append_value(time);
        strings::append_extra(&mut self.extra, rng, 32, config.avg_bid_bytes);
        self.nulls.append_non_null();
    }

    fn append_null(&mut self) {
        self.auction.append_null();
        self.bidder.append_null();
        self.price.append_null();
        self.channel.append_null();
        self.url.append_null();
        self.time.append_null();
        self.extra.append_null();
        self.nulls.append_null();
    }

    fn finish(mut self) -> ArrayRef {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.auction.finish()),
            Arc::new(self.bidder.finish()),
            Arc::new(self.price.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.url.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.extra.finish()),
        ];
        Arc::new(StructArray::new(
            bid_fields(),
            children,
            self.nulls.finish(),
        ))
    }
}
