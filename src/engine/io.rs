//! Model artifacts: every model is a safetensors file of flat arrays (format in `models/README.md`),
//! described by `manifest.json` with its sha256. Loading checks presence, digest, schema hash and shapes,
//! and every failure names the file and the cause.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use sha2::{Digest, Sha256};

use super::autoencoder::Autoencoder;
use super::ensemble::ProfileModel;
use super::features::{hex, Scaler, Schema};
use super::gbdt::FlatForest;
use super::iforest::IsolationForest;
use super::ocsvm::OneClassSvm;
use super::rare::{RareNeighbours, RareParams};
use super::EngineError;
use crate::detection::{ArtifactFile, ModelKind, ModelManifest, ProfileManifest};

/// Version of the artifact layout written by this build.
pub const FORMAT_VERSION: u32 = 1;

pub const MANIFEST: &str = "manifest.json";

fn model_err(file: &Path, reason: impl Into<String>) -> EngineError {
    EngineError::Model { file: file.to_path_buf(), reason: reason.into() }
}

pub fn sha256_file(path: &Path) -> Result<String, EngineError> {
    let bytes = std::fs::read(path).map_err(|source| EngineError::Io { path: path.to_path_buf(), source })?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Streaming sha256 (for large training files).
pub fn sha256_stream(path: &Path) -> Result<String, EngineError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|source| EngineError::Io { path: path.to_path_buf(), source })?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = f.read(&mut buf).map_err(|source| EngineError::Io { path: path.to_path_buf(), source })?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
    }
    Ok(hex(&h.finalize()))
}

struct TensorWriter {
    map: HashMap<String, Tensor>,
}

impl TensorWriter {
    fn new() -> Self {
        TensorWriter { map: HashMap::new() }
    }
    fn f32(&mut self, name: &str, v: &[f32]) -> Result<(), candle_core::Error> {
        self.map.insert(name.into(), Tensor::from_slice(v, v.len(), &Device::Cpu)?);
        Ok(())
    }
    fn u32(&mut self, name: &str, v: &[u32]) -> Result<(), candle_core::Error> {
        self.map.insert(name.into(), Tensor::from_slice(v, v.len(), &Device::Cpu)?);
        Ok(())
    }
    fn save(self, path: &Path) -> Result<(), EngineError> {
        candle_core::safetensors::save(&self.map, path).map_err(|e| model_err(path, format!("cannot write: {e}")))
    }
}

struct TensorReader<'a> {
    path: &'a Path,
    map: HashMap<String, Tensor>,
}

impl<'a> TensorReader<'a> {
    fn open(path: &'a Path) -> Result<Self, EngineError> {
        let map = candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| model_err(path, format!("not a readable safetensors file: {e}")))?;
        Ok(TensorReader { path, map })
    }
    fn get(&self, name: &str) -> Result<&Tensor, EngineError> {
        self.map.get(name).ok_or_else(|| model_err(self.path, format!("tensor `{name}` missing")))
    }
    fn f32(&self, name: &str) -> Result<Vec<f32>, EngineError> {
        let t = self.get(name)?;
        if t.dtype() != DType::F32 {
            return Err(model_err(self.path, format!("tensor `{name}` is {:?}, expected f32", t.dtype())));
        }
        t.flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| model_err(self.path, format!("tensor `{name}`: {e}")))
    }
    fn u32(&self, name: &str) -> Result<Vec<u32>, EngineError> {
        let t = self.get(name)?;
        if t.dtype() != DType::U32 {
            return Err(model_err(self.path, format!("tensor `{name}` is {:?}, expected u32", t.dtype())));
        }
        t.flatten_all()
            .and_then(|t| t.to_vec1::<u32>())
            .map_err(|e| model_err(self.path, format!("tensor `{name}`: {e}")))
    }
    fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
    fn scalar(&self, name: &str) -> Result<u32, EngineError> {
        self.u32(name)?.first().copied().ok_or_else(|| model_err(self.path, format!("tensor `{name}` is empty")))
    }
}

fn ce(path: &Path) -> impl Fn(candle_core::Error) -> EngineError + '_ {
    move |e| model_err(path, e.to_string())
}

/// Writes a forest; the classifier's file also holds its rare-class stage (`rare_*` tensors).
fn save_forest(f: &FlatForest, rare: Option<&RareNeighbours>, path: &Path) -> Result<(), EngineError> {
    let mut w = TensorWriter::new();
    (|| -> Result<(), candle_core::Error> {
        if let Some(r) = rare {
            let p = &r.params;
            w.u32("rare_class", &r.class)?;
            w.f32("rare_rows", &r.rows)?;
            w.f32(
                "rare_params",
                &[
                    p.enabled as u8 as f32,
                    p.gate_margin,
                    p.gate_gap,
                    p.promote_below_margin,
                    p.promote_within,
                    p.top_n as f32,
                ],
            )?;
        }
        w.u32("n_outputs", &[f.n_outputs as u32])?;
        w.u32("n_features", &[f.n_features as u32])?;
        w.u32("tree_output", &f.tree_output)?;
        w.u32("tree_depth", &f.tree_depth)?;
        w.f32("base", &f.base)?;
        w.u32("feature", &f.feature)?;
        w.f32("threshold", &f.threshold)?;
        w.f32("value", &f.value)?;
        Ok(())
    })()
    .map_err(ce(path))?;
    w.save(path)
}

/// Reads a forest and, when the file has one, its rare-class stage.
fn load_forest(path: &Path) -> Result<(FlatForest, Option<RareNeighbours>), EngineError> {
    let r = TensorReader::open(path)?;
    let rare = if r.has("rare_class") {
        let p = r.f32("rare_params")?;
        let [enabled, gate_margin, gate_gap, promote_below_margin, promote_within, top_n] = p[..] else {
            return Err(model_err(path, format!("tensor `rare_params` has {} values, expected 6", p.len())));
        };
        let stage = RareNeighbours {
            n_features: r.scalar("n_features")? as usize,
            class: r.u32("rare_class")?,
            rows: r.f32("rare_rows")?,
            params: RareParams {
                enabled: enabled != 0.0,
                gate_margin,
                gate_gap,
                promote_below_margin,
                promote_within,
                top_n: top_n as usize,
            },
        };
        stage.validate().map_err(|e| model_err(path, format!("rare-class stage: {e}")))?;
        Some(stage)
    } else {
        None
    };
    let forest = FlatForest::new(
        r.scalar("n_outputs")? as usize,
        r.scalar("n_features")? as usize,
        r.u32("tree_output")?,
        r.u32("tree_depth")?,
        r.f32("base")?,
        r.u32("feature")?,
        r.f32("threshold")?,
        r.f32("value")?,
    )
    .map_err(|e| model_err(path, e))?;
    Ok((forest, rare))
}

fn save_iforest(f: &IsolationForest, path: &Path) -> Result<(), EngineError> {
    let mut w = TensorWriter::new();
    (|| -> Result<(), candle_core::Error> {
        w.u32("depth", &[f.depth])?;
        w.u32("n_features", &[f.n_features as u32])?;
        w.u32("n_trees", &[f.n_trees as u32])?;
        w.f32("c_norm", &[f.c_norm])?;
        w.u32("feature", &f.feature)?;
        w.f32("threshold", &f.threshold)?;
        w.f32("leaf", &f.leaf)?;
        Ok(())
    })()
    .map_err(ce(path))?;
    w.save(path)
}

fn load_iforest(path: &Path) -> Result<IsolationForest, EngineError> {
    let r = TensorReader::open(path)?;
    IsolationForest::new(
        r.scalar("depth")?,
        r.scalar("n_features")? as usize,
        r.scalar("n_trees")? as usize,
        r.f32("c_norm")?.first().copied().unwrap_or(0.0),
        r.u32("feature")?,
        r.f32("threshold")?,
        r.f32("leaf")?,
    )
    .map_err(|e| model_err(path, e))
}

fn save_ocsvm(m: &OneClassSvm, path: &Path) -> Result<(), EngineError> {
    let mut w = TensorWriter::new();
    (|| -> Result<(), candle_core::Error> {
        w.u32("n_features", &[m.n_features as u32])?;
        w.f32("eps", &[m.eps])?;
        w.f32("rho", &[m.rho])?;
        w.f32("alpha", &m.alpha)?;
        w.f32("support", &m.support)?;
        Ok(())
    })()
    .map_err(ce(path))?;
    w.save(path)
}

fn load_ocsvm(path: &Path) -> Result<OneClassSvm, EngineError> {
    let r = TensorReader::open(path)?;
    let one = |name: &str| -> Result<f32, EngineError> {
        r.f32(name)?.first().copied().ok_or_else(|| model_err(path, format!("tensor `{name}` is empty")))
    };
    let m = OneClassSvm {
        n_features: r.scalar("n_features")? as usize,
        eps: one("eps")?,
        rho: one("rho")?,
        alpha: r.f32("alpha")?,
        support: r.f32("support")?,
    };
    m.validate().map_err(|e| model_err(path, e))?;
    Ok(m)
}

fn save_scaler(s: &Scaler, path: &Path) -> Result<(), EngineError> {
    let mut w = TensorWriter::new();
    (|| -> Result<(), candle_core::Error> {
        w.f32("mean", &s.mean)?;
        w.f32("std", &s.std)?;
        w.f32("fill", &s.fill)?;
        Ok(())
    })()
    .map_err(ce(path))?;
    w.save(path)
}

fn load_scaler(path: &Path) -> Result<Scaler, EngineError> {
    let r = TensorReader::open(path)?;
    let s = Scaler { mean: r.f32("mean")?, std: r.f32("std")?, fill: r.f32("fill")? };
    if s.std.len() != s.mean.len() || s.fill.len() != s.mean.len() {
        return Err(model_err(path, "scaler arrays differ in length"));
    }
    if s.std.iter().any(|v| v.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !v.is_finite()) {
        return Err(model_err(path, "scaler has a non-positive standard deviation"));
    }
    Ok(s)
}

/// File name of each artifact inside a profile directory.
pub fn artifact_name(kind: Option<ModelKind>) -> &'static str {
    match kind {
        None => "scaler.safetensors",
        Some(ModelKind::Gbdt) => "gbdt.safetensors",
        Some(ModelKind::WebSpecialist) => "web_specialist.safetensors",
        Some(ModelKind::IsolationForest) => "isolation_forest.safetensors",
        Some(ModelKind::OneClassSvm) => "one_class_svm.safetensors",
        Some(ModelKind::Autoencoder) => "autoencoder.safetensors",
    }
}

/// Writes a profile's models into `dir/<profile>/` and returns their manifest entries.
pub fn save_profile(
    m: &ProfileModel,
    ae_tensors: &HashMap<String, Tensor>,
    dir: &Path,
) -> Result<Vec<ArtifactFile>, EngineError> {
    let pdir = dir.join(m.profile().name());
    std::fs::create_dir_all(&pdir).map_err(|source| EngineError::Io { path: pdir.clone(), source })?;
    let scaler_path = pdir.join(artifact_name(None));
    save_scaler(&m.scaler, &scaler_path)?;
    save_forest(&m.gbdt, m.rare.as_ref(), &pdir.join(artifact_name(Some(ModelKind::Gbdt))))?;
    save_forest(&m.web, None, &pdir.join(artifact_name(Some(ModelKind::WebSpecialist))))?;
    save_iforest(&m.iforest, &pdir.join(artifact_name(Some(ModelKind::IsolationForest))))?;
    save_ocsvm(&m.ocsvm, &pdir.join(artifact_name(Some(ModelKind::OneClassSvm))))?;
    let ae_path = pdir.join(artifact_name(Some(ModelKind::Autoencoder)));
    candle_core::safetensors::save(ae_tensors, &ae_path).map_err(|e| model_err(&ae_path, e.to_string()))?;

    let mut files = Vec::new();
    for (kind, format) in [
        (None, "safetensors: scaler mean/std/fill (f32)"),
        (Some(ModelKind::Gbdt), "safetensors: flat heap-layout forest and its rare-class stage"),
        (Some(ModelKind::WebSpecialist), "safetensors: flat heap-layout forest"),
        (Some(ModelKind::IsolationForest), "safetensors: flat heap-layout isolation trees"),
        (Some(ModelKind::OneClassSvm), "safetensors: support vectors, alpha, rho, eps"),
        (Some(ModelKind::Autoencoder), "safetensors: candle-nn Linear weights l0..l3"),
    ] {
        let rel = format!("{}/{}", m.profile().name(), artifact_name(kind));
        let path = dir.join(&rel);
        let bytes = std::fs::metadata(&path).map_err(|source| EngineError::Io { path: path.clone(), source })?.len();
        files.push(ArtifactFile {
            model: kind,
            file: rel,
            format: format.to_string(),
            sha256: sha256_file(&path)?,
            bytes,
        });
    }
    Ok(files)
}

/// Reads and checks `dir/manifest.json`.
pub fn load_manifest(dir: &Path) -> Result<ModelManifest, EngineError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| model_err(&path, format!("cannot read: {e}")))?;
    let m: ModelManifest =
        serde_json::from_str(&text).map_err(|e| model_err(&path, format!("not a valid manifest: {e}")))?;
    if m.format_version != FORMAT_VERSION {
        return Err(model_err(
            &path,
            format!("artifact format {} but this build reads format {FORMAT_VERSION}", m.format_version),
        ));
    }
    Ok(m)
}

pub fn write_manifest(dir: &Path, m: &ModelManifest) -> Result<PathBuf, EngineError> {
    let path = dir.join(MANIFEST);
    let text = serde_json::to_string_pretty(m).map_err(|e| model_err(&path, e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|source| EngineError::Io { path: path.clone(), source })?;
    Ok(path)
}

/// Loads one profile, verifying each file's digest against the manifest.
pub fn load_profile(dir: &Path, pm: &ProfileManifest) -> Result<ProfileModel, EngineError> {
    let manifest_path = dir.join(MANIFEST);
    let schema = Schema::for_profile(pm.schema.profile);
    if schema.hash != pm.schema.hash {
        return Err(model_err(
            &manifest_path,
            format!(
                "feature schema mismatch for profile `{}`: the model was trained on schema {} but this build uses {}; retrain with `anomalyforge train`",
                pm.schema.profile.name(),
                &pm.schema.hash,
                &schema.hash
            ),
        ));
    }
    let find = |kind: Option<ModelKind>| -> Result<PathBuf, EngineError> {
        let rel = format!("{}/{}", pm.schema.profile.name(), artifact_name(kind));
        let entry = pm
            .files
            .iter()
            .find(|f| f.file == rel)
            .ok_or_else(|| model_err(&manifest_path, format!("no entry for `{rel}`")))?;
        let path = dir.join(&rel);
        if !path.exists() {
            return Err(model_err(&path, "file missing"));
        }
        let digest = sha256_file(&path)?;
        if digest != entry.sha256 {
            return Err(model_err(
                &path,
                format!("corrupt or replaced: sha256 {digest} does not match the manifest ({})", entry.sha256),
            ));
        }
        Ok(path)
    };
    let d = schema.len();
    let scaler_path = find(None)?;
    let scaler = load_scaler(&scaler_path)?;
    if scaler.dim() != d {
        return Err(model_err(&scaler_path, format!("scaler has {} features, schema has {d}", scaler.dim())));
    }
    let check = |path: &Path, got: usize| -> Result<(), EngineError> {
        if got != d {
            Err(model_err(path, format!("model expects {got} features, schema has {d}")))
        } else {
            Ok(())
        }
    };
    let p = find(Some(ModelKind::Gbdt))?;
    let (gbdt, rare) = load_forest(&p)?;
    check(&p, gbdt.n_features)?;
    if gbdt.n_outputs != crate::threat::Threat::COUNT {
        return Err(model_err(
            &p,
            format!("classifier has {} classes, expected {}", gbdt.n_outputs, crate::threat::Threat::COUNT),
        ));
    }
    let p = find(Some(ModelKind::WebSpecialist))?;
    let (web, _) = load_forest(&p)?;
    check(&p, web.n_features)?;
    if web.n_outputs != super::ensemble::WEB_CLASSES.len() {
        return Err(model_err(&p, format!("web specialist has {} classes, expected 4", web.n_outputs)));
    }
    let p = find(Some(ModelKind::IsolationForest))?;
    let iforest = load_iforest(&p)?;
    check(&p, iforest.n_features)?;
    let p = find(Some(ModelKind::OneClassSvm))?;
    let ocsvm = load_ocsvm(&p)?;
    check(&p, ocsvm.n_features)?;
    let p = find(Some(ModelKind::Autoencoder))?;
    let ae = Autoencoder::load(&p).map_err(|e| model_err(&p, e))?;
    check(&p, ae.n_features())?;
    let fusion = pm.fusion.clone();
    if fusion.weights.len() != super::ensemble::FUSION_INPUTS.len() || fusion.anomaly_thresholds.len() != 3 {
        return Err(model_err(&manifest_path, "fusion parameters have the wrong number of inputs"));
    }
    Ok(ProfileModel { schema, scaler, gbdt, web, rare, iforest, ocsvm, ae, fusion })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threat::Threat;

    /// One tree of depth 1 on feature 1, two outputs.
    fn forest() -> FlatForest {
        FlatForest::new(2, 3, vec![0], vec![1], vec![0.5, -0.5], vec![1], vec![0.25], vec![0.0, -1.0, 1.0])
            .expect("valid forest")
    }

    #[test]
    fn the_classifier_file_round_trips_its_rare_class_stage() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("gbdt.safetensors");
        let x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let labels = [Threat::Heartbleed, Threat::Benign, Threat::WebXss];
        let rare = RareNeighbours::fit(&x, 3, &[0, 1, 2], &labels, &RareParams { top_n: 2, ..RareParams::default() });
        save_forest(&forest(), Some(&rare), &path).expect("save");
        let (f, r) = load_forest(&path).expect("load");
        assert_eq!(f, forest());
        assert_eq!(r, Some(rare));

        // A forest written without the stage (the web specialist, or a model from before it) has none.
        save_forest(&forest(), None, &path).expect("save");
        assert_eq!(load_forest(&path).expect("load").1, None);
    }

    #[test]
    fn a_rare_class_stage_of_the_wrong_shape_is_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("gbdt.safetensors");
        let bad = RareNeighbours {
            n_features: 3,
            class: vec![Threat::Heartbleed.index() as u32],
            rows: vec![0.0; 2],
            params: RareParams::default(),
        };
        save_forest(&forest(), Some(&bad), &path).expect("save");
        let msg = load_forest(&path).expect_err("must fail").to_string();
        assert!(msg.contains("gbdt.safetensors") && msg.contains("rare-class stage"), "{msg}");
    }
}
