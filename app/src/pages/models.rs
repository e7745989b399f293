use super::upcoming::Upcoming;
use anomalyforge::pages;
use leptos::prelude::*;

#[component]
pub fn ModelsPage() -> impl IntoView {
    view! {
        <Upcoming
            page=pages::MODELS
            will_hold="The running detection models: version, training data, evaluation metrics and retraining."
        />
    }
}
