use ndarray::Array3;

use super::*;

fn grid() -> Geometry {
    Geometry::identity([3, 4, 5])
}

#[test]
fn mask_crop_round_trip_and_queries() {
    let mut full = Array3::from_elem([3, 4, 5], false);
    full[[1, 2, 3]] = true;
    full[[2, 1, 1]] = true;
    let m = Mask::from_full(full.view());
    assert_eq!(m.start, [1, 1, 1]);
    assert_eq!(m.data.shape(), &[2, 2, 3]);
    assert_eq!(m.to_full(), full);
    assert_eq!(m.count(), 2);
    assert!(m.get(1, 2, 3) && m.get(2, 1, 1) && !m.get(0, 0, 0) && !m.get(9, 9, 9));
    assert_eq!(m.bbox(), Some(([1, 1, 1], [2, 2, 3])));
    let e = Mask::from_full(Array3::from_elem([3, 4, 5], false).view());
    assert!(e.is_empty() && e.bbox().is_none() && e.count() == 0);
    assert_eq!(e.to_full(), Array3::from_elem([3, 4, 5], false));
}

#[test]
fn label_map_segments_and_lesions_on_top() {
    let mut l = Array3::<u16>::zeros([3, 4, 5]);
    l[[0, 0, 0]] = 6;
    l[[1, 1, 1]] = 7;
    l[[2, 3, 4]] = 6;
    let names = [(6, "liver".to_owned()), (7, "tumour".to_owned())];
    let mut seg = Segmentation::from_label_map(l.view(), grid(), &names, "t").unwrap();
    assert_eq!(seg.segments.len(), 2);
    assert_eq!(seg.segments[0].label, "liver");
    assert_eq!(seg.segments[1].layer, Layer::Lesion);
    assert_eq!(seg.to_label_map(), l);
    // Make the liver overlap the tumour and put the tumour first in file
    // order: the tumour still wins.
    seg.segments.swap(0, 1);
    let mut liver_full = seg.segments[1].mask.to_full();
    liver_full[[1, 1, 1]] = true;
    seg.segments[1].mask = Mask::from_full(liver_full.view());
    assert_eq!(seg.to_label_map()[[1, 1, 1]], 7);
    let c = seg.composite(&[true, true]);
    assert_eq!(c[[1, 1, 1]], 1); // index 0 (tumour) + 1
    let hidden = seg.composite(&[false, true]);
    assert_eq!(hidden[[1, 1, 1]], 2); // the liver shows when the tumour is hidden
    assert_eq!(seg.composite_volume(&[]).voxels.get_hu(0, 0, 0), Some(2.0));
}

#[test]
fn wrong_shape_is_an_error() {
    let l = Array3::<u16>::zeros([2, 2, 2]);
    let e = Segmentation::from_label_map(l.view(), grid(), &[], "x").unwrap_err();
    assert!(e.to_string().contains("shape"), "{e}");
}
