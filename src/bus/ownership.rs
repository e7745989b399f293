//! Which instance takes which partition of the bus ([`super::partition`]).
//!
//! On PostgreSQL every scoring instance keeps a connection of its own and on it:
//! - holds a shared advisory lock, its membership: the instances holding it are counted in
//!   `pg_locks`, so no table needs heartbeats and a dead instance leaves when its session ends;
//! - holds one exclusive advisory lock per partition it owns, taken with `pg_try_advisory_lock`, so
//!   two instances never own one partition;
//! - every [`REBALANCE_EVERY`] aims at its fair share, `ceil(partitions / members)`: it takes free
//!   partitions when it has fewer, and gives up its highest ones when it has more.
//!
//! A partition given up leaves [`Ownership::owned`] first; its consumer finishes the batches it
//! took and then calls [`Ownership::released`], and only then is the lock released, so the next
//! owner starts where the last one stopped. When an instance dies, PostgreSQL ends its session and
//! releases its locks, and the others take its partitions within a second. Their unacknowledged
//! batches come back from JetStream after `ack_wait_secs`.
//!
//! Ownership is about where a host's state lives, never about whether a batch is stored once: that
//! is the batch id's claim in the batch's own transaction ([`crate::store::bus_batches`]). While a
//! connection is lost and found again, two instances may briefly both score a partition; nothing is
//! stored twice, and a behaviour pattern may be seen a little later.
//!
//! On SQLite (one instance) and without a database URL, this instance owns every partition.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use tokio::sync::{mpsc, watch};

/// How often an instance looks at the membership and its share.
pub const REBALANCE_EVERY: Duration = Duration::from_secs(1);
/// The first key of the advisory locks ("AFBP"); the second is 0 for membership, `k + 1` for
/// partition `k`.
const LOCK_SPACE: i32 = 0x4146_4250;

/// This instance's partitions (cheap to clone).
#[derive(Debug, Clone)]
pub struct Ownership {
    owned: watch::Receiver<BTreeSet<usize>>,
    released: Option<mpsc::UnboundedSender<usize>>,
    /// Keeps the set alive when nothing updates it.
    _fixed: Option<Arc<watch::Sender<BTreeSet<usize>>>>,
}

impl Ownership {
    /// Every partition, for good: the only instance.
    pub fn all(partitions: usize) -> Ownership {
        let (tx, rx) = watch::channel((0..partitions).collect());
        Ownership { owned: rx, released: None, _fixed: Some(Arc::new(tx)) }
    }

    /// A share of the partitions, agreed with the other instances through PostgreSQL at `url`.
    pub fn on_postgres(url: &str, partitions: usize) -> Ownership {
        let (tx, rx) = watch::channel(BTreeSet::new());
        let (released_tx, released_rx) = mpsc::unbounded_channel();
        tokio::spawn(own(url.to_string(), partitions, tx, released_rx));
        Ownership { owned: rx, released: Some(released_tx), _fixed: None }
    }

    /// The partitions this instance may take from now; it changes as instances come and go.
    pub fn owned(&self) -> watch::Receiver<BTreeSet<usize>> {
        self.owned.clone()
    }

    /// Partitions owned now.
    pub fn now(&self) -> Vec<usize> {
        self.owned.borrow().iter().copied().collect()
    }

    /// Partition `k`'s consumer has stopped, after it left [`Ownership::owned`], and finished what it
    /// took: the partition may go to another instance.
    pub fn released(&self, k: usize) {
        if let Some(tx) = &self.released {
            let _ = tx.send(k);
        }
    }
}

/// Keeps a share of the partitions for as long as the process lives, reconnecting when the
/// connection is lost (which loses every lock with it).
async fn own(
    url: String,
    partitions: usize,
    owned: watch::Sender<BTreeSet<usize>>,
    mut released: mpsc::UnboundedReceiver<usize>,
) {
    // Where this instance starts looking for free partitions, so that instances starting together
    // do not all reach for the same ones.
    let start = rand::random::<u32>() as usize % partitions.max(1);
    loop {
        match sqlx::postgres::PgConnection::connect(&url).await {
            Ok(mut conn) => match keep_share(&mut conn, partitions, start, &owned, &mut released).await {
                // Nobody asks any more: closing the connection releases every lock at once.
                Ok(()) => {
                    let _ = conn.close().await;
                    return;
                }
                Err(e) => {
                    owned.send_replace(BTreeSet::new());
                    tracing::warn!(error = %e, "bus partitions lost with their PostgreSQL connection; reconnecting");
                }
            },
            Err(e) => tracing::warn!(error = %e, "cannot reach PostgreSQL to take bus partitions; retrying"),
        }
        if owned.is_closed() {
            return;
        }
        tokio::time::sleep(REBALANCE_EVERY).await;
        // Releases of the lost session refer to locks that are gone.
        while released.try_recv().is_ok() {}
    }
}

/// Joins and keeps this instance's share on `conn` until a query fails, or until every
/// [`Ownership`] is dropped (`Ok`).
async fn keep_share(
    conn: &mut sqlx::postgres::PgConnection,
    partitions: usize,
    start: usize,
    owned: &watch::Sender<BTreeSet<usize>>,
    released: &mut mpsc::UnboundedReceiver<usize>,
) -> Result<(), sqlx::Error> {
    let members_sql = format!(
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = {LOCK_SPACE} \
         AND objid = 0 AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    );
    sqlx::query("SELECT pg_advisory_lock_shared($1, 0)").bind(LOCK_SPACE).execute(&mut *conn).await?;
    let (mut held, mut leaving) = (BTreeSet::<usize>::new(), BTreeSet::<usize>::new());
    loop {
        while let Ok(k) = released.try_recv() {
            if leaving.remove(&k) {
                unlock(conn, k).await?;
                held.remove(&k);
            }
        }
        let members: i64 = sqlx::query_scalar(&members_sql).fetch_one(&mut *conn).await?;
        let share = partitions.div_ceil(members.max(1) as usize);
        let active = held.len() - leaving.len();
        if active > share {
            let mut give: Vec<usize> = held.difference(&leaving).copied().collect();
            give.drain(..share);
            tracing::info!(members, share, partitions = ?give, "giving bus partitions up to the other instances");
            leaving.extend(give);
        } else if held.len() < share {
            let mut taken = Vec::new();
            for k in (0..partitions).map(|i| (start + i) % partitions) {
                if held.len() >= share {
                    break;
                }
                if held.contains(&k) {
                    continue;
                }
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                    .bind(LOCK_SPACE)
                    .bind(k as i32 + 1)
                    .fetch_one(&mut *conn)
                    .await?;
                if got {
                    held.insert(k);
                    taken.push(k);
                }
            }
            if !taken.is_empty() {
                tracing::info!(members, share, partitions = ?taken, "took bus partitions");
            }
        }
        let now: BTreeSet<usize> = held.difference(&leaving).copied().collect();
        owned.send_if_modified(|o| {
            let changed = *o != now;
            *o = now;
            changed
        });
        tokio::select! {
            _ = tokio::time::sleep(REBALANCE_EVERY) => {}
            Some(k) = released.recv() => {
                if leaving.remove(&k) {
                    unlock(conn, k).await?;
                    held.remove(&k);
                }
            }
            _ = owned.closed() => return Ok(()),
        }
    }
}

async fn unlock(conn: &mut sqlx::postgres::PgConnection, k: usize) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_unlock($1, $2)").bind(LOCK_SPACE).bind(k as i32 + 1).execute(conn).await?;
    tracing::debug!(partition = k, "bus partition released");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_single_instance_owns_every_partition() {
        let o = Ownership::all(4);
        assert_eq!(o.now(), [0, 1, 2, 3]);
        o.released(2); // nothing to release to
        assert_eq!(o.now(), [0, 1, 2, 3]);
    }
}
