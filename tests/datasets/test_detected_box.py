"""DetectedBox: each instance cropped from its best-overlapping detection, the ground-truth
box kept; COCO detection files read by image id."""

import json

import numpy as np
import pytest
from mmpose.registry import TRANSFORMS as MMPOSE_TRANSFORMS

from mmpose_rle.datasets import DetectedBox, load_coco_detections
from mmpose_rle.registry import TRANSFORMS

H, W = 480, 640
TRUTH = np.array([[100, 120, 180, 200], [300, 50, 420, 130]], np.float32)


def _bbox_file(tmp_path, detections):
    path = tmp_path / 'det.json'
    path.write_text(json.dumps(detections))
    return str(path)


def _results(img_id=7):
    return dict(img_id=img_id, img_shape=(H, W), bbox=TRUTH.copy())


def _det(image_id, x1, y1, x2, y2, score=0.9):
    box = [float(v) for v in (x1, y1, x2 - x1, y2 - y1)]
    return dict(image_id=image_id, category_id=1, bbox=box, score=score)


def test_registered_in_our_scope_and_built_through_mmpose(tmp_path):
    path = _bbox_file(tmp_path, [])
    built = MMPOSE_TRANSFORMS.build(dict(type='mmpose_rle.DetectedBox', bbox_file=path))
    assert type(built) is DetectedBox and MMPOSE_TRANSFORMS.children['mmpose_rle'] is TRANSFORMS
    assert 'DetectedBox' not in MMPOSE_TRANSFORMS.module_dict


def test_detections_are_read_as_xyxy_by_image_above_the_score_threshold(tmp_path):
    path = _bbox_file(
        tmp_path,
        [_det(7, 10, 20, 50, 80), _det(7, 0, 0, 5, 5, score=0.1), _det(3, 1, 2, 3, 4)],
    )
    boxes = load_coco_detections(path, score_thr=0.5)
    np.testing.assert_array_equal(boxes[7], [[10, 20, 50, 80]])
    np.testing.assert_array_equal(boxes[3], [[1, 2, 3, 4]])
    assert len(load_coco_detections(path)[7]) == 2


@pytest.mark.parametrize('padding', [1.0, 1.25])
def test_each_instance_is_cropped_from_its_best_overlapping_detection(tmp_path, padding):
    shifted = TRUTH[1] + [10, 0, 10, 0]  # overlaps the second instance most
    loose = [90, 100, 220, 230]  # overlaps the first instance less than a tight one
    tight = [104, 120, 184, 204]
    path = _bbox_file(tmp_path, [_det(7, *loose), _det(7, *shifted), _det(7, *tight)])
    out = DetectedBox(path, padding=padding)(_results())
    centres = [[144, 162], [(shifted[0] + shifted[2]) / 2, (shifted[1] + shifted[3]) / 2]]
    np.testing.assert_allclose(out['bbox_center'], centres)
    np.testing.assert_allclose(out['bbox_scale'], padding * np.array([[80, 84], [120, 80]]))
    np.testing.assert_array_equal(out['bbox'], TRUTH)


def test_an_instance_no_detection_overlaps_is_cropped_from_the_whole_frame(tmp_path):
    path = _bbox_file(tmp_path, [_det(7, 600, 400, 630, 470), _det(8, *TRUTH[1])])
    out = DetectedBox(path, padding=1.0)(_results())
    np.testing.assert_allclose(out['bbox_center'], [[W / 2, H / 2]] * 2)
    np.testing.assert_allclose(out['bbox_scale'], [[W, H]] * 2)
    unseen = DetectedBox(path, padding=1.0)(_results(img_id=99))
    np.testing.assert_allclose(unseen['bbox_scale'], [[W, H]] * 2)


def test_the_crop_is_what_get_bbox_center_scale_makes_of_the_same_box(tmp_path):
    path = _bbox_file(tmp_path, [_det(7, *TRUTH[0]), _det(7, *TRUTH[1])])
    ours = DetectedBox(path)(_results())
    theirs = MMPOSE_TRANSFORMS.build(dict(type='GetBBoxCenterScale'))(_results())
    np.testing.assert_allclose(ours['bbox_center'], theirs['bbox_center'])
    np.testing.assert_allclose(ours['bbox_scale'], theirs['bbox_scale'])


def test_bad_input_is_named(tmp_path):
    path = _bbox_file(tmp_path, [])
    with pytest.raises(ValueError, match='padding'):
        DetectedBox(path, padding=0.0)
    results = _results()
    del results['img_id']
    with pytest.raises(KeyError, match='img_id'):
        DetectedBox(path)(results)
