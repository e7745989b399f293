//! File analysis over HTTP, for signed-in analysts, responders and admins (the `/analyze` page uses
//! these; so can a script with a session):
//! - `POST /api/v1/analyses?name=<file name>&format=<csv|zeek|eve>`: the file is the request body
//!   (plain or gzip), streamed into the analyser as it arrives: it is never held whole, and a slow
//!   analysis slows the upload down (the browser's upload progress is the analysis's progress).
//!   `format` may be left out to detect it. The answer is the kept analysis's summary.
//! - `GET /api/v1/analyses/{id}/rows.csv`, `…/rows.jsonl`: the scored rows, streamed;
//! - `GET /api/v1/analyses/{id}/report.html`: the report as one self-contained HTML file.
//!
//! Errors are JSON `{"error": kind, "message": text}`: 401/403 for who, 404 for an analysis that is
//! not there or not yours, 413 past the size limits, 503 with `Retry-After` when the server already
//! reads as many files as it may, 409 when the user keeps as many analyses as allowed, 400 for a
//! file that cannot be read (the message says why, with the first bad line).

use std::io::{self, Write};

use crate::authorized::{AnalyseFiles, Authorized};
use anomalyforge::analysis::service::Analyses;
use anomalyforge::analysis::FileFormat;
use app::error::AppError;
use app::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::TryStreamExt;
use serde::Deserialize;

/// The routes, with the analysis upload limit instead of the pages' body limit.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/analyses", post(upload)).route("/api/v1/analyses/{id}/{file}", get(download))
}

/// The analysis service, or why there is none.
fn service(st: &AppState) -> Result<Analyses, AppError> {
    st.analyses.clone().ok_or_else(|| {
        AppError::Unavailable("file analysis is off on this server (it needs ingest and `[analysis] enabled`)".into())
    })
}

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    pub name: Option<String>,
    pub format: Option<String>,
}

/// Analyses the uploaded file and keeps the result.
#[utoipa::path(
    post, path = "/api/v1/analyses", tag = "analysis",
    params(
        ("name" = Option<String>, Query, description = "The file's name, shown in the report and given to imported alerts"),
        ("format" = Option<String>, Query, description = "`csv`, `zeek` or `eve`; detected from the first line when absent"),
    ),
    request_body(content = String, content_type = "application/octet-stream",
        description = "The file: CICFlowMeter CSV, Zeek conn.log (TSV or JSON) or Suricata EVE, plain or gzip"),
    responses(
        (status = 200, description = "The kept analysis (its report is at /analyze/{id})"),
        (status = 400, description = "The file cannot be read; the message says why"),
        (status = 401, description = "No session"), (status = 403, description = "Not a SOC role"),
        (status = 409, description = "The user keeps as many analyses as allowed"),
        (status = 413, description = "The upload, or what it expands to, is larger than the limit"),
        (status = 503, description = "As many files are being analysed as the server allows; retry after `Retry-After` seconds"),
    ),
    security(("session" = []))
)]
pub async fn upload(
    State(st): State<AppState>,
    Authorized { user, .. }: Authorized<AnalyseFiles>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let analyses = service(&st)?;
    let format = match q.format.as_deref().map(str::trim).filter(|f| !f.is_empty() && *f != "auto") {
        None => None,
        Some(f) => Some(
            FileFormat::parse(f)
                .ok_or_else(|| AppError::BadRequest(format!("unknown format `{f}`: use csv, zeek or eve")))?,
        ),
    };
    let limit = analyses.config().max_upload_bytes;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(AppError::TooLarge(format!("the upload is larger than the limit of {limit} bytes")));
    }
    let permit = analyses.admit(&user).await?;
    let stream = body.into_data_stream().map_err(io::Error::other);
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let name = q.name.unwrap_or_default();
    let summary = analyses.analyze(permit, &user, &name, format, reader).await?;
    Ok(axum::Json(summary).into_response())
}

/// One of an analysis's downloads.
#[utoipa::path(
    get, path = "/api/v1/analyses/{id}/{file}", tag = "analysis",
    params(
        ("id" = i64, Path, description = "The analysis"),
        ("file" = String, Path, description = "`rows.csv`, `rows.jsonl` or `report.html`"),
    ),
    responses(
        (status = 200, description = "The scored rows (CSV or JSON lines), or the report as one self-contained HTML file"),
        (status = 401, description = "No session"), (status = 403, description = "Not a SOC role"),
        (status = 404, description = "No such analysis or file, or not yours"),
    ),
    security(("session" = []))
)]
pub async fn download(
    State(st): State<AppState>,
    Authorized { user, .. }: Authorized<AnalyseFiles>,
    Path((id, file)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    let analyses = service(&st)?;
    let row = analyses.get(&user, id).await?;
    let stem = download_stem(&row.summary.file_name);
    let attachment = |ext: &str| format!("attachment; filename=\"{stem}-{ext}\"");
    match file.as_str() {
        "report.html" => {
            let (summary, report) = analyses.report(&user, id).await?;
            let html = anomalyforge::analysis::html::render(&summary, &report);
            Ok((
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, attachment("report.html")),
                ],
                html,
            )
                .into_response())
        }
        "rows.csv" | "rows.jsonl" => {
            let path = analyses.rows_file(&user, id).await?;
            let rows = anomalyforge::analysis::files::open_rows(&path).map_err(|e| {
                tracing::error!(analysis = id, error = %e, "an analysis's rows are missing");
                AppError::NotFound("this analysis's rows are no longer kept".into())
            })?;
            let csv = file == "rows.csv";
            let body = stream_blocking(move |out| {
                if csv {
                    anomalyforge::analysis::files::rows_to_csv(rows, out)
                } else {
                    let mut rows = rows;
                    let mut out = out;
                    io::copy(&mut rows, &mut out).map(|_| ())
                }
            });
            let ctype = if csv { "text/csv; charset=utf-8" } else { "application/x-ndjson" };
            Ok(([(header::CONTENT_TYPE, ctype.to_string()), (header::CONTENT_DISPOSITION, attachment(&file))], body)
                .into_response())
        }
        _ => Err(AppError::NotFound("an analysis has rows.csv, rows.jsonl and report.html".into())),
    }
}

/// The file name without its extension(s), safe in a `Content-Disposition` header.
fn download_stem(name: &str) -> String {
    let base = name.split('.').next().unwrap_or("");
    let clean: String = base.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).take(80).collect();
    if clean.is_empty() {
        "analysis".into()
    } else {
        clean
    }
}

/// A response body written by `write` on a blocking thread, sent as it is written.
fn stream_blocking(write: impl FnOnce(ChunkWriter) -> io::Result<()> + Send + 'static) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let out = ChunkWriter { tx: tx.clone(), buf: Vec::with_capacity(CHUNK) };
        if let Err(e) = write(out) {
            tracing::warn!(error = %e, "a download stopped");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    Body::from_stream(stream)
}

const CHUNK: usize = 64 * 1024;

/// Sends what is written in chunks of [`CHUNK`] bytes; the last part when dropped.
pub struct ChunkWriter {
    tx: tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client left"))
    }
}

impl Drop for ChunkWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_header_safe() {
        assert_eq!(download_stem("capture 2026.csv.gz"), "capture2026");
        assert_eq!(download_stem("\"; evil=.csv"), "evil");
        assert_eq!(download_stem("..."), "analysis");
    }
}
