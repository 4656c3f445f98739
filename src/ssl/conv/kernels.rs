//! The loops under the conv ops: geometry and im2col / col2im for one image.

use candle_core::{bail, Result};

/// Shapes of one convolution (square kernel, no dilation, one group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Geom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub k: usize,
    pub pad: usize,
    pub stride: usize,
    pub ho: usize,
    pub wo: usize,
}

impl Geom {
    pub fn new(
        (n, c, h, w): (usize, usize, usize, usize),
        (o, wc, kh, kw): (usize, usize, usize, usize),
        pad: usize,
        stride: usize,
    ) -> Result<Self> {
        if wc != c {
            bail!("conv2d: input has {c} channels but the kernel expects {wc}");
        }
        if kh != kw || kh == 0 {
            bail!("conv2d: kernel must be square and non-empty, got {kh}×{kw}");
        }
        if stride == 0 {
            bail!("conv2d: stride must be at least 1");
        }
        if h + 2 * pad < kh || w + 2 * pad < kw {
            bail!("conv2d: {kh}×{kw} kernel larger than the padded {h}×{w} input");
        }
        let ho = (h + 2 * pad - kh) / stride + 1;
        let wo = (w + 2 * pad - kw) / stride + 1;
        Ok(Self { n, c, h, w, o, k: kh, pad, stride, ho, wo })
    }

    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    pub fn ckk(&self) -> usize {
        self.c * self.k * self.k
    }

    pub fn howo(&self) -> usize {
        self.ho * self.wo
    }

    pub fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }

    pub fn out_len(&self) -> usize {
        self.o * self.howo()
    }

    /// Output columns `lo..hi` whose input column `ox*stride + kx - pad` lies inside the image.
    fn valid_cols(&self, kx: usize) -> (usize, usize) {
        let s = self.stride;
        let lo = if kx >= self.pad { 0 } else { (self.pad - kx).div_ceil(s) };
        let hi = if self.w + self.pad > kx { ((self.w - 1 + self.pad - kx) / s + 1).min(self.wo) } else { 0 };
        (lo.min(hi), hi)
    }

    /// Input row read by output row `oy` at kernel row `ky`, if inside the image.
    fn input_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride + ky).checked_sub(self.pad).filter(|&iy| iy < self.h)
    }
}

/// Lays out the patches of one image (C×H×W) as a CKK × HoWo matrix, zeros for padding.
/// Row r starts at `cols[r * ld]` (`ld` ≥ HoWo lets several images share one matrix).
pub(super) fn im2col(g: &Geom, x: &[f32], cols: &mut [f32], ld: usize) {
    if g.stride == 1 && g.ho == g.h && g.wo == g.w && g.pad < g.h && g.pad < g.w {
        return im2col_same(g, x, cols, ld);
    }
    let s = g.stride;
    for ci in 0..g.c {
        let plane = &x[ci * g.h * g.w..][..g.h * g.w];
        for ky in 0..g.k {
            for kx in 0..g.k {
                let row = &mut cols[((ci * g.k + ky) * g.k + kx) * ld..][..g.howo()];
                let (lo, hi) = g.valid_cols(kx);
                for (oy, dst) in row.chunks_exact_mut(g.wo).enumerate() {
                    let Some(iy) = g.input_row(oy, ky) else {
                        dst.fill(0.0);
                        continue;
                    };
                    let src = &plane[iy * g.w..][..g.w];
                    dst[..lo].fill(0.0);
                    dst[hi..].fill(0.0);
                    if lo == hi {
                        continue;
                    }
                    // ix = ox*s + kx - pad, written so that nothing underflows for ox >= lo.
                    let first = lo * s + kx - g.pad;
                    if s == 1 {
                        dst[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
                    } else {
                        for (j, d) in dst[lo..hi].iter_mut().enumerate() {
                            *d = src[first + j * s];
                        }
                    }
                }
            }
        }
    }
}

/// `im2col` for a same-size stride-1 convolution (2·pad = k − 1, e.g. 3×3 with padding 1):
/// each (channel, ky, kx) row of the patch matrix is the plane shifted by (ky − pad, kx − pad),
/// so it is one block copy of all valid output rows, then the columns that fell off the left
/// or right edge zeroed. Why: the general path copies one output row at a time, and at 7–28
/// values a row those memcpy calls cost more than the data they move.
fn im2col_same(g: &Geom, x: &[f32], cols: &mut [f32], ld: usize) {
    let (h, w, len) = (g.h, g.w, g.h * g.w);
    for ci in 0..g.c {
        let plane = &x[ci * len..][..len];
        for ky in 0..g.k {
            for kx in 0..g.k {
                let row = &mut cols[((ci * g.k + ky) * g.k + kx) * ld..][..len];
                // Output (oy, ox) reads input (oy + dy, ox + dx); |dy| < h and |dx| < w.
                let (dy, dx) = (ky as isize - g.pad as isize, kx as isize - g.pad as isize);
                // Output rows whose input row is inside the image.
                let oy_lo = (-dy).max(0) as usize;
                let oy_hi = (h as isize - dy).min(h as isize) as usize;
                row[..oy_lo * w].fill(0.0);
                row[oy_hi * w..].fill(0.0);
                // Flat index d reads d + off; clip where that leaves the plane (only entries
                // in the edge columns, zeroed just below).
                let off = dy * w as isize + dx;
                let lo = ((oy_lo * w) as isize).max(-off) as usize;
                let hi = ((oy_hi * w) as isize).min(len as isize - off) as usize;
                if lo < hi {
                    let src = (lo as isize + off) as usize;
                    row[lo..hi].copy_from_slice(&plane[src..src + (hi - lo)]);
                }
                let (zl, zh) = if dx > 0 { (w - dx as usize, w) } else { (0, (-dx) as usize) };
                if zl < zh {
                    for oy in oy_lo..oy_hi {
                        row[oy * w + zl..oy * w + zh].fill(0.0);
                    }
                }
            }
        }
    }
}

/// The adjoint of `im2col`: adds each column entry back onto the pixel it was read from.
/// `dx` (one image, C×H×W) must be zeroed by the caller; rows of `cols` are `ld` apart.
/// `cols` is scratch: the same-size path zeroes its entries that no pixel was read into.
pub(super) fn col2im(g: &Geom, cols: &mut [f32], dx: &mut [f32], ld: usize) {
    if g.stride == 1 && g.ho == g.h && g.wo == g.w && g.pad < g.h && g.pad < g.w {
        return col2im_same(g, cols, dx, ld);
    }
    let s = g.stride;
    for ci in 0..g.c {
        let plane = &mut dx[ci * g.h * g.w..][..g.h * g.w];
        for ky in 0..g.k {
            for kx in 0..g.k {
                let row = &cols[((ci * g.k + ky) * g.k + kx) * ld..][..g.howo()];
                let (lo, hi) = g.valid_cols(kx);
                for (oy, src) in row.chunks_exact(g.wo).enumerate() {
                    let Some(iy) = g.input_row(oy, ky) else { continue };
                    if lo == hi {
                        continue;
                    }
                    let dst = &mut plane[iy * g.w..][..g.w];
                    let first = lo * s + kx - g.pad;
                    if s == 1 {
                        let d = &mut dst[first..first + (hi - lo)];
                        d.iter_mut().zip(&src[lo..hi]).for_each(|(a, b)| *a += b);
                    } else {
                        for (j, v) in src[lo..hi].iter().enumerate() {
                            dst[first + j * s] += v;
                        }
                    }
                }
            }
        }
    }
}

/// `col2im` for a same-size stride-1 convolution, the adjoint of `im2col_same`: the entries
/// of the edge columns (read from outside the image) are zeroed in `cols`, then each row of
/// valid outputs is added onto the shifted plane as one block.
fn col2im_same(g: &Geom, cols: &mut [f32], dx: &mut [f32], ld: usize) {
    let (h, w, len) = (g.h, g.w, g.h * g.w);
    for ci in 0..g.c {
        let plane = &mut dx[ci * len..][..len];
        for ky in 0..g.k {
            for kx in 0..g.k {
                let row = &mut cols[((ci * g.k + ky) * g.k + kx) * ld..][..len];
                let (dy, dx) = (ky as isize - g.pad as isize, kx as isize - g.pad as isize);
                let oy_lo = (-dy).max(0) as usize;
                let oy_hi = (h as isize - dy).min(h as isize) as usize;
                let (zl, zh) = if dx > 0 { (w - dx as usize, w) } else { (0, (-dx) as usize) };
                if zl < zh {
                    for oy in oy_lo..oy_hi {
                        row[oy * w + zl..oy * w + zh].fill(0.0);
                    }
                }
                let off = dy * w as isize + dx;
                let lo = ((oy_lo * w) as isize).max(-off) as usize;
                let hi = ((oy_hi * w) as isize).min(len as isize - off) as usize;
                if lo < hi {
                    let dst = (lo as isize + off) as usize;
                    plane[dst..dst + (hi - lo)].iter_mut().zip(&row[lo..hi]).for_each(|(a, b)| *a += b);
                }
            }
        }
    }
}
