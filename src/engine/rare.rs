//! The rare-class stage: a nearest-neighbour tie-breaker over the training rows of the rare classes
//! (heartbleed, infiltration and the three web attacks, a few dozen rows each).
//!
//! The boosted trees see so few rows of these classes that, on an atypical flow, they can be confidently
//! wrong in two ways: they name a rare class for a flow that is nothing like any training row of it, or
//! no class claims a flow (every one-vs-rest margin is negative) that sits right on top of a rare-class
//! training row. On the rows where the classifier is ambiguous (see [`RareParams`]), the stage looks up
//! the nearest rare-class training row (squared Euclidean distance in the scaled feature space) and
//! - **demotes** a rare-class prediction whose nearest rare row belongs to another group (the three web
//!   attacks are one group: the web specialist separates them): to that row's class when the classifier
//!   also ranks it among its top [`RareParams::top_n`] classes or the row is within the promotion radius,
//!   otherwise to the most probable common class;
//! - **promotes** a row no class claims (largest margin below [`RareParams::promote_below_margin`]) to
//!   the nearest rare row's class when it lies within [`RareParams::promote_within`].
//!
//! A web-attack outcome is resolved by the web specialist (its most probable web class). Every rule
//! and setting was chosen by `anomalyforge cv` on training rows only (see `models/README.md`). The stage
//! only touches gated rows (under 1 % of them), so it costs nothing measurable in throughput.

use serde::{Deserialize, Serialize};

use super::sq_dist;
use crate::threat::Threat;

/// The rare classes whose training rows the stage keeps.
pub const RARE_CLASSES: [Threat; 5] =
    [Threat::Heartbleed, Threat::Infiltration, Threat::WebBruteForce, Threat::WebXss, Threat::WebSqlInjection];

/// Settings of the rare-class stage (part of `TrainConfig`, and stored with the model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RareParams {
    pub enabled: bool,
    /// Gate: a row is looked at when its largest margin is below this, …
    pub gate_margin: f32,
    /// … or when a rare class is first, or second within this margin of the first.
    pub gate_gap: f32,
    /// Promote only rows whose largest margin is below this (no class claims them).
    pub promote_below_margin: f32,
    /// Squared distance within which the nearest rare row decides (promotion, and demotion to it).
    pub promote_within: f32,
    /// A demoted row goes to the nearest rare row's class when the classifier ranks it this high.
    pub top_n: usize,
}

impl Default for RareParams {
    fn default() -> Self {
        RareParams {
            enabled: true,
            gate_margin: 2.0,
            gate_gap: 6.0,
            promote_below_margin: 0.0,
            promote_within: 1.5,
            top_n: 3,
        }
    }
}

impl RareParams {
    /// The stage switched off (models trained before it existed).
    pub fn off() -> RareParams {
        RareParams { enabled: false, ..RareParams::default() }
    }
}

/// The rare classes' training rows (scaled) and the stage's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RareNeighbours {
    pub n_features: usize,
    /// Class index (`Threat::index`) of each stored row.
    pub class: Vec<u32>,
    /// Row-major, `n_features` wide.
    pub rows: Vec<f32>,
    pub params: RareParams,
}

fn is_rare(t: Threat) -> bool {
    RARE_CLASSES.contains(&t)
}

fn is_web(t: Threat) -> bool {
    matches!(t, Threat::WebBruteForce | Threat::WebXss | Threat::WebSqlInjection)
}

/// Heartbleed and infiltration are their own groups; the web attacks are one.
fn same_group(a: Threat, b: Threat) -> bool {
    a == b || (is_web(a) && is_web(b))
}

impl RareNeighbours {
    /// Keeps the rows of `x` (row-major, `d` wide) listed in `rows` whose label is a rare class.
    pub fn fit(x: &[f32], d: usize, rows: &[usize], labels: &[Threat], params: &RareParams) -> RareNeighbours {
        let mut class = Vec::new();
        let mut kept = Vec::new();
        for &r in rows {
            if is_rare(labels[r]) {
                class.push(labels[r].index() as u32);
                kept.extend_from_slice(&x[r * d..(r + 1) * d]);
            }
        }
        RareNeighbours { n_features: d, class, rows: kept, params: params.clone() }
    }

    pub fn len(&self) -> usize {
        self.class.len()
    }

    pub fn is_empty(&self) -> bool {
        self.class.is_empty()
    }

    /// Checks lengths and class indices (after loading).
    pub fn validate(&self) -> Result<(), String> {
        if self.rows.len() != self.class.len() * self.n_features {
            return Err(format!(
                "{} rows of {} features but {} values",
                self.class.len(),
                self.n_features,
                self.rows.len()
            ));
        }
        if self.class.iter().any(|&c| Threat::from_index(c as usize).is_none_or(|t| !is_rare(t))) {
            return Err("a stored row is not of a rare class".into());
        }
        Ok(())
    }

    /// Squared distance to the nearest stored row and its class (None when empty).
    pub fn nearest(&self, row: &[f32]) -> Option<(f32, Threat)> {
        let d = self.n_features;
        let mut best: Option<(f32, u32)> = None;
        for (i, &c) in self.class.iter().enumerate() {
            let dist = sq_dist(row, &self.rows[i * d..(i + 1) * d]);
            if best.is_none_or(|(b, _)| dist < b) {
                best = Some((dist, c));
            }
        }
        best.and_then(|(dist, c)| Threat::from_index(c as usize).map(|t| (dist, t)))
    }

    /// The stage's class for one row: `margins` are the classifier's one-vs-rest margins, `predicted` its
    /// most probable class (after the web specialist), `web_pick` gives the specialist's most probable
    /// web class (called only when needed). Returns `None` when the row is not gated or the prediction
    /// stands.
    pub fn decide(
        &self,
        row: &[f32],
        margins: &[f32],
        predicted: Threat,
        web_pick: impl FnOnce() -> Threat,
    ) -> Option<Threat> {
        let p = &self.params;
        if !p.enabled || self.is_empty() || margins.len() < 2 {
            return None;
        }
        // The two largest margins in one pass (the gate runs on every row).
        let (mut first, mut second) = if margins[0] >= margins[1] { (0, 1) } else { (1, 0) };
        for (k, &v) in margins.iter().enumerate().skip(2) {
            if v > margins[first] {
                second = first;
                first = k;
            } else if v > margins[second] {
                second = k;
            }
        }
        let top = margins[first];
        let rare_at = |k: usize| Threat::from_index(k).is_some_and(is_rare);
        let gated = top < p.gate_margin || rare_at(first) || (rare_at(second) && top - margins[second] < p.gate_gap);
        if !gated {
            return None;
        }
        let (dist, nearest) = self.nearest(row)?;
        let resolve = |t: Threat| if is_web(t) { web_pick() } else { t };
        let chosen = if !is_rare(predicted) {
            (top < p.promote_below_margin && dist <= p.promote_within).then(|| resolve(nearest))
        } else if !same_group(nearest, predicted) {
            let mut order: Vec<usize> = (0..margins.len()).collect();
            order.sort_by(|&a, &b| margins[b].total_cmp(&margins[a]));
            let ranked = order.iter().take(p.top_n).any(|&k| k == nearest.index());
            Some(if ranked || dist <= p.promote_within {
                resolve(nearest)
            } else {
                let common = order.iter().copied().find(|&k| !rare_at(k)).unwrap_or(0);
                Threat::from_index(common).unwrap_or(Threat::Benign)
            })
        } else {
            None
        };
        chosen.filter(|&t| t != predicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn margins(pairs: &[(Threat, f32)]) -> Vec<f32> {
        let mut m = vec![-9.0f32; Threat::COUNT];
        for &(t, v) in pairs {
            m[t.index()] = v;
        }
        m
    }

    /// Two stored rows: a heartbleed at (10, 10) and an XSS at (0, 0).
    fn stage() -> RareNeighbours {
        let x = vec![10.0, 10.0, 0.0, 0.0, 5.0, 5.0];
        let labels = [Threat::Heartbleed, Threat::WebXss, Threat::Benign];
        let s = RareNeighbours::fit(&x, 2, &[0, 1, 2], &labels, &RareParams::default());
        assert_eq!(s.len(), 2, "only rare-class rows are kept");
        s.validate().expect("valid");
        s
    }

    #[test]
    fn confident_common_predictions_are_never_gated() {
        let s = stage();
        let m = margins(&[(Threat::Ddos, 6.0)]);
        assert_eq!(s.decide(&[0.0, 0.0], &m, Threat::Ddos, || Threat::WebXss), None);
    }

    #[test]
    fn an_unclaimed_row_on_a_rare_row_is_promoted_and_the_specialist_names_the_web_class() {
        let s = stage();
        let m = margins(&[(Threat::Benign, -3.0)]);
        assert_eq!(s.decide(&[0.5, 0.5], &m, Threat::Benign, || Threat::WebBruteForce), Some(Threat::WebBruteForce));
        // Farther than the radius: the prediction stands.
        assert_eq!(s.decide(&[3.0, 3.0], &m, Threat::Benign, || Threat::WebBruteForce), None);
        // Claimed by a class (margin above the promotion bound): stands.
        let m = margins(&[(Threat::Benign, 1.0)]);
        assert_eq!(s.decide(&[0.5, 0.5], &m, Threat::Benign, || Threat::WebXss), None);
    }

    #[test]
    fn a_rare_prediction_near_another_groups_row_is_demoted() {
        let s = stage();
        // Called infiltration, nearest rare row is the heartbleed one, ranked third: heartbleed.
        let m = margins(&[(Threat::Infiltration, 3.0), (Threat::Benign, 1.0), (Threat::Heartbleed, -1.0)]);
        assert_eq!(s.decide(&[9.0, 9.0], &m, Threat::Infiltration, || Threat::WebXss), Some(Threat::Heartbleed));
        // Heartbleed not ranked and far: the most probable common class.
        let m = margins(&[(Threat::Infiltration, 3.0), (Threat::Benign, 1.0), (Threat::Botnet, 0.5)]);
        assert_eq!(s.decide(&[7.0, 7.0], &m, Threat::Infiltration, || Threat::WebXss), Some(Threat::Benign));
        // A web prediction whose nearest rare row is another web class stands (the specialist decides).
        let m = margins(&[(Threat::WebBruteForce, 3.0)]);
        assert_eq!(s.decide(&[0.1, 0.1], &m, Threat::WebBruteForce, || Threat::WebBruteForce), None);
    }

    #[test]
    fn a_disabled_stage_changes_nothing() {
        let mut s = stage();
        s.params = RareParams::off();
        let m = margins(&[(Threat::Benign, -3.0)]);
        assert_eq!(s.decide(&[0.0, 0.0], &m, Threat::Benign, || Threat::WebXss), None);
    }
}
