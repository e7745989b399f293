use super::upcoming::Upcoming;
use anomalyforge::pages;
use leptos::prelude::*;

#[component]
pub fn ReportPage() -> impl IntoView {
    view! {
        <Upcoming
            page=pages::REPORT
            will_hold="A simple form to report a suspicious IP address or domain, and the status the SOC gave each of your reports."
        />
    }
}
