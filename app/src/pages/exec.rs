use super::upcoming::Upcoming;
use anomalyforge::pages;
use leptos::prelude::*;

#[component]
pub fn ExecPage() -> impl IntoView {
    view! {
        <Upcoming
            page=pages::EXEC
            will_hold="Security KPIs over 24 hours, 7 days and 30 days: alert volume, average risk, threats by type, response times and top targets."
        />
    }
}
