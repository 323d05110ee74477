//! The strings of Nexmark events: random words, the `extra` padding, names, cities, and the
//! channels and URLs of bids. Each is written straight into a column's buffer, so generating an
//! event allocates nothing.

use std::sync::OnceLock;

use arrow_array::builder::StringBuilder;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

pub const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
pub const US_CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
pub const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
pub const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
/// The channels most bids come through, each with its own URL.
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];
/// The other channels: `channel-0` to `channel-9999`.
const CHANNELS: usize = 10_000;
/// One in this many bids comes through a channel that is not hot.
const HOT_CHANNELS_RATIO: u64 = 2;
/// The shortest random word.
const MIN_WORD: usize = 3;
/// The padding is cut from one long random string, as in the reference.
const PADDING_SOURCE: usize = 1 << 20;
/// Seeds of the fixed tables, so that they are the same in every process.
const TABLES_SEED: u64 = 0x6e65_786d_6172_6b21;

/// A random word of 3 to `max_length - 1` bytes: lower-case letters, with `special` in about
/// one byte in 13, trimmed of spaces as the reference trims it; written into `out`.
pub fn word(rng: &mut impl Rng, max_length: usize, special: u8, out: &mut Vec<u8>) {
    out.clear();
    let length = MIN_WORD + rng.random_range(0..max_length - MIN_WORD);
    for _ in 0..length {
        if rng.random_range(0..13u32) == 0 {
            out.push(special);
        } else {
            out.push(b'a' + rng.random_range(0..26u8));
        }
    }
    if special == b' ' {
        let end = out.iter().rposition(|&b| b != b' ').map_or(0, |at| at + 1);
        out.truncate(end);
        let start = out.iter().position(|&b| b != b' ').unwrap_or(out.len());
        out.drain(..start);
    }
}

/// Appends a random word (see [`word`]) to `column`, using `scratch`.
pub fn append_word(
    column: &mut StringBuilder,
    rng: &mut impl Rng,
    max_length: usize,
    scratch: &mut Vec<u8>,
) {
    word(rng, max_length, b' ', scratch);
    column.append_value(ascii(scratch));
}

/// Appends padding that brings an event of `current` bytes to `average` bytes on average:
/// `average - current` bytes, plus or minus 20 %.
pub fn append_extra(
    column: &mut StringBuilder,
    rng: &mut impl Rng,
    current: usize,
    average: usize,
) {
    if current > average {
        column.append_value("");
        return;
    }
    let wanted = average - current;
    let delta = (wanted as f64 * 0.2).round() as usize;
    let length = wanted - delta
        + if delta == 0 {
            0
        } else {
            rng.random_range(0..2 * delta)
        };
    let source = padding_source();
    let length = length.min(source.len() / 2);
    let offset = rng.random_range(0..source.len() - length);
    column.append_value(&source[offset..offset + length]);
}

/// The channel and URL of a bid.
pub fn channel_and_url(rng: &mut impl Rng) -> (&'static str, &'static str) {
    let tables = tables();
    if rng.random_range(0..HOT_CHANNELS_RATIO) > 0 {
        let hot = rng.random_range(0..HOT_CHANNELS.len());
        (HOT_CHANNELS[hot], &tables.hot_urls[hot])
    } else {
        let (channel, url) = &tables.channels[rng.random_range(0..CHANNELS)];
        (channel, url)
    }
}

/// A credit card number: four groups of four digits.
pub fn append_credit_card(column: &mut StringBuilder, rng: &mut impl Rng) {
    let mut card = [b' '; 19];
    for group in 0..4 {
        let mut number = rng.random_range(0..10_000u32);
        for digit in (0..4).rev() {
            card[group * 5 + digit] = b'0' + (number % 10) as u8;
            number /= 10;
        }
    }
    column.append_value(ascii(&card));
}

/// An email address: a word of up to 7 bytes, `@`, one of up to 5, `.com`; returns its length.
pub fn append_email(
    column: &mut StringBuilder,
    rng: &mut impl Rng,
    scratch: &mut Vec<u8>,
) -> usize {
    let mut address = [0u8; 32];
    word(rng, 7, b' ', scratch);
    let mut length = scratch.len();
    address[..length].copy_from_slice(scratch);
    address[length] = b'@';
    length += 1;
    word(rng, 5, b' ', scratch);
    address[length..length + scratch.len()].copy_from_slice(scratch);
    length += scratch.len();
    address[length..length + 4].copy_from_slice(b".com");
    length += 4;
    column.append_value(ascii(&address[..length]));
    length
}

/// Text made of ASCII bytes only, as every generated string is.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

struct Tables {
    padding: String,
    hot_urls: [String; 4],
    channels: Vec<(String, String)>,
}

fn padding_source() -> &'static str {
    &tables().padding
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut rng = SmallRng::seed_from_u64(TABLES_SEED);
        let padding = (0..PADDING_SOURCE)
            .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
            .collect();
        let hot_urls = std::array::from_fn(|_| base_url(&mut rng));
        let channels = (0..CHANNELS)
            .map(|index| {
                let mut url = base_url(&mut rng);
                if rng.random_range(0..10u32) > 0 {
                    // As the reference: the channel's number with its 32 bits reversed.
                    let id = (index as i32).reverse_bits().wrapping_abs();
                    url.push_str(&format!("&channel_id={id}"));
                }
                (format!("channel-{index}"), url)
            })
            .collect();
        Tables {
            padding,
            hot_urls,
            channels,
        }
    })
}

fn base_url(rng: &mut impl Rng) -> String {
    let mut scratch = Vec::new();
    let mut url = String::from("https://www.nexmark.com/");
    for _ in 0..3 {
        word(rng, 5, b'_', &mut scratch);
        url.push_str(ascii(&scratch));
        url.push('/');
    }
    url.push_str("item.htm?query=1");
    url
}
