//! The note above pages whose figures include demo mode's generated history.

use crate::api::demo::generated_history;
use crate::resource::resource;
use leptos::prelude::*;

/// "Demo data: … are generated history", when this database holds any; nothing otherwise.
#[component]
pub fn DemoNotice() -> impl IntoView {
    let history = resource(|| (), |_| generated_history());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                history.await.ok().flatten().map(|h| view! {
                    <p class="demo-notice" role="note" data-test="demo-notice">{h.notice()}</p>
                })
            })}
        </Transition>
    }
}
