use super::upcoming::Upcoming;
use anomalyforge::pages;
use leptos::prelude::*;

#[component]
pub fn SocPage() -> impl IntoView {
    view! {
        <Upcoming
            page=pages::SOC
            will_hold="The live SOC console: world maps of traffic and attack origins, the risk-sorted alert queue, alert detail with model reasons, and triage."
        />
    }
}
