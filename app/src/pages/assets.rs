use super::upcoming::Upcoming;
use anomalyforge::pages;
use leptos::prelude::*;

#[component]
pub fn AssetsPage() -> impl IntoView {
    view! {
        <Upcoming
            page=pages::ASSETS
            will_hold="The asset inventory: owners, purpose and criticality of every host, including those discovered from traffic."
        />
    }
}
