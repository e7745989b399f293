//! Several instances on one PostgreSQL: live events reach every instance's streams, and background
//! jobs run on one instance at a time.
//!
//! - **Live events.** After a batch commits, the instance that stored it tells the others with
//!   `NOTIFY anomalyforge_live` (the payload names the alerts by id, at most [`IDS_PER_NOTICE`] a
//!   notice, well under PostgreSQL's 8,000-byte limit). Each instance `LISTEN`s on its own
//!   connection, reads the alerts it was told of, and sends them to its stream clients. PostgreSQL
//!   delivers a notification only after its transaction commits, and only to sessions listening at
//!   that moment: an instance whose listening connection drops misses what was stored meanwhile (its
//!   clients see it on the next queue refresh, as after any stream gap).
//! - **One leader.** Each instance tries `pg_try_advisory_lock` on a connection of its own every
//!   [`LEADER_RETRY`]; the holder is the leader and keeps the connection open. If the leader dies,
//!   PostgreSQL ends its session and releases the lock, and the next instance to try takes over.
//!   Housekeeping and analysis expiry run only on the leader.
//!
//! On SQLite there is one instance (the server refuses a second, `store::instance`), which is always
//! the leader and has nobody to tell.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use tokio::sync::mpsc;

use crate::hub::{LiveHub, Notice};
use crate::store::{Backend, Db};

/// The notification channel of live events.
pub const CHANNEL: &str = "anomalyforge_live";
/// Alert ids per notice.
pub const IDS_PER_NOTICE: usize = 400;
/// How often a follower tries to become the leader, and the leader checks its connection.
pub const LEADER_RETRY: Duration = Duration::from_secs(3);
/// The advisory lock key of leadership ("AFLEAD").
const LEADER_KEY: i64 = 0x4146_4c45_4144;

/// This instance in the cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// A random name, to skip this instance's own notices.
    pub instance: String,
    leader: Arc<AtomicBool>,
    /// Set at shutdown: the tasks end and their connections close (releasing leadership at once).
    stop: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Cluster {
    /// Joins: on PostgreSQL starts the relay of live events and the leadership loop; on SQLite this
    /// instance is the leader at once.
    pub fn start(db: &Db, database_url: Option<&str>, hub: Arc<LiveHub>) -> Cluster {
        let instance = format!("{:016x}", rand::random::<u64>());
        let leader = Arc::new(AtomicBool::new(db.backend() == Backend::Sqlite));
        let stop = Arc::new(tokio::sync::watch::channel(false).0);
        if let (Backend::Postgres, Some(url)) = (db.backend(), database_url) {
            let (tx, rx) = mpsc::unbounded_channel::<Notice>();
            hub.set_relay(tx);
            tokio::spawn(announce(db.clone(), instance.clone(), rx));
            tokio::spawn(listen(url.to_string(), instance.clone(), db.clone(), hub, stop.subscribe()));
            tokio::spawn(lead(url.to_string(), instance.clone(), leader.clone(), stop.subscribe()));
        }
        Cluster { instance, leader, stop }
    }

    /// Leaves the cluster (at shutdown): stops listening and gives up leadership.
    pub fn stop(&self) {
        self.stop.send_replace(true);
        self.leader.store(false, Ordering::Relaxed);
    }

    /// Whether this instance runs the background jobs now.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }
}

/// Sends this instance's notices.
async fn announce(db: Db, instance: String, mut rx: mpsc::UnboundedReceiver<Notice>) {
    while let Some(notice) = rx.recv().await {
        for chunk in notice.alerts.chunks(IDS_PER_NOTICE) {
            let part = Notice { from: instance.clone(), received_at: notice.received_at, alerts: chunk.to_vec() };
            let payload = match serde_json::to_string(&part) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "cannot serialise a live notice");
                    continue;
                }
            };
            if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(db.pool()).await
            {
                tracing::warn!(error = %e, alerts = chunk.len(), "cannot tell the other instances of new alerts");
            }
        }
    }
}

/// Receives the other instances' notices and sends their alerts to this instance's streams.
async fn listen(
    url: String,
    instance: String,
    db: Db,
    hub: Arc<LiveHub>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for the other instances' alerts; retrying");
                tokio::time::sleep(LEADER_RETRY).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cannot listen for the other instances' alerts; retrying");
            tokio::time::sleep(LEADER_RETRY).await;
            continue;
        }
        tracing::info!(instance = %instance, "listening for the other instances' alerts");
        loop {
            let received = tokio::select! {
                r = listener.recv() => r,
                _ = stop.changed() => return,
            };
            let note = match received {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "the live-event connection broke; reconnecting");
                    break;
                }
            };
            let notice: Notice = match serde_json::from_str(note.payload()) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "an unreadable live notice");
                    continue;
                }
            };
            if notice.from == instance {
                continue;
            }
            let mut stored = Vec::with_capacity(notice.alerts.len());
            for (id, created) in notice.alerts {
                match db.alert_by_id(id).await {
                    Ok(alert) => stored.push(crate::store::alerts::StoredAlert { alert, created }),
                    Err(e) => tracing::warn!(alert = id, error = %e, "cannot read an alert another instance stored"),
                }
            }
            hub.publish_local(&stored, notice.received_at);
        }
    }
}

/// Tries to become the leader, and stays it while its connection lives.
async fn lead(url: String, instance: String, leader: Arc<AtomicBool>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let mut conn = match sqlx::postgres::PgConnection::connect(&url).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach PostgreSQL for leadership; retrying");
                tokio::time::sleep(LEADER_RETRY).await;
                continue;
            }
        };
        loop {
            let held = leader.load(Ordering::Relaxed);
            let ok = if held {
                sqlx::query("SELECT 1").execute(&mut conn).await.map(|_| true)
            } else {
                sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                    .bind(LEADER_KEY)
                    .fetch_one(&mut conn)
                    .await
            };
            match ok {
                Ok(true) if !held => {
                    leader.store(true, Ordering::Relaxed);
                    tracing::info!(instance = %instance, "this instance leads: it runs the background jobs");
                }
                Ok(_) => {}
                Err(e) => {
                    if held {
                        leader.store(false, Ordering::Relaxed);
                        tracing::warn!(instance = %instance, error = %e, "leadership lost with its connection");
                    }
                    break;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(LEADER_RETRY) => {}
                _ = stop.changed() => {
                    // Closing the connection releases the lock for the next instance.
                    leader.store(false, Ordering::Relaxed);
                    let _ = conn.close().await;
                    return;
                }
            }
        }
        tokio::time::sleep(LEADER_RETRY).await;
    }
}
