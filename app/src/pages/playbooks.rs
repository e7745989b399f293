use super::upcoming::Upcoming;
use anomalyforge::pages;
use leptos::prelude::*;

#[component]
pub fn PlaybooksPage() -> impl IntoView {
    view! {
        <Upcoming
            page=pages::PLAYBOOKS
            will_hold="Step-by-step response playbooks for every threat type the detection engine knows, editable by responders."
        />
    }
}
