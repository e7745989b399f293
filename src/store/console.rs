//! Queries of the SOC console: the filtered, sorted and grouped alert queue, the map and header
//! figures of a time range, and the pieces of an alert's detail. Every list is paged or capped and
//! reads an index (`alerts_by_*`, see the migrations).

use super::alerts::{alert_from_row, ALERT_COLUMNS};
use super::{Db, Result, StoreError};
use crate::alert::Alert;
use crate::asset::Criticality;
use crate::console::{
    threat_keys, threat_title, AssetBrief, ConsoleOverview, CountryFlows, GroupBy, GroupRow, IntelBrief, QueueFilter,
    QueueRow, SortBy, TextSearch, MAX_GROUPS, QUEUE_PAGE_SIZE,
};
use crate::report::{ReportCategory, ReportStatus};
use crate::role::Access;
use crate::worldmap::Marker;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};
use std::collections::HashMap;

/// A value bound to a `$N` placeholder.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Text(String),
}

/// A `WHERE` clause and its arguments, numbered as they are added.
#[derive(Debug, Default)]
struct Where {
    conds: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    /// The next placeholder, bound to `a`.
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    fn sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conds.join(" AND "))
        }
    }

    fn bind<'q>(&self, mut q: Query<'q, Any, AnyArguments<'q>>) -> Query<'q, Any, AnyArguments<'q>> {
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }
}

/// `%text%` for LIKE with `\` as the escape character.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn queue_where(f: &QueueFilter) -> Where {
    let mut w = Where::default();
    let from = w.arg(Arg::Int(f.from));
    w.conds.push(format!("last_seen >= {from}"));
    if let Some(to) = f.to {
        let to = w.arg(Arg::Int(to));
        w.conds.push(format!("last_seen < {to}"));
    }
    let statuses = f.status.statuses();
    if !statuses.is_empty() {
        let list: Vec<String> = statuses.iter().map(|s| w.arg(Arg::Text(s.as_str().to_string()))).collect();
        w.conds.push(format!("status IN ({})", list.join(", ")));
    }
    if let Some(t) = &f.threat {
        let p = w.arg(Arg::Text(t.clone()));
        w.conds.push(format!("threat = {p}"));
    }
    if let Some(r) = f.min_risk {
        let p = w.arg(Arg::Int(r));
        w.conds.push(format!("risk >= {p}"));
    }
    if let Some(c) = &f.country {
        let p = w.arg(Arg::Text(c.clone()));
        w.conds.push(format!("src_country = {p}"));
    }
    if let Some(ip) = &f.src_ip {
        let p = w.arg(Arg::Text(ip.clone()));
        w.conds.push(format!("src_ip = {p}"));
    }
    if let Some(ip) = &f.asset_ip {
        let p = w.arg(Arg::Text(ip.clone()));
        w.conds.push(format!("asset_id = (SELECT id FROM assets WHERE ip = {p})"));
    }
    match &f.text {
        None => {}
        Some(TextSearch::Address(ip)) => {
            let (a, b) = (w.arg(Arg::Text(ip.clone())), w.arg(Arg::Text(ip.clone())));
            w.conds.push(format!("(src_ip = {a} OR dst_ip = {b})"));
        }
        Some(TextSearch::Words(words)) => {
            let pattern = like_pattern(words);
            let mut ors: Vec<String> = [
                "LOWER(COALESCE(signature, ''))",
                "COALESCE(src_ip, '')",
                "COALESCE(dst_ip, '')",
                "LOWER(COALESCE(src_country, ''))",
            ]
            .iter()
            .map(|col| {
                let p = w.arg(Arg::Text(pattern.clone()));
                format!("{col} LIKE {p} ESCAPE '\\'")
            })
            .collect();
            // Threat types match by key or by their title ("brute force" finds ssh_patator).
            let threats: Vec<String> = threat_keys()
                .into_iter()
                .filter(|k| k.contains(words.as_str()) || threat_title(k).to_lowercase().contains(words.as_str()))
                .map(|k| w.arg(Arg::Text(k.to_string())))
                .collect();
            if !threats.is_empty() {
                ors.push(format!("threat IN ({})", threats.join(", ")));
            }
            w.conds.push(format!("({})", ors.join(" OR ")));
        }
    }
    w
}

impl Db {
    /// One page of the console's queue, the number of alerts matching, and the groups when grouped.
    pub async fn console_queue(&self, f: &QueueFilter) -> Result<(Vec<QueueRow>, i64, Vec<GroupRow>)> {
        let w = queue_where(f);
        let order = match f.sort {
            SortBy::Risk => "risk DESC, last_seen DESC, id DESC",
            SortBy::Newest => "last_seen DESC, id DESC",
        };
        let offset = i64::from(f.page.saturating_sub(1)) * i64::from(QUEUE_PAGE_SIZE);
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts {} ORDER BY {order} LIMIT {} OFFSET {offset}",
            w.sql(),
            QUEUE_PAGE_SIZE
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM alerts {}", w.sql());
        let group_sql = match f.group {
            GroupBy::None => None,
            g => {
                let key = if g == GroupBy::Threat { "threat" } else { "COALESCE(src_ip, '-')" };
                Some(format!(
                    "SELECT {key} AS k, COUNT(*) AS n, CAST(SUM(count) AS BIGINT) AS d, MAX(risk) AS r, MAX(last_seen) AS l \
                     FROM alerts {} GROUP BY {key} ORDER BY r DESC, n DESC, k LIMIT {MAX_GROUPS}",
                    w.sql()
                ))
            }
        };
        // The page, the total and the groups are independent reads: run them side by side.
        let (rows, total, groups) = tokio::try_join!(
            async { Ok::<_, StoreError>(w.bind(sqlx::query(&sql)).fetch_all(self.pool()).await?) },
            async {
                let row = w.bind(sqlx::query(&count_sql)).fetch_one(self.pool()).await?;
                Ok::<i64, StoreError>(row.try_get("n")?)
            },
            async {
                let Some(group_sql) = &group_sql else { return Ok::<_, StoreError>(Vec::new()) };
                w.bind(sqlx::query(group_sql))
                    .fetch_all(self.pool())
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(GroupRow {
                            key: r.try_get("k")?,
                            alerts: r.try_get("n")?,
                            detections: r.try_get("d")?,
                            max_risk: r.try_get("r")?,
                            last_seen: r.try_get("l")?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            },
        )?;
        let alerts = rows.iter().map(alert_from_row).collect::<Result<Vec<_>>>()?;
        let briefs = self.asset_briefs(&alerts.iter().filter_map(|a| a.asset_id).collect::<Vec<_>>()).await?;
        let rows = alerts
            .into_iter()
            .map(|a| QueueRow { asset: a.asset_id.and_then(|id| briefs.get(&id).cloned()), alert: a })
            .collect();
        Ok((rows, total, groups))
    }

    /// Address, hostname and criticality of the assets `ids`.
    pub async fn asset_briefs(&self, ids: &[i64]) -> Result<HashMap<i64, AssetBrief>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = HashMap::new();
        for chunk in ids.chunks(100) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT id, ip, hostname, criticality FROM assets WHERE id IN ({})", list.join(", "));
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(self.pool()).await? {
                let crit: String = r.try_get("criticality")?;
                let brief = AssetBrief {
                    id: r.try_get("id")?,
                    ip: r.try_get("ip")?,
                    hostname: r.try_get("hostname")?,
                    criticality: Criticality::parse(&crit)
                        .ok_or_else(|| StoreError::Corrupt { column: "assets.criticality", detail: crit.clone() })?,
                };
                out.insert(brief.id, brief);
            }
        }
        Ok(out)
    }

    /// The console's header and maps for alerts last seen and traffic in `from ≤ t < to`.
    pub async fn console_overview(&self, from: i64, to: i64) -> Result<ConsoleOverview> {
        // Independent reads, run side by side on the pool: the origins and the open counts each
        // walk a covering index over every alert of the range / every open alert.
        let (traffic, origins, by_status, critical_open, reports_new, rules) = tokio::try_join!(
            self.traffic_by_country(from, to),
            self.alert_origins(from, to),
            async {
                Ok::<_, StoreError>(
                    sqlx::query("SELECT status, COUNT(*) AS n FROM alerts WHERE status IN ('new', 'acknowledged') GROUP BY status")
                        .fetch_all(self.pool())
                        .await?,
                )
            },
            async {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS n FROM alerts WHERE status IN ('new', 'acknowledged') AND risk >= 90",
                )
                .fetch_one(self.pool())
                .await?;
                Ok::<i64, StoreError>(row.try_get("n")?)
            },
            async {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM employee_reports WHERE status = 'new'")
                    .fetch_one(self.pool())
                    .await?;
                Ok::<i64, StoreError>(row.try_get("n")?)
            },
            async {
                Ok::<_, StoreError>(
                    sqlx::query(
                        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(hits), 0) AS BIGINT) AS hits FROM suppressions \
                         WHERE expires_at IS NULL OR expires_at > $1",
                    )
                    .bind(to)
                    .fetch_one(self.pool())
                    .await?,
                )
            },
        )?;
        let (mut open_alerts, mut new_alerts) = (0i64, 0i64);
        for r in &by_status {
            let n: i64 = r.try_get("n")?;
            open_alerts += n;
            if r.try_get::<String, _>("status")? == "new" {
                new_alerts = n;
            }
        }
        Ok(ConsoleOverview {
            from,
            to,
            traffic,
            origins,
            open_alerts,
            new_alerts,
            critical_open,
            reports_new,
            suppressed: rules.try_get("hits")?,
            rules_active: rules.try_get("n")?,
        })
    }

    /// Flows, bytes and alerting flows per source country in the minutes of `from ≤ t < to`.
    async fn traffic_by_country(&self, from: i64, to: i64) -> Result<Vec<CountryFlows>> {
        let minute_from = from.div_euclid(60_000) * 60_000;
        sqlx::query(
            "SELECT country, CAST(SUM(flows) AS BIGINT) AS f, CAST(SUM(bytes) AS BIGINT) AS b, \
             CAST(SUM(CASE WHEN verdict = 'alert' THEN flows ELSE 0 END) AS BIGINT) AS a \
             FROM traffic_minute WHERE minute >= $1 AND minute < $2 GROUP BY country ORDER BY f DESC",
        )
        .bind(minute_from)
        .bind(to)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(CountryFlows {
                country: r.try_get("country")?,
                flows: r.try_get("f")?,
                bytes: r.try_get("b")?,
                alerting: r.try_get("a")?,
            })
        })
        .collect()
    }

    /// Alerts last seen in `from ≤ t < to` per source country, with their highest risk (read from
    /// the covering index `alerts_by_country`).
    async fn alert_origins(&self, from: i64, to: i64) -> Result<Vec<Marker>> {
        sqlx::query(
            "SELECT src_country, COUNT(*) AS n, MAX(risk) AS r FROM alerts \
             WHERE last_seen >= $1 AND last_seen < $2 AND src_country IS NOT NULL GROUP BY src_country",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            let n: i64 = r.try_get("n")?;
            Ok(Marker { iso_a2: r.try_get("src_country")?, count: n.max(0) as u64, max_risk: r.try_get("r")? })
        })
        .collect()
    }

    /// Everything the alert detail view shows, for a viewer of `role`: the alert, its asset, intel,
    /// playbook with the steps ticked off, history, other alerts from its source, who it may be
    /// assigned to, and its response actions with what the viewer may do under `policy`. The reads
    /// after the alert's own run concurrently.
    pub async fn alert_detail(
        &self,
        id: i64,
        role: crate::role::Role,
        policy: &crate::response::ResponsePolicy,
    ) -> Result<crate::console::AlertDetail> {
        let alert = self.alert_by_id(id).await?;
        let asset = async {
            match alert.asset_id {
                Some(aid) => match self.asset_by_id(aid).await {
                    Ok(a) => Ok(Some(a)),
                    Err(StoreError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                },
                None => Ok(None),
            }
        };
        let intel = async {
            match alert.report_id {
                Some(r) => self.intel_brief(r).await,
                None => Ok(None),
            }
        };
        let playbook = async {
            match self.playbook(&alert.threat).await {
                Ok(p) => Ok(Some(p)),
                Err(StoreError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            }
        };
        let related = async {
            match &alert.src_ip {
                Some(ip) => self.alerts_from_source(ip, id, crate::console::RELATED_LIMIT).await,
                None => Ok((Vec::new(), 0)),
            }
        };
        let (asset, intel, playbook, history, (related, related_total), assignable, actions) = tokio::try_join!(
            asset,
            intel,
            playbook,
            self.alert_events(id),
            related,
            self.assignable_users(),
            self.actions_for(None, Some(id))
        )?;
        let steps_done = crate::triage::steps_done(&history, playbook.as_ref().map_or(0, |p| p.steps.len()));
        let response = crate::response::ResponseAccess {
            actions,
            may_act: policy.may_act(role),
            approval: policy.approval.clone(),
            now: super::now_ms(),
        };
        Ok(crate::console::AlertDetail {
            alert,
            asset,
            intel,
            playbook,
            steps_done,
            history,
            related,
            related_total,
            assignable,
            response,
        })
    }

    /// Other alerts from `src_ip` (newest first, at most `limit`) and how many there are in all.
    pub async fn alerts_from_source(&self, src_ip: &str, except: i64, limit: i64) -> Result<(Vec<Alert>, i64)> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE src_ip = $1 AND id <> $2 ORDER BY last_seen DESC, id DESC LIMIT $3"
        ))
        .bind(src_ip)
        .bind(except)
        .bind(limit.clamp(1, 100))
        .fetch_all(self.pool())
        .await?;
        let alerts = rows.iter().map(alert_from_row).collect::<Result<Vec<_>>>()?;
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM alerts WHERE src_ip = $1 AND id <> $2")
            .bind(src_ip)
            .bind(except)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok((alerts, total))
    }

    /// The report `id` and how many reports name its indicator.
    pub async fn intel_brief(&self, report_id: i64) -> Result<Option<IntelBrief>> {
        let Some(r) = sqlx::query(
            "SELECT r.id, r.indicator, r.category, r.status, \
             (SELECT COUNT(*) FROM employee_reports o WHERE o.indicator = r.indicator) AS n \
             FROM employee_reports r WHERE r.id = $1",
        )
        .bind(report_id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let category: String = r.try_get("category")?;
        let status: String = r.try_get("status")?;
        Ok(Some(IntelBrief {
            report_id: r.try_get("id")?,
            indicator: r.try_get("indicator")?,
            category: ReportCategory::parse(&category)
                .ok_or_else(|| StoreError::Corrupt { column: "employee_reports.category", detail: category.clone() })?,
            status: ReportStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt { column: "employee_reports.status", detail: status.clone() })?,
            reports: r.try_get("n")?,
        }))
    }

    /// Usernames of active accounts that may work on alerts.
    pub async fn assignable_users(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .list_users()
            .await?
            .into_iter()
            .filter(|u| !u.disabled && Access::SOC.allows(u.role))
            .map(|u| u.username)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Writes one entry to an alert's history (for actions that do not change its status, such as
    /// ticking off a playbook step).
    pub async fn record_alert_event(&self, alert_id: i64, actor: &str, action: &str, detail: &str) -> Result<()> {
        let exists =
            sqlx::query("SELECT id FROM alerts WHERE id = $1").bind(alert_id).fetch_optional(self.pool()).await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("alert #{alert_id}")));
        }
        sqlx::query("INSERT INTO alert_events (alert_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(alert_id)
            .bind(super::now_ms())
            .bind(actor)
            .bind(action)
            .bind(detail)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("port_scan"), "%port\\_scan%");
        assert_eq!(like_pattern("50%"), "%50\\%%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }
}
