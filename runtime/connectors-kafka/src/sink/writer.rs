//! One subtask's writer: a librdkafka producer, transactional under exactly-once.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use flinkrs_api::sink::SinkFunction;
use flinkrs_core::{Batch, CheckpointId, Data, Error, Result};
use flinkrs_dataflow::TaskInfo;
use rdkafka::ClientContext;
use rdkafka::consumer::BaseConsumer;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};

use super::transaction::{
    PreparedTransaction, abort_lingering, log_record, new_marker_consumer, send_blocking,
    send_marker, settle, transactional_id,
};
use super::{DeliveryGuarantee, SinkSettings};
use crate::client::kafka_error;
use crate::serializer::{KafkaRecordSerializer, SerializedRecord};

const ROLE: &str = "Kafka sink";

/// Remembers the first record the brokers did not take. The callback runs per record, but
/// touches the lock only on a failure.
#[derive(Default)]
pub struct DeliveryContext {
    failed: AtomicBool,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result
            && !self.failed.swap(true, Ordering::AcqRel)
        {
            *self
                .first_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(error.to_string());
        }
    }
}

impl DeliveryContext {
    /// An error if some record was not delivered.
    pub(crate) fn check(&self, topic: &str) -> Result<()> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        let error = self
            .first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default();
        Err(Error::function(format!(
            "{ROLE}: a record could not be written to topic '{topic}': {error}"
        )))
    }
}

pub(crate) fn create_producer(
    settings: &SinkSettings,
    transactional_id: Option<&str>,
) -> Result<BaseProducer<DeliveryContext>> {
    let mut overrides = Vec::new();
    if let Some(id) = transactional_id {
        overrides.push(("transactional.id", id));
    }
    settings
        .properties
        .client_config(&overrides)
        .create_with_context(DeliveryContext::default())
        .map_err(|error| {
            kafka_error(
                ROLE,
                settings.properties.bootstrap_servers(),
                "creating the producer",
                error,
            )
        })
}

/// An exactly-once subtask's transactions.
struct Transactions {
    parallelism: usize,
    subtask: usize,
    /// The open transaction's sequence number (see [`super::transaction`]) and id.
    sequence: u64,
    id: String,
    /// The open transaction's records, in case it must be written again after a restore.
    log: Vec<u8>,
    /// The group whose offset marks this subtask's committed checkpoints.
    marker: BaseConsumer,
    /// Prepared for a checkpoint, waiting for it to complete.
    prepared: Vec<(PreparedTransaction, BaseProducer<DeliveryContext>)>,
}

/// Writes to Kafka; see [`KafkaSink`](super::KafkaSink).
pub struct KafkaSinkWriter<T> {
    settings: Arc<SinkSettings>,
    serializer: Arc<dyn KafkaRecordSerializer<T>>,
    record: SerializedRecord,
    producer: Option<BaseProducer<DeliveryContext>>,
    transactions: Option<Transactions>,
    /// Where an exactly-once sequence continues after a restore.
    restored_sequence: u64,
}

impl<T> Clone for KafkaSinkWriter<T> {
    /// A writer with the same settings and nothing open: what each subtask starts with.
    fn clone(&self) -> Self {
        KafkaSinkWriter::new(Arc::clone(&self.settings), Arc::clone(&self.serializer))
    }
}

impl<T> KafkaSinkWriter<T> {
    pub(super) fn new(
        settings: Arc<SinkSettings>,
        serializer: Arc<dyn KafkaRecordSerializer<T>>,
    ) -> Self {
        KafkaSinkWriter {
            settings,
            serializer,
            record: SerializedRecord::default(),
            producer: None,
            transactions: None,
            restored_sequence: 0,
        }
    }

    fn exactly_once(&self) -> bool {
        self.settings.guarantee == DeliveryGuarantee::ExactlyOnce
    }

    fn failed(&self, action: &str) -> impl FnOnce(rdkafka::error::KafkaError) -> Error + '_ {
        let action = action.to_owned();
        move |error| {
            kafka_error(
                ROLE,
                self.settings.properties.bootstrap_servers(),
                &action,
                error,
            )
        }
    }

    /// A transactional producer for sequence `sequence`, initialized (which aborts whatever
    /// an earlier holder of the id left open) and with its transaction begun.
    fn begin(
        &self,
        parallelism: usize,
        subtask: usize,
        sequence: u64,
    ) -> Result<(String, BaseProducer<DeliveryContext>)> {
        let id = transactional_id(
            &self.settings.transactional_id_prefix,
            parallelism,
            subtask,
            sequence,
        );
        let producer = create_producer(&self.settings, Some(&id))?;
        producer
            .init_transactions(self.settings.properties.request_timeout())
            .map_err(self.failed(&format!("initializing transaction '{id}'")))?;
        producer
            .begin_transaction()
            .map_err(self.failed(&format!("beginning transaction '{id}'")))?;
        Ok((id, producer))
    }

    fn flush(&self, producer: &BaseProducer<DeliveryContext>) -> Result<()> {
        producer
            .flush(self.settings.properties.request_timeout())
            .map_err(self.failed(&format!("flushing to topic '{}'", self.settings.topic)))?;
        producer.context().check(&self.settings.topic)
    }
}

impl<T: Data> SinkFunction<T> for KafkaSinkWriter<T> {
    /// Exactly-once only: settles the restored prepared transactions and aborts what the
    /// failed attempt may have left open (see [`super::transaction`]).
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<&[Vec<u8>]>) -> Result<()> {
        if !self.exactly_once() {
            return Ok(());
        }
        if info.config.checkpoint_interval().is_none() {
            return Err(Error::config(
                "execution.checkpointing.interval",
                format!(
                    "the Kafka sink on topic '{}' is exactly-once, which commits a transaction \
                     per checkpoint; enable checkpointing or use sink.delivery-guarantee \
                     at-least-once",
                    self.settings.topic
                ),
            ));
        }
        let prefix = &self.settings.transactional_id_prefix;
        let lookahead = self.settings.abort_lookahead;
        let Some(items) = state else {
            // A fresh start: an earlier attempt that never completed a checkpoint may have
            // left this subtask's first ids open; the first (0) is fenced by `open`.
            for sequence in 1..=lookahead {
                let id = transactional_id(prefix, info.parallelism, info.subtask_index, sequence);
                abort_lingering(&self.settings, &id)?;
            }
            return Ok(());
        };
        let prepared = items
            .iter()
            .map(|bytes| PreparedTransaction::decode(bytes))
            .collect::<Result<Vec<_>>>()?;
        let Some(restored) = prepared
            .iter()
            .map(|transaction| transaction.checkpoint)
            .max()
        else {
            return Ok(());
        };
        let lineages: BTreeSet<(u32, u32)> = prepared
            .iter()
            .map(|transaction| (transaction.parallelism, transaction.subtask))
            .collect();
        for (parallelism, subtask) in lineages {
            for sequence in restored..=restored + lookahead {
                let id = transactional_id(prefix, parallelism as usize, subtask as usize, sequence);
                abort_lingering(&self.settings, &id)?;
            }
        }
        for transaction in &prepared {
            settle(&self.settings, transaction)?;
        }
        self.restored_sequence = restored;
        Ok(())
    }

    fn open(&mut self, info: &TaskInfo) -> Result<()> {
        if !self.exactly_once() {
            self.producer = Some(create_producer(&self.settings, None)?);
            return Ok(());
        }
        let (parallelism, subtask) = (info.parallelism, info.subtask_index);
        let sequence = self.restored_sequence;
        let (id, producer) = self.begin(parallelism, subtask, sequence)?;
        self.producer = Some(producer);
        self.transactions = Some(Transactions {
            parallelism,
            subtask,
            sequence,
            id,
            log: Vec::new(),
            marker: new_marker_consumer(&self.settings, parallelism, subtask)?,
            prepared: Vec::new(),
        });
        Ok(())
    }

    fn write_batch(&mut self, batch: &mut Batch<T>) -> Result<()> {
        let Some(producer) = &self.producer else {
            return Err(Error::function(format!("{ROLE}: written to before open")));
        };
        let record = &mut self.record;
        let mut log = self
            .transactions
            .as_mut()
            .map(|transactions| &mut transactions.log);
        for element in batch.iter() {
            record.clear();
            self.serializer.serialize(&element.value, record)?;
            let key = record.has_key.then_some(record.key.as_slice());
            let value = (!record.tombstone).then_some(record.value.as_slice());
            let mut kafka_record = BaseRecord::<[u8], [u8]>::to(&self.settings.topic);
            if let Some(value) = value {
                kafka_record = kafka_record.payload(value);
            }
            if let Some(key) = key {
                kafka_record = kafka_record.key(key);
            }
            if let Some(partition) = record.partition {
                kafka_record = kafka_record.partition(partition);
            }
            if let Some(log) = log.as_deref_mut() {
                log_record(log, key, value, record.partition);
            }
            send_blocking(producer, kafka_record, &self.settings)?;
        }
        // Serves delivery reports without waiting.
        producer.poll(std::time::Duration::ZERO);
        producer.context().check(&self.settings.topic)
    }

    fn snapshot_state(&mut self, checkpoint: CheckpointId) -> Result<Vec<Vec<u8>>> {
        let Some(producer) = self.producer.take() else {
            return Ok(Vec::new());
        };
        match self.settings.guarantee {
            DeliveryGuarantee::None => {
                producer.poll(std::time::Duration::ZERO);
                self.producer = Some(producer);
                return Ok(Vec::new());
            }
            DeliveryGuarantee::AtLeastOnce => {
                let flushed = self.flush(&producer);
                self.producer = Some(producer);
                flushed?;
                return Ok(Vec::new());
            }
            DeliveryGuarantee::ExactlyOnce => {}
        }
        self.flush(&producer)?;
        let Some(transactions) = self.transactions.take() else {
            return Err(Error::function(format!("{ROLE}: checkpointed before open")));
        };
        let mut transactions = transactions;
        send_marker(
            &self.settings,
            &producer,
            &transactions.marker,
            checkpoint.0,
        )?;
        let prepared = PreparedTransaction {
            transactional_id: std::mem::take(&mut transactions.id),
            checkpoint: checkpoint.0,
            parallelism: transactions.parallelism as u32,
            subtask: transactions.subtask as u32,
            log: std::mem::take(&mut transactions.log),
        };
        transactions.prepared.push((prepared, producer));
        transactions.sequence = checkpoint.0;
        let (id, next) =
            self.begin(transactions.parallelism, transactions.subtask, checkpoint.0)?;
        transactions.id = id;
        self.producer = Some(next);
        let state = transactions
            .prepared
            .iter()
            .map(|(prepared, _)| prepared.encode())
            .collect();
        self.transactions = Some(transactions);
        Ok(state)
    }

    /// Commits every transaction prepared for this checkpoint or an earlier one.
    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        let Some(transactions) = self.transactions.as_mut() else {
            return Ok(());
        };
        let timeout = self.settings.properties.request_timeout();
        let servers = self.settings.properties.bootstrap_servers();
        let mut result = Ok(());
        transactions.prepared.retain(|(prepared, producer)| {
            if prepared.checkpoint > checkpoint.0 || result.is_err() {
                return true;
            }
            if let Err(error) = producer.commit_transaction(timeout) {
                result = Err(kafka_error(
                    ROLE,
                    servers,
                    &format!("committing transaction '{}'", prepared.transactional_id),
                    error,
                ));
                return true;
            }
            false
        });
        result
    }

    /// End of input: everything written is flushed; under exactly-once the final
    /// checkpoint then commits it.
    fn finish(&mut self) -> Result<()> {
        match &self.producer {
            Some(producer) => self.flush(producer),
            None => Ok(()),
        }
    }

    /// Aborts the open (unprepared) transaction, as Flink does; prepared ones are left to
    /// the restore, which settles them from the checkpoint.
    fn close(&mut self) -> Result<()> {
        if let (Some(producer), Some(_)) = (self.producer.take(), &self.transactions) {
            let _ = producer.abort_transaction(self.settings.properties.request_timeout());
        }
        self.transactions = None;
        Ok(())
    }
}
