//! `/analyze` (analysts, responders, admins): upload a flow or log file and read what the detectors
//! make of it, without raising alerts; `/analyze/{id}`: one analysis's report.
//!
//! The upload streams the file to `POST /api/v1/analyses` with the browser's upload progress, which
//! is the analysis's progress (the server reads the body only as fast as it scores it). It needs
//! JavaScript; the page says so when the script has not loaded.

use crate::api::analyze::{delete_analysis, import_analysis, list_analyses, open_analysis, AnalysisList};
use crate::components::chart::ChartView;
use crate::components::errors::PanelErrors;
use crate::components::format::{bytes, grouped, utc};
use crate::components::guard::Guarded;
use crate::resource::resource;
use anomalyforge::analysis::{
    download_href, report_href, AnalysisReport, AnalysisSummary, FileFormat, ImportStatus, Talker, DEFAULT_SCATTER,
    SCATTER_FEATURES,
};
use anomalyforge::console::threat_title;
use anomalyforge::pages;
use anomalyforge::playbook::playbook_href;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn AnalyzePage() -> impl IntoView {
    view! {
        <Guarded page=pages::ANALYZE>
            <Analyze/>
        </Guarded>
    }
}

#[component]
pub fn AnalysisPage() -> impl IntoView {
    view! {
        <Guarded page=pages::ANALYZE>
            <Report/>
        </Guarded>
    }
}

/// Upload state: bytes sent of the total, and what is happening.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Upload {
    Idle,
    Sending { sent: f64, total: f64 },
    Failed(String),
}

#[component]
fn Analyze() -> impl IntoView {
    let (refresh, set_refresh) = signal(0u32);
    let list = resource(move || refresh.get(), |_| list_analyses());
    let (upload, set_upload) = signal(Upload::Idle);
    let (format, set_format) = signal("auto".to_string());
    let file_input = NodeRef::<leptos::html::Input>::new();
    let limit = Memo::new(move |_| list.get().and_then(|l| l.ok()).map(|l| l.max_upload_bytes));
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        start_upload(file_input, format.get_untracked(), limit.get_untracked(), set_upload);
    };
    let sending = move || matches!(upload.get(), Upload::Sending { .. });
    view! {
        <div class="analyze" data-test="page" data-page="/analyze">
            <h1>"Analyse a file"</h1>
            <p class="muted">"Upload a CICFlowMeter CSV, a Zeek conn.log (TSV or JSON) or a Suricata EVE file, plain or gzip. \
                Every record is scored by the running model and the behaviour detectors; nothing becomes an alert unless you import it."</p>
            <section class="panel" aria-labelledby="upload-title">
                <h2 id="upload-title">"Upload"</h2>
                <form class="filters analyze-form" on:submit=start data-test="analyze-form">
                    <div class="field wide">
                        <label for="analyze-file">"File"</label>
                        <input id="analyze-file" type="file" node_ref=file_input data-test="analyze-file"
                            accept=".csv,.log,.json,.jsonl,.ndjson,.gz,.txt,.tsv"/>
                    </div>
                    <div class="field">
                        <label for="analyze-format">"Format"</label>
                        <select id="analyze-format" data-test="analyze-format"
                            on:change=move |ev| set_format.set(event_target_value(&ev))>
                            <option value="auto" selected=true>"Detect from the file"</option>
                            {FileFormat::ALL.into_iter().map(|f| view! {
                                <option value=f.as_str()>{f.title()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <button type="submit" class="primary" data-test="analyze-submit" disabled=sending>"Analyse"</button>
                </form>
                <noscript><p class="muted">"Uploading needs JavaScript."</p></noscript>
                <Suspense fallback=|| ()>
                    {move || list.get().and_then(|l| l.ok()).map(|l| view! {
                        <p class="muted" data-test="analyze-limits">
                            {format!("Up to {} a file; you keep at most {} analyses, each for {} days.",
                                bytes(l.max_upload_bytes), l.max_per_user, l.retention_days)}
                        </p>
                    })}
                </Suspense>
                {move || match upload.get() {
                    Upload::Idle => ().into_any(),
                    Upload::Sending { sent, total } => {
                        let pct = if total > 0.0 { (sent / total * 100.0).floor() } else { 0.0 };
                        let text = if sent >= total && total > 0.0 {
                            "Read; building the report…".to_string()
                        } else {
                            format!("Reading and scoring: {pct} % ({} of {})", bytes(sent as u64), bytes(total as u64))
                        };
                        view! {
                            <div class="analyze-progress" data-test="analyze-progress" role="status">
                                <progress max="100" value=pct></progress>
                                <p>{text}</p>
                            </div>
                        }.into_any()
                    }
                    Upload::Failed(message) => view! {
                        <div class="error" role="alert" data-test="analyze-error"><p>{message}</p></div>
                    }.into_any(),
                }}
            </section>
            <section class="panel" aria-labelledby="analyses-title">
                <h2 id="analyses-title">"Analyses"</h2>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    <PanelErrors>
                        {move || Suspend::new(async move {
                            list.await.map(|l| view! { <AnalysisTable l refresh=set_refresh/> })
                        })}
                    </PanelErrors>
                </Transition>
            </section>
        </div>
    }
}

#[component]
fn AnalysisTable(l: AnalysisList, refresh: WriteSignal<u32>) -> impl IntoView {
    if l.analyses.is_empty() {
        return view! { <p class="muted" data-test="analyses-empty">"No analysis yet: upload a file above."</p> }
            .into_any();
    }
    let everyone = l.everyone;
    let delete = Action::new(move |id: &i64| {
        let id = *id;
        async move {
            let r = delete_analysis(id).await;
            refresh.update(|n| *n += 1);
            r
        }
    });
    view! {
        <div class="table-scroll">
            <table class="table" data-test="analyses">
                <thead><tr>
                    <th>"File"</th><th>"Format"</th><th class="num">"Records"</th><th class="num">"Alerting flows"</th>
                    <th class="num">"Rejected"</th><th>"Analysed"</th>{everyone.then(|| view! { <th>"By"</th> })}
                    <th>"Imported"</th><th>"Kept until"</th><th></th>
                </tr></thead>
                <tbody>
                    {l.analyses.into_iter().map(|a| {
                        let id = a.id;
                        view! {
                            <tr data-test="analysis-row">
                                <td><a href=report_href(a.id) data-test="analysis-link">{a.file_name.clone()}</a></td>
                                <td>{a.format.title()}</td>
                                <td class="num">{grouped(a.records as u64)}</td>
                                <td class="num">{grouped(a.alerts as u64)}</td>
                                <td class="num">{grouped(a.rejected as u64)}</td>
                                <td>{utc(a.created_at)}</td>
                                {everyone.then(|| view! { <td>{a.owner.clone()}</td> })}
                                <td>{import_words(&a)}</td>
                                <td>{utc(a.expires_at)}</td>
                                <td><button class="link" data-test="analysis-delete"
                                    on:click=move |_| { delete.dispatch(id); }>"Delete"</button></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn import_words(a: &AnalysisSummary) -> String {
    match &a.import {
        None => "no".into(),
        Some(i) => match i.status {
            ImportStatus::Running => format!("importing ({} records so far)", grouped(i.records as u64)),
            ImportStatus::Done => format!(
                "yes: {} alerts new, {} updated",
                grouped(i.alerts_created as u64),
                grouped(i.alerts_updated as u64)
            ),
            ImportStatus::Failed => format!("failed: {}", i.error.clone().unwrap_or_default()),
        },
    }
}

/// Sends the chosen file with the browser's upload progress, then opens its report.
#[allow(unused_variables)]
fn start_upload(
    input: NodeRef<leptos::html::Input>,
    format: String,
    limit: Option<u64>,
    set_upload: WriteSignal<Upload>,
) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Some(file) = input.get_untracked().and_then(|i| i.files()).and_then(|f| f.get(0)) else {
            set_upload.set(Upload::Failed("Choose a file first.".into()));
            return;
        };
        if let Some(limit) = limit.filter(|l| file.size() > *l as f64) {
            set_upload.set(Upload::Failed(format!(
                "{} is {}, larger than the limit of {}.",
                file.name(),
                bytes(file.size() as u64),
                bytes(limit)
            )));
            return;
        }
        let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
            set_upload.set(Upload::Failed("This browser cannot upload files here.".into()));
            return;
        };
        let url = format!(
            "/api/v1/analyses?name={}&format={}",
            anomalyforge::url_query::encode_component(&file.name()),
            anomalyforge::url_query::encode_component(&format)
        );
        if xhr.open("POST", &url).is_err() {
            set_upload.set(Upload::Failed("The upload could not start.".into()));
            return;
        }
        let _ = xhr.set_request_header("Content-Type", "application/octet-stream");
        let total = file.size();
        set_upload.set(Upload::Sending { sent: 0.0, total });
        if let Ok(up) = xhr.upload() {
            let progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                set_upload.set(Upload::Sending { sent: e.loaded(), total });
            });
            up.set_onprogress(Some(progress.as_ref().unchecked_ref()));
            progress.forget();
        }
        let done_xhr = xhr.clone();
        let navigate = leptos_router::hooks::use_navigate();
        let done = Closure::<dyn FnMut()>::new(move || {
            let status = done_xhr.status().unwrap_or(0);
            let text = done_xhr.response_text().ok().flatten().unwrap_or_default();
            let json: serde_json::Value = serde_json::from_slice(text.as_bytes()).unwrap_or_default();
            if status == 200 {
                if let Some(id) = json.get("id").and_then(|v| v.as_i64()) {
                    set_upload.set(Upload::Idle);
                    navigate(&report_href(id), Default::default());
                    return;
                }
            }
            let message = json
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("The analysis failed (HTTP {status})."));
            set_upload.set(Upload::Failed(message));
        });
        xhr.set_onload(Some(done.as_ref().unchecked_ref()));
        done.forget();
        let failed = Closure::<dyn FnMut()>::new(move || {
            set_upload.set(Upload::Failed("The upload stopped: the connection to the server was lost.".into()));
        });
        xhr.set_onerror(Some(failed.as_ref().unchecked_ref()));
        failed.forget();
        if xhr.send_with_opt_blob(Some(&file)).is_err() {
            set_upload.set(Upload::Failed("The upload could not start.".into()));
        }
    }
}

#[component]
fn Report() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0)));
    let (tick, set_tick) = signal(0u32);
    let report = resource(move || (id.get(), tick.get()), |(id, _)| open_analysis(id));
    // While an import runs, look again every two seconds.
    Effect::new(move |_| {
        let running = report
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|(s, _)| s.import.as_ref().is_some_and(|i| i.status == ImportStatus::Running));
        if running {
            set_timeout(move || set_tick.update(|t| *t += 1), std::time::Duration::from_secs(2));
        }
    });
    view! {
        <div class="analyze" data-test="page" data-page="/analyze">
            <p><a href=pages::ANALYZE.path>"← All analyses"</a></p>
            <Transition fallback=|| view! { <p class="muted">"Loading the report…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        report.await.map(|(s, r)| view! { <ReportBody s r set_tick/> })
                    })}
                </PanelErrors>
            </Transition>
        </div>
    }
}

#[component]
fn ReportBody(s: AnalysisSummary, r: AnalysisReport, set_tick: WriteSignal<u32>) -> impl IntoView {
    let id = s.id;
    let r = StoredValue::new(r);
    let (x, set_x) = signal(DEFAULT_SCATTER.0.to_string());
    let (y, set_y) = signal(DEFAULT_SCATTER.1.to_string());
    let scatter = Signal::derive(move || r.with_value(|r| r.scatter_chart(&x.get(), &y.get())));
    let import = Action::new(move |_: &()| async move {
        let out = import_analysis(id).await;
        set_tick.update(|t| *t += 1);
        out
    });
    let rep = r.get_value();
    let pct =
        |n: u64, of: u64| if of == 0 { "0 %".to_string() } else { format!("{:.1} %", n as f64 / of as f64 * 100.0) };
    let import_state = s.import.clone();
    let can_import = import_state.as_ref().is_none_or(|i| i.status == ImportStatus::Failed);
    view! {
        <h1 data-test="report-title">{format!("Analysis of {}", s.file_name)}</h1>
        <p class="muted" data-test="report-meta">
            {format!("{}, {}{} · analysed {} by {} with model {} in {:.1} s · kept until {}",
                s.format.title(), bytes(s.bytes as u64), if rep.compressed { " gzip" } else { "" },
                utc(s.created_at), s.owner, s.model_version, rep.seconds, utc(s.expires_at))}
        </p>
        <section class="panel" aria-labelledby="figures-title">
            <h2 id="figures-title">"In short"</h2>
            <div class="kpi-cards" data-test="report-figures">
                <Figure label="Records read" value=grouped(rep.records)/>
                <Figure label="Flows scored" value=grouped(rep.flows)/>
                <Figure label="Alerting flows" value=format!("{} ({})", grouped(rep.alerts), pct(rep.alerts, rep.flows))/>
                <Figure label="Behaviour findings" value=grouped(rep.findings.len() as u64)/>
                <Figure label="Signature events" value=grouped(rep.signatures)/>
                <Figure label="Rejected" value=grouped(rep.rejected)/>
            </div>
            <div class="report-actions">
                <a class="button" href=download_href(id, "report.html") download data-test="download-html">"Report (HTML)"</a>
                <a class="button" href=download_href(id, "rows.csv") download data-test="download-csv">"Scored rows (CSV)"</a>
                <a class="button" href=download_href(id, "rows.jsonl") download data-test="download-jsonl">"Scored rows (JSON lines)"</a>
                {can_import.then(|| view! {
                    <button class="primary" data-test="import-alerts" disabled=move || import.pending().get()
                        on:click=move |_| { import.dispatch(()); }>"Import as alerts"</button>
                })}
            </div>
            {move || import.value().get().and_then(|r| r.err()).map(|e| view! {
                <div class="error" role="alert" data-test="import-error"><p>{e.to_string()}</p></div>
            })}
            {import_state.map(|i| view! {
                <p data-test="import-state" class="muted">{import_words(&s)}
                    {(i.status == ImportStatus::Done).then(|| view! {
                        " · " <a href="/soc" data-test="import-soc-link">"see them on the console"</a>
                    })}
                </p>
            })}
        </section>
        <section class="panel" aria-labelledby="charts-title">
            <h2 id="charts-title">"Verdicts"</h2>
            <div class="chart-grid">
                <ChartView chart=rep.threat_chart()/>
                <ChartView chart=rep.risk_chart()/>
            </div>
            {if rep.timeline.points.is_empty() {
                view! { <p class="muted">"The file's records carry no timestamps: no timeline."</p> }.into_any()
            } else {
                view! { <div class="chart-grid"><ChartView chart=rep.timeline_chart()/></div> }.into_any()
            }}
            <div class="filters">
                <div class="field">
                    <label for="scatter-x">"Across"</label>
                    <select id="scatter-x" data-test="scatter-x" on:change=move |ev| set_x.set(event_target_value(&ev))>
                        {SCATTER_FEATURES.iter().map(|f| view! { <option value=*f selected=*f == DEFAULT_SCATTER.0>{*f}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="scatter-y">"Up"</label>
                    <select id="scatter-y" data-test="scatter-y" on:change=move |ev| set_y.set(event_target_value(&ev))>
                        {SCATTER_FEATURES.iter().map(|f| view! { <option value=*f selected=*f == DEFAULT_SCATTER.1>{*f}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            <div class="chart-grid" data-test="scatter"><ChartView chart=scatter/></div>
        </section>
        <section class="panel" aria-labelledby="traffic-title">
            <h2 id="traffic-title">"Traffic"</h2>
            <div class="chart-grid">
                <ChartView chart=rep.protocol_chart()/>
                <ChartView chart=rep.service_chart()/>
            </div>
            {rep.tops_approximate.then(|| view! { <p class="muted">"A very varied file: the lists keep its busiest keys, and their counts may be slightly short."</p> })}
            <div class="chart-grid">
                <TalkerTable title="Top sources" rows=rep.sources.clone()/>
                <TalkerTable title="Top destinations" rows=rep.destinations.clone()/>
            </div>
        </section>
        <section class="panel" aria-labelledby="riskiest-title" data-test="riskiest">
            <h2 id="riskiest-title">"The riskiest flows"</h2>
            {if rep.riskiest.is_empty() { view! { <p class="muted">"No flow to show."</p> }.into_any() } else { view! {
                <div class="table-scroll"><table class="table">
                    <thead><tr><th class="num">"Line"</th><th>"Source"</th><th>"Destination"</th><th>"Threat"</th><th class="num">"Risk"</th><th>"Why"</th></tr></thead>
                    <tbody>
                        {rep.riskiest.iter().map(|f| view! {
                            <tr data-test="risky-row">
                                <td class="num">{f.line}</td>
                                <td>{f.src.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{f.dst.clone().unwrap_or_else(|| f.service.clone().unwrap_or_else(|| "—".into()))}</td>
                                <td>{if f.alert { threat_title(&f.threat) } else { "no alert".to_string() }}
                                    {f.label.clone().map(|l| view! { <br/><span class="muted">{format!("labelled {l}")}</span> })}</td>
                                <td class="num">{f.risk}</td>
                                <td>{reasons_view(f.reasons.clone())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table></div>
            }.into_any() }}
            {rep.playbooks.iter().map(|p| view! {
                <details class="playbook" data-test="report-playbook">
                    <summary>{format!("Playbook: {}", p.title)}</summary>
                    <p>{p.summary.clone()}</p>
                    <ol>{p.steps.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ol>
                    <p><a href=playbook_href(&p.threat)>"Open the playbook"</a></p>
                </details>
            }).collect_view()}
        </section>
        <section class="panel" aria-labelledby="findings-title" data-test="findings">
            <h2 id="findings-title">"Behaviour findings"</h2>
            {if rep.findings.is_empty() {
                view! { <p class="muted">"No scan, beacon, brute force or flood pattern in this file."</p> }.into_any()
            } else { view! {
                <ul class="findings">{rep.findings.iter().map(|f| view! {
                    <li><strong>{threat_title(&f.threat)}</strong>{format!(" · risk {} · {} connections · ", f.risk, grouped(f.connections))}
                        {f.summary.clone()}</li>
                }).collect_view()}</ul>
            }.into_any() }}
        </section>
        <section class="panel" aria-labelledby="model-title" data-test="model-comparison">
            <h2 id="model-title">"Against what the model knows"</h2>
            <ModelComparisonView r=rep.clone()/>
        </section>
        {(!rep.rejected_rows.is_empty()).then(|| view! {
            <section class="panel" aria-labelledby="rejected-title" data-test="rejected">
                <h2 id="rejected-title">{format!("Rejected rows ({})", grouped(rep.rejected))}</h2>
                <ul>{rep.rejected_rows.iter().map(|(l, why)| view! { <li>{format!("line {l}: {why}")}</li> }).collect_view()}</ul>
            </section>
        })}
    }
}

/// The first reason, and the rest behind a disclosure.
fn reasons_view(mut reasons: Vec<String>) -> impl IntoView {
    let first = if reasons.is_empty() { String::new() } else { reasons.remove(0) };
    view! {
        <p class="reason">{first}</p>
        {(!reasons.is_empty()).then(|| view! {
            <details>
                <summary>{format!("{} more", reasons.len())}</summary>
                <ul class="reasons">{reasons.into_iter().map(|x| view! { <li>{x}</li> }).collect_view()}</ul>
            </details>
        })}
    }
}

#[component]
fn Figure(label: &'static str, value: String) -> impl IntoView {
    view! { <div class="kpi-card"><span class="kpi-label">{label}</span><span class="kpi-value">{value}</span></div> }
}

#[component]
fn TalkerTable(title: &'static str, rows: Vec<Talker>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="table">
                <caption>{title}</caption>
                <thead><tr><th>"Address"</th><th class="num">"Flows"</th><th class="num">"Bytes"</th><th class="num">"Alerting"</th></tr></thead>
                <tbody>
                    {if rows.is_empty() {
                        view! { <tr><td colspan="4" class="muted">"The file carries no addresses."</td></tr> }.into_any()
                    } else {
                        rows.into_iter().map(|t| view! {
                            <tr><td>{t.key}</td><td class="num">{grouped(t.flows)}</td><td class="num">{bytes(t.bytes)}</td><td class="num">{grouped(t.alerts)}</td></tr>
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ModelComparisonView(r: AnalysisReport) -> impl IntoView {
    let m = r.model;
    let percent = |v: f64| format!("{:.2} %", v * 100.0);
    let evaluated = m
        .evaluated
        .iter()
        .map(|(p, fpr, recall)| format!("{p}: {} of attacks found at {} false alerts", percent(*recall), percent(*fpr)))
        .collect::<Vec<_>>()
        .join("; ");
    view! {
        <p>{format!("Model {}, trained on {}. Its evaluation: {}.", m.model_version,
            if m.trained_on.is_empty() { "files not recorded".to_string() } else { m.trained_on.join(", ") },
            if evaluated.is_empty() { "not recorded".to_string() } else { evaluated })}</p>
        <p data-test="alert-rate">{format!("In this file, {} of the flows alert.", percent(m.alert_rate))}</p>
        {m.labelled.map(|l| view! {
            <p data-test="labelled">{format!("On the file's own labels: {} of {} attack flows alert (recall {}), and {} of {} benign flows (false-positive rate {}).",
                grouped(l.attacks_alerted), grouped(l.attacks), l.recall().map(percent).unwrap_or_else(|| "—".into()),
                grouped(l.benign_alerted), grouped(l.benign), l.false_positive_rate().map(percent).unwrap_or_else(|| "—".into()))}</p>
        })}
        <ul data-test="drift">
            {m.profiles.iter().map(|p| view! {
                <li>{format!("{} flows scored with the {} profile: drift {:.3}, the traffic {}.", grouped(p.flows), p.profile, p.psi, p.level.words())}
                    {(!p.top.is_empty()).then(|| format!(" Moved most: {}.", p.top.iter().map(|(f, v)| format!("{f} ({v:.2})")).collect::<Vec<_>>().join(", ")))}
                </li>
            }).collect_view()}
        </ul>
    }
}
