//! `/soc/rules` (analysts, responders, admins): suppression rules. Detections that match a rule
//! are counted on it instead of becoming alerts; the page lists the rules in force and the expired
//! ones with those counts, creates rules, expires them now and deletes them (after a confirmation).
//! Every form is an `ActionForm`, so the page works before (or without) the WASM.

use crate::api::suppressions::{list_suppressions, CreateSuppression, DeleteSuppression, ExpireSuppression};
use crate::components::errors::PanelErrors;
use crate::components::format::utc;
use crate::components::guard::Guarded;
use crate::components::soc_tabs::{SocTabs, RULES_PAGE};
use crate::resource::resource;
use anomalyforge::suppression::{threat_choices, Suppression, SuppressionList, MAX_HOURS, MAX_REASON};
use leptos::prelude::*;

#[component]
pub fn SocRulesPage() -> impl IntoView {
    view! {
        <Guarded page=RULES_PAGE>
            <RulesPanel/>
        </Guarded>
    }
}

#[component]
fn RulesPanel() -> impl IntoView {
    let create = ServerAction::<CreateSuppression>::new();
    let expire = ServerAction::<ExpireSuppression>::new();
    let delete = ServerAction::<DeleteSuppression>::new();
    let rules = resource(
        move || (create.version().get(), expire.version().get(), delete.version().get()),
        |_| list_suppressions(),
    );
    let create_error = move || create.value().get().and_then(Result::err);
    let field_error =
        move |field: &'static str| move || create_error().filter(|e| e.field() == Some(field)).map(|e| e.to_string());
    let other_error = move || {
        create_error()
            .filter(|e| !matches!(e.field(), Some("src_ip" | "threat" | "asset_ip" | "reason" | "expires_in_hours")))
            .or_else(|| expire.value().get().and_then(Result::err))
            .or_else(|| delete.value().get().and_then(Result::err))
    };
    // The latest successful change, in words.
    let (changed, set_changed) = signal(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(r)) = create.value().get() {
            set_changed.set(Some(format!("Rule #{} created: {}.", r.id, r.describe())));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(r)) = expire.value().get() {
            set_changed.set(Some(format!("Rule #{} expired: matching detections alert again.", r.id)));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            set_changed.set(Some("Rule deleted.".into()));
        }
    });
    view! {
        <SocTabs current=RULES_PAGE.path/>
        <section class="panel" data-test="page" data-page="/soc/rules">
            <h1>"Suppression rules"</h1>
            <p class="muted">"A rule hides known noise: detections from a source address, of a threat type, or against an asset "
                "(every criterion given must match) are counted on the rule instead of becoming alerts. "
                "Rules apply from the next scored batch. Expire a rule to stop it but keep its record; delete it to remove both."</p>
            {move || other_error().map(|e| view! { <p class="error" role="alert" data-test="rule-error">{e.to_string()}</p> })}
            {move || changed.get().map(|m| view! { <p class="notice" role="status" data-test="rule-done">{m}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading the rules…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move { rules.await.map(|list| view! { <RuleTables list expire delete/> }) })}
                </PanelErrors>
            </Transition>
        </section>
        <section class="panel" data-test="new-rule">
            <h2>"New rule"</h2>
            <ActionForm action=create>
                <div class="form-grid">
                    <AddressField id="rule-src" name="src_ip" label="Source IP address" placeholder="any source"
                        error=Signal::derive(field_error("src_ip"))/>
                    <div class="field">
                        <label for="rule-threat">"Threat type"</label>
                        <select id="rule-threat" name="threat">
                            <option value="">"any type"</option>
                            {threat_choices().into_iter().map(|(key, title)| view! { <option value=key>{title}</option> }).collect_view()}
                        </select>
                        <p class="error" data-test="error-threat">{field_error("threat")}</p>
                    </div>
                    <AddressField id="rule-asset" name="asset_ip" label="Asset IP address (the internal host involved)" placeholder="any asset"
                        error=Signal::derive(field_error("asset_ip"))/>
                    <div class="field">
                        <label for="rule-hours">{format!("Expires in hours (1–{MAX_HOURS})")}</label>
                        <input id="rule-hours" name="expires_in_hours" type="number" min="1" max=MAX_HOURS.to_string() step="1"
                            placeholder="empty: until expired by hand"/>
                        <p class="error" data-test="error-expires_in_hours">{field_error("expires_in_hours")}</p>
                    </div>
                    <div class="field wide">
                        <label for="rule-reason">"Why these detections are noise (the next analyst reads this)"</label>
                        <input id="rule-reason" name="reason" maxlength=MAX_REASON.to_string() required autocomplete="off"
                            placeholder="e.g. Weekly vulnerability scan by IT from this address"/>
                        <p class="error" data-test="error-reason">{field_error("reason")}</p>
                    </div>
                </div>
                <button type="submit" class="primary" data-test="create-rule">"Create rule"</button>
            </ActionForm>
        </section>
    }
}

/// An optional IP address criterion of a new rule, with its error.
#[component]
fn AddressField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    placeholder: &'static str,
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=name maxlength="45" autocomplete="off" placeholder=placeholder/>
            <p class="error" data-test=format!("error-{name}")>{move || error.get()}</p>
        </div>
    }
}

#[component]
fn RuleTables(
    list: SuppressionList,
    expire: ServerAction<ExpireSuppression>,
    delete: ServerAction<DeleteSuppression>,
) -> impl IntoView {
    let SuppressionList { active, expired, .. } = list;
    let (n_active, n_expired) = (active.len(), expired.len());
    view! {
        <h2>{format!("In force ({n_active})")}</h2>
        {if active.is_empty() {
            view! { <p class="muted" data-test="no-active-rules">"No rule is in force: every detection can become an alert."</p> }.into_any()
        } else {
            view! { <RuleTable rules=active active=true expire delete/> }.into_any()
        }}
        <h2>{format!("Expired ({n_expired})")}</h2>
        {if expired.is_empty() {
            view! { <p class="muted">"No expired rules."</p> }.into_any()
        } else {
            view! { <RuleTable rules=expired active=false expire delete/> }.into_any()
        }}
    }
}

#[component]
fn RuleTable(
    rules: Vec<Suppression>,
    active: bool,
    expire: ServerAction<ExpireSuppression>,
    delete: ServerAction<DeleteSuppression>,
) -> impl IntoView {
    view! {
        <table class="table" data-test=if active { "active-rules" } else { "expired-rules" }>
            <thead>
                <tr>
                    <th>"Matches"</th><th>"Reason"</th><th>"Created"</th><th>{if active { "Expires" } else { "Expired" }}</th>
                    <th>"Suppressed detections"</th><th>"Last match"</th><th></th>
                </tr>
            </thead>
            <tbody>
                {rules.into_iter().map(|r| view! { <RuleRow rule=r active expire delete/> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn RuleRow(
    rule: Suppression,
    active: bool,
    expire: ServerAction<ExpireSuppression>,
    delete: ServerAction<DeleteSuppression>,
) -> impl IntoView {
    let r = rule;
    let id = r.id.to_string();
    let (expire_id, delete_id) = (id.clone(), id.clone());
    let hits = r.hits;
    view! {
        <tr data-rule=id>
            <td>{r.describe()}</td>
            <td class="prose">{r.reason.clone()}</td>
            <td>{format!("{} · {}", r.created_by, utc(r.created_at))}</td>
            <td>{r.expires_at.map(utc).unwrap_or_else(|| "never (until expired by hand)".into())}</td>
            <td data-test="rule-hits">{hits.to_string()}</td>
            <td>{r.last_hit.map(utc).unwrap_or_else(|| "never".into())}</td>
            <td class="row-actions">
                {active.then(|| view! {
                    <ActionForm action=expire attr:class="inline-form">
                        <input type="hidden" name="id" value=expire_id/>
                        <button type="submit" class="small" data-test="expire-rule">"Expire now"</button>
                    </ActionForm>
                })}
                <details class="confirm">
                    <summary data-test="delete-rule">"Delete…"</summary>
                    <p>{format!("Delete rule #{} and its count of {hits} suppressed detections? Expiring it keeps the record.", r.id)}</p>
                    <ActionForm action=delete attr:class="inline-form">
                        <input type="hidden" name="id" value=delete_id/>
                        <button type="submit" class="small danger" data-test="confirm-delete">"Delete for good"</button>
                    </ActionForm>
                </details>
            </td>
        </tr>
    }
}
