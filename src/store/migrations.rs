//! The schema's migrations, compiled into the binary: `build.rs` lists `migrations/sqlite`,
//! `migrations/postgres` and `migrations/sqlite_flows` and includes each file's text; this module
//! makes them sqlx migrations exactly as sqlx reads a directory (version and description from the
//! file name, the checksum of the text, `-- no-transaction`), so a database migrated by an earlier
//! build, which used `sqlx::migrate!`, sees the same versions and checksums.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

mod files {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// One directory's migrations: `(file name, text)`, by file name.
#[derive(Debug, Clone, Copy)]
pub(super) struct Embedded(&'static [(&'static str, &'static str)]);

pub(super) const SQLITE: Embedded = Embedded(files::SQLITE);
pub(super) const POSTGRES: Embedded = Embedded(files::POSTGRES);
pub(super) const SQLITE_FLOWS: Embedded = Embedded(files::SQLITE_FLOWS);

impl Embedded {
    /// The migrations, by version. As sqlx does for a directory, a file not named
    /// `<VERSION>_<DESCRIPTION>.sql` is ignored, and a version that is not an integer is an error.
    fn migrations(self) -> Result<Vec<Migration>, String> {
        let mut out = Vec::with_capacity(self.0.len());
        for &(name, sql) in self.0 {
            let Some((version, rest)) = name.split_once('_').filter(|(_, rest)| rest.ends_with(".sql")) else {
                continue;
            };
            let version: i64 = version
                .parse()
                .map_err(|_| format!("migration {name}: the file name does not start with an integer version"))?;
            let kind = MigrationType::from_filename(rest);
            let description = rest.trim_end_matches(kind.suffix()).replace('_', " ");
            let no_tx = sql.starts_with("-- no-transaction");
            out.push(Migration::new(version, Cow::Owned(description), kind, Cow::Borrowed(sql), no_tx));
        }
        out.sort_by_key(|m| m.version);
        Ok(out)
    }

    /// The migrator of these migrations.
    pub(super) async fn migrator(self) -> Result<Migrator, MigrateError> {
        Migrator::new(self).await
    }
}

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(std::future::ready(self.migrations().map_err(BoxDynError::from)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// What sqlx itself reads from a migrations directory.
    async fn from_directory(dir: &str) -> Vec<Migration> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
        Migrator::new(path.as_path()).await.unwrap().iter().cloned().collect()
    }

    #[tokio::test]
    async fn every_migration_is_embedded_as_sqlx_reads_it() {
        for (embedded, dir) in [(SQLITE, "sqlite"), (POSTGRES, "postgres"), (SQLITE_FLOWS, "sqlite_flows")] {
            let ours = embedded.migrations().unwrap();
            let theirs = from_directory(dir).await;
            assert!(!ours.is_empty(), "{dir}");
            assert_eq!(ours.len(), theirs.len(), "{dir}: every file is embedded");
            for (a, b) in ours.iter().zip(&theirs) {
                assert_eq!(
                    (a.version, &a.description, a.migration_type, &a.checksum, a.no_tx, &a.sql),
                    (b.version, &b.description, b.migration_type, &b.checksum, b.no_tx, &b.sql),
                    "{dir}"
                );
            }
        }
    }

    #[test]
    fn file_names_are_read_as_sqlx_reads_them() {
        let files: &'static [(&str, &str)] = &[
            ("20_two_words.sql", "-- no-transaction\nSELECT 2;"),
            ("README.md", "not a migration"),
            ("10_first.up.sql", "SELECT 1;"),
            ("nounderscore.sql", "ignored"),
        ];
        let m = Embedded(files).migrations().unwrap();
        let seen: Vec<_> = m.iter().map(|m| (m.version, m.description.as_ref(), m.no_tx)).collect();
        assert_eq!(seen, vec![(10, "first", false), (20, "two words", true)]);
        assert_eq!(m[0].migration_type, MigrationType::ReversibleUp);
        let err = Embedded(&[("v1_x.sql", "")]).migrations().unwrap_err();
        assert!(err.contains("v1_x.sql"), "{err}");
    }
}
