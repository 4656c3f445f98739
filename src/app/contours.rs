//! Density contours over the map (toggled in the map's toolbar): computed from the layout the
//! map is moving to, once per new layout. Binning, smoothing and tracing take about a
//! millisecond per 10,000 points, so they run in the frame that first needs them.

use crate::analysis::density::{density_contours, ContourParams, DensityContours};

#[derive(Default)]
pub struct ContourState {
    /// The map layout version the contours were traced from.
    traced_for: Option<u64>,
    pub contours: DensityContours,
}

impl ContourState {
    /// The contours of `layout` (version `version`), traced again only when it changed.
    pub fn of_layout(&mut self, version: u64, layout: &[[f32; 2]]) -> &DensityContours {
        if self.traced_for != Some(version) {
            self.contours = density_contours(layout, &ContourParams::default());
            self.traced_for = Some(version);
        }
        &self.contours
    }
}
