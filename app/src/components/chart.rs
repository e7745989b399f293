//! A rendered chart (`ChartView`): the SVG and text alternative that `anomalyforge::charts` made,
//! on the server and after hydration alike.

use crate::components::worldmap::VISUALLY_HIDDEN;
use anomalyforge::charts::Chart;
use leptos::prelude::*;

/// A chart from `anomalyforge::charts`, with its text alternative: `role="img"` and `aria-label`
/// on the figure, and the same text in a visually hidden paragraph (read where ARIA is not, kept
/// when the page is copied or translated).
#[component]
pub fn ChartView(#[prop(into)] chart: Signal<Chart>) -> impl IntoView {
    // `inner_html` is safe here, and only here: a `Chart` can only be made by the renderer in
    // `anomalyforge::charts` (its fields are private), which writes every text — titles, axis
    // names, labels from data such as asset names — through the SVG backend's XML escaping; its
    // tests render a `<script>` label and check that no markup comes through. Never pass other
    // markup this way (STYLE.md: no `inner_html` with data).
    view! {
        <figure class="chart">
            <div
                class="chart-svg"
                role="img"
                aria-label=move || chart.with(|c| c.alt().to_string())
                inner_html=move || chart.with(|c| c.svg().to_string())
            ></div>
            <p class="visually-hidden" style=VISUALLY_HIDDEN>
                {move || chart.with(|c| c.alt().to_string())}
            </p>
        </figure>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use anomalyforge::charts::{bar_chart, Axis, Bar, BarChartSpec};

    /// The server's HTML without the `<!>` hydration markers of type-erased views.
    fn render(view: impl FnOnce() -> AnyView) -> String {
        Owner::new().with(|| view().to_html()).replace("<!>", "")
    }

    #[test]
    fn chart_view_inserts_the_svg_and_its_alt_text() {
        let chart = bar_chart(&BarChartSpec {
            title: "Top assets".into(),
            value_axis: Axis::new("Alerts", ""),
            colour: None,
            bars: vec![Bar { label: "<img src=x onerror=alert(1)>".into(), value: 3.0 }],
        });
        let alt = chart.alt().to_string();
        let html = render(move || view! { <ChartView chart=chart/> }.into_any());
        assert!(html.contains(r#"role="img""#));
        assert!(html.contains("<svg xmlns="), "the SVG is inserted as markup");
        assert!(!html.contains("<img"), "a label from data stays text: {html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(alt.contains("<img src=x"), "the alt text is plain text");
        assert!(!html.contains(&alt), "…and escaped wherever it is written into the page");
    }
}
