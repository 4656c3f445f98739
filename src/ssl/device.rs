//! Where the model computes: the CPU (always built in) or a GPU when the program was built
//! with the `cuda` or `metal` feature. The one place a compute device is made; everything
//! else receives the `Device` it returns. The analysis layer stays on the CPU: embeddings
//! are copied back to plain `Vec<f32>` matrices.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::error::{PretextError, Result};

/// The compute device a user asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    #[default]
    Cpu,
    /// An NVIDIA GPU by its CUDA ordinal.
    Cuda(usize),
    /// An Apple GPU by its Metal ordinal.
    Metal(usize),
}

impl DeviceChoice {
    /// The cargo feature a build needs for this device (`None` for the CPU).
    pub fn feature(self) -> Option<&'static str> {
        match self {
            DeviceChoice::Cpu => None,
            DeviceChoice::Cuda(_) => Some("cuda"),
            DeviceChoice::Metal(_) => Some("metal"),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Cpu => write!(f, "cpu"),
            DeviceChoice::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceChoice::Metal(i) => write!(f, "metal:{i}"),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = PretextError;

    /// `cpu`, `cuda`, `cuda:N`, `metal` or `metal:N` (case-insensitive).
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let (kind, ordinal) = match lower.split_once(':') {
            Some((kind, n)) => {
                let n = n.parse::<usize>().map_err(|_| bad_choice(s))?;
                (kind, Some(n))
            }
            None => (lower.as_str(), None),
        };
        match (kind, ordinal) {
            ("cpu", None) => Ok(DeviceChoice::Cpu),
            ("cuda", n) => Ok(DeviceChoice::Cuda(n.unwrap_or(0))),
            ("metal", n) => Ok(DeviceChoice::Metal(n.unwrap_or(0))),
            _ => Err(bad_choice(s)),
        }
    }
}

fn bad_choice(s: &str) -> PretextError {
    PretextError::InvalidConfig(format!("unknown device '{s}': use cpu, cuda, cuda:N, metal or metal:N"))
}

/// The candle device for `choice`. A GPU this build was compiled without is a
/// [`PretextError::DeviceNotBuilt`] naming the build command; a GPU that is compiled in but
/// cannot be opened (no driver, no such ordinal) is a [`PretextError::DeviceUnavailable`].
///
/// Each device is opened once per process and handed out again after: candle treats two
/// devices opened by two calls as different devices whose tensors cannot meet, and the
/// trainer, its snapshot worker and the teacher must share one.
pub fn compute_device(choice: DeviceChoice) -> Result<Device> {
    static OPENED: Mutex<Vec<(DeviceChoice, Device)>> = Mutex::new(Vec::new());
    if choice == DeviceChoice::Cpu {
        return Ok(Device::Cpu);
    }
    let mut opened = OPENED.lock().map_err(|_| PretextError::DeviceUnavailable { device: choice.to_string(), reason: "a thread opening it failed".into() })?;
    if let Some((_, device)) = opened.iter().find(|(c, _)| *c == choice) {
        return Ok(device.clone());
    }
    let device = open(choice)?;
    opened.push((choice, device.clone()));
    Ok(device)
}

fn open(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        #[cfg(feature = "cuda")]
        DeviceChoice::Cuda(ordinal) => Device::new_cuda(ordinal).map_err(|e| unavailable(choice, e)),
        #[cfg(feature = "metal")]
        DeviceChoice::Metal(ordinal) => Device::new_metal(ordinal).map_err(|e| unavailable(choice, e)),
        #[allow(unreachable_patterns)]
        other => Err(PretextError::DeviceNotBuilt { device: other.to_string(), feature: other.feature().unwrap_or("cpu") }),
    }
}

#[cfg(any(feature = "cuda", feature = "metal"))]
fn unavailable(choice: DeviceChoice, e: candle_core::Error) -> PretextError {
    PretextError::DeviceUnavailable { device: choice.to_string(), reason: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_device_names() {
        assert_eq!("cpu".parse::<DeviceChoice>().ok(), Some(DeviceChoice::Cpu));
        assert_eq!("CUDA".parse::<DeviceChoice>().ok(), Some(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:1".parse::<DeviceChoice>().ok(), Some(DeviceChoice::Cuda(1)));
        assert_eq!("metal".parse::<DeviceChoice>().ok(), Some(DeviceChoice::Metal(0)));
        for bad in ["gpu", "cuda:x", "cpu:0", ""] {
            assert!(bad.parse::<DeviceChoice>().is_err(), "{bad} parsed");
        }
        for choice in [DeviceChoice::Cpu, DeviceChoice::Cuda(2), DeviceChoice::Metal(0)] {
            assert_eq!(choice.to_string().parse::<DeviceChoice>().ok(), Some(choice));
        }
    }

    #[test]
    fn the_cpu_is_always_there() {
        assert!(compute_device(DeviceChoice::Cpu).is_ok_and(|d| d.is_cpu()));
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_gpu_missing_from_the_build_says_how_to_build_it() {
        let err = compute_device(DeviceChoice::Cuda(0)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("cargo build --release --features cuda"), "{err}");
    }

    #[cfg(not(feature = "metal"))]
    #[test]
    fn metal_missing_from_the_build_says_how_to_build_it() {
        let err = compute_device(DeviceChoice::Metal(0)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("--features metal"), "{err}");
    }
}
