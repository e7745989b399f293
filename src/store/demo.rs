//! The `demo_history` row ([`crate::demo`]).

use super::{Db, Result};
use crate::demo::DemoHistory;
use sqlx::Row;

impl Db {
    /// What demo mode generated, if it generated anything in this database.
    pub async fn demo_history(&self) -> Result<Option<DemoHistory>> {
        let row = sqlx::query(
            "SELECT seeded_at, history_from, history_to, alerts, incidents, reports FROM demo_history WHERE id = 1",
        )
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(DemoHistory {
                seeded_at: r.try_get("seeded_at")?,
                from: r.try_get("history_from")?,
                to: r.try_get("history_to")?,
                alerts: r.try_get("alerts")?,
                incidents: r.try_get("incidents")?,
                reports: r.try_get("reports")?,
            })
        })
        .transpose()
    }

    pub(crate) async fn record_demo_history(&self, h: &DemoHistory) -> Result<()> {
        sqlx::query(
            "INSERT INTO demo_history (id, seeded_at, history_from, history_to, alerts, incidents, reports) \
             VALUES (1, $1, $2, $3, $4, $5, $6)",
        )
        .bind(h.seeded_at)
        .bind(h.from)
        .bind(h.to)
        .bind(h.alerts)
        .bind(h.incidents)
        .bind(h.reports)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
