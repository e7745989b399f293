//! The console's traffic analytics ([`crate::traffic`]): rates and protocols from `traffic_minute`,
//! services and talkers from `traffic_top_minute`, which [`write_top_in`] fills in each batch's
//! transaction.

use super::sql::{values_clause, ROWS_PER_UPSERT};
use super::{Db, Result};
use crate::traffic::{Dim, RatePoint, Share, TrafficAnalytics, Volume, TOP_LISTED};
use sqlx::{Any, Row, Transaction};
use std::collections::BTreeMap;

/// Adds a batch's busiest keys ([`crate::traffic::TopCounter::finish`]) to `traffic_top_minute`.
pub(crate) async fn write_top_in(tx: &mut Transaction<'_, Any>, rows: &[(i64, Dim, String, Volume)]) -> Result<()> {
    for chunk in rows.chunks(ROWS_PER_UPSERT) {
        let sql = format!(
            "INSERT INTO traffic_top_minute (minute, dim, key, flows, bytes, alerting) VALUES {} \
             ON CONFLICT (minute, dim, key) DO UPDATE SET flows = traffic_top_minute.flows + excluded.flows, \
             bytes = traffic_top_minute.bytes + excluded.bytes, alerting = traffic_top_minute.alerting + excluded.alerting",
            values_clause(chunk.len(), 6, "")
        );
        let mut q = sqlx::query(&sql);
        for (minute, dim, key, v) in chunk {
            q = q.bind(*minute).bind(dim.as_str()).bind(key.clone()).bind(v.flows).bind(v.bytes).bind(v.alerting);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Db {
    /// The traffic analytics of the minutes `from ≤ t < to`.
    pub async fn traffic_analytics(&self, from: i64, to: i64) -> Result<TrafficAnalytics> {
        let minute_from = from.div_euclid(60_000) * 60_000;
        let bucket_ms = TrafficAnalytics::bucket_for(minute_from, to);
        let (rates, protocols, services, sources, destinations, sources_by_bytes, destinations_by_bytes) = tokio::try_join!(
            self.rates(minute_from, to, bucket_ms),
            self.protocols(minute_from, to),
            self.top(Dim::Service, minute_from, to, "flows", true),
            self.top(Dim::Src, minute_from, to, "flows", false),
            self.top(Dim::Dst, minute_from, to, "flows", false),
            self.top(Dim::Src, minute_from, to, "bytes", false),
            self.top(Dim::Dst, minute_from, to, "bytes", false),
        )?;
        let mut total = Volume::default();
        for p in &protocols {
            total.add(p.volume);
        }
        // Every bucket of the range, the empty ones too, so the chart shows the quiet minutes.
        let first = minute_from - minute_from.rem_euclid(bucket_ms);
        let mut series: Vec<RatePoint> = Vec::new();
        let mut at = first;
        while at < to {
            let (flows, alerting) = rates.get(&at).copied().unwrap_or_default();
            series.push(RatePoint { at, flows, alerting });
            at += bucket_ms;
        }
        Ok(TrafficAnalytics {
            from,
            to,
            bucket_ms,
            series,
            protocols,
            services,
            sources,
            destinations,
            sources_by_bytes,
            destinations_by_bytes,
            total,
        })
    }

    /// Bucket start → (flows, alerting flows).
    async fn rates(&self, from: i64, to: i64, bucket_ms: i64) -> Result<BTreeMap<i64, (i64, i64)>> {
        let rows = sqlx::query(
            "SELECT minute - (minute % $3) AS bucket, CAST(SUM(flows) AS BIGINT) AS f, \
             CAST(SUM(CASE WHEN verdict = 'alert' THEN flows ELSE 0 END) AS BIGINT) AS a \
             FROM traffic_minute WHERE minute >= $1 AND minute < $2 GROUP BY minute - (minute % $3)",
        )
        .bind(from)
        .bind(to)
        .bind(bucket_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get::<i64, _>("bucket")?, (r.try_get("f")?, r.try_get("a")?)))).collect()
    }

    async fn protocols(&self, from: i64, to: i64) -> Result<Vec<Share>> {
        let rows = sqlx::query(
            "SELECT protocol, CAST(SUM(flows) AS BIGINT) AS f, CAST(SUM(bytes) AS BIGINT) AS b, \
             CAST(SUM(CASE WHEN verdict = 'alert' THEN flows ELSE 0 END) AS BIGINT) AS a \
             FROM traffic_minute WHERE minute >= $1 AND minute < $2 GROUP BY protocol ORDER BY f DESC, protocol",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let p: i64 = r.try_get("protocol")?;
                Ok(Share {
                    key: u8::try_from(p).map_or_else(|_| p.to_string(), crate::flow_history::proto_name),
                    volume: Volume { flows: r.try_get("f")?, bytes: r.try_get("b")?, alerting: r.try_get("a")? },
                })
            })
            .collect()
    }

    /// The [`TOP_LISTED`] keys of `dim` with the most `order` (`flows` or `bytes`), then "everything
    /// else" when `with_other` and it has any traffic.
    async fn top(&self, dim: Dim, from: i64, to: i64, order: &'static str, with_other: bool) -> Result<Vec<Share>> {
        let order = if order == "bytes" { "b" } else { "f" };
        let sql = format!(
            "SELECT key, CAST(SUM(flows) AS BIGINT) AS f, CAST(SUM(bytes) AS BIGINT) AS b, \
             CAST(SUM(alerting) AS BIGINT) AS a FROM traffic_top_minute \
             WHERE dim = $1 AND minute >= $2 AND minute < $3 AND key <> '' \
             GROUP BY key ORDER BY {order} DESC, key LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(dim.as_str())
            .bind(from)
            .bind(to)
            .bind(TOP_LISTED as i64)
            .fetch_all(self.pool())
            .await?;
        let share = |r: &sqlx::any::AnyRow| -> Result<Share> {
            Ok(Share {
                key: r.try_get("key")?,
                volume: Volume { flows: r.try_get("f")?, bytes: r.try_get("b")?, alerting: r.try_get("a")? },
            })
        };
        let mut out: Vec<Share> = rows.iter().map(share).collect::<Result<_>>()?;
        if with_other {
            let all = sqlx::query(
                "SELECT CAST(COALESCE(SUM(flows), 0) AS BIGINT) AS f, CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS b, \
                 CAST(COALESCE(SUM(alerting), 0) AS BIGINT) AS a, '' AS key FROM traffic_top_minute \
                 WHERE dim = $1 AND minute >= $2 AND minute < $3",
            )
            .bind(dim.as_str())
            .bind(from)
            .bind(to)
            .fetch_one(self.pool())
            .await?;
            let mut rest = share(&all)?;
            for s in &out {
                rest.volume.flows -= s.volume.flows;
                rest.volume.bytes -= s.volume.bytes;
                rest.volume.alerting -= s.volume.alerting;
            }
            if rest.volume.flows > 0 {
                out.push(rest);
            }
        }
        Ok(out)
    }

    /// Drops the busiest-key rows of minutes before `before` (unix ms); returns the rows dropped.
    pub async fn prune_traffic_top(&self, before: i64) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM traffic_top_minute WHERE minute < $1").bind(before).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}
