//! Fusing two greyscale slices of one grid (a fixed image and a moving image
//! registered onto it) into one RGBA picture: a blend, a checkerboard, or
//! magenta/green (fixed in red and blue, moving in green: grey where they
//! agree, coloured where they differ).

/// How two registered images are shown together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FusionMode {
    /// `(1 − a)·fixed + a·moving`.
    #[default]
    Blend,
    /// Alternating squares of fixed and moving.
    Checkerboard,
    /// Fixed in magenta, moving in green.
    MagentaGreen,
}

impl FusionMode {
    /// Every mode, for menus.
    pub const ALL: [Self; 3] = [Self::Blend, Self::Checkerboard, Self::MagentaGreen];

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Blend => "blend",
            Self::Checkerboard => "checkerboard",
            Self::MagentaGreen => "magenta/green",
        }
    }
}

/// Fusion settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FusionStyle {
    /// Show the fusion at all.
    pub visible: bool,
    /// Mode.
    pub mode: FusionMode,
    /// Weight of the moving image in the blend, `0..=1`.
    pub blend: f32,
    /// Side of the checkerboard squares in slice pixels.
    pub checker_px: usize,
}

impl Default for FusionStyle {
    /// Visible, blend 50 %, 32-pixel squares.
    fn default() -> Self {
        Self {
            visible: true,
            mode: FusionMode::Blend,
            blend: 0.5,
            checker_px: 32,
        }
    }
}

/// RGBA pixels (row-major, 4 bytes each) fusing `fixed` and `moving`, two
/// `width × height` greyscale images; `None` if a buffer has another size.
pub fn fuse_rgba(
    fixed: &[u8],
    moving: &[u8],
    width: usize,
    height: usize,
    style: &FusionStyle,
) -> Option<Vec<u8>> {
    let n = width.checked_mul(height)?;
    if fixed.len() != n || moving.len() != n {
        return None;
    }
    let a = style.blend.clamp(0.0, 1.0);
    let cell = style.checker_px.max(1);
    let mut out = Vec::with_capacity(n * 4);
    for (i, (&f, &m)) in fixed.iter().zip(moving).enumerate() {
        let px = match style.mode {
            FusionMode::Blend => {
                let v = (f32::from(f) * (1.0 - a) + f32::from(m) * a).round() as u8;
                [v, v, v]
            }
            FusionMode::Checkerboard => {
                let (x, y) = (i % width, i / width);
                let v = if (x / cell + y / cell).is_multiple_of(2) {
                    f
                } else {
                    m
                };
                [v, v, v]
            }
            FusionMode::MagentaGreen => [f, m, f],
        };
        out.extend_from_slice(&[px[0], px[1], px[2], 255]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_put_each_image_where_expected() {
        let fixed = [0u8, 100, 200, 50];
        let moving = [200u8, 100, 0, 50];
        let style = |mode, blend, checker_px| FusionStyle {
            visible: true,
            mode,
            blend,
            checker_px,
        };
        let blend = fuse_rgba(&fixed, &moving, 2, 2, &style(FusionMode::Blend, 0.25, 1)).unwrap();
        assert_eq!(&blend[..4], &[50, 50, 50, 255]); // 0.75·0 + 0.25·200
        assert_eq!(&blend[8..12], &[150, 150, 150, 255]); // 0.75·200 + 0.25·0
        // checkerboard of 1-pixel squares: (0,0) fixed, (1,0) moving, (0,1) moving, (1,1) fixed
        let c = fuse_rgba(
            &fixed,
            &moving,
            2,
            2,
            &style(FusionMode::Checkerboard, 0.5, 1),
        )
        .unwrap();
        let grey: Vec<u8> = c.chunks(4).map(|p| p[0]).collect();
        assert_eq!(grey, [0, 100, 0, 50]);
        // magenta/green: agreeing pixels are grey
        let mg = fuse_rgba(
            &fixed,
            &moving,
            2,
            2,
            &style(FusionMode::MagentaGreen, 0.5, 1),
        )
        .unwrap();
        assert_eq!(&mg[..4], &[0, 200, 0, 255]);
        assert_eq!(&mg[4..8], &[100, 100, 100, 255]);
        assert!(
            fuse_rgba(
                &fixed,
                &moving[..3],
                2,
                2,
                &style(FusionMode::Blend, 0.5, 1)
            )
            .is_none()
        );
    }
}
