//! The bus partitions shared by instances through PostgreSQL advisory locks
//! ([`anomalyforge::bus::ownership`]): a lone instance owns every partition, instances that join get
//! a fair share, disjoint, and the partitions of an instance that leaves go to the others. PostgreSQL
//! only (on SQLite there is one instance, which owns them all).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anomalyforge::bus::ownership::Ownership;

use crate::support::TestDb;

/// Stands in for the bus's consumer: a partition that leaves the owned set is released at once.
fn follow(o: &Ownership) -> tokio::task::JoinHandle<()> {
    let o = o.clone();
    tokio::spawn(async move {
        let mut rx = o.owned();
        let mut had = BTreeSet::new();
        loop {
            let now = rx.borrow_and_update().clone();
            for k in had.difference(&now) {
                o.released(*k);
            }
            had = now;
            if rx.changed().await.is_err() {
                return;
            }
        }
    })
}

/// Waits (at most 15 s) until the instances own `sizes` partitions each, disjoint and covering all.
async fn wait_for_shares(instances: &[&Ownership], sizes: &[usize], partitions: usize) -> Vec<Vec<usize>> {
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let owned: Vec<Vec<usize>> = instances.iter().map(|o| o.now()).collect();
        let mut got: Vec<usize> = owned.iter().map(Vec::len).collect();
        got.sort_unstable();
        let mut want = sizes.to_vec();
        want.sort_unstable();
        let all: BTreeSet<usize> = owned.iter().flatten().copied().collect();
        let total: usize = owned.iter().map(Vec::len).sum();
        if got == want && all.len() == partitions && total == partitions {
            return owned;
        }
        assert!(Instant::now() < until, "shares never became {sizes:?}: {owned:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_are_shared_fairly_and_follow_instances_that_come_and_go() {
    let Some(pg) = TestDb::postgres().await else { return };
    let a = Ownership::on_postgres(&pg.url, 8);
    let _fa = follow(&a);
    wait_for_shares(&[&a], &[8], 8).await;

    let b = Ownership::on_postgres(&pg.url, 8);
    let _fb = follow(&b);
    wait_for_shares(&[&a, &b], &[4, 4], 8).await;

    let c = Ownership::on_postgres(&pg.url, 8);
    let fc = follow(&c);
    wait_for_shares(&[&a, &b, &c], &[3, 3, 2], 8).await;

    // Another database is another cluster: its instance counts nobody here, and owns all of its own.
    let other = TestDb::postgres().await.expect("a second database");
    let d = Ownership::on_postgres(&other.url, 8);
    let _fd = follow(&d);
    wait_for_shares(&[&d], &[8], 8).await;
    wait_for_shares(&[&a, &b, &c], &[3, 3, 2], 8).await;

    // C leaves (its session ends, as when its process dies): A and B take its partitions.
    fc.abort();
    let _ = fc.await;
    drop(c);
    let shares = wait_for_shares(&[&a, &b], &[4, 4], 8).await;
    println!("after C left: A {:?}, B {:?}", shares[0], shares[1]);
    drop(d);
    other.cleanup().await;
    pg.cleanup().await;
}
