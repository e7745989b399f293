//! The instances' site samples shared through the database ([`anomalyforge::baseline::shared`]):
//! stored and replaced by id, read back fresh and without the reader's own, old ones pruned, and
//! merged into the reader's sample in proportion to the flows each saw. On both backends.

use anomalyforge::baseline::sample::SiteSample;
use anomalyforge::baseline::shared::{self, FRESH_FOR};
use anomalyforge::detection::FeatureProfile;
use anomalyforge::engine::features::Schema;
use anomalyforge::flow::Flow;
use anomalyforge::store::{now_ms, Db};

use crate::support::TestDb;

/// A sample that saw `seen` conn flows whose first feature is `mark`.
fn sample(seen: usize, mark: f32) -> SiteSample {
    let mut s = SiteSample::new(100);
    let first = Schema::for_profile(FeatureProfile::Conn).indices[0];
    for _ in 0..seen {
        let mut f = Flow::empty();
        f.features[first] = Some(mark);
        s.offer_one(FeatureProfile::Conn, &f, false);
    }
    s
}

async fn every_instance_sample_counts_when_learning(db: &Db) {
    let now = now_ms();
    let (mine, b, old) = (sample(300, 1.0), sample(900, 2.0), sample(50, 3.0));
    db.put_site_sample(mine.id(), now, &shared::encode(&mine.snapshot())).await.unwrap();
    db.put_site_sample(b.id(), now - 1000, b"first write").await.unwrap();
    db.put_site_sample(b.id(), now, &shared::encode(&b.snapshot())).await.unwrap();
    db.put_site_sample(old.id(), now - FRESH_FOR - 1, &shared::encode(&old.snapshot())).await.unwrap();
    db.put_site_sample("damaged", now, b"not a sample").await.unwrap();

    let fresh = db.site_samples_since(now - FRESH_FOR, mine.id()).await.unwrap();
    let ids: Vec<&str> = fresh.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 2, "B (replaced) and the damaged one: {ids:?}");
    assert!(ids.contains(&b.id()) && ids.contains(&"damaged"));

    // Merged: mine (300 seen) and B's (900); the old one is left out, the damaged one skipped.
    let (merged, instances) = shared::gather(db, mine.id(), mine.snapshot(), 100).await;
    assert_eq!(instances, 2);
    let (_, seen, rows) = merged.iter().find(|(p, _, _)| *p == FeatureProfile::Conn).unwrap();
    assert_eq!((*seen, rows.len()), (1200, 100));
    assert_eq!(rows.iter().filter(|r| r.values[0] == 2.0).count(), 75, "B saw three in four flows");
    assert!(rows.iter().all(|r| r.values[0] != 3.0));

    assert_eq!(db.prune_site_samples(now - FRESH_FOR).await.unwrap(), 1);
    assert_eq!(db.site_samples_since(0, "").await.unwrap().len(), 3);
}

on_both_backends!(every_instance_sample_counts_when_learning);
