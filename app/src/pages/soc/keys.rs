//! Keyboard triage: j/k move through the queue, Enter opens the alert, x selects it, a
//! acknowledges, r resolves, f starts a false positive (it needs a reason), i opens an incident of
//! the selection, / searches, Esc
//! closes the detail and clears the selection, ? shows the keys. Keys typed into a form field are
//! left alone.

#[cfg(feature = "hydrate")]
use super::queue::{dispatch_incident, dispatch_triage};
use super::ConsoleCtx;
use leptos::prelude::*;

/// The keys, for the help panel.
pub const KEYS: [(&str, &str); 10] = [
    ("j / k", "next / previous alert"),
    ("Enter", "open the alert"),
    ("x", "select or unselect the alert"),
    ("a", "acknowledge (the selection, or the alert under the cursor)"),
    ("r", "resolve"),
    ("f", "mark a false positive (asks for the reason)"),
    ("i", "open an incident of the selection (or of the alert under the cursor)"),
    ("/", "search"),
    ("Esc", "close the detail, clear the selection"),
    ("?", "show or hide these keys"),
];

/// The help panel is shown.
#[derive(Clone, Copy)]
struct HelpOpen(RwSignal<bool>);

/// Listens to the keyboard (in the browser only).
pub fn install(ctx: ConsoleCtx) {
    let help = RwSignal::new(false);
    provide_context(HelpOpen(help));
    #[cfg(feature = "hydrate")]
    {
        let navigate = leptos_router::hooks::use_navigate();
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.ctrl_key() || ev.meta_key() || ev.alt_key() || ev.default_prevented() || in_form_field(&ev) {
                return;
            }
            let key = ev.key();
            if handle_key(ctx, help, &key, &navigate) {
                ev.prevent_default();
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ctx;
}

#[cfg(feature = "hydrate")]
fn in_form_field(ev: &leptos::ev::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).is_some_and(|el| {
        matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
            || el.closest("[contenteditable]").ok().flatten().is_some()
    })
}

#[cfg(feature = "hydrate")]
fn focus(selector: &str) -> bool {
    use wasm_bindgen::JsCast;
    let el = document().query_selector(selector).ok().flatten().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    match el {
        Some(el) => {
            let _ = el.focus();
            true
        }
        None => false,
    }
}

#[cfg(feature = "hydrate")]
fn scroll_to_cursor(id: i64) {
    if let Ok(Some(row)) = document().query_selector(&format!("tr[data-alert-id=\"{id}\"]")) {
        row.scroll_into_view_with_bool(false);
    }
}

/// Does what `key` means; `true` when it meant something.
#[cfg(feature = "hydrate")]
fn handle_key(
    ctx: ConsoleCtx,
    help: RwSignal<bool>,
    key: &str,
    navigate: &impl Fn(&str, leptos_router::NavigateOptions),
) -> bool {
    let rows = ctx.rows.get_untracked();
    let cursor_id = ctx.cursor.get_untracked().and_then(|i| rows.get(i).copied());
    // What a/r/f act on: the selection, else the cursor's alert, else the open alert.
    let targets = || -> Vec<i64> {
        let sel: Vec<i64> = ctx.selected.get_untracked().into_iter().collect();
        if !sel.is_empty() {
            sel
        } else {
            cursor_id.or(ctx.alert_id.get_untracked()).into_iter().collect()
        }
    };
    match key {
        "j" | "k" => {
            if rows.is_empty() {
                return true;
            }
            let next = match (ctx.cursor.get_untracked(), key) {
                (None, _) => 0,
                (Some(i), "j") => (i + 1).min(rows.len() - 1),
                (Some(i), _) => i.saturating_sub(1),
            };
            ctx.cursor.set(Some(next));
            scroll_to_cursor(rows[next]);
            true
        }
        "Enter" | "o" => match cursor_id {
            Some(id) => {
                navigate(&ctx.href_with_alert(Some(id)), Default::default());
                true
            }
            None => false,
        },
        "x" => match cursor_id {
            Some(id) => {
                ctx.selected.update(|s| {
                    if !s.remove(&id) {
                        s.insert(id);
                    }
                });
                true
            }
            None => false,
        },
        "a" => {
            dispatch_triage(ctx.triage, targets(), "acknowledge", String::new(), String::new());
            true
        }
        "r" => {
            dispatch_triage(ctx.triage, targets(), "resolve", String::new(), String::new());
            true
        }
        "f" => {
            // A false positive needs a reason: go to the field that asks for it.
            if !ctx.selected.with_untracked(|s| s.is_empty()) {
                focus("#bulk-note");
            } else if let Some(id) = cursor_id.filter(|id| Some(*id) != ctx.alert_id.get_untracked()) {
                navigate(&ctx.href_with_alert(Some(id)), Default::default());
                set_timeout(open_false_positive, std::time::Duration::from_millis(400));
            } else {
                open_false_positive();
            }
            true
        }
        "i" => {
            dispatch_incident(ctx.incident, targets());
            true
        }
        "/" => focus("#soc-q"),
        "?" => {
            help.update(|h| *h = !*h);
            true
        }
        "Escape" => {
            help.set(false);
            ctx.selected.set(Default::default());
            if ctx.alert_id.get_untracked().is_some() {
                navigate(&ctx.href_with_alert(None), Default::default());
            }
            true
        }
        _ => false,
    }
}

/// Opens the false-positive form of the alert detail and puts the cursor in its reason.
#[cfg(feature = "hydrate")]
fn open_false_positive() {
    if let Ok(Some(details)) = document().query_selector("[data-test=fp-open]") {
        if let Some(parent) = details.parent_element() {
            let _ = parent.set_attribute("open", "");
        }
    }
    focus("#fp-reason");
}

/// The keys, shown with `?` (and always listed for people who look for them).
#[component]
pub fn Help() -> impl IntoView {
    let help = expect_context::<HelpOpen>().0;
    view! {
        <details class="panel keys" prop:open=move || help.get() data-test="keys-help">
            <summary>"Keyboard shortcuts " <kbd>"?"</kbd></summary>
            <dl>
                {KEYS.into_iter().map(|(k, what)| view! { <dt><kbd>{k}</kbd></dt><dd>{what}</dd> }).collect_view()}
            </dl>
        </details>
    }
}
