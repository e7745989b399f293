//! The optional ingest bus: NATS JetStream between the ingest endpoints and the scoring workers of
//! every instance (`AF_BUS=nats://…`; without it, the in-process queue of [`crate::pipeline`] serves
//! ingest as before).
//!
//! - **Publish** ([`Bus::publish`]): an endpoint parses a request, publishes the batch to
//!   `<subject>.batch` with its id in `Nats-Msg-Id`, and answers the client only once JetStream has
//!   acknowledged it: stored on disk and, with `replicas` 3, on a quorum of the NATS cluster.
//! - **Consume** ([`Bus::spawn_consumer`]): every instance pulls from one durable consumer, submits
//!   each batch to its own pipeline, and acknowledges it after the database commit. A batch whose
//!   instance dies before acknowledging it is delivered again after `ack_wait_secs`.
//! - **Exactly once in the database:** the batch id is claimed in the batch's own transaction
//!   ([`crate::store::bus_batches`]), so a batch delivered again after its commit is acknowledged
//!   and not stored twice. JetStream's duplicate window drops a republished id before that.
//! - **Backpressure:** the stream is a work queue bounded by `max_bytes` and `max_batches` that
//!   refuses new batches when full. Stored batches leave it, so a full stream means scoring lags
//!   behind ingest; the endpoint then answers 503 with `Retry-After` and nothing is dropped silently.
//! - **Sensors** may publish raw bodies to `<subject>.zeek` etc. ([`message`] documents the format).

pub mod codec;
pub mod message;
pub mod settings;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;

use crate::ingest::Limits;
use crate::metrics::Metrics;
use crate::pipeline::{Batch, Pipeline, PipelineError};
use settings::BusConfig;

/// Seconds a publisher refused by a full stream is asked to wait.
pub const FULL_RETRY_AFTER_SECS: u64 = 1;
/// Seconds a publisher is asked to wait when NATS did not answer.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;
/// Room left in a message for its headers.
const HEADER_ROOM: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot connect to the ingest bus at {servers}: {cause}")]
    Connect { servers: String, cause: String },
    #[error("setting up the ingest bus stream `{stream}`: {cause}")]
    Setup { stream: String, cause: String },
    /// The stream is at its bound: scoring lags behind ingest.
    #[error("the ingest bus is full (scoring lags behind ingest); retry in {FULL_RETRY_AFTER_SECS} s")]
    Full,
    /// NATS did not acknowledge in time, or is not reachable: the batch may or may not be in the
    /// stream, and a retry with the same `Idempotency-Key` is stored once.
    #[error("the ingest bus did not acknowledge the batch ({0}); retry in {UNAVAILABLE_RETRY_AFTER_SECS} s")]
    Unavailable(String),
}

impl BusError {
    /// Seconds to ask a refused client to wait, for a refusal that is worth retrying.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            BusError::Full => Some(FULL_RETRY_AFTER_SECS),
            BusError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }
}

/// A connection to the bus (cheap to clone).
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    client: async_nats::Client,
    js: jetstream::Context,
    config: BusConfig,
    /// Ids of this instance's batches: `<prefix>-<n>`, the prefix random per process.
    id_prefix: String,
    next: AtomicU64,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("stream", &self.inner.config.stream).finish()
    }
}

/// The stream and the shared consumer, as the status endpoints show them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BusStatus {
    pub stream: String,
    /// Batches in the stream: waiting, or taken and not yet acknowledged.
    pub batches: u64,
    pub bytes: u64,
    pub max_batches: i64,
    pub max_bytes: i64,
    /// Batches not yet delivered to any instance, and delivered but not acknowledged.
    pub pending: u64,
    pub ack_pending: usize,
    pub redelivered: usize,
    pub replicas: usize,
}

impl Bus {
    /// Connects to the servers of `config.url`, and creates (or updates) the stream and the durable
    /// consumer. Fails, naming the servers, when none answers within `timeout_secs`.
    pub async fn connect(config: &BusConfig, metrics: Arc<Metrics>) -> Result<Bus, BusError> {
        let servers = config.servers();
        let shown = servers.iter().map(|s| redact(s)).collect::<Vec<_>>().join(",");
        let timeout = Duration::from_secs(config.timeout_secs);
        let connect = async_nats::ConnectOptions::new()
            .name("anomalyforge")
            .connection_timeout(timeout)
            .retry_on_initial_connect()
            .connect(servers.as_slice());
        let client = match tokio::time::timeout(timeout, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(BusError::Connect { servers: shown, cause: e.to_string() }),
            Err(_) => return Err(BusError::Connect { servers: shown, cause: format!("no answer within {timeout:?}") }),
        };
        let js = jetstream::ContextBuilder::new().timeout(timeout).build(client.clone());
        let setup = |e: &dyn std::fmt::Display| BusError::Setup { stream: config.stream.clone(), cause: e.to_string() };
        let stream_config = stream::Config {
            name: config.stream.clone(),
            subjects: vec![format!("{}.>", config.subject)],
            retention: stream::RetentionPolicy::WorkQueue,
            discard: stream::DiscardPolicy::New,
            storage: stream::StorageType::File,
            num_replicas: config.replicas,
            max_bytes: config.max_bytes,
            max_messages: config.max_batches,
            max_age: Duration::from_secs(config.max_age_secs),
            duplicate_window: Duration::from_secs(config.duplicate_window_secs),
            ..Default::default()
        };
        // A NATS cluster that has just started elects its JetStream leader first (seconds; longer on
        // a loaded machine): retry for up to six timeouts.
        let deadline = tokio::time::Instant::now() + timeout * 6;
        let stream = loop {
            match js.create_or_update_stream(stream_config.clone()).await {
                Ok(stream) => break stream,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!(error = %e, "the ingest bus stream is not ready yet; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(setup(&e)),
            }
        };
        tracing::info!(
            stream = %config.stream,
            replicas = stream.config.num_replicas,
            batches = stream.state.messages,
            "ingest bus stream ready"
        );
        let stream = js.get_stream(&config.stream).await.map_err(|e| setup(&e))?;
        stream.get_or_create_consumer(&config.consumer, consumer_config(config)).await.map_err(|e| setup(&e))?;
        let id_prefix = format!("{:016x}", rand::random::<u64>());
        tracing::info!(servers = %shown, stream = %config.stream, consumer = %config.consumer, "connected to the ingest bus");
        Ok(Bus {
            inner: Arc::new(Inner { client, js, config: config.clone(), id_prefix, next: AtomicU64::new(0), metrics }),
        })
    }

    /// A fresh batch id of this instance.
    pub fn new_batch_id(&self) -> String {
        format!("{}-{}", self.inner.id_prefix, self.inner.next.fetch_add(1, Relaxed))
    }

    /// Publishes `batch` under `id` and waits until JetStream has acknowledged every part of it. A
    /// batch larger than the server's message size travels in parts `<id>.0`, `<id>.1`, …
    pub async fn publish(&self, id: &str, batch: &Batch) -> Result<usize, BusError> {
        let max = self.inner.client.server_info().max_payload.saturating_sub(HEADER_ROOM).max(64 * 1024);
        let parts = message::encode(batch, max);
        let subject = format!("{}.{}", self.inner.config.subject, message::BATCH_TOKEN);
        let single = parts.len() == 1;
        let mut acks = Vec::with_capacity(parts.len());
        for (k, payload) in parts.into_iter().enumerate() {
            let part_id = if single { id.to_string() } else { format!("{id}.{k}") };
            let publish = jetstream::message::PublishMessage::build().payload(payload).message_id(part_id);
            acks.push(self.inner.js.send_publish(subject.clone(), publish).await.map_err(publish_error)?);
        }
        let n = acks.len();
        for ack in acks {
            let ack = ack.await.map_err(publish_error)?;
            if ack.duplicate {
                tracing::debug!(batch = id, "the bus already had this batch (a retry within the duplicate window)");
            }
        }
        self.inner.metrics.bus_published.fetch_add(1, Relaxed);
        Ok(n)
    }

    /// The stream's and the consumer's state, from the NATS servers.
    pub async fn status(&self) -> Result<BusStatus, BusError> {
        let c = &self.inner.config;
        let unavailable = |e: &dyn std::fmt::Display| BusError::Unavailable(e.to_string());
        let stream = self.inner.js.get_stream(&c.stream).await.map_err(|e| unavailable(&e))?;
        let info = stream.get_info().await.map_err(|e| unavailable(&e))?;
        let consumer: consumer::PullConsumer = stream.get_consumer(&c.consumer).await.map_err(|e| unavailable(&e))?;
        let ci = consumer.get_info().await.map_err(|e| unavailable(&e))?;
        Ok(BusStatus {
            stream: c.stream.clone(),
            batches: info.state.messages,
            bytes: info.state.bytes,
            max_batches: info.config.max_messages,
            max_bytes: info.config.max_bytes,
            pending: ci.num_pending,
            ack_pending: ci.num_ack_pending,
            redelivered: ci.num_redelivered,
            replicas: info.config.num_replicas,
        })
    }

    /// Takes batches from the shared consumer and stores them through `pipeline`, at most
    /// `in_flight` at once, until the process ends. Connection losses are retried every second.
    pub fn spawn_consumer(&self, pipeline: Pipeline, limits: Limits) -> tokio::task::JoinHandle<()> {
        let bus = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = bus.consume(&pipeline, &limits).await {
                    tracing::warn!(error = %e, "taking batches from the ingest bus failed; retrying in 1 s");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }

    async fn consume(&self, pipeline: &Pipeline, limits: &Limits) -> Result<(), async_nats::Error> {
        let c = &self.inner.config;
        let stream = self.inner.js.get_stream(&c.stream).await?;
        let consumer: consumer::PullConsumer = stream.get_consumer(&c.consumer).await?;
        let mut messages = consumer.stream().max_messages_per_batch(c.in_flight).messages().await?;
        let slots = Arc::new(tokio::sync::Semaphore::new(c.in_flight));
        while let Some(message) = messages.next().await {
            let message = message?;
            let permit = slots.clone().acquire_owned().await?;
            let (bus, pipeline, limits) = (self.clone(), pipeline.clone(), *limits);
            tokio::spawn(async move {
                bus.handle(message, &pipeline, &limits).await;
                drop(permit);
            });
        }
        Ok(())
    }

    /// One delivered batch: stored and acknowledged, acknowledged as already stored, refused for
    /// good when unreadable, or handed back for a later delivery when it cannot be stored now.
    async fn handle(&self, message: jetstream::Message, pipeline: &Pipeline, limits: &Limits) {
        let m = &self.inner.metrics;
        m.bus_delivered.fetch_add(1, Relaxed);
        let (sequence, delivered) = match message.info() {
            Ok(info) => (info.stream_sequence, info.delivered),
            Err(_) => (0, 1),
        };
        if delivered > 1 {
            m.bus_redelivered.fetch_add(1, Relaxed);
        }
        let id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|v| v.as_str().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| format!("{}:{sequence}", self.inner.config.stream));
        let subject = message.subject.to_string();
        let decoded = match message::kind_of(&self.inner.config.subject, &subject) {
            Ok(kind) => {
                let (payload, id, limits) = (message.payload.clone(), id.clone(), *limits);
                tokio::task::spawn_blocking(move || message::decode(kind, payload, id, &limits))
                    .await
                    .unwrap_or_else(|e| Err(message::MessageError::Batch(format!("decoding task failed: {e}"))))
            }
            Err(e) => Err(e),
        };
        let batch = match decoded {
            Ok(batch) => batch,
            Err(e) => {
                m.bus_refused.fetch_add(1, Relaxed);
                tracing::error!(batch = %id, subject = %subject, error = %e, "refused an unreadable bus message; it is not delivered again");
                ack(&message, jetstream::AckKind::Term, &id).await;
                return;
            }
        };
        let records = batch.flows.len() + batch.signatures.len();
        // Wait for room in this instance's queue, telling JetStream the batch is being worked on so
        // it is not handed to another instance meanwhile.
        let slot = loop {
            match pipeline.reserve(records).await {
                Ok(slot) => break slot,
                Err(PipelineError::Busy { .. }) => ack(&message, jetstream::AckKind::Progress, &id).await,
                Err(e) => {
                    tracing::warn!(batch = %id, error = %e, "cannot queue a bus batch; it will be delivered again");
                    ack(&message, jetstream::AckKind::Nak(Some(Duration::from_secs(1))), &id).await;
                    return;
                }
            }
        };
        match pipeline.submit_in(slot, batch).await {
            Ok(outcome) => {
                tracing::debug!(batch = %id, delivered, records, alerts_created = outcome.alerts_created, "bus batch stored");
                double_ack(&message, &id).await;
            }
            Err(PipelineError::AlreadyStored(_)) => {
                m.bus_already_stored.fetch_add(1, Relaxed);
                tracing::info!(batch = %id, delivered, "a bus batch delivered again was already stored; acknowledged");
                double_ack(&message, &id).await;
            }
            Err(e) => {
                tracing::warn!(batch = %id, delivered, error = %e, "storing a bus batch failed; it will be delivered again");
                ack(&message, jetstream::AckKind::Nak(Some(Duration::from_secs(2))), &id).await;
            }
        }
    }
}

async fn ack(message: &jetstream::Message, kind: jetstream::AckKind, id: &str) {
    if let Err(e) = message.ack_with(kind).await {
        tracing::warn!(batch = %id, error = %e, "answering the ingest bus failed");
    }
}

/// Acknowledges and waits for NATS to confirm. If the confirmation is lost, the batch is delivered
/// again and recognised as stored.
async fn double_ack(message: &jetstream::Message, id: &str) {
    if let Err(e) = message.double_ack().await {
        tracing::warn!(batch = %id, error = %e, "the ingest bus did not confirm an acknowledgement; a redelivery will find the batch stored");
    }
}

fn consumer_config(config: &BusConfig) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(config.consumer.clone()),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_secs(config.ack_wait_secs),
        // Redelivered until stored: a batch that cannot be read is terminated instead.
        max_deliver: -1,
        max_ack_pending: 10_000,
        ..Default::default()
    }
}

/// A full stream is `Full`; anything else (timeouts, no stream, a lost connection) `Unavailable`.
fn publish_error(e: jetstream::context::PublishError) -> BusError {
    let text = e.to_string();
    if text.contains("maximum messages") || text.contains("maximum bytes") || text.contains("resource limits") {
        BusError::Full
    } else {
        BusError::Unavailable(text)
    }
}

/// A server URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redact("nats://user:secret@10.0.0.1:4222"), "nats://…@10.0.0.1:4222");
        assert_eq!(redact("nats://10.0.0.1:4222"), "nats://10.0.0.1:4222");
    }
}
