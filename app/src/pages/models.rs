//! `/models` (analysts, admins): the running model version, every kept version, and for the one
//! viewed its training data (files and digests), split results, per-class precision/recall/F1, the
//! confusion-matrix heat map and feature importances. Admins start a retrain or "learn this
//! network's normal" (background, with progress) and activate any version — rollback included. Forms are `ActionForm`s, so the page
//! works before the WASM arrives; once hydrated it follows a running retrain by itself.

use crate::api::models::{
    get_retrain_status, load_models_overview, load_site_sample, ActivateVersion, StartLearning, StartRetrain,
};
use crate::components::chart::ChartView;
use crate::components::errors::PanelErrors;
use crate::components::format::{grouped, utc};
use crate::components::guard::Guarded;
use crate::components::session::use_session;
use crate::resource::{resource, Resource};
use anomalyforge::baseline::{BehaviourThreshold, SiteBaseline, SiteSampleInfo};
use anomalyforge::detection::{AnomalyGate, ClassMetrics, EvalReport, TrainingFile};
use anomalyforge::model_version::{
    Comparison, InsightState, JobState, ModelVersionInfo, ModelsOverview, RetrainStatus, VersionDetail, TOLERANCES,
};
use anomalyforge::pages;
use anomalyforge::role::Role;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// How often the hydrated page asks for news while a retrain runs or an insight is computed.
const POLL_MS: u64 = 1500;

#[component]
pub fn ModelsPage() -> impl IntoView {
    view! {
        <Guarded page=pages::MODELS>
            <Models/>
        </Guarded>
    }
}

#[component]
fn Models() -> impl IntoView {
    let session = use_session();
    let is_admin = move || session.user.with(|u| u.as_ref().is_some_and(|u| u.role == Role::Admin));
    let query = use_query_map();
    let viewed = move || query.read().get("version").filter(|v| !v.is_empty());
    let retrain = ServerAction::<StartRetrain>::new();
    let learn = ServerAction::<StartLearning>::new();
    let activate = ServerAction::<ActivateVersion>::new();
    // Bumped by the poller: `status` every tick, `overview` when something it shows has moved on.
    let tick = RwSignal::new(0u64);
    let epoch = RwSignal::new(0u64);
    let status =
        resource(move || (tick.get(), retrain.version().get(), learn.version().get()), |_| get_retrain_status());
    let sample = resource(move || (learn.version().get(), epoch.get()), |_| load_site_sample());
    let overview =
        resource(move || (viewed(), activate.version().get(), epoch.get()), |(v, _, _)| load_models_overview(v));

    // What the poller watches: a running job, or an insight being computed.
    let running =
        Memo::new(move |_| status.get().and_then(|s| s.ok()).flatten().is_some_and(|s| s.state == JobState::Running));
    let computing = Memo::new(move |_| {
        overview.get().and_then(|o| o.ok()).and_then(|o| o.detail).is_some_and(|d| d.insight == InsightState::Computing)
    });
    // A job that stops running changes the versions table: fetch the overview again.
    Effect::new(move |was_running: Option<bool>| {
        let now = running.get();
        if was_running == Some(true) && !now {
            epoch.update(|e| *e += 1);
        }
        now
    });
    poll_while(
        move || running.get_untracked() || computing.get_untracked(),
        move || {
            tick.update(|t| *t += 1);
            if computing.get_untracked() {
                epoch.update(|e| *e += 1);
            }
        },
    );

    view! {
        <section class="panel" data-test="page" data-page="/models">
            <h1>"Detection models"</h1>
            <p class="muted">"The ensemble that scores every flow: which version runs, what it was trained on, and how well it did on "
                "rows it never saw in training. Every retrained version is kept; the running one can be switched back at any time."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading the model versions…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        overview.await.map(|o| view! { <Versions overview=o activate admin=is_admin()/> })
                    })}
                </PanelErrors>
            </Transition>
        </section>
        <RetrainPanel retrain status admin=Signal::derive(is_admin)/>
        <BaselinePanel learn sample status admin=Signal::derive(is_admin)/>
        <div id="drift"><crate::components::drift::DriftPanel/></div>
        <Transition fallback=|| ()>
            <PanelErrors>
                {move || Suspend::new(async move {
                    overview.await.map(|o| match (o.detail, o.detail_error) {
                        (Some(d), _) => view! { <Detail detail=d/> }.into_any(),
                        (None, e) => view! {
                            <section class="panel"><p class="error" role="alert" data-test="detail-error">{e.unwrap_or_default()}</p></section>
                        }.into_any(),
                    })
                })}
            </PanelErrors>
        </Transition>
    }
}

/// Calls `tick` every [`POLL_MS`] while `active()` holds (in the browser only; the server renders
/// once).
fn poll_while(active: impl Fn() -> bool + 'static, tick: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if active() {
                    tick();
                }
            },
            std::time::Duration::from_millis(POLL_MS),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (active, tick, POLL_MS);
    }
}

#[component]
fn Versions(overview: ModelsOverview, activate: ServerAction<ActivateVersion>, admin: bool) -> impl IntoView {
    let activate_error = move || activate.value().get().and_then(Result::err);
    let activated = move || activate.value().get().and_then(Result::ok);
    let running = overview.versions.iter().find(|v| v.running).cloned();
    let active = overview.versions.iter().find(|v| v.active).cloned();
    let viewed = overview.detail.as_ref().map(|d| d.id.clone());
    view! {
        {overview.notes.into_iter().map(|n| view! { <p class="error" role="status" data-test="models-note">{n}</p> }).collect_view()}
        <p data-test="running-version">
            {match (&running, &active) {
                (Some(r), _) => view! { "Running: " <strong>{r.id.clone()}</strong> " · " <code>{r.model_version.clone()}</code> }.into_any(),
                (None, Some(a)) => view! { "Active (runs when ingest is on): " <strong>{a.id.clone()}</strong> " · " <code>{a.model_version.clone()}</code> }.into_any(),
                (None, None) => view! { <span class="muted">"No model version could be read."</span> }.into_any(),
            }}
        </p>
        {move || activate_error().map(|e| view! { <p class="error" role="alert" data-test="activate-error">{e.to_string()}</p> })}
        {move || activated().map(|a| view! {
            <p class="notice" role="status" data-test="activated">
                {if a.from == a.to { format!("{} is already active.", a.to) } else { format!("Activated {} (was {}). New batches are scored with it.", a.to, a.from) }}
            </p>
        })}
        <table class="table" data-test="versions">
            <thead>
                <tr>
                    <th>"Version"</th><th>"Model"</th><th>"Created"</th><th>"cicflowmeter F1 / recall / FPR"</th>
                    <th>"conn F1 / recall / FPR"</th><th>"Against the version it would replace"</th><th></th>
                </tr>
            </thead>
            <tbody>
                {overview.versions.into_iter().map(|v| {
                    let is_viewed = viewed.as_deref() == Some(v.id.as_str());
                    view! { <VersionRow version=v activate admin viewed=is_viewed/> }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn VersionRow(
    version: ModelVersionInfo,
    activate: ServerAction<ActivateVersion>,
    admin: bool,
    viewed: bool,
) -> impl IntoView {
    let v = version;
    let figures = |profile: &str| {
        v.headline
            .iter()
            .find(|h| h.profile.name() == profile)
            .map(|h| {
                format!("{:.3} / {:.4} / {:.4}", h.metrics.macro_f1, h.metrics.attack_recall, h.metrics.benign_fpr)
            })
            .unwrap_or_else(|| "—".into())
    };
    let (full, conn) = (figures("cicflowmeter"), figures("conn"));
    let comparison = match &v.comparison {
        Some(c) => view! {
            <span class=if c.not_worse { "badge" } else { "badge warn" }>{if c.not_worse { "not worse" } else { "worse" }}</span>
            " " <span class="muted">{c.summary()}</span>
        }
        .into_any(),
        None => view! { <span class="muted">"shipped with the server"</span> }.into_any(),
    };
    let href = format!("/models?version={}", v.id);
    let id = v.id.clone();
    view! {
        <tr data-version=v.id.clone() class:viewed=viewed>
            <td>
                <strong>{v.id.clone()}</strong>
                {v.active.then(|| view! { " " <span class="badge" data-test="active">"active"</span> })}
                {v.running.then(|| view! { " " <span class="badge" data-test="running">"running"</span> })}
            </td>
            <td><code>{v.model_version.clone()}</code></td>
            <td>{v.created_at.replace('T', " ").replace('Z', " UTC")}{v.created_by.clone().map(|by| format!(" by {by}"))}</td>
            <td>{full}</td>
            <td>{conn}</td>
            <td>{comparison}</td>
            <td class="actions">
                {(!viewed).then(|| view! { <a href=href.clone() data-test="view-version">"View"</a> })}
                {(admin && !v.active).then(|| view! {
                    <ActionForm action=activate>
                        <input type="hidden" name="version" value=id.clone()/>
                        <button type="submit" class="small" data-test="activate">
                            {if v.comparison.is_none() { "Roll back to this" } else { "Activate" }}
                        </button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

#[component]
fn RetrainPanel(
    retrain: ServerAction<StartRetrain>,
    status: Resource<Result<Option<RetrainStatus>, crate::error::AppError>>,
    admin: Signal<bool>,
) -> impl IntoView {
    let start_error = move || retrain.value().get().and_then(Result::err);
    view! {
        <section class="panel" data-test="retrain-panel">
            <h2>"Retraining"</h2>
            <p class="muted">
                "A retrain trains a new version on the server's training files with the active version's settings, in the "
                "background at low priority so that ingest keeps scoring. It is kept whatever its quality, and replaces the "
                "running model only if it is not worse on the same held-out rows, for each feature profile: macro-F1 at most "
                {format!("{}", TOLERANCES.macro_f1)} " lower, attack recall at most " {format!("{}", TOLERANCES.attack_recall)}
                " lower, benign false-positive rate at most " {format!("{}", TOLERANCES.benign_fpr)} " higher."
            </p>
            {move || start_error().map(|e| view! { <p class="error" role="alert" data-test="retrain-error">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading the retrain status…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        status.await.map(|s| {
                            let busy = s.as_ref().is_some_and(|s| s.state == JobState::Running);
                            view! {
                                {admin.get().then(|| view! {
                                    <ActionForm action=retrain>
                                        <button type="submit" class="primary" data-test="retrain" disabled=busy>
                                            {if busy { "Retraining…" } else { "Retrain on the shipped data" }}
                                        </button>
                                    </ActionForm>
                                })}
                                {match s {
                                    Some(s) => view! { <JobView job=s/> }.into_any(),
                                    None => view! { <p class="muted" data-test="no-retrain">"No retrain since the server started."</p> }.into_any(),
                                }}
                            }
                        })
                    })}
                </PanelErrors>
            </Transition>
        </section>
    }
}

/// "Learn this network's normal": what the pipeline kept of this network's traffic, and the button.
#[component]
fn BaselinePanel(
    learn: ServerAction<StartLearning>,
    sample: Resource<Result<SiteSampleInfo, crate::error::AppError>>,
    status: Resource<Result<Option<RetrainStatus>, crate::error::AppError>>,
    admin: Signal<bool>,
) -> impl IntoView {
    let start_error = move || learn.value().get().and_then(Result::err);
    view! {
        <section class="panel" data-test="baseline-panel">
            <h2>"This network's normal"</h2>
            <p class="muted">
                "The models learned one lab's traffic. The pipeline keeps a uniform sample of the flows it scores; learning "
                "this network's normal fits the anomaly models again on that sample (leaving out flows that alerted and "
                "addresses confirmed malicious, adding flows analysts marked as false positives as normal), sets the anomaly "
                "layer's and the operating thresholds on it, and makes it the drift reference. The result is a new version, "
                "switched to only if it alerts on no more of this network's held-out normal flows and keeps macro-F1 and "
                "attack recall on the labelled held-out rows within the tolerances above."
            </p>
            {move || start_error().map(|e| view! { <p class="error" role="alert" data-test="learn-error">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading the sample…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        let info = sample.await?;
                        let busy = status.await?.is_some_and(|s| s.state == JobState::Running);
                        let ready = info.profiles.iter().any(|p| p.kept >= info.min_rows);
                        let schedule = if info.schedule_hours == 0 {
                            "Not scheduled (AF_BASELINE__SCHEDULE_HOURS).".to_string()
                        } else {
                            format!("Scheduled every {} hours.", info.schedule_hours)
                        };
                        Ok::<_, crate::error::AppError>(view! {
                            {if info.profiles.is_empty() {
                                view! { <p class="muted" data-test="no-sample">"Ingest is off: nothing is sampled."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="table compact" data-test="site-sample">
                                        <thead><tr><th>"Profile"</th><th>"Flows scored"</th><th>"Kept"</th><th>"Needed"</th></tr></thead>
                                        <tbody>
                                            {info.profiles.iter().map(|p| view! {
                                                <tr>
                                                    <td>{p.profile.name()}</td>
                                                    <td>{p.seen}</td>
                                                    <td>{format!("{} of at most {}", p.kept, info.sample_size)}</td>
                                                    <td>{info.min_rows}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                            <p class="muted">{schedule}</p>
                            {admin.get().then(|| view! {
                                <ActionForm action=learn>
                                    <button type="submit" class="primary" data-test="learn-normal" disabled=busy || !ready>
                                        "Learn this network's normal"
                                    </button>
                                    {(!ready).then(|| view! {
                                        <span class="muted">{format!(" Needs {} kept flows of one profile.", info.min_rows)}</span>
                                    })}
                                </ActionForm>
                            })}
                        })
                    })}
                </PanelErrors>
            </Transition>
        </section>
    }
}

#[component]
fn JobView(job: RetrainStatus) -> impl IntoView {
    let head = format!(
        "{} — job {} started by {} at {} on {}",
        job.kind.title(),
        job.job,
        job.started_by,
        utc(job.started_at),
        job.files.join(", ")
    );
    view! {
        <div class="retrain-job" data-test="retrain-status" data-state=format!("{:?}", job.state).to_lowercase()>
            <p class="muted">{head}</p>
            {match job.state {
                JobState::Running => view! {
                    <p role="status">
                        <progress max="100" value=format!("{:.0}", job.percent) data-test="retrain-progress"></progress>
                        {format!(" {:.0} % — {}", job.percent, job.stage)}
                    </p>
                    <p class="muted">"This page follows the progress by itself; without JavaScript, reload it."</p>
                }
                .into_any(),
                JobState::Succeeded => view! {
                    <p class=if job.activated { "notice" } else { "error" } role="status" data-test="retrain-result">
                        {match (&job.version, job.activated) {
                            (Some(v), true) => format!("Finished: version {v} is not worse and now runs."),
                            (Some(v), false) => format!("Finished: version {v} was kept but not activated ({})." , job.stage),
                            (None, _) => "Finished.".to_string(),
                        }}
                        {job.finished_at.map(|t| format!(" {}", utc(t)))}
                    </p>
                    {job.comparison.map(|c| view! { <ComparisonTable comparison=c/> })}
                }
                .into_any(),
                JobState::Failed => view! {
                    <p class="error" role="alert" data-test="retrain-failed">
                        {format!("The job failed; the running model is unchanged. {}", job.error.unwrap_or_default())}
                    </p>
                }
                .into_any(),
            }}
        </div>
    }
}

#[component]
fn ComparisonTable(comparison: Comparison) -> impl IntoView {
    view! {
        <p class="muted">{format!("Compared with {} on the {}.", comparison.baseline, comparison.split)}</p>
        <table class="table compact" data-test="comparison">
            <thead><tr><th>"Profile"</th><th>"Metric"</th><th>{comparison.baseline.clone()}</th><th>"New"</th><th>"Allowed"</th><th></th></tr></thead>
            <tbody>
                {comparison.checks.into_iter().map(|c| view! {
                    <tr class:failed={!c.passed}>
                        <td>{c.profile.name()}</td>
                        <td>{c.metric.title()}</td>
                        <td>{format!("{:.4}", c.baseline)}</td>
                        <td>{format!("{:.4}", c.candidate)}</td>
                        <td>{format!("{} {:.4}", if c.metric.higher_is_better() { "≥" } else { "≤" }, c.limit)}</td>
                        <td>{if c.passed { view! { <span class="badge">"ok"</span> }.into_any() } else { view! { <span class="badge warn">"worse"</span> }.into_any() }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {comparison.notes.into_iter().map(|n| view! { <p class="muted">{n}</p> }).collect_view()}
    }
}

#[component]
fn Detail(detail: VersionDetail) -> impl IntoView {
    let d = detail;
    let random: Vec<EvalReport> = d.evaluation.iter().filter(|r| r.split == "random").cloned().collect();
    view! {
        <section class="panel" data-test="version-detail" data-version=d.id.clone()>
            <h2>{format!("Version {} — {}", d.id, d.model_version)}</h2>
            <p class="muted">{format!("Trained {} with engine {} (seed {}).", d.created_at.replace('T', " ").replace('Z', " UTC"), d.engine_version, d.seed)}</p>
            <h3>"Training data"</h3>
            <TrainingFiles files=d.training_files.clone()/>
            <h3>"Feature profiles"</h3>
            <table class="table compact" data-test="profiles">
                <thead><tr><th>"Profile"</th><th>"Features"</th><th>"Training rows"</th><th>"Held-out rows"</th><th>"Operating threshold (risk)"</th><th>"Anomaly layer"</th><th>"Training time"</th></tr></thead>
                <tbody>
                    {d.profiles.iter().map(|p| view! {
                        <tr>
                            <td>{p.profile.name()}</td>
                            <td>{p.features}</td>
                            <td>{p.train_rows}</td>
                            <td>{p.test_rows}</td>
                            <td>{format!("{:.2}", p.operating_threshold)}</td>
                            <td data-test="anomaly-layer">{anomaly_layer(p.anomaly_gate.as_ref())}</td>
                            <td>{format!("{:.1} s", p.training_seconds)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <p class="muted">"The anomaly layer alerts on a flow the classifier calls benign when it is far from every benign "
                "flow the anomaly models learned (an attack never seen), within a budget of benign flows set on validation rows; "
                "it stays silent for a source whose traffic drifted from what they learned, until this network's normal is learned."</p>
            {d.site_baseline.clone().map(|b| view! { <SiteBaselineView baseline=b/> })}
            {(!d.behaviour_thresholds.is_empty())
                .then(|| view! { <BehaviourThresholds thresholds=d.behaviour_thresholds.clone()/> })}
            <h3>"Split results"</h3>
            <p class="muted">"Random: the stratified held-out split of the training data. By day and leave-one-family-out retrain "
                "per fold and test on a day, or an attack family, the models never saw (recorded by the evaluation runs)."</p>
            <SplitTable reports=d.evaluation.clone()/>
            <h3>"Attack families never seen, with the behaviour detectors"</h3>
            <UnseenFamilies reports=d.evaluation.clone()/>
        </section>
        <section class="panel" data-test="real-networks">
            <h2>"Real networks"</h2>
            <RealNetworks evals=d.network_evaluation.clone()/>
        </section>
        <section class="panel" data-test="per-class-panel">
            <h2>"Per-class precision, recall and F1 (held-out split)"</h2>
            {random.into_iter().map(|r| view! { <PerClass report=r/> }).collect_view()}
        </section>
        <section class="panel" data-test="insight">
            <h2>"Confusion matrix and feature importance"</h2>
            {match d.insight {
                InsightState::Ready(i) => view! {
                    <p class="muted">{format!("On the {}. Importance: the mean absolute contribution of each feature to the classifier's score of the class it predicted (the same contributions alerts list as their reasons).", i.split)}</p>
                    <div class="chart-grid">
                        {d.charts.into_iter().map(|c| view! {
                            <div data-test="profile-charts" data-profile=c.profile.name()>
                                <ChartView chart=c.confusion/>
                                <ChartView chart=c.importances/>
                            </div>
                        }).collect_view()}
                    </div>
                }.into_any(),
                InsightState::Computing => view! {
                    <p class="muted" role="status" data-test="insight-computing">"Computing the confusion matrices and feature importances from the held-out split (a few seconds)…"</p>
                }.into_any(),
                InsightState::Unavailable(reason) => view! {
                    <p class="muted" data-test="insight-unavailable">{format!("Not available: {reason}.")}</p>
                }.into_any(),
            }}
        </section>
        <section class="panel">
            <details>
                <summary>"Hyper-parameters and notes"</summary>
                <pre class="hyperparameters">{d.hyperparameters}</pre>
                <ul>{d.notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
            </details>
        </section>
    }
}

/// "second of three ≥ 1.15 (0.48 % of validation benign flows, 38 % of attacks)".
fn anomaly_layer(gate: Option<&AnomalyGate>) -> String {
    match gate {
        None => "off".to_string(),
        Some(g) => {
            let recall =
                g.validation_attack_recall.map_or(String::new(), |r| format!(", {:.0} % of attacks", r * 100.0));
            format!(
                "{} ≥ {:.2} ({:.2} % of validation benign flows{recall})",
                g.combine.words(),
                g.threshold,
                g.validation_benign_fpr * 100.0
            )
        }
    }
}

/// What "learn this network's normal" did to this version, profile by profile.
#[component]
fn SiteBaselineView(baseline: SiteBaseline) -> impl IntoView {
    let pct = |v: f64| format!("{:.2} %", v * 100.0);
    let thr = |v: Option<f64>| v.map_or("off".to_string(), |v| format!("{v:.2}"));
    view! {
        <h3>"Learned this network's normal"</h3>
        <p class="muted" data-test="site-baseline">{format!(
            "From {} on {}, starting from {}. Figures on held-out flows of the sample, never fitted on.",
            baseline.sample, baseline.learned_at.replace('T', " ").replace('Z', " UTC"), baseline.base_version
        )}</p>
        <table class="table compact" data-test="site-baseline-table">
            <thead><tr>
                <th>"Profile"</th><th>"Flows used (left out: alerted / malicious)"</th><th>"Analysts' false positives"</th>
                <th>"Drift before (PSI)"</th><th>"Operating threshold"</th><th>"Anomaly threshold"</th>
                <th>"Normal flows alerting: before → after"</th>
            </tr></thead>
            <tbody>
                {baseline.profiles.iter().map(|p| view! {
                    <tr>
                        <td>{p.profile.name()}</td>
                        <td>{format!("{} ({} / {})", p.fit_rows + p.calibration_rows + p.holdout_rows, p.excluded_alerted, p.excluded_malicious)}</td>
                        <td>{format!("{} ({} → {} alerting)", p.false_positives, p.false_positives_alerting_before, p.false_positives_alerting_after)}</td>
                        <td>{format!("{:.2}", p.drift_psi_before)}</td>
                        <td>{format!("{:.2} → {:.2}", p.operating_threshold_before, p.operating_threshold_after)}</td>
                        <td>{format!("{} → {}", thr(p.anomaly_threshold_before), thr(p.anomaly_threshold_after))}</td>
                        <td>{format!("{} → {} (alerting before, anomaly layer silenced for drift: {})", pct(p.holdout_alert_rate_before), pct(p.holdout_alert_rate_after), pct(p.holdout_alerting_before))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {baseline.unchanged.into_iter().map(|u| view! { <p class="muted">{format!("Unchanged: {u}.")}</p> }).collect_view()}
    }
}

/// Behaviour-detector thresholds this version uses, raised by analysts' false positives.
#[component]
fn BehaviourThresholds(thresholds: Vec<BehaviourThreshold>) -> impl IntoView {
    let value = |v: f64| if v.fract() != 0.0 || v < 0.0 { format!("{v:.2}") } else { grouped(v as u64) };
    let opt = move |v: Option<f64>| v.map_or("—".to_string(), value);
    view! {
        <h3>"Behaviour thresholds from analysts' feedback"</h3>
        <p class="muted">"Each behaviour alert an analyst marked a false positive raises the threshold its pattern reached to "
            "just above it; alerts they acknowledged or resolved keep it at or under theirs. No threshold goes below the "
            "configured value or above its ceiling (three times a count, four times a volume, halfway from a score to 1): "
            "past it, suppress the host pair instead."</p>
        <table class="table compact" data-test="behaviour-thresholds">
            <thead><tr>
                <th>"Setting"</th><th>"Configured"</th><th>"This version"</th><th>"Ceiling"</th>
                <th>"False positives (now quiet; highest)"</th><th>"Kept detections (lowest)"</th>
            </tr></thead>
            <tbody>
                {thresholds.into_iter().map(|t| view! {
                    <tr data-setting=t.setting.clone()>
                        <td><code>{t.setting.clone()}</code></td>
                        <td>{value(t.configured)}</td>
                        <td>{value(t.learned)}</td>
                        <td>{value(t.ceiling)}</td>
                        <td>{format!("{} ({} quiet; {})", t.false_positives, t.false_positives_silenced, opt(t.false_positive_peak))}</td>
                        <td>{format!("{} ({})", t.kept_detections, opt(t.kept_floor))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn TrainingFiles(files: Vec<TrainingFile>) -> impl IntoView {
    view! {
        <table class="table compact" data-test="training-files">
            <thead><tr><th>"File"</th><th>"SHA-256"</th><th>"Rows"</th><th>"Rejected rows"</th></tr></thead>
            <tbody>
                {files.into_iter().map(|f| view! {
                    <tr><td><code>{f.path}</code></td><td><code class="digest">{f.sha256}</code></td><td>{f.rows}</td><td>{f.rejected_rows}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn SplitTable(reports: Vec<EvalReport>) -> impl IntoView {
    let mut reports = reports;
    reports.sort_by(|a, b| (a.profile.name(), split_order(&a.split)).cmp(&(b.profile.name(), split_order(&b.split))));
    let opt = |v: f64, used: bool| if used { format!("{v:.4}") } else { "—".to_string() };
    view! {
        <table class="table compact" data-test="splits">
            <thead><tr><th>"Profile"</th><th>"Split"</th><th>"Rows"</th><th>"Macro-F1"</th><th>"Macro-F1 (verdicts)"</th><th>"Attack recall"</th><th>"Benign FPR"</th><th>"PR-AUC"</th></tr></thead>
            <tbody>
                {reports.into_iter().map(|r| {
                    // Per-class figures of held-out days or families pool classes never trained on.
                    let classes = r.split == "random" || r.split == "whole-file";
                    view! {
                        <tr data-split=r.split.clone() data-profile=r.profile.name()>
                            <td>{r.profile.name()}</td>
                            <td>{r.split.clone()}</td>
                            <td>{r.test_rows}</td>
                            <td>{opt(r.macro_f1, classes)}</td>
                            <td>{opt(r.macro_f1_verdict, classes)}</td>
                            <td>{format!("{:.4}", r.attack_recall)}</td>
                            <td>{format!("{:.4}", r.benign_fpr)}</td>
                            <td>{format!("{:.3}", r.pr_auc)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Leave-one-family-out recall of the ensemble alone and with the behaviour detectors.
#[component]
fn UnseenFamilies(reports: Vec<EvalReport>) -> impl IntoView {
    // (profile, recall of the ensemble alone, recall and benign FPR with the behaviour detectors)
    type Row = (&'static str, f64, Option<(f64, f64)>);
    let rows: Vec<Row> = reports
        .iter()
        .filter(|r| r.split == "leave-one-family-out")
        .map(|r| {
            let find = |model: &str| r.recall.iter().find(|x| x.model == model && x.group == "all");
            (
                r.profile.name(),
                find("ensemble").map_or(r.attack_recall, |x| x.recall),
                find("ensemble+behaviour").map(|x| (x.recall, x.benign_fpr)),
            )
        })
        .collect();
    if rows.is_empty() {
        return view! { <p class="muted">"No leave-one-family-out evaluation is recorded for this version."</p> }
            .into_any();
    }
    view! {
        <p class="muted">"Each attack family is left out of training in turn and tested on. The behaviour detectors learn nothing; "
            "a held-out attack counts for them when they flagged its host pair with a threat type that names its family (a scan for port scans, a flood for DoS)."</p>
        <table class="table compact" data-test="unseen-families">
            <thead><tr><th>"Profile"</th><th>"Recall, ensemble alone"</th><th>"Recall, with behaviour detectors"</th><th>"Benign FPR, with behaviour detectors"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|(profile, alone, with)| view! {
                    <tr data-profile=profile>
                        <td>{profile}</td>
                        <td>{format!("{alone:.3}")}</td>
                        <td>{with.map_or_else(|| "not measured".to_string(), |w| format!("{:.3}", w.0))}</td>
                        <td>{with.map_or_else(|| "—".to_string(), |w| format!("{:.4}", w.1))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Figures on labelled real-network logs, per capture and overall.
#[component]
fn RealNetworks(evals: Vec<anomalyforge::detection::NetworkEval>) -> impl IntoView {
    if evals.is_empty() {
        return view! { <p class="muted">"No real-network evaluation is recorded for this version (run anomalyforge eval on labelled Zeek logs with --record)."</p> }.into_any();
    }
    let pct = |n: u64, d: u64| if d == 0 { "—".to_string() } else { format!("{:.2} %", 100.0 * n as f64 / d as f64) };
    view! {
        <p class="muted">"Labelled Zeek logs from networks other than CIC-IDS2017, streamed in batches through the models and the behaviour "
            "detectors with the server's defaults. A connection counts as alerted when its host pair carries an alert; benign pairs have only benign connections."</p>
        {evals.into_iter().map(|e| view! {
            <h3><code>{e.data.clone()}</code></h3>
            <table class="table compact" data-test="network-eval">
                <thead><tr><th>"Capture"</th><th>"Connections"</th><th>"Malicious in alerted pairs"</th><th>"Benign in alerted pairs"</th><th>"Benign pairs alerted"</th><th>"False alerts per host-day"</th></tr></thead>
                <tbody>
                    {e.captures.iter().chain(std::iter::once(&e.overall)).filter(|f| e.captures.len() > 1 || f.name != "all").map(|f| view! {
                        <tr data-capture=f.name.clone()>
                            <td>{f.name.clone()}</td>
                            <td>{f.connections}</td>
                            <td>{format!("{} of {} ({})", f.malicious_alerted, f.malicious, pct(f.malicious_alerted, f.malicious))}</td>
                            <td>{pct(f.benign_alerted, f.benign)}</td>
                            <td>{format!("{} of {}", f.benign_pairs_alerted, f.benign_pairs)}</td>
                            <td>{format!("{:.2}", f.false_alerts_per_host_day())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <ul class="small">
                {e.overall.per_label.iter().filter(|l| l.malicious).map(|l| view! {
                    <li>{format!(
                        "{}: {} of {} connections in alerted pairs{}",
                        l.label,
                        l.alerted,
                        l.connections,
                        l.latency_secs.map_or(String::new(), |s| format!("; first alert {s:.0} s after the first connection"))
                    )}</li>
                }).collect_view()}
            </ul>
        }).collect_view()}
        <p class="muted small">"Not caught by design: beacons slower than every 2 minutes (operating systems and antivirus call home like clockwork at 5–30 minutes), "
            "a command channel that stays one long connection, payload attacks on connection summaries. See the README, \"Detection on real networks\"."</p>
    }
    .into_any()
}

fn split_order(split: &str) -> u8 {
    match split {
        "random" => 0,
        "by-day" => 1,
        "leave-one-family-out" => 2,
        _ => 3,
    }
}

#[component]
fn PerClass(report: EvalReport) -> impl IntoView {
    let rows: Vec<ClassMetrics> = report.per_class;
    view! {
        <h3>{format!("{} — {} held-out rows, macro-F1 {:.4}", report.profile.name(), report.test_rows, report.macro_f1)}</h3>
        <table class="table compact" data-test="per-class" data-profile=report.profile.name()>
            <thead><tr><th>"Class"</th><th>"Rows"</th><th>"Predicted"</th><th>"Precision"</th><th>"Recall"</th><th>"F1"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|c| view! {
                    <tr data-class=c.class.name() class:weak={c.f1 < 0.95}>
                        <td>{c.class.title()}</td>
                        <td>{c.support}</td>
                        <td>{c.predicted}</td>
                        <td>{format!("{:.3}", c.precision)}</td>
                        <td>{format!("{:.3}", c.recall)}</td>
                        <td>{format!("{:.3}", c.f1)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
