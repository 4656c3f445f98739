//! Typed errors of the core. Front ends turn them into one readable line.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PretextError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("{0}")]
    BadData(String),
    #[error("invalid setting: {0}")]
    InvalidConfig(String),
    #[error("training stopped: {0}")]
    Diverged(String),
    #[error("model error: {0}")]
    Model(#[from] candle_core::Error),
    #[error("{0}")]
    Analysis(String),
    /// A selection of items to label that cannot be made (see `analysis::coreset`).
    #[error(transparent)]
    Coreset(#[from] crate::analysis::coreset::CoresetError),
    /// A GPU this build was compiled without.
    #[error("this build of pretext has no {device} support: build it with `cargo build --release --features {feature}` (see the README's GPU section)")]
    DeviceNotBuilt { device: String, feature: &'static str },
    /// A GPU the build supports but that cannot be opened here.
    #[error("cannot open the {device} device: {reason}")]
    DeviceUnavailable { device: String, reason: String },
}

impl PretextError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub fn bad_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::BadFile { path: path.into(), reason: reason.into() }
    }
}

pub type Result<T, E = PretextError> = std::result::Result<T, E>;
