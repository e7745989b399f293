//! The running engine, replaceable while the pipeline scores: the model registry puts a newly
//! activated version in, and the pipeline takes the engine once per batch. It sits with the engine,
//! not the registry, so the pipeline depends on the engine alone.

use std::sync::{Arc, RwLock};

use super::Engine;

/// The engine the pipeline scores with, replaceable while it runs. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct EngineSlot(Arc<RwLock<Arc<Engine>>>);

impl EngineSlot {
    pub fn new(engine: Arc<Engine>) -> EngineSlot {
        EngineSlot(Arc::new(RwLock::new(engine)))
    }

    /// The engine to use for one whole batch.
    pub fn current(&self) -> Arc<Engine> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `engine` in place and returns the one it replaced. Batches already being scored finish
    /// with the old one.
    pub fn replace(&self, engine: Arc<Engine>) -> Arc<Engine> {
        let mut g = match self.0.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::replace(&mut *g, engine)
    }
}

impl From<Arc<Engine>> for EngineSlot {
    fn from(engine: Arc<Engine>) -> Self {
        EngineSlot::new(engine)
    }
}
