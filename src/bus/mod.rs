//! The optional ingest bus: NATS JetStream between the ingest endpoints and the scoring workers of
//! every instance (`AF_BUS=nats://…`; without it, the in-process queue of [`crate::pipeline`] serves
//! ingest as before).
//!
//! - **Publish** ([`Bus::publish`]): an endpoint parses a request, publishes the batch to
//!   `<subject>.batch` with its id in `Nats-Msg-Id`, and answers the client only once JetStream has
//!   acknowledged it: stored on disk and, with `replicas` 3, on a quorum of the NATS cluster.
//!   A batch is cut by source host into the stream's partitions first ([`partition`]): every flow
//!   of one host goes to `<subject>.batch.<k>` for the same `k`.
//! - **Consume** ([`Bus::spawn_consumer`]): each partition has a durable consumer, and each
//!   partition is taken by one instance at a time ([`ownership`]), so one instance sees all of a
//!   host's traffic and its behaviour detectors judge it whole. The instance submits each batch to
//!   its own pipeline and acknowledges it after the database commit. A batch whose instance dies
//!   before acknowledging it is delivered again after `ack_wait_secs`, to the partition's next
//!   owner.
//! - **Routing:** sensors' bodies (and unpartitioned batches of earlier versions) have a durable
//!   consumer per subject that any instance takes from: it parses the body, publishes its records
//!   to the partitions, and acknowledges the body once JetStream holds every part.
//! - **Exactly once in the database:** the batch id is claimed in the batch's own transaction
//!   ([`crate::store::bus_batches`]), so a batch delivered again after its commit is acknowledged
//!   and not stored twice. JetStream's duplicate window drops a republished id before that.
//! - **Backpressure:** the stream is a work queue bounded by `max_bytes` and `max_batches` that
//!   refuses new batches when full. Stored batches leave it, so a full stream means scoring lags
//!   behind ingest; the endpoint then answers 503 with `Retry-After` and nothing is dropped silently.
//! - **Sensors** may publish raw bodies to `<subject>.zeek` etc. ([`message`] documents the format).

pub mod codec;
pub mod message;
pub mod ownership;
pub mod partition;
pub mod settings;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use tokio::sync::watch;

use crate::ingest::Limits;
use crate::metrics::Metrics;
use crate::pipeline::{Batch, Pipeline, PipelineError};
use message::Kind;
use ownership::Ownership;
use settings::BusConfig;

/// Seconds a publisher refused by a full stream is asked to wait.
pub const FULL_RETRY_AFTER_SECS: u64 = 1;
/// Seconds a publisher is asked to wait when NATS did not answer.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;
/// Room left in a message for its headers.
const HEADER_ROOM: usize = 1024;
/// How long one pull waits for batches before it looks again at what this instance owns.
const PULL_WAIT: Duration = Duration::from_secs(1);

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
    /// The partitions this instance takes, once it consumes.
    ownership: OnceLock<Ownership>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("stream", &self.inner.config.stream).finish()
    }
}

/// The stream and its consumers, as the status endpoints show them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BusStatus {
    pub stream: String,
    /// Batches in the stream: waiting, or taken and not yet acknowledged.
    pub batches: u64,
    pub bytes: u64,
    pub max_batches: i64,
    pub max_bytes: i64,
    /// Over every consumer: batches not yet delivered to any instance, and delivered but not
    /// acknowledged.
    pub pending: u64,
    pub ack_pending: usize,
    pub redelivered: usize,
    pub replicas: usize,
    pub partitions: usize,
    /// The partitions this instance takes (empty for an ingest gateway).
    pub owned: Vec<usize>,
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
            subjects: message::subjects(&config.subject, config.partitions),
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
        set_up_consumers(&stream, config).await?;
        let id_prefix = format!("{:016x}", rand::random::<u64>());
        tracing::info!(servers = %shown, stream = %config.stream, consumer = %config.consumer, "connected to the ingest bus");
        Ok(Bus {
            inner: Arc::new(Inner {
                client,
                js,
                config: config.clone(),
                id_prefix,
                next: AtomicU64::new(0),
                metrics,
                ownership: OnceLock::new(),
            }),
        })
    }

    /// A fresh batch id of this instance.
    pub fn new_batch_id(&self) -> String {
        format!("{}-{}", self.inner.id_prefix, self.inner.next.fetch_add(1, Relaxed))
    }

    /// Publishes `batch` under `id`, cut by source host into its partitions, and waits until
    /// JetStream has acknowledged every part. Partition `k`'s records travel as `<id>/<k>`, and as
    /// `<id>/<k>.0`, `<id>/<k>.1`, … when they are larger than the server's message size. Returns the
    /// messages published.
    pub async fn publish(&self, id: &str, batch: Batch) -> Result<usize, BusError> {
        let n = self.publish_parts(id, batch).await?;
        self.inner.metrics.bus_published.fetch_add(1, Relaxed);
        Ok(n)
    }

    async fn publish_parts(&self, id: &str, batch: Batch) -> Result<usize, BusError> {
        let c = &self.inner.config;
        let max = self.inner.client.server_info().max_payload.saturating_sub(HEADER_ROOM).max(64 * 1024);
        let mut acks = Vec::new();
        for (k, part) in partition::split(batch, c.partitions) {
            let payloads = message::encode(&part, max);
            let subject = message::part_subject(&c.subject, k);
            let single = payloads.len() == 1;
            for (j, payload) in payloads.into_iter().enumerate() {
                let part_id = if single { format!("{id}/{k}") } else { format!("{id}/{k}.{j}") };
                let publish = jetstream::message::PublishMessage::build().payload(payload).message_id(part_id);
                acks.push(self.inner.js.send_publish(subject.clone(), publish).await.map_err(publish_error)?);
            }
        }
        let n = acks.len();
        for ack in acks {
            let ack = ack.await.map_err(publish_error)?;
            if ack.duplicate {
                tracing::debug!(batch = id, "the bus already had this part (a retry within the duplicate window)");
            }
        }
        Ok(n)
    }

    /// The stream's and its consumers' state, from the NATS servers.
    pub async fn status(&self) -> Result<BusStatus, BusError> {
        let c = &self.inner.config;
        let unavailable = |e: &dyn std::fmt::Display| BusError::Unavailable(e.to_string());
        let stream = self.inner.js.get_stream(&c.stream).await.map_err(|e| unavailable(&e))?;
        let info = stream.get_info().await.map_err(|e| unavailable(&e))?;
        let infos = futures_util::future::try_join_all(consumer_names(c).into_iter().map(|name| {
            let stream = stream.clone();
            async move {
                let consumer: consumer::PullConsumer = stream.get_consumer(&name).await?;
                consumer.get_info().await.map_err(async_nats::Error::from)
            }
        }))
        .await
        .map_err(|e| unavailable(&e))?;
        Ok(BusStatus {
            stream: c.stream.clone(),
            batches: info.state.messages,
            bytes: info.state.bytes,
            max_batches: info.config.max_messages,
            max_bytes: info.config.max_bytes,
            pending: infos.iter().map(|i| i.num_pending).sum(),
            ack_pending: infos.iter().map(|i| i.num_ack_pending).sum(),
            redelivered: infos.iter().map(|i| i.num_redelivered).sum(),
            replicas: info.config.num_replicas,
            partitions: c.partitions,
            owned: self.inner.ownership.get().map(Ownership::now).unwrap_or_default(),
        })
    }

    /// Takes batches from the partitions `ownership` gives this instance, and routes sensors' bodies
    /// to the partitions, until the process ends. Connection losses are retried every second.
    pub fn spawn_consumer(&self, pipeline: Pipeline, limits: Limits, ownership: Ownership) {
        if self.inner.ownership.set(ownership.clone()).is_err() {
            tracing::error!("the ingest bus consumer was started twice; the second is ignored");
            return;
        }
        for token in message::ROUTED_TOKENS {
            let (bus, limits) = (self.clone(), limits);
            tokio::spawn(async move {
                loop {
                    if let Err(e) = bus.route(token, &limits).await {
                        tracing::warn!(error = %e, subject = token, "routing the ingest bus's bodies failed; retrying in 1 s");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
        let bus = self.clone();
        tokio::spawn(async move {
            let mut owned = ownership.owned();
            let mut running: HashMap<usize, watch::Sender<bool>> = HashMap::new();
            loop {
                let wanted: BTreeSet<usize> = owned.borrow_and_update().clone();
                running.retain(|k, stop| {
                    let keep = wanted.contains(k);
                    if !keep {
                        stop.send_replace(true);
                    }
                    keep
                });
                for &k in &wanted {
                    if running.contains_key(&k) {
                        continue;
                    }
                    let (stop_tx, stop) = watch::channel(false);
                    running.insert(k, stop_tx);
                    let (bus, pipeline, ownership) = (bus.clone(), pipeline.clone(), ownership.clone());
                    tokio::spawn(async move {
                        bus.take_partition(k, &pipeline, &limits, stop).await;
                        ownership.released(k);
                    });
                }
                if owned.changed().await.is_err() {
                    return;
                }
            }
        });
    }

    /// Takes partition `k`'s batches until `stop` is set, then returns once every batch it took is
    /// stored or handed back.
    async fn take_partition(&self, k: usize, pipeline: &Pipeline, limits: &Limits, mut stop: watch::Receiver<bool>) {
        tracing::info!(partition = k, "taking a bus partition");
        let name = partition_consumer(&self.inner.config, k);
        // Looked up once, and again only after a failure.
        let mut consumer: Option<consumer::PullConsumer> = None;
        while !*stop.borrow() {
            let taken = match &consumer {
                Some(c) => {
                    self.pull(c, |bus, messages| {
                        let (pipeline, limits) = (pipeline.clone(), *limits);
                        async move { bus.handle_group(messages, &pipeline, &limits).await }
                    })
                    .await
                }
                None => self.consumer(&name).await.map(|c| consumer = Some(c)),
            };
            if let Err(e) = taken {
                consumer = None;
                tracing::warn!(partition = k, error = %e, "taking batches from the ingest bus failed; retrying in 1 s");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        tracing::info!(partition = k, "gave a bus partition up");
    }

    /// Routes the bodies on `<subject>.<token>` to the partitions, one pull at a time.
    async fn route(&self, token: &str, limits: &Limits) -> Result<(), async_nats::Error> {
        let consumer = self.consumer(&route_consumer(&self.inner.config, token)).await?;
        loop {
            self.pull(&consumer, |bus, messages| async move {
                for message in messages {
                    bus.route_one(message, limits).await;
                }
            })
            .await?;
        }
    }

    /// The durable consumer `name` of the stream.
    async fn consumer(&self, name: &str) -> Result<consumer::PullConsumer, async_nats::Error> {
        let stream = self.inner.js.get_stream(&self.inner.config.stream).await?;
        stream.get_consumer(name).await
    }

    /// One pull of up to `in_flight` messages from `consumer`. The messages that have
    /// arrived together go to `handle` as one group (a partition's consumer stores a group in one
    /// transaction), and groups are handled while the pull goes on. Returns once the pull ends
    /// (full, or [`PULL_WAIT`] passed) and every group is handled.
    async fn pull<'a, F, Fut>(&'a self, consumer: &consumer::PullConsumer, handle: F) -> Result<(), async_nats::Error>
    where
        F: Fn(&'a Bus, Vec<jetstream::Message>) -> Fut,
        Fut: std::future::Future<Output = ()> + 'a,
    {
        let mut messages =
            consumer.batch().max_messages(self.inner.config.in_flight).expires(PULL_WAIT).messages().await?;
        let mut handling = futures_util::stream::FuturesUnordered::new();
        let mut failed = None;
        loop {
            tokio::select! {
                next = messages.next(), if failed.is_none() => match next {
                    Some(Ok(first)) => {
                        let mut group = vec![first];
                        // What has arrived already joins it; nothing is waited for.
                        while let Some(Some(next)) = messages.next().now_or_never() {
                            match next {
                                Ok(message) => group.push(message),
                                Err(e) => {
                                    failed = Some(e);
                                    break;
                                }
                            }
                        }
                        for message in &group {
                            self.count_delivery(message);
                        }
                        handling.push(handle(self, group));
                    }
                    Some(Err(e)) => failed = Some(e),
                    None => break,
                },
                Some(()) = handling.next(), if !handling.is_empty() => {}
            }
        }
        while handling.next().await.is_some() {}
        failed.map_or(Ok(()), Err)
    }

    fn count_delivery(&self, message: &jetstream::Message) {
        let m = &self.inner.metrics;
        m.bus_delivered.fetch_add(1, Relaxed);
        if message.info().is_ok_and(|i| i.delivered > 1) {
            m.bus_redelivered.fetch_add(1, Relaxed);
        }
    }

    /// A sensor's body (or an unpartitioned batch): parsed, published to the partitions under ids
    /// derived from its own, and acknowledged once JetStream holds every part.
    async fn route_one(&self, message: jetstream::Message, limits: &Limits) {
        let m = &self.inner.metrics;
        let Some((id, batch)) = self.take(&message, limits, false).await else { return };
        match self.publish_parts(&id, batch).await {
            Ok(parts) => {
                m.bus_routed.fetch_add(1, Relaxed);
                tracing::debug!(batch = %id, parts, "routed a bus message to the partitions");
                double_ack(&message, &id).await;
            }
            Err(e) => {
                tracing::warn!(batch = %id, error = %e, "routing a bus message failed; it will be delivered again");
                ack(&message, jetstream::AckKind::Nak(Some(Duration::from_secs(1))), &id).await;
            }
        }
    }

    /// A delivered message's id and batch, when it is readable and of the kind its consumer takes (a
    /// partition's, or one to route); otherwise it is refused for good, saying why, and `None`.
    async fn take(&self, message: &jetstream::Message, limits: &Limits, partition: bool) -> Option<(String, Batch)> {
        let (id, subject, decoded) = self.decode(message, limits).await;
        let why = match decoded {
            Ok((Kind::Part(_), batch)) if partition => return Some((id, batch)),
            Ok((Kind::Batch | Kind::Body(_), batch)) if !partition => return Some((id, batch)),
            Ok(_) => "the subject does not belong to the consumer that took it".to_string(),
            Err(e) => e.to_string(),
        };
        self.inner.metrics.bus_refused.fetch_add(1, Relaxed);
        tracing::error!(batch = %id, subject = %subject, error = %why, "refused an unreadable bus message; it is not delivered again");
        ack(message, jetstream::AckKind::Term, &id).await;
        None
    }

    /// A delivered message's id, subject, kind and batch, decoded off the async threads.
    async fn decode(
        &self,
        message: &jetstream::Message,
        limits: &Limits,
    ) -> (String, String, Result<(Kind, Batch), message::MessageError>) {
        let sequence = message.info().map(|i| i.stream_sequence).unwrap_or(0);
        let id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|v| v.as_str().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| format!("{}:{sequence}", self.inner.config.stream));
        let subject = message.subject.to_string();
        let c = &self.inner.config;
        let decoded = match message::kind_of(&c.subject, &subject, c.partitions) {
            Ok(kind) => {
                let (payload, id, limits) = (message.payload.clone(), id.clone(), *limits);
                tokio::task::spawn_blocking(move || message::decode(kind, payload, id, &limits).map(|b| (kind, b)))
                    .await
                    .unwrap_or_else(|e| Err(message::MessageError::Batch(format!("decoding task failed: {e}"))))
            }
            Err(e) => Err(e),
        };
        (id, subject, decoded)
    }

    /// Batches of a partition that arrived together: those from the same kind of request (source,
    /// token and origin) are stored as one batch, in one transaction, and acknowledged together.
    /// When one of them turns out to be stored already (a redelivery), they are stored one by one
    /// instead, so the others are not held back by it.
    async fn handle_group(&self, messages: Vec<jetstream::Message>, pipeline: &Pipeline, limits: &Limits) {
        let mut taken = Vec::with_capacity(messages.len());
        for message in messages {
            if let Some((id, batch)) = self.take(&message, limits, true).await {
                taken.push((message, id, batch));
            }
        }
        while let Some((_, _, first)) = taken.first() {
            let kind = (first.source, first.token_id, first.origin.clone());
            let (same, rest): (Vec<_>, Vec<_>) =
                taken.into_iter().partition(|(_, _, b)| (b.source, b.token_id, b.origin.clone()) == kind);
            taken = rest;
            let (messages, ids, batches): (Vec<_>, Vec<_>, Vec<_>) =
                same.into_iter().fold((Vec::new(), Vec::new(), Vec::new()), |mut acc, (m, id, b)| {
                    acc.0.push(m);
                    acc.1.push(id);
                    acc.2.push(b);
                    acc
                });
            let Some(batch) = partition::merge(batches) else { continue };
            let label = ids.join(",");
            if self.store(&messages, &label, batch, pipeline).await.is_err() {
                for message in messages {
                    if let Some((id, batch)) = self.take(&message, limits, true).await {
                        let _ = self.store(std::slice::from_ref(&message), &id, batch, pipeline).await;
                    }
                }
            }
        }
    }

    /// Stores `batch`, the records of `messages`, and acknowledges them: after the commit, as already
    /// stored, or handed back for a later delivery when it cannot be stored now. `Err` when several
    /// messages were merged and one of them was stored already: nothing is acknowledged, and the
    /// caller stores them one by one.
    async fn store(
        &self,
        messages: &[jetstream::Message],
        id: &str,
        batch: Batch,
        pipeline: &Pipeline,
    ) -> Result<(), ()> {
        let m = &self.inner.metrics;
        let delivered = messages.iter().filter_map(|m| m.info().ok()).map(|i| i.delivered).max().unwrap_or(1);
        let records = batch.flows.len() + batch.signatures.len();
        // Wait for room in this instance's queue, telling JetStream the batches are being worked on
        // so they are not delivered again meanwhile.
        let slot = loop {
            match pipeline.reserve(records).await {
                Ok(slot) => break slot,
                Err(PipelineError::Busy { .. }) => {
                    for message in messages {
                        ack(message, jetstream::AckKind::Progress, id).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(batch = %id, error = %e, "cannot queue a bus batch; it will be delivered again");
                    for message in messages {
                        ack(message, jetstream::AckKind::Nak(Some(Duration::from_secs(1))), id).await;
                    }
                    return Ok(());
                }
            }
        };
        match pipeline.submit_in(slot, batch).await {
            Ok(outcome) => {
                tracing::debug!(batch = %id, parts = messages.len(), delivered, records, alerts_created = outcome.alerts_created, "bus batch stored");
                futures_util::future::join_all(messages.iter().map(|message| double_ack(message, id))).await;
            }
            Err(PipelineError::AlreadyStored(_)) if messages.len() > 1 => return Err(()),
            Err(PipelineError::AlreadyStored(_)) => {
                m.bus_already_stored.fetch_add(1, Relaxed);
                tracing::info!(batch = %id, delivered, "a bus batch delivered again was already stored; acknowledged");
                futures_util::future::join_all(messages.iter().map(|message| double_ack(message, id))).await;
            }
            Err(e) => {
                tracing::warn!(batch = %id, delivered, error = %e, "storing a bus batch failed; it will be delivered again");
                for message in messages {
                    ack(message, jetstream::AckKind::Nak(Some(Duration::from_secs(2))), id).await;
                }
            }
        }
        Ok(())
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

/// The durable consumer of partition `k`.
fn partition_consumer(config: &BusConfig, k: usize) -> String {
    format!("{}-p{k}", config.consumer)
}

/// The durable consumer that routes `<subject>.<token>`.
fn route_consumer(config: &BusConfig, token: &str) -> String {
    format!("{}-route-{token}", config.consumer)
}

/// Every consumer of the stream: the partitions', then the routing ones.
fn consumer_names(config: &BusConfig) -> Vec<String> {
    (0..config.partitions)
        .map(|k| partition_consumer(config, k))
        .chain(message::ROUTED_TOKENS.iter().map(|t| route_consumer(config, t)))
        .collect()
}

/// Creates the consumers of every partition and routed subject. A work-queue stream allows one
/// consumer per subject, so the single unfiltered consumer of earlier versions is removed first (its
/// batches stay in the stream, and the new consumers take them). Consumers of partitions beyond
/// `partitions` are removed when empty; one still holding batches stops the start-up, naming it.
async fn set_up_consumers(stream: &stream::Stream, config: &BusConfig) -> Result<(), BusError> {
    let setup = |e: &dyn std::fmt::Display| BusError::Setup { stream: config.stream.clone(), cause: e.to_string() };
    let existing: Vec<String> = stream.consumer_names().try_collect().await.map_err(|e| setup(&e))?;
    let prefix = format!("{}-p", config.consumer);
    for name in &existing {
        let beyond =
            name.strip_prefix(&prefix).and_then(|k| k.parse::<usize>().ok()).filter(|&k| k >= config.partitions);
        if name == &config.consumer {
            stream.delete_consumer(name).await.map_err(|e| setup(&e))?;
            tracing::info!(consumer = %name, "removed the unpartitioned consumer of an earlier version; the partitions' consumers take its batches");
        } else if let Some(k) = beyond {
            let mut c: consumer::PullConsumer = stream.get_consumer(name).await.map_err(|e| setup(&e))?;
            let info = c.info().await.map_err(|e| setup(&e))?;
            let waiting = info.num_pending + info.num_ack_pending as u64;
            if waiting > 0 {
                return Err(setup(&format!(
                    "partition {k} still holds {waiting} batches, and [bus] partitions is {}: run every instance with \
                     partitions = {} (AF_BUS__PARTITIONS) until the stream is empty, then change it",
                    config.partitions,
                    k + 1
                )));
            }
            stream.delete_consumer(name).await.map_err(|e| setup(&e))?;
            tracing::info!(consumer = %name, "removed the empty consumer of a partition beyond [bus] partitions");
        }
    }
    let filters = (0..config.partitions)
        .map(|k| message::part_subject(&config.subject, k))
        .chain(message::ROUTED_TOKENS.iter().map(|t| format!("{}.{t}", config.subject)));
    for (name, filter) in consumer_names(config).into_iter().zip(filters) {
        stream.get_or_create_consumer(&name, consumer_config(config, &name, filter)).await.map_err(|e| setup(&e))?;
    }
    Ok(())
}

fn consumer_config(config: &BusConfig, name: &str, filter_subject: String) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(name.to_string()),
        filter_subject,
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
