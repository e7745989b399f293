#![cfg(feature = "server")]
//! The model registry shared by instances on one database (issue 16): a version made on one
//! instance is stored in the database, fetched by the others, and runs on all of them when it is
//! chosen; version numbers are claimed so two instances' jobs never make the same id. Each instance
//! here is a `Registry` on its own data dir, all on one database, on SQLite and on PostgreSQL.

use std::path::{Path, PathBuf};

use crate::support::TestDb;
use anomalyforge::config::Config;
use anomalyforge::model_registry::{Registry, RegistrySettings};
use anomalyforge::model_version::SHIPPED;
use anomalyforge::store::model_versions::NewModelVersion;
use anomalyforge::store::{now_ms, Db};

on_both_backends!(
    a_version_made_on_one_instance_runs_on_every_instance,
    version_numbers_are_claimed_once_across_instances,
    the_active_choice_switches_only_from_what_a_job_started_from,
);

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn settings(data_dir: &Path) -> RegistrySettings {
    Config { data_dir: data_dir.to_path_buf(), model_dir: shipped(), ..Config::default() }.registry_settings()
}

/// Every file under `dir` with its bytes, by relative path.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push((path.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

async fn a_version_made_on_one_instance_runs_on_every_instance(db: &Db) {
    let (a_dir, b_dir, c_dir) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Instance A has a version r1 on its disk, made before the database kept versions: it is stored
    // when A starts.
    let r1 = a_dir.path().join("models/r1");
    copy_dir(&shipped(), &r1);
    std::fs::write(r1.join("version.json"), r#"{"id":"r1","created_by":"tester","created_at":1,"comparison":null}"#)
        .unwrap();
    let a = Registry::open(settings(a_dir.path()), db.clone()).await.unwrap();
    assert_eq!(db.stored_model_versions().await.unwrap(), vec!["r1".to_string()]);

    // Instance B, on its own disk, fetches it byte for byte and lists it as A does.
    let b = Registry::open(settings(b_dir.path()), db.clone()).await.unwrap();
    assert_eq!(files(&b_dir.path().join("models/r1")), files(&r1));
    let (versions, problems) = b.versions();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(versions.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), vec!["r1", SHIPPED]);
    assert_eq!(versions[0].created_by.as_deref(), Some("tester"));

    // Both score with the shipped models; an admin on A activates r1, and B follows.
    let (a_slot, b_slot) = (a.load_active().await.unwrap(), b.load_active().await.unwrap());
    assert_eq!(b_slot.current().dir(), shipped());
    a.activate("r1", "admin").await.unwrap();
    assert_eq!(a_slot.current().dir(), r1);
    assert_eq!(b.active(), SHIPPED, "B has not looked yet");
    b.sync().await.unwrap();
    assert_eq!(b.active(), "r1");
    assert_eq!(b.running().as_deref(), Some("r1"));
    assert_eq!(b_slot.current().dir(), b_dir.path().join("models/r1"));
    b.sync().await.unwrap();
    assert_eq!(b_slot.current().dir(), b_dir.path().join("models/r1"), "nothing changed: nothing to do");

    // A rollback on B reaches A.
    b.activate(SHIPPED, "admin").await.unwrap();
    a.sync().await.unwrap();
    assert_eq!((a.active().as_str(), a_slot.current().dir()), (SHIPPED, shipped().as_path()));

    // A third instance started later, on an empty disk, runs the cluster's choice.
    b.activate("r1", "admin").await.unwrap();
    let c = Registry::open(settings(c_dir.path()), db.clone()).await.unwrap();
    assert_eq!(c.active(), "r1");
    assert_eq!(c.load_active().await.unwrap().current().dir(), c_dir.path().join("models/r1"));

    // A's copy is damaged while A runs the shipped models: when it follows the choice to r1, it
    // fetches r1 again from the database rather than staying behind.
    assert_eq!(a_slot.current().dir(), shipped());
    std::fs::write(r1.join("conn/gbdt.safetensors"), b"damaged").unwrap();
    a.sync().await.unwrap();
    assert_eq!((a.active().as_str(), a.running().as_deref()), ("r1", Some("r1")));
    assert_eq!(a_slot.current().dir(), r1);
    assert_eq!(files(&r1), files(&b_dir.path().join("models/r1")), "the copy is whole again");

    // A version nobody can load becomes the choice: A keeps scoring with r1 and says why.
    let broken = vec![("manifest.json".to_string(), b"not a manifest".to_vec())];
    let v = NewModelVersion { number: 50, created_by: "someone", created_at: now_ms(), files: &broken };
    assert!(db.store_model_version(v).await.unwrap());
    db.set_active_model("r50", "someone", now_ms(), None).await.unwrap().unwrap();
    a.sync().await.unwrap();
    assert_eq!((a.active().as_str(), a.running().as_deref()), ("r50", Some("r1")));
    assert_eq!(a_slot.current().dir(), r1);
    let notes = a.overview(Some("r1")).notes;
    assert!(notes.iter().any(|n| n.contains("r50 became active") && n.contains("keeps scoring with r1")), "{notes:?}");
}

async fn version_numbers_are_claimed_once_across_instances(db: &Db) {
    let now = now_ms();
    let claims: Vec<_> = (0..8)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move { db.claim_model_number(&format!("job{i}"), 0, now).await.unwrap() })
        })
        .collect();
    let mut numbers = Vec::new();
    for c in claims {
        numbers.push(c.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, (1..=8).collect::<Vec<u64>>(), "eight jobs racing, eight numbers");
    assert_eq!(db.claim_model_number("job", 20, now).await.unwrap(), 21, "above the instance's own versions");
    assert!(db.stored_model_versions().await.unwrap().is_empty(), "claims are not versions");

    // A finished job's claim becomes the version, with its files; a second store of it is refused.
    let files =
        vec![("conn/gbdt.safetensors".to_string(), vec![0u8, 255, 7]), ("manifest.json".to_string(), b"{}".to_vec())];
    let v = NewModelVersion { number: 3, created_by: "job2", created_at: now, files: &files };
    assert!(db.store_model_version(v).await.unwrap());
    assert!(!db.store_model_version(v).await.unwrap(), "a stored version is never replaced");
    assert_eq!(db.stored_model_versions().await.unwrap(), vec!["r3".to_string()]);
    assert_eq!(db.model_version_files("r3").await.unwrap(), files);
    assert!(db.model_version_files("r4").await.unwrap().is_empty(), "an unfinished version has no files");

    // A failed job gives its number up; a stored version is never dropped; numbers are not reused.
    db.drop_model_claim(4).await.unwrap();
    db.drop_model_claim(3).await.unwrap();
    assert_eq!(db.stored_model_versions().await.unwrap(), vec!["r3".to_string()]);
    assert_eq!(db.claim_model_number("job", 0, now).await.unwrap(), 22);
}

async fn the_active_choice_switches_only_from_what_a_job_started_from(db: &Db) {
    let now = now_ms();
    assert_eq!(db.active_model().await.unwrap(), None, "nothing chosen yet");
    let first = db.init_active_model(SHIPPED, "system", now).await.unwrap();
    assert_eq!((first.version.as_str(), first.generation), (SHIPPED, 0));
    let again = db.init_active_model("r9", "other", now).await.unwrap();
    assert_eq!(again, first, "the first instance's choice stays");

    assert_eq!(db.set_active_model("r1", "job", now, Some("r2")).await.unwrap(), None, "r2 is not active");
    assert_eq!(db.set_active_model("r1", "job", now, Some(SHIPPED)).await.unwrap(), Some(1));
    assert_eq!(db.set_active_model("r2", "admin", now + 1, None).await.unwrap(), Some(2), "an admin's choice");
    assert_eq!(db.set_active_model("r3", "job", now, Some("r1")).await.unwrap(), None, "the job started from r1");
    let chosen = db.active_model().await.unwrap().unwrap();
    assert_eq!((chosen.version.as_str(), chosen.changed_by.as_str(), chosen.generation), ("r2", "admin", 2));
}
