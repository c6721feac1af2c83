//! Hole filling: background regions not connected to the array border become
//! foreground.
//!
//! Holes are background components with face connectivity (4 in a slice, 6
//! in 3-D), the dual of the foreground's full connectivity, as in
//! `scipy.ndimage.binary_fill_holes`.

use ndarray::{Array3, ArrayView3, Zip};

use super::label::{Connectivity, label_value};

/// Fills, in each axial slice separately, the background regions that do not
/// reach the slice's first or last row or column.
///
/// ```
/// use hounsfield_core::morph::fill_holes_2d;
/// let mut m = ndarray::Array3::from_elem((1, 5, 5), false);
/// for i in 1..4 { m[[0, 1, i]] = true; m[[0, 3, i]] = true; m[[0, i, 1]] = true; m[[0, i, 3]] = true; }
/// let f = fill_holes_2d(m.view());
/// assert!(f[[0, 2, 2]] && !f[[0, 0, 0]]);
/// ```
pub fn fill_holes_2d(mask: ArrayView3<'_, bool>) -> Array3<bool> {
    let bg = label_value(mask, false, Connectivity::SliceFace);
    let dims = bg.dims();
    let holes = bg.mask_where(|l| bg.get(l).is_some_and(|s| !s.touches_side(dims)));
    or(mask, holes)
}

/// Fills the background regions of the volume that do not reach any face of
/// the array (first or last slice, row or column).
pub fn fill_holes_3d(mask: ArrayView3<'_, bool>) -> Array3<bool> {
    let bg = label_value(mask, false, Connectivity::Face);
    let dims = bg.dims();
    let holes = bg.mask_where(|l| {
        bg.get(l)
            .is_some_and(|s| !s.touches_side(dims) && !s.touches_end(dims))
    });
    or(mask, holes)
}

fn or(mask: ArrayView3<'_, bool>, mut holes: Array3<bool>) -> Array3<bool> {
    Zip::from(&mut holes)
        .and(mask)
        .par_for_each(|h, &m| *h = *h || m);
    holes
}
