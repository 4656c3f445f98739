//! Format detection: one entry point that opens whatever the user points at.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions;
pub fn load_dataset() {}
