//! The `flows` table: every scored flow, compactly, for hunting ("what else did this address do?").
//!
//! A row is the flow's time, 5-tuple, bytes and packets each way, duration, the verdict (risk, threat,
//! whether it alerted, the profile that scored it) and where it came from (ingest source, API token),
//! plus the country of each end at storage time. Addresses are stored as their 4 or 16 bytes, so a
//! CIDR is one range of an index; `(address, time)`, `(port, time)`, `(risk, time)` and time alone are
//! indexed.
//!
//! The pipeline writes them after the batch's alerts, several batches in one transaction
//! ([`crate::pipeline`]'s flow writer; [`Db::persist_flows`]). On SQLite the history is a database
//! file of its own beside the main one ([`open_sqlite_pool`]), so its writes never wait for the
//! alerts' or make them wait. Each batch's rows are one statement that expands a JSON array in the
//! database (`json_each` on SQLite, `jsonb_array_elements`
//! on PostgreSQL): binding 20 values per row costs more than scoring the flow.
//!
//! Retention drops whole days of storage time (`day`, Unix days UTC). On PostgreSQL `flows` is
//! partitioned by day, a partition created when its first flow is stored, and a day is dropped with
//! its partition. On SQLite ids grow with storage time, so a day is one id range (`flow_days`) and
//! dropping it is a range delete on the primary key, done in slices so ingest is never held up for
//! long.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use super::{Backend, Db, Result, StoreError};
use crate::flow_history::{FlowCursor, FlowRecord, FlowSearch, FlowSort};

/// Flow history settings (`[flows]` in the config file, `AF_FLOWS__ENABLED`, `AF_FLOWS__RETENTION_DAYS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowHistoryConfig {
    /// Store every scored flow (on by default; a site that does not hunt can save the work).
    pub enabled: bool,
    /// Days of storage kept; older days are dropped whole.
    pub retention_days: u32,
}

impl Default for FlowHistoryConfig {
    fn default() -> Self {
        FlowHistoryConfig { enabled: true, retention_days: 7 }
    }
}

impl FlowHistoryConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(1..=3660).contains(&self.retention_days) {
            return Err(format!("flows.retention_days must be 1–3660, not {}", self.retention_days));
        }
        Ok(())
    }
}

/// Milliseconds in a day.
pub const DAY_MS: i64 = crate::time::DAY;

/// The storage day (Unix days, UTC) of a time in Unix ms.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// One scored flow to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFlow {
    /// Traffic time, Unix ms.
    pub at: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub pkts_out: u64,
    pub pkts_in: u64,
    pub duration_ms: u64,
    /// 0–100.
    pub risk: u8,
    /// The verdict's threat key (`benign` when it did not alert on its own).
    pub threat: &'static str,
    pub alerted: bool,
    /// 0 = `cicflowmeter`, 1 = `conn` ([`crate::detection::FeatureProfile`]).
    pub profile: u8,
    /// Country of the outside end (the destination's when both are outside), when known.
    pub cc: Option<[u8; 2]>,
}

/// The flows of one batch, with where they came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowBatch {
    /// Storage day (Unix days, UTC).
    pub day: i64,
    pub source: String,
    pub token_id: Option<i64>,
    pub flows: Vec<NewFlow>,
}

/// The SQLite flow history's file: `<name>-flows.db` beside the main `<name>.db` (same URL options),
/// or a second in-memory database for an in-memory main one. WAL, `synchronous = NORMAL` (a crash of
/// the machine can lose the last commits of history, never an alert: those are in the main file with
/// its own sync level) and a 64 MiB page cache for the indexes every flow inserts into.
pub(crate) async fn open_sqlite_pool(url: &str) -> Result<sqlx::AnyPool> {
    use sqlx::Executor;
    let flows_url = sqlite_flows_url(url);
    let memory = flows_url.contains(":memory:");
    sqlx::any::AnyPoolOptions::new()
        .max_connections(if memory { 1 } else { 4 })
        .min_connections(u32::from(memory))
        .idle_timeout(if memory { None } else { Some(std::time::Duration::from_secs(600)) })
        .max_lifetime(if memory { None } else { Some(std::time::Duration::from_secs(1800)) })
        .acquire_timeout(std::time::Duration::from_secs(10))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; \
                     PRAGMA cache_size = -65536; PRAGMA optimize = 0x10002;",
                )
                .await?;
                Ok(())
            })
        })
        .connect(&flows_url)
        .await
        .map_err(|cause| super::StoreError::Open { url: super::redact_url(&flows_url), cause })
}

/// The flow history's SQLite URL next to the main one's.
pub fn sqlite_flows_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let path_start = if base.starts_with("sqlite://") { "sqlite://".len() } else { "sqlite:".len() };
    let path = &base[path_start.min(base.len())..];
    if path.is_empty() || path.contains(":memory:") {
        return "sqlite::memory:".to_string();
    }
    let file_start = path.rfind('/').map_or(0, |i| i + 1);
    let flows_path = match path[file_start..].rfind('.') {
        Some(dot) if dot > 0 => format!("{}-flows{}", &path[..file_start + dot], &path[file_start + dot..]),
        _ => format!("{path}-flows"),
    };
    let mut out = format!("{}{flows_path}", &base[..path_start.min(base.len())]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// PostgreSQL day partitions known to exist (created by this process or found).
#[derive(Debug, Clone, Default)]
pub(crate) struct Partitions(Arc<Mutex<HashSet<i64>>>);

/// An address as stored: its 4 or 16 bytes.
pub fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// The address of stored bytes (`None` unless 4 or 16 of them).
pub fn ip_of_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

fn push_hex(out: &mut String, ip: IpAddr) {
    for b in ip_bytes(ip) {
        let _ = write!(out, "{b:02x}");
    }
}

/// The rows as one JSON array of arrays (every string written here is hex, a threat key or a
/// country code, so nothing needs escaping; keys are checked anyway).
fn rows_json(flows: &[NewFlow]) -> String {
    let mut s = String::with_capacity(flows.len() * 96 + 2);
    s.push('[');
    let clamp = |v: u64| v.min(i64::MAX as u64);
    for (i, f) in flows.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('[');
        let _ = write!(s, "{},\"", f.at);
        push_hex(&mut s, f.src);
        s.push_str("\",\"");
        push_hex(&mut s, f.dst);
        let threat = if f.threat.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            f.threat
        } else {
            "unknown"
        };
        let _ = write!(
            s,
            "\",{},{},{},{},{},{},{},{},{},\"{threat}\",{},{}",
            f.sport,
            f.dport,
            f.proto,
            clamp(f.bytes_out),
            clamp(f.bytes_in),
            clamp(f.pkts_out),
            clamp(f.pkts_in),
            clamp(f.duration_ms),
            f.risk.min(100),
            u8::from(f.alerted),
            f.profile,
        );
        match f.cc.filter(|c| c.iter().all(u8::is_ascii_uppercase)) {
            Some([a, b]) => {
                let _ = write!(s, ",\"{}{}\"", a as char, b as char);
            }
            None => s.push_str(",null"),
        }
        s.push(']');
    }
    s.push(']');
    s
}

const COLUMNS: &str = "day, at, src, dst, sport, dport, proto, bytes_out, bytes_in, pkts_out, pkts_in, duration_ms, \
                       risk, threat, alerted, profile, source, token_id, cc";

impl Db {
    /// Creates the PostgreSQL partition of `day` unless it is known to exist (outside any batch
    /// transaction: another instance may create it at the same time, which is fine).
    pub(crate) async fn ensure_flow_partition(&self, day: i64) -> Result<()> {
        if self.backend() != Backend::Postgres
            || self.partitions.0.lock().unwrap_or_else(|e| e.into_inner()).contains(&day)
        {
            return Ok(());
        }
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS flows_d{day} PARTITION OF flows FOR VALUES FROM ({day}) TO ({})",
            day + 1
        );
        if let Err(e) = sqlx::query(&sql).execute(self.flow_pool()).await {
            // Two creators at once: one wins, the other sees a duplicate type. Check it is there.
            let exists: i64 = sqlx::query("SELECT COUNT(*) AS n FROM pg_class WHERE relname = $1")
                .bind(format!("flows_d{day}"))
                .fetch_one(self.flow_pool())
                .await?
                .try_get("n")?;
            if exists == 0 {
                return Err(e.into());
            }
        }
        self.partitions.0.lock().unwrap_or_else(|e| e.into_inner()).insert(day);
        Ok(())
    }

    /// Writes a batch's flows in a transaction of [`Db::flow_pool`].
    async fn insert_flows(&self, tx: &mut Transaction<'_, Any>, batch: &FlowBatch) -> Result<()> {
        if batch.flows.is_empty() {
            return Ok(());
        }
        let n = batch.flows.len() as i64;
        // Chunks bound the JSON text (about 100 bytes a flow).
        let mut sorted: Vec<&NewFlow> = batch.flows.iter().collect();
        sorted.sort_unstable_by_key(|f| (f.src, f.at));
        let sorted: Vec<NewFlow> = sorted.into_iter().cloned().collect();
        for chunk in sorted.chunks(20_000) {
            let json = rows_json(chunk);
            let sql = match self.backend() {
                Backend::Sqlite => format!(
                    "INSERT INTO flows ({COLUMNS}) SELECT $1, value->>0, unhex(value->>1), unhex(value->>2), \
                     value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10, \
                     value->>11, value->>12, value->>13, value->>14, $2, $3, value->>15 FROM json_each($4)"
                ),
                Backend::Postgres => format!(
                    "INSERT INTO flows ({COLUMNS}) SELECT $1, (e->>0)::bigint, decode(e->>1, 'hex'), \
                     decode(e->>2, 'hex'), (e->>3)::bigint, (e->>4)::bigint, (e->>5)::bigint, (e->>6)::bigint, \
                     (e->>7)::bigint, (e->>8)::bigint, (e->>9)::bigint, (e->>10)::bigint, (e->>11)::bigint, \
                     e->>12, (e->>13)::bigint, (e->>14)::bigint, $2, $3, e->>15 \
                     FROM jsonb_array_elements(CAST($4 AS TEXT)::jsonb) AS e"
                ),
            };
            sqlx::query(&sql)
                .bind(batch.day)
                .bind(batch.source.clone())
                .bind(batch.token_id)
                .bind(json)
                .execute(&mut **tx)
                .await?;
        }
        let first_id = match self.backend() {
            // The batch's rows took the ids after the largest one before it (the write lock is held).
            Backend::Sqlite => "(SELECT MAX(id) FROM flows) - $2 + 1",
            Backend::Postgres => "NULL",
        };
        sqlx::query(&format!(
            "INSERT INTO flow_days (day, first_id, flows) VALUES ($1, {first_id}, $2) \
             ON CONFLICT (day) DO UPDATE SET flows = flow_days.flows + excluded.flows"
        ))
        .bind(batch.day)
        .bind(n)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Stores the flows of several batches in one transaction (the pipeline's flow writer).
    pub async fn persist_flows(&self, batches: &[FlowBatch]) -> Result<()> {
        let mut days: Vec<i64> = batches.iter().filter(|b| !b.flows.is_empty()).map(|b| b.day).collect();
        days.dedup();
        for day in days {
            self.ensure_flow_partition(day).await?;
        }
        let mut tx = self.flow_pool().begin().await?;
        for b in batches {
            self.insert_flows(&mut tx, b).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stored flows per storage day, oldest first: (day, flows).
    pub async fn flow_days(&self) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query("SELECT day, flows FROM flow_days ORDER BY day").fetch_all(self.flow_pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("day")?, r.try_get("flows")?))).collect()
    }

    /// Drops every stored day before `keep_from` (Unix days): PostgreSQL partitions, or SQLite id
    /// ranges deleted a slice at a time. Returns the flows dropped.
    pub async fn drop_flow_days(&self, keep_from: i64) -> Result<i64> {
        let dropped: i64 =
            sqlx::query("SELECT CAST(COALESCE(SUM(flows), 0) AS BIGINT) AS n FROM flow_days WHERE day < $1")
                .bind(keep_from)
                .fetch_one(self.flow_pool())
                .await?
                .try_get("n")?;
        match self.backend() {
            Backend::Sqlite => {
                // Everything below the first id of the oldest day kept (all of it when none is kept).
                let row = sqlx::query(
                    "SELECT COALESCE((SELECT MIN(first_id) FROM flow_days WHERE day >= $1), \
                     (SELECT COALESCE(MAX(id), 0) + 1 FROM flows)) AS below",
                )
                .bind(keep_from)
                .fetch_one(self.flow_pool())
                .await?;
                let below: i64 = row.try_get("below")?;
                loop {
                    let done = sqlx::query(
                        "DELETE FROM flows WHERE id IN (SELECT id FROM flows WHERE id < $1 ORDER BY id LIMIT 20000)",
                    )
                    .bind(below)
                    .execute(self.flow_pool())
                    .await?
                    .rows_affected();
                    if done == 0 {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
            Backend::Postgres => {
                let rows = sqlx::query(
                    "SELECT CAST(c.relname AS TEXT) AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                     JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'flows'",
                )
                .fetch_all(self.flow_pool())
                .await?;
                for r in rows {
                    let name: String = r.try_get("name")?;
                    let Some(day) = name.strip_prefix("flows_d").and_then(|d| d.parse::<i64>().ok()) else { continue };
                    if day < keep_from {
                        sqlx::query(&format!("DROP TABLE IF EXISTS flows_d{day}")).execute(self.flow_pool()).await?;
                        self.partitions.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&day);
                    }
                }
            }
        }
        sqlx::query("DELETE FROM flow_days WHERE day < $1").bind(keep_from).execute(self.flow_pool()).await?;
        Ok(dropped)
    }
}

/// Which end of a flow a condition is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Src,
    Dst,
    /// Either end.
    Any,
}

/// One condition on stored flows (the filter language's terms, resolved: an asset is its address,
/// a relative time is absolute).
#[derive(Debug, Clone, PartialEq)]
pub enum FlowTerm {
    /// Any of these networks (address, prefix length).
    Addr(Side, Vec<(IpAddr, u8)>),
    /// Any of these port ranges (inclusive).
    Port(Side, Vec<(u16, u16)>),
    Proto(Vec<u8>),
    /// The outside end is in any of these countries.
    Country(Vec<String>),
    /// Risk within (inclusive).
    Risk(u8, u8),
    Threat(Vec<String>),
    Alerted(bool),
    /// Any of these profiles: 0 = `cicflowmeter`, 1 = `conn`.
    Profile(Vec<u8>),
    Source(Vec<String>),
}

/// Conditions ANDed, each possibly negated, in a time range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowFilter {
    /// Traffic time, Unix ms: `from` inclusive, `until` exclusive.
    pub from: Option<i64>,
    pub until: Option<i64>,
    pub terms: Vec<(FlowTerm, bool)>,
}

/// The first and last address of a network, as stored bytes.
pub fn net_range(ip: IpAddr, prefix: u8) -> (Vec<u8>, Vec<u8>) {
    let mut lo = ip_bytes(ip);
    let mut hi = lo.clone();
    let bits = lo.len() * 8;
    let prefix = usize::from(prefix).min(bits);
    for bit in prefix..bits {
        let (byte, mask) = (bit / 8, 0x80u8 >> (bit % 8));
        lo[byte] &= !mask;
        hi[byte] |= mask;
    }
    (lo, hi)
}

/// A value bound to a query.
#[derive(Debug, Clone, PartialEq)]
enum Bind {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// A WHERE clause with `$N` placeholders (both backends) and its values.
#[derive(Debug, Default)]
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    fn and(&mut self, cond: &str) {
        self.text.push_str(if self.text.is_empty() { " WHERE " } else { " AND " });
        self.text.push_str(cond);
    }

    fn query<'q>(&self, sql: &'q str) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql);
        for b in &self.binds {
            q = match b {
                Bind::Int(v) => q.bind(*v),
                Bind::Text(v) => q.bind(v.clone()),
                Bind::Bytes(v) => q.bind(v.clone()),
            };
        }
        q
    }
}

fn either(side: Side, one: impl Fn(&str) -> String) -> String {
    match side {
        Side::Src => one("src"),
        Side::Dst => one("dst"),
        Side::Any => format!("({} OR {})", one("src"), one("dst")),
    }
}

fn where_clause(f: &FlowFilter) -> Sql {
    let mut sql = Sql::default();
    if let Some(from) = f.from {
        let p = sql.bind(Bind::Int(from));
        sql.and(&format!("at >= {p}"));
    }
    if let Some(until) = f.until {
        let p = sql.bind(Bind::Int(until));
        sql.and(&format!("at < {p}"));
    }
    for (term, negated) in &f.terms {
        let cond = match term {
            FlowTerm::Addr(side, nets) => {
                let ranges: Vec<(String, String, i64)> = nets
                    .iter()
                    .map(|&(ip, prefix)| {
                        let (lo, hi) = net_range(ip, prefix);
                        let len = lo.len() as i64;
                        (sql.bind(Bind::Bytes(lo)), sql.bind(Bind::Bytes(hi)), len)
                    })
                    .collect();
                let any = |col: &str| {
                    let parts: Vec<String> = ranges
                        .iter()
                        .map(|(lo, hi, len)| format!("({col} BETWEEN {lo} AND {hi} AND length({col}) = {len})"))
                        .collect();
                    format!("({})", parts.join(" OR "))
                };
                either(*side, any)
            }
            FlowTerm::Port(side, ranges) => {
                // One port is an equality (so the `(dport, at)` index also gives the time order).
                let ranges: Vec<(String, Option<String>)> = ranges
                    .iter()
                    .map(|&(a, b)| {
                        let first = sql.bind(Bind::Int(i64::from(a)));
                        (first, (a != b).then(|| sql.bind(Bind::Int(i64::from(b)))))
                    })
                    .collect();
                let any = |end: &str| {
                    let col = if end == "src" { "sport" } else { "dport" };
                    let parts: Vec<String> = ranges
                        .iter()
                        .map(|(a, b)| match b {
                            None => format!("{col} = {a}"),
                            Some(b) => format!("{col} BETWEEN {a} AND {b}"),
                        })
                        .collect();
                    format!("({})", parts.join(" OR "))
                };
                either(*side, any)
            }
            FlowTerm::Proto(list) => in_list(&mut sql, "proto", list.iter().map(|&p| Bind::Int(i64::from(p)))),
            FlowTerm::Country(codes) => {
                in_list(&mut sql, "cc", codes.iter().map(|c| Bind::Text(c.to_ascii_uppercase())))
            }
            FlowTerm::Risk(lo, hi) => {
                let (a, b) = (sql.bind(Bind::Int(i64::from(*lo))), sql.bind(Bind::Int(i64::from(*hi))));
                // The literal lets the planner use the partial index of risky flows (`risk >= 50`).
                let risky = if *lo >= 50 { "risk >= 50 AND " } else { "" };
                format!("({risky}risk BETWEEN {a} AND {b})")
            }
            FlowTerm::Threat(list) => in_list(&mut sql, "threat", list.iter().map(|t| Bind::Text(t.clone()))),
            FlowTerm::Alerted(a) => format!("alerted = {}", i64::from(*a)),
            FlowTerm::Profile(list) => in_list(&mut sql, "profile", list.iter().map(|&p| Bind::Int(i64::from(p)))),
            FlowTerm::Source(list) => in_list(&mut sql, "source", list.iter().map(|t| Bind::Text(t.clone()))),
        };
        // A missing country is neither in nor out of a list: NOT keeps those rows.
        sql.and(&if *negated { format!("NOT COALESCE({cond}, FALSE)") } else { cond });
    }
    sql
}

fn in_list(sql: &mut Sql, col: &str, values: impl Iterator<Item = Bind>) -> String {
    let binds: Vec<String> = values.map(|b| sql.bind(b)).collect();
    if binds.is_empty() {
        return "FALSE".into();
    }
    format!("{col} IN ({})", binds.join(", "))
}

const READ_COLUMNS: &str = "id, at, src, dst, sport, dport, proto, bytes_out, bytes_in, pkts_out, pkts_in, \
                            duration_ms, risk, threat, alerted, profile, source, token_id, cc";

fn record_of(r: &sqlx::any::AnyRow) -> Result<FlowRecord> {
    let addr = |col: &'static str| -> Result<IpAddr> {
        let b: Vec<u8> = r.try_get(col)?;
        ip_of_bytes(&b).ok_or_else(|| StoreError::Corrupt { column: col, detail: format!("{} bytes", b.len()) })
    };
    let int = |col: &'static str| -> Result<i64> { Ok(r.try_get::<i64, _>(col)?) };
    let small = |col: &'static str, max: i64| -> Result<i64> {
        let v = int(col)?;
        if (0..=max).contains(&v) {
            Ok(v)
        } else {
            Err(StoreError::Corrupt { column: col, detail: v.to_string() })
        }
    };
    let profile = match int("profile")? {
        0 => "cicflowmeter",
        _ => "conn",
    };
    Ok(FlowRecord {
        id: int("id")?,
        at: int("at")?,
        src: addr("src")?,
        dst: addr("dst")?,
        sport: small("sport", 65_535)? as u16,
        dport: small("dport", 65_535)? as u16,
        proto: small("proto", 255)? as u8,
        bytes_out: int("bytes_out")?.max(0) as u64,
        bytes_in: int("bytes_in")?.max(0) as u64,
        pkts_out: int("pkts_out")?.max(0) as u64,
        pkts_in: int("pkts_in")?.max(0) as u64,
        duration_ms: int("duration_ms")?.max(0) as u64,
        risk: small("risk", 100)? as u8,
        threat: r.try_get("threat")?,
        alerted: int("alerted")? != 0,
        profile: profile.to_string(),
        source: r.try_get("source")?,
        token_id: r.try_get("token_id")?,
        cc: r.try_get("cc")?,
    })
}

/// How a search spends its time ([`Db::hunt_flows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchBudget {
    /// Wall time after which no further slice of the range is searched.
    pub time: std::time::Duration,
    /// Histogram buckets over the range (at most).
    pub buckets: i64,
}

impl Default for SearchBudget {
    fn default() -> Self {
        SearchBudget { time: std::time::Duration::from_millis(250), buckets: 48 }
    }
}

/// A bucket width of at most `buckets` buckets over `span` ms, rounded up to a readable one.
pub fn bucket_width(span: i64, buckets: i64) -> i64 {
    const WIDTHS: [i64; 12] = [
        60_000,
        300_000,
        900_000,
        1_800_000,
        3_600_000,
        3 * 3_600_000,
        6 * 3_600_000,
        12 * 3_600_000,
        DAY_MS,
        7 * DAY_MS,
        30 * DAY_MS,
        365 * DAY_MS,
    ];
    let (span, buckets) = (span.max(1), buckets.max(1));
    let want = (span + buckets - 1) / buckets;
    WIDTHS.into_iter().find(|&w| w >= want).unwrap_or(want)
}

impl Db {
    /// The oldest and newest traffic times stored (`None` when no flow is).
    pub async fn flow_time_range(&self) -> Result<Option<(i64, i64)>> {
        // Two lone aggregates: each reads one end of the time index (together they would scan it).
        let row = sqlx::query("SELECT (SELECT MIN(at) FROM flows) AS lo, (SELECT MAX(at) FROM flows) AS hi")
            .fetch_one(self.flow_pool())
            .await?;
        let (lo, hi): (Option<i64>, Option<i64>) = (row.try_get("lo")?, row.try_get("hi")?);
        Ok(lo.zip(hi))
    }

    /// Searches the flows matching `f`: a page in `sort` order (after `cursor`), how many matched,
    /// and a histogram over the range (the filter's, else everything stored). A filter with an
    /// indexed term (an address or network, a destination port, a country, a high risk) is answered
    /// in one pass over that index ([`index_for`]), counting at most the newest [`INDEXED_CAP`]
    /// matches. Any other is
    /// read in time slices, newest first, within `budget`: each slice sized to take about half the
    /// time left. Either
    /// way, when the result does not cover the whole range it says how far back it got
    /// (`searched_from`, `complete` false), so every search answers in time and says what it covered
    /// instead of scanning every stored flow.
    pub async fn hunt_flows(
        &self,
        f: &FlowFilter,
        sort: FlowSort,
        cursor: Option<FlowCursor>,
        limit: i64,
        budget: SearchBudget,
    ) -> Result<FlowSearch> {
        let started = std::time::Instant::now();
        let limit = limit.clamp(1, 1_000);
        let Some((lo, hi)) = self.flow_time_range().await? else {
            return Ok(FlowSearch { complete: true, ..FlowSearch::default() });
        };
        let from = f.from.unwrap_or(lo);
        let until = f.until.unwrap_or(hi + 1);
        let bucket_ms = bucket_width(until - from, budget.buckets);
        let origin = from - from.rem_euclid(bucket_ms.min(DAY_MS));
        let mut histogram: std::collections::BTreeMap<i64, u64> = std::collections::BTreeMap::new();
        let mut matched = 0u64;
        let mut page: Vec<FlowRecord> = Vec::new();
        // Newest-first pages are filled while slicing; other orders once the slices are done.
        let newest = sort == FlowSort::Newest;
        let page_until = match (newest, cursor) {
            (true, Some(c)) => c.key.saturating_add(1).min(until),
            _ => until,
        };
        let mut searched_from = until;
        if let Some(index) = index_for(f) {
            // One pass over the term's index, newest first, up to the cap: beyond it the result
            // covers its newest part.
            let hint = self.hint(index);
            let (buckets, oldest) = self.capped_buckets(f, from, until, origin, bucket_ms, hint).await?;
            for (k, n) in buckets {
                *histogram.entry(k).or_default() += n;
                matched += n;
            }
            searched_from = if matched >= INDEXED_CAP { oldest.unwrap_or(from) } else { from };
            if newest {
                let c = cursor.filter(|c| c.key < page_until);
                page = self.flow_page(f, from, page_until, FlowSort::Newest, c, limit + 1, hint).await?;
            }
        } else {
            // Time slices, newest first, growing while they are quick.
            let mut slice_end = until;
            let mut width = ((until - from) / 4096).max(60_000);
            while slice_end > from {
                let slice_start = slice_end.saturating_sub(width).max(from);
                let t = std::time::Instant::now();
                for (k, n) in self.flow_buckets(f, slice_start, slice_end, origin, bucket_ms).await? {
                    *histogram.entry(k).or_default() += n;
                    matched += n;
                }
                if newest && page.len() as i64 <= limit && slice_start < page_until {
                    let need = limit + 1 - page.len() as i64;
                    let c = cursor.filter(|c| c.key < slice_end.min(page_until));
                    let rows = self
                        .flow_page(f, slice_start, slice_end.min(page_until), FlowSort::Newest, c, need, self.by_time())
                        .await?;
                    page.extend(rows);
                }
                searched_from = slice_start;
                slice_end = slice_start;
                if started.elapsed() >= budget.time {
                    break;
                }
                // The next slice should take about half of what is left (at most twice as wide).
                let left = budget.time.saturating_sub(started.elapsed()).as_secs_f64();
                let ratio = (left / 2.0 / t.elapsed().as_secs_f64().max(1e-6)).clamp(0.25, 2.0);
                width = ((width as f64 * ratio) as i64).max(60_000);
            }
        }
        let complete = searched_from <= from;
        if !newest {
            page = self.flow_page(f, searched_from, until, sort, cursor, limit + 1, "").await?;
        }
        let next = if page.len() as i64 > limit {
            page.truncate(limit as usize);
            page.last().map(|l| FlowCursor { key: sort_key(sort, l), id: l.id }.encode())
        } else {
            None
        };
        Ok(FlowSearch {
            flows: page,
            next,
            matched,
            histogram: histogram.into_iter().map(|(k, n)| (origin + k * bucket_ms, n)).collect(),
            bucket_ms,
            from,
            until,
            searched_from,
            complete,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// SQLite plans a time range given as parameters without knowing how narrow it is, and for a
    /// term without an index may scan the whole table; a slice names the time index.
    fn by_time(&self) -> &'static str {
        self.hint(Some("flows_by_time"))
    }

    /// ` INDEXED BY <index>` on SQLite; nothing on PostgreSQL, which plans with the values.
    fn hint(&self, index: Option<&'static str>) -> &'static str {
        match (self.backend(), index) {
            (Backend::Sqlite, Some("flows_by_time")) => " INDEXED BY flows_by_time",
            (Backend::Sqlite, Some("flows_by_src")) => " INDEXED BY flows_by_src",
            (Backend::Sqlite, Some("flows_by_dst")) => " INDEXED BY flows_by_dst",
            (Backend::Sqlite, Some("flows_by_risk")) => " INDEXED BY flows_by_risk",
            (Backend::Sqlite, Some("flows_by_dport")) => " INDEXED BY flows_by_dport",
            _ => "",
        }
    }

    /// The newest [`INDEXED_CAP`] matching flows of `[lo, hi)` per bucket, and the oldest time among
    /// them.
    async fn capped_buckets(
        &self,
        f: &FlowFilter,
        lo: i64,
        hi: i64,
        origin: i64,
        bucket_ms: i64,
        hint: &str,
    ) -> Result<(Vec<(i64, u64)>, Option<i64>)> {
        let mut sql = where_clause(f);
        let (a, b) = (sql.bind(Bind::Int(lo)), sql.bind(Bind::Int(hi)));
        sql.and(&format!("at >= {a} AND at < {b}"));
        let cap = sql.bind(Bind::Int(INDEXED_CAP as i64));
        let (o, w) = (sql.bind(Bind::Int(origin)), sql.bind(Bind::Int(bucket_ms)));
        let text = format!(
            "SELECT CAST((at - {o}) / {w} AS BIGINT) AS k, COUNT(*) AS n, MIN(at) AS oldest FROM \
             (SELECT at FROM flows{hint}{} ORDER BY at DESC LIMIT {cap}) AS m GROUP BY k",
            sql.text
        );
        let rows = sql.query(&text).fetch_all(self.flow_pool()).await?;
        let mut oldest: Option<i64> = None;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let at: i64 = r.try_get("oldest")?;
            oldest = Some(oldest.map_or(at, |o| o.min(at)));
            out.push((r.try_get("k")?, r.try_get::<i64, _>("n")?.max(0) as u64));
        }
        Ok((out, oldest))
    }

    /// Matching flows of `[lo, hi)` per bucket: (bucket index from `origin`, flows), read through the
    /// time index (a slice of a search without an indexed term).
    async fn flow_buckets(
        &self,
        f: &FlowFilter,
        lo: i64,
        hi: i64,
        origin: i64,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, u64)>> {
        let mut sql = where_clause(f);
        let (a, b) = (sql.bind(Bind::Int(lo)), sql.bind(Bind::Int(hi)));
        sql.and(&format!("at >= {a} AND at < {b}"));
        let (o, w) = (sql.bind(Bind::Int(origin)), sql.bind(Bind::Int(bucket_ms)));
        let text = format!(
            "SELECT CAST((at - {o}) / {w} AS BIGINT) AS k, COUNT(*) AS n FROM flows{}{} GROUP BY k",
            self.by_time(),
            sql.text
        );
        let rows = sql.query(&text).fetch_all(self.flow_pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("k")?, r.try_get::<i64, _>("n")?.max(0) as u64))).collect()
    }

    /// Up to `limit` matching flows of `[lo, hi)` in `sort` order, after `cursor`, read through the
    /// index `hint` names (`""`: the planner's choice).
    #[allow(clippy::too_many_arguments)]
    async fn flow_page(
        &self,
        f: &FlowFilter,
        lo: i64,
        hi: i64,
        sort: FlowSort,
        cursor: Option<FlowCursor>,
        limit: i64,
        hint: &str,
    ) -> Result<Vec<FlowRecord>> {
        let mut sql = where_clause(f);
        let (a, b) = (sql.bind(Bind::Int(lo)), sql.bind(Bind::Int(hi)));
        sql.and(&format!("at >= {a} AND at < {b}"));
        let (key, order) = match sort {
            FlowSort::Newest => ("at", "at DESC, id DESC"),
            FlowSort::Oldest => ("at", "at ASC, id ASC"),
            FlowSort::Risk => ("risk", "risk DESC, at DESC, id DESC"),
            FlowSort::Bytes => ("(bytes_out + bytes_in)", "(bytes_out + bytes_in) DESC, id DESC"),
        };
        if let Some(c) = cursor {
            let (k, i) = (sql.bind(Bind::Int(c.key)), sql.bind(Bind::Int(c.id)));
            let cmp = if sort == FlowSort::Oldest { ">" } else { "<" };
            sql.and(&format!("({key} {cmp} {k} OR ({key} = {k} AND id {cmp} {i}))"));
        }
        let lim = sql.bind(Bind::Int(limit.max(1)));
        let text = format!("SELECT {READ_COLUMNS} FROM flows{hint}{} ORDER BY {order} LIMIT {lim}", sql.text);
        let rows = sql.query(&text).fetch_all(self.flow_pool()).await?;
        rows.iter().map(record_of).collect()
    }

    /// The values of `column` with the most matching flows in `[lo, hi)`: (value, flows, bytes), at
    /// most `limit`. `column` is one of `src`, `dst`, `dport`, `proto`, `cc`, `threat`.
    pub async fn top_flow_values(
        &self,
        f: &FlowFilter,
        lo: i64,
        hi: i64,
        column: &str,
        limit: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        if !["src", "dst", "dport", "proto", "cc", "threat"].contains(&column) {
            return Err(StoreError::Invalid(format!("cannot group flows by {column}")));
        }
        let mut sql = where_clause(f);
        let (a, b) = (sql.bind(Bind::Int(lo)), sql.bind(Bind::Int(hi)));
        sql.and(&format!("at >= {a} AND at < {b} AND {column} IS NOT NULL"));
        let lim = sql.bind(Bind::Int(limit.clamp(1, 100)));
        let text = format!(
            "SELECT {column} AS v, COUNT(*) AS n, CAST(SUM(bytes_out + bytes_in) AS BIGINT) AS bytes FROM flows{} \
             GROUP BY {column} ORDER BY n DESC, bytes DESC LIMIT {lim}",
            sql.text
        );
        let rows = sql.query(&text).fetch_all(self.flow_pool()).await?;
        rows.iter()
            .map(|r| {
                let v = match column {
                    "src" | "dst" => {
                        let b: Vec<u8> = r.try_get("v")?;
                        ip_of_bytes(&b).map_or_else(|| "?".to_string(), |ip| ip.to_string())
                    }
                    "dport" | "proto" => r.try_get::<i64, _>("v")?.to_string(),
                    _ => r.try_get::<String, _>("v")?,
                };
                Ok((v, r.try_get("n")?, r.try_get("bytes")?))
            })
            .collect()
    }
}

/// Stored flows of one source, target, target port and protocol ([`Db::flows_touching`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowGroup {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    /// Traffic times (Unix ms) of the first and last flow.
    pub first: i64,
    pub last: i64,
    pub flows: i64,
}

impl Db {
    /// The stored flows from or to the network `ip/prefix` at or after `from`, grouped by source,
    /// target, target port and protocol, most flows first, at most `limit` groups per end (a
    /// retro-hunt of an indicator). Each end is one range of its address index.
    pub async fn flows_touching(&self, ip: IpAddr, prefix: u8, from: i64, limit: i64) -> Result<Vec<FlowGroup>> {
        let (lo, hi) = net_range(ip, prefix);
        let mut out: Vec<FlowGroup> = Vec::new();
        let mut seen: HashSet<(IpAddr, IpAddr, u16, u8)> = HashSet::new();
        for (column, index) in [("src", "flows_by_src"), ("dst", "flows_by_dst")] {
            let sql = format!(
                "SELECT src, dst, MIN(sport) AS sport, dport, proto, MIN(at) AS first, MAX(at) AS last, COUNT(*) AS n                  FROM flows{} WHERE {column} >= $1 AND {column} <= $2 AND at >= $3                  GROUP BY src, dst, dport, proto ORDER BY n DESC LIMIT $4",
                self.hint(Some(index))
            );
            let rows = sqlx::query(&sql)
                .bind(lo.clone())
                .bind(hi.clone())
                .bind(from)
                .bind(limit.clamp(1, 10_000))
                .fetch_all(self.flow_pool())
                .await?;
            for r in &rows {
                let addr = |col: &'static str| -> Result<IpAddr> {
                    let b: Vec<u8> = r.try_get(col)?;
                    ip_of_bytes(&b).ok_or(StoreError::Corrupt { column: "flows.src/dst", detail: format!("{b:?}") })
                };
                let g = FlowGroup {
                    src: addr("src")?,
                    dst: addr("dst")?,
                    sport: r.try_get::<i64, _>("sport")?.clamp(0, 65_535) as u16,
                    dport: r.try_get::<i64, _>("dport")?.clamp(0, 65_535) as u16,
                    proto: r.try_get::<i64, _>("proto")?.clamp(0, 255) as u8,
                    first: r.try_get("first")?,
                    last: r.try_get("last")?,
                    flows: r.try_get("n")?,
                };
                // A flow with both ends inside the network is found from either end once.
                if seen.insert((g.src, g.dst, g.dport, g.proto)) {
                    out.push(g);
                }
            }
        }
        Ok(out)
    }
}

/// Matches an indexed search counts at most: beyond it the result covers its newest part.
pub const INDEXED_CAP: u64 = 50_000;

/// Whether a term narrows the search through an index (`(src|dst|dport|risk|cc, at)`): then one pass
/// over that index answers; otherwise the time index is read slice by slice.
/// The index that narrows a search most, when a term has one: `Some(Some(name))` to name it to
/// SQLite, `Some(None)` for either address (SQLite reads both address indexes and merges them),
/// `None` when no term has an index (the time index is read slice by slice). Named because SQLite
/// plans with the parameters' values unknown: asked for the newest matches it would otherwise walk a
/// common port's index in time order and read every row for a rare term.
fn index_for(f: &FlowFilter) -> Option<Option<&'static str>> {
    // One network or port range per term (an OR of several is left to the planner, which reads the
    // index once per value).
    let narrow = |nets: &[(IpAddr, u8)], v4: u8, v6: u8| {
        nets.len() == 1 && nets.iter().all(|&(ip, p)| p >= if ip.is_ipv4() { v4 } else { v6 })
    };
    let positive = || f.terms.iter().filter(|(_, negated)| !negated).map(|(t, _)| t);
    // From the most selective kind of term to the least.
    let rank = |t: &FlowTerm| -> Option<(u8, Option<&'static str>)> {
        match t {
            FlowTerm::Addr(Side::Src, n) if narrow(n, 24, 64) => Some((0, Some("flows_by_src"))),
            FlowTerm::Addr(Side::Dst, n) if narrow(n, 24, 64) => Some((0, Some("flows_by_dst"))),
            FlowTerm::Addr(Side::Any, n) if narrow(n, 24, 64) => Some((1, None)),
            FlowTerm::Risk(lo, _) if *lo >= 50 => Some((2, Some("flows_by_risk"))),
            FlowTerm::Port(Side::Dst, r) if r.len() == 1 => Some((3, Some("flows_by_dport"))),
            FlowTerm::Port(Side::Dst, _) => Some((3, None)),
            FlowTerm::Addr(Side::Src, n) if narrow(n, 8, 32) => Some((4, Some("flows_by_src"))),
            FlowTerm::Addr(Side::Dst, n) if narrow(n, 8, 32) => Some((4, Some("flows_by_dst"))),
            FlowTerm::Addr(Side::Any, n) if narrow(n, 8, 32) => Some((5, None)),
            FlowTerm::Addr(_, n)
                if !n.is_empty() && n.iter().all(|&(ip, p)| p >= if ip.is_ipv4() { 8 } else { 32 }) =>
            {
                Some((6, None))
            }
            _ => None,
        }
    };
    positive().filter_map(rank).min_by_key(|r| r.0).map(|r| r.1)
}

fn sort_key(sort: FlowSort, f: &FlowRecord) -> i64 {
    match sort {
        FlowSort::Newest | FlowSort::Oldest => f.at,
        FlowSort::Risk => i64::from(f.risk),
        FlowSort::Bytes => f.bytes_out.saturating_add(f.bytes_in).min(i64::MAX as u64) as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_their_bytes() {
        for ip in ["10.1.2.3", "0.0.0.0", "2001:db8::1", "::ffff:10.0.0.1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_of_bytes(&ip_bytes(ip)), Some(ip));
        }
        assert_eq!(ip_of_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn rows_are_json_that_parses_with_every_column() {
        let f = NewFlow {
            at: 1_700_000_000_123,
            src: "10.0.0.1".parse().unwrap(),
            dst: "2001:db8::2".parse().unwrap(),
            sport: 50_000,
            dport: 443,
            proto: 6,
            bytes_out: u64::MAX,
            bytes_in: 5,
            pkts_out: 3,
            pkts_in: 2,
            duration_ms: 1_500,
            risk: 250,
            threat: "port_scan\"",
            alerted: true,
            profile: 1,
            cc: Some(*b"DE"),
        };
        let v: serde_json::Value = serde_json::from_str(&rows_json(&[f.clone(), f])).expect("valid JSON");
        let row = &v[1];
        assert_eq!(row.as_array().unwrap().len(), 16);
        assert_eq!(row[1], "0a000001");
        assert_eq!(row[2], "20010db8000000000000000000000002");
        assert_eq!(row[6], i64::MAX);
        assert_eq!(row[11], 100, "risk is clamped");
        assert_eq!(row[12], "unknown", "a key that would need escaping is not written");
        assert_eq!(row[15], "DE");
        assert_eq!(rows_json(&[]), "[]");
    }

    #[test]
    fn networks_are_ranges_of_their_bytes() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(net_range(ip("10.1.2.3"), 8), (vec![10, 0, 0, 0], vec![10, 255, 255, 255]));
        assert_eq!(net_range(ip("10.1.2.3"), 32), (vec![10, 1, 2, 3], vec![10, 1, 2, 3]));
        assert_eq!(net_range(ip("10.1.2.3"), 0), (vec![0; 4], vec![255; 4]));
        assert_eq!(net_range(ip("192.168.1.77"), 27).0, vec![192, 168, 1, 64]);
        let (lo, hi) = net_range(ip("2001:db8::1"), 32);
        assert_eq!((&lo[..4], &hi[4..]), (&[0x20, 0x01, 0x0d, 0xb8][..], &[255u8; 12][..]));
    }

    #[test]
    fn histogram_buckets_are_readable_widths() {
        assert_eq!(bucket_width(3_600_000, 48), 300_000);
        assert_eq!(bucket_width(DAY_MS, 48), 1_800_000);
        assert_eq!(bucket_width(7 * DAY_MS, 48), 6 * 3_600_000);
        assert_eq!(bucket_width(0, 48), 60_000);
    }

    #[test]
    fn the_flow_history_file_sits_beside_the_main_one() {
        let u = sqlite_flows_url;
        assert_eq!(u("sqlite://var/anomalyforge.db?mode=rwc"), "sqlite://var/anomalyforge-flows.db?mode=rwc");
        assert_eq!(u("sqlite:///tmp/x/a.b/data"), "sqlite:///tmp/x/a.b/data-flows");
        assert_eq!(u("sqlite:test.db"), "sqlite:test-flows.db");
        assert_eq!(u("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(u("sqlite://.hidden"), "sqlite://.hidden-flows");
    }

    #[test]
    fn days_are_utc_days_of_unix_time() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(-1), -1);
        assert_eq!(day_of(1_795_254_300_000), 20_778);
    }
}
