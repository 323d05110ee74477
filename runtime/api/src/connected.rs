//! Two streams of different types processed together: `connect`, co-map and co-process.

use std::hash::Hash;
use std::sync::Arc;

use flinkrs_core::{Data, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::functions::Collector;
use crate::keyed::KeyedStream;
use crate::process::{
    KeyedContext, KeyedProcessFunction, ProcessContext, ProcessFunction, RuntimeContext,
};
use crate::stream::DataStream;

/// A record of either the first or the second input of a connected stream.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Two streams connected for joint processing, as Flink's `ConnectedStreams`.
pub struct ConnectedStreams<A, B> {
    first: DataStream<A>,
    second: DataStream<B>,
}

impl<A: Data> DataStream<A> {
    /// Connects two streams, possibly of different types, for a co-map or co-process.
    pub fn connect<B: Data>(&self, other: &DataStream<B>) -> ConnectedStreams<A, B> {
        ConnectedStreams {
            first: self.clone(),
            second: other.clone(),
        }
    }
}

impl<A: Data, B: Data> ConnectedStreams<A, B> {
    /// Both inputs as one stream of [`Either`]; the wrapping maps chain into their inputs.
    pub fn merged(&self) -> DataStream<Either<A, B>> {
        let left = self
            .first
            .map(Either::<A, B>::Left)
            .name("Connect: first input");
        let right = self
            .second
            .map(Either::<A, B>::Right)
            .name("Connect: second input");
        left.union(&[right])
    }

    /// One function per input, each returning one record.
    pub fn map<O: Data, F1, F2>(&self, first: F1, second: F2) -> DataStream<O>
    where
        F1: FnMut(A) -> O + Clone + Send + Sync + 'static,
        F2: FnMut(B) -> O + Clone + Send + Sync + 'static,
    {
        let (mut first, mut second) = (first, second);
        self.merged()
            .map(move |either| match either {
                Either::Left(a) => first(a),
                Either::Right(b) => second(b),
            })
            .name("Co-Map")
    }

    /// One function per input, each emitting any number of records.
    pub fn flat_map<O: Data, F1, F2>(&self, first: F1, second: F2) -> DataStream<O>
    where
        F1: FnMut(A, &mut Collector<'_, O>) + Clone + Send + Sync + 'static,
        F2: FnMut(B, &mut Collector<'_, O>) + Clone + Send + Sync + 'static,
    {
        let (mut first, mut second) = (first, second);
        self.merged()
            .flat_map(move |either, out| match either {
                Either::Left(a) => first(a, out),
                Either::Right(b) => second(b, out),
            })
            .name("Co-Flat Map")
    }

    /// A [`CoProcessFunction`] over both inputs.
    pub fn process<O: Data, P>(&self, function: P) -> DataStream<O>
    where
        P: CoProcessFunction<A, B, O> + Clone + Sync + 'static,
    {
        self.merged()
            .process(CoProcessAdapter { function })
            .name("Co-Process")
    }

    /// Keys both inputs, so a [`KeyedCoProcessFunction`] sees both inputs' records of one key.
    pub fn key_by<K, F1, F2>(&self, first_key: F1, second_key: F2) -> KeyedConnectedStreams<A, B, K>
    where
        A: Serialize + DeserializeOwned,
        B: Serialize + DeserializeOwned,
        K: Data + Hash + Eq + Serialize + DeserializeOwned,
        F1: Fn(&A) -> K + Send + Sync + 'static,
        F2: Fn(&B) -> K + Send + Sync + 'static,
    {
        let (first_key, second_key) = (Arc::new(first_key), Arc::new(second_key));
        let keyed = self
            .merged()
            .key_by(move |either: &Either<A, B>| match either {
                Either::Left(a) => first_key(a),
                Either::Right(b) => second_key(b),
            });
        KeyedConnectedStreams { keyed }
    }
}

/// Processes the records of two inputs.
pub trait CoProcessFunction<A, B, O>: Send {
    fn process_element1(&mut self, value: A, ctx: &mut ProcessContext<'_, O>) -> Result<()>;
    fn process_element2(&mut self, value: B, ctx: &mut ProcessContext<'_, O>) -> Result<()>;
}

#[derive(Clone)]
struct CoProcessAdapter<P> {
    function: P,
}

impl<A, B, O, P: CoProcessFunction<A, B, O>> ProcessFunction<Either<A, B>, O>
    for CoProcessAdapter<P>
{
    fn process_element(
        &mut self,
        value: Either<A, B>,
        ctx: &mut ProcessContext<'_, O>,
    ) -> Result<()> {
        match value {
            Either::Left(a) => self.function.process_element1(a, ctx),
            Either::Right(b) => self.function.process_element2(b, ctx),
        }
    }
}

/// Connected streams keyed by the same key type.
pub struct KeyedConnectedStreams<A, B, K> {
    keyed: KeyedStream<Either<A, B>, K>,
}

impl<A, B, K> KeyedConnectedStreams<A, B, K>
where
    A: Data + Serialize + DeserializeOwned,
    B: Data + Serialize + DeserializeOwned,
    K: Data + Hash + Eq + Serialize + DeserializeOwned,
{
    /// A [`KeyedCoProcessFunction`]: shared keyed state and timers for both inputs.
    pub fn process<O: Data, P>(&self, function: P) -> DataStream<O>
    where
        P: KeyedCoProcessFunction<K, A, B, O> + Clone + Sync + 'static,
    {
        self.keyed
            .process(KeyedCoProcessAdapter { function })
            .name("KeyedCoProcess")
    }
}

/// Processes two keyed inputs with shared per-key state and timers.
pub trait KeyedCoProcessFunction<K, A, B, O>: Send {
    fn open(&mut self, _ctx: &mut RuntimeContext<'_, K>) -> Result<()> {
        Ok(())
    }
    fn process_element1(&mut self, value: A, ctx: &mut KeyedContext<'_, K, O>) -> Result<()>;
    fn process_element2(&mut self, value: B, ctx: &mut KeyedContext<'_, K, O>) -> Result<()>;
    fn on_timer(&mut self, _timestamp: i64, _ctx: &mut KeyedContext<'_, K, O>) -> Result<()> {
        Ok(())
    }
}

#[derive(Clone)]
struct KeyedCoProcessAdapter<P> {
    function: P,
}

impl<K, A, B, O, P: KeyedCoProcessFunction<K, A, B, O>> KeyedProcessFunction<K, Either<A, B>, O>
    for KeyedCoProcessAdapter<P>
{
    fn open(&mut self, ctx: &mut RuntimeContext<'_, K>) -> Result<()> {
        self.function.open(ctx)
    }

    fn process_element(
        &mut self,
        value: Either<A, B>,
        ctx: &mut KeyedContext<'_, K, O>,
    ) -> Result<()> {
        match value {
            Either::Left(a) => self.function.process_element1(a, ctx),
            Either::Right(b) => self.function.process_element2(b, ctx),
        }
    }

    fn on_timer(&mut self, timestamp: i64, ctx: &mut KeyedContext<'_, K, O>) -> Result<()> {
        self.function.on_timer(timestamp, ctx)
    }
}
