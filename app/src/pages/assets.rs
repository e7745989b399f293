//! `/assets` (analysts, admins): the inventory with the alerts of each asset, hosts discovered in
//! traffic flagged for review, editing in place, CSV import and export. Every form is an
//! `ActionForm`, so the page also works without JavaScript.

use crate::api::assets::{list_assets, ImportAssets, SaveAsset};
use crate::components::errors::PanelErrors;
use crate::components::format::utc;
use crate::components::guard::Guarded;
use crate::resource::resource;
use anomalyforge::asset::{Asset, AssetPage, AssetRow, AssetView, Criticality, ImportSummary};
use anomalyforge::pages;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AssetsPage() -> impl IntoView {
    view! {
        <Guarded page=pages::ASSETS>
            <Inventory/>
        </Guarded>
    }
}

#[component]
fn Inventory() -> impl IntoView {
    let query = use_query_map();
    let view = move || AssetView::parse(&query.read().get("view").unwrap_or_default());
    let page = move || query.read().get("page").and_then(|p| p.parse::<u32>().ok()).unwrap_or(1).max(1);
    let save = ServerAction::<SaveAsset>::new();
    let import = ServerAction::<ImportAssets>::new();
    let list = resource(
        move || (view(), page(), save.version().get(), import.version().get()),
        |(v, p, _, _)| list_assets(v.as_str().to_string(), p),
    );
    let save_error = move || save.value().get().and_then(Result::err);
    let saved = move || save.value().get().and_then(Result::ok);
    view! {
        <section class="panel" data-test="page" data-page="/assets">
            <h1>"Asset inventory"</h1>
            <p class="muted">"Every internal host AnomalyForge knows: who owns it, what it is for and how critical it is. "
                "Criticality weighs the risk of alerts that target the host. Hosts seen in traffic but not in the inventory "
                "are added automatically as " <strong>"discovered"</strong> " until someone reviews them."</p>
            <div class="button-row">
                <a href="/assets" class:active=move || view() == AssetView::All>"All assets"</a>
                <a href="/assets?view=discovered" class:active=move || view() == AssetView::Discovered data-test="discovered-filter">
                    "Discovered, to review"
                </a>
                <a href="/assets/export.csv" rel="external" download data-test="export">"Export CSV"</a>
            </div>
            {move || save_error().map(|e| view! { <p class="error" role="alert" data-test="asset-error">{e.to_string()}</p> })}
            {move || saved().map(|a: Asset| view! { <p class="notice" role="status">{format!("Saved {}.", a.ip)}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading the inventory…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move { list.await.map(|p| view! { <AssetTable page=p save/> }) })}
                </PanelErrors>
            </Transition>
        </section>
        <section class="panel">
            <h2>"Add an asset"</h2>
            <ActionForm action=save>
                <AssetFields id="new" asset=None/>
                <button type="submit" class="primary" data-test="add-asset">"Add asset"</button>
            </ActionForm>
        </section>
        <ImportPanel import/>
    }
}

#[component]
fn AssetTable(page: AssetPage, save: ServerAction<SaveAsset>) -> impl IntoView {
    let pages = ((page.total + i64::from(page.per_page) - 1) / i64::from(page.per_page)).max(1);
    let link = move |p: i64| match page.view {
        AssetView::All => format!("/assets?page={p}"),
        AssetView::Discovered => format!("/assets?view=discovered&page={p}"),
    };
    let current = i64::from(page.page);
    view! {
        <p data-test="asset-counts">
            {format!("{} asset{} in this view", page.total, if page.total == 1 { "" } else { "s" })}
            {(page.discovered > 0).then(|| view! {
                " · " <a href="/assets?view=discovered">{format!("{} discovered, waiting for review", page.discovered)}</a>
            })}
        </p>
        {if page.rows.is_empty() {
            view! { <p class="muted">{match page.view {
                AssetView::All => "The inventory is empty. Add assets below or import a CSV; hosts seen in traffic are added as they appear.",
                AssetView::Discovered => "No discovered hosts are waiting for review.",
            }}</p> }.into_any()
        } else {
            view! {
                <table class="table" data-test="assets">
                    <thead>
                        <tr>
                            <th>"Address"</th><th>"Host"</th><th>"Owner"</th><th>"Purpose"</th><th>"Criticality"</th>
                            <th>"Tags"</th><th>"Alerts (open / all)"</th><th>"Last seen"</th><th></th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.rows.into_iter().map(|r| view! { <AssetLine row=r save/> }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        {(pages > 1).then(|| view! {
            <nav class="button-row" aria-label="Pages">
                {(current > 1).then(|| view! { <a href=link(current - 1)>"← Previous"</a> })}
                <span>{format!("Page {current} of {pages}")}</span>
                {(current < pages).then(|| view! { <a href=link(current + 1) data-test="next-page">"Next →"</a> })}
            </nav>
        })}
    }
}

#[component]
fn AssetLine(row: AssetRow, save: ServerAction<SaveAsset>) -> impl IntoView {
    let a = row.asset;
    let id = format!("asset-{}", a.id);
    let discovered = a.discovered;
    let editing = a.clone();
    let alerts = if row.alerts == 0 {
        "none".to_string()
    } else {
        format!("{} / {} · max risk {:.0}", row.open_alerts, row.alerts, row.max_risk)
    };
    view! {
        <tr data-asset=a.ip.clone() class:discovered=discovered>
            <td>
                <code>{a.ip.clone()}</code>
                {discovered.then(|| view! { " " <span class="badge warn" data-test="discovered">"discovered"</span> })}
            </td>
            <td>{a.hostname.clone().unwrap_or_default()}</td>
            <td>{match a.owner.clone().filter(|o| !o.trim().is_empty()) {
                Some(o) => view! { <span>{o}</span> }.into_any(),
                None => view! { <span class="muted">"Unassigned"</span> }.into_any(),
            }}</td>
            <td>{a.purpose.clone().unwrap_or_default()}</td>
            <td><span class=format!("badge crit-{}", a.criticality.as_str())>{a.criticality.as_str()}</span></td>
            <td>{a.tags.join(", ")}</td>
            <td>{alerts}</td>
            <td>{a.last_seen.map(utc).unwrap_or_else(|| "—".into())}</td>
            <td>
                <details>
                    <summary data-test="edit-asset">{if discovered { "Review" } else { "Edit" }}</summary>
                    <ActionForm action=save>
                        <AssetFields id=id asset=Some(editing)/>
                        <button type="submit" class="small primary" data-test="save-asset">"Save"</button>
                    </ActionForm>
                </details>
            </td>
        </tr>
    }
}

/// The fields of one asset, named `asset[…]` for the `save_asset` server function. The address
/// of an existing asset is fixed (it identifies the asset).
#[component]
fn AssetFields(#[prop(into)] id: String, asset: Option<Asset>) -> impl IntoView {
    let a = asset.clone();
    let value = move |f: fn(&Asset) -> String| a.as_ref().map(f).unwrap_or_default();
    let fid = move |f: &str| format!("{id}-{f}");
    let criticality = asset.as_ref().map(|a| a.criticality).unwrap_or(Criticality::Medium);
    view! {
        <div class="form-grid">
            <div class="field">
                <label for=fid("ip")>"IP address"</label>
                <input id=fid("ip") name="asset[ip]" required maxlength="45" value=value(|a| a.ip.clone()) readonly=asset.is_some()/>
            </div>
            <div class="field">
                <label for=fid("hostname")>"Hostname"</label>
                <input id=fid("hostname") name="asset[hostname]" maxlength="253" value=value(|a| a.hostname.clone().unwrap_or_default())/>
            </div>
            <div class="field">
                <label for=fid("owner")>"Owner (team or person)"</label>
                <input id=fid("owner") name="asset[owner]" maxlength="128" value=value(|a| a.owner.clone().unwrap_or_default())/>
            </div>
            <div class="field">
                <label for=fid("purpose")>"Purpose"</label>
                <input id=fid("purpose") name="asset[purpose]" maxlength="500" value=value(|a| a.purpose.clone().unwrap_or_default())/>
            </div>
            <div class="field">
                <label for=fid("criticality")>"Criticality"</label>
                <select id=fid("criticality") name="asset[criticality]">
                    {Criticality::ALL.into_iter().map(|c| view! {
                        <option value=c.as_str() selected=c == criticality>{c.as_str()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for=fid("tags")>"Tags (comma-separated)"</label>
                <input id=fid("tags") name="asset[tags]" maxlength="600" value=value(|a| a.tags.join(", "))/>
            </div>
        </div>
    }
}

#[component]
fn ImportPanel(import: ServerAction<ImportAssets>) -> impl IntoView {
    let result = move || import.value().get();
    view! {
        <section class="panel" data-test="import">
            <h2>"Import from CSV"</h2>
            <p class="muted">"Paste CSV with a header line. The " <code>"ip"</code> " column is required; "
                <code>"hostname"</code> ", " <code>"owner"</code> ", " <code>"purpose"</code> ", " <code>"criticality"</code>
                " (low, medium, high, critical) and " <code>"tags"</code> " (separated by ;) are optional, in any order. "
                "Known addresses are updated, new ones added. Rows with mistakes are listed and skipped; the others are imported. "
                "An exported file can be edited in a spreadsheet and imported back; imported rows count as reviewed."</p>
            <ActionForm action=import>
                <div class="field">
                    <label for="import-csv">"CSV text"</label>
                    <textarea id="import-csv" name="csv" rows="6" required placeholder="ip,hostname,owner,purpose,criticality,tags"></textarea>
                </div>
                <button type="submit" class="primary" data-test="import-submit">"Import"</button>
            </ActionForm>
            {move || result().map(|r| match r {
                Ok(ImportSummary { created, updated, rejected }) => view! {
                    <div class="notice" role="status" data-test="import-result">
                        <p>{format!("Imported: {created} added, {updated} updated, {} skipped.", rejected.len())}</p>
                        {(!rejected.is_empty()).then(|| view! {
                            <ul data-test="import-rejected">
                                {rejected.into_iter().map(|r| view! { <li>{format!("Line {}: {}", r.line, r.reason)}</li> }).collect_view()}
                            </ul>
                        })}
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-test="import-error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
