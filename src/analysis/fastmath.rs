//! `x^p` for the UMAP gradient, about 4x cheaper than `powf` with ~1e-4 relative error (for |p·log2 x| up to ~5),
//! which SGD does not notice: `2^(p·log2 x)` with the exponent taken from the float's bits
//! and short polynomials for the mantissa's log and the fractional power of two.

/// `x^p` for finite `x > 0`.
#[inline(always)]
pub fn fast_pow(x: f32, p: f32) -> f32 {
    fast_exp2(p * fast_log2(x))
}

#[inline(always)]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // mantissa in [1, 2)
    // Least-squares fit of log2(1 + t) on [0, 1), max error 3e-5.
    let t = m - 1.0;
    let poly = t * (1.441_825_8 + t * (-0.708_682_1 + t * (0.415_421_9 + t * (-0.194_422_7 + t * 0.045_885_5))));
    exponent as f32 + poly
}

#[inline(always)]
fn fast_exp2(y: f32) -> f32 {
    let y = y.clamp(-126.0, 126.0);
    // Truncate and correct instead of floor(): without SSE4.1, floor() is a libm call.
    let mut i = y as i32;
    if (i as f32) > y {
        i -= 1;
    }
    let f = y - i as f32;
    // Least-squares fit of 2^f on [0, 1), max relative error 2e-7.
    let poly = 1.0 + f * (0.693_152_7 + f * (0.240_153_2 + f * (0.055_828_2 + f * (0.008_989_0 + f * 0.001_876_6))));
    f32::from_bits(((i + 127) as u32) << 23) * poly
}

#[cfg(test)]
mod tests {
    use super::fast_pow;

    #[test]
    fn close_to_powf() {
        for &x in &[1e-6f32, 0.01, 0.3, 1.0, 2.5, 17.0, 400.0, 1e5] {
            for &p in &[0.895f32, -0.105, 1.79, 0.5] {
                let (fast, exact) = (fast_pow(x, p), x.powf(p));
                assert!(((fast - exact) / exact).abs() < 2e-3, "{x}^{p}: {fast} vs {exact}");
            }
        }
    }
}
