"""Ground-truth boxes of a COCO file, looked up by image file name, in ``x1, y1, x2, y2``;
a one-stage model's instances ranked into boxes with scores (the model itself runs in
``test_inferencer.py``)."""

import json

import numpy as np
import pytest

from mmpose_rle.apis.boxes import (
    coco_box_source,
    coco_detections,
    one_stage_box_source,
    ranked_boxes,
)
from mmpose_rle.datasets import load_coco_detections
from tests.helpers import QUICKSTART_CONFIG


def write_coco(tmp_path, coco: dict) -> str:
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(coco))
    return str(path)


def test_boxes_are_the_non_crowd_boxes_of_each_image_in_xyxy(tmp_path):
    coco = dict(
        images=[
            dict(id=1, file_name='train/a.jpg'),
            dict(id=2, file_name='b.jpg'),
            dict(id=3, file_name='empty.jpg'),
        ],
        annotations=[
            dict(id=10, image_id=1, bbox=[10, 20, 30, 40], iscrowd=0),
            dict(id=11, image_id=1, bbox=[0.5, 1.5, 2.0, 3.0]),  # no iscrowd: not crowd
            dict(id=12, image_id=1, bbox=[5, 5, 50, 50], iscrowd=1),  # crowd: left out
            dict(id=13, image_id=2, bbox=[100, 200, 7, 9], iscrowd=0),
            dict(id=14, image_id=2, bbox=[1, 1, 0, 5], iscrowd=0),  # zero width
            dict(id=15, image_id=2, bbox=[1, 1, 5, -2], iscrowd=0),  # negative height
            dict(id=16, image_id=3),  # no box at all
            dict(id=17, image_id=99, bbox=[1, 1, 5, 5], iscrowd=0),  # unknown image
        ],
    )
    source = coco_box_source(write_coco(tmp_path, coco))
    # by file name only: the directory of the query and of the file do not matter
    a = source('/somewhere/else/a.jpg')
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, [[10, 20, 40, 60], [0.5, 1.5, 2.5, 4.5]])
    np.testing.assert_array_equal(source('b.jpg'), [[100, 200, 107, 209]])


def test_an_image_without_boxes_or_not_in_the_file_gets_an_empty_n_by_4_array(tmp_path):
    coco = dict(
        images=[dict(id=3, file_name='empty.jpg')],
        annotations=[dict(id=1, image_id=3, bbox=[0, 0, 10, 10], iscrowd=1)],
    )
    source = coco_box_source(write_coco(tmp_path, coco))
    for name in ('empty.jpg', 'dir/missing.jpg'):
        boxes = source(name)
        assert boxes.shape == (0, 4) and boxes.dtype == np.float32


def test_a_file_without_images_or_annotations_gives_no_boxes(tmp_path):
    assert coco_box_source(write_coco(tmp_path, {}))('a.jpg').shape == (0, 4)


def test_an_image_given_as_an_array_has_no_name_and_no_coco_boxes(tmp_path):
    coco = dict(
        images=[dict(id=1, file_name='a.jpg')],
        annotations=[dict(id=1, image_id=1, bbox=[0, 0, 10, 10], iscrowd=0)],
    )
    boxes = coco_box_source(write_coco(tmp_path, coco))(np.zeros((8, 8, 3), np.uint8))
    assert boxes.shape == (0, 4) and boxes.dtype == np.float32


def test_ranked_boxes_keep_scores_above_the_threshold_best_first_clipped_to_the_image():
    bboxes = np.array(
        [
            [10, 10, 20, 20],  # 0.5
            [-5, 2, 30, 90],  # 0.9: clipped to the 40 x 60 (w x h) image
            [1, 1, 5, 5],  # 0.3: not above the threshold
            [50, 10, 70, 20],  # 0.95: entirely right of the image, no area left
            [2, 3, 4, 5],  # 0.5: tie with the first, stays after it
            [0, 0, 1, 1],  # 0.1
        ]
    )
    scores = np.array([0.5, 0.9, 0.3, 0.95, 0.5, 0.1])
    got = ranked_boxes(bboxes, scores, (60, 40, 3), score_thr=0.3)
    assert got.dtype == np.float32
    want = [[0, 2, 30, 60, 0.9], [10, 10, 20, 20, 0.5], [2, 3, 4, 5, 0.5]]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(ranked_boxes(bboxes, scores, (60, 40), 0.3, 2), want[:2])
    np.testing.assert_allclose(ranked_boxes(bboxes, scores, (60, 40), 0.05)[-1], [0, 0, 1, 1, 0.1])


def test_ranked_boxes_of_nothing_are_an_empty_n_by_5_array():
    for scores in (np.zeros(0), np.array([0.2])):
        got = ranked_boxes(np.zeros((len(scores), 4)), scores, (10, 10), score_thr=0.3)
        assert got.shape == (0, 5) and got.dtype == np.float32


def test_a_top_down_model_is_refused_as_a_one_stage_box_source(monkeypatch, tiny_figures):
    monkeypatch.setenv('MMPOSE_RLE_DATA_ROOT', str(tiny_figures))
    with pytest.raises(ValueError, match='bottom-up model'):
        one_stage_box_source(str(QUICKSTART_CONFIG))


def test_coco_detections_run_the_source_over_every_image_and_read_back(tmp_path):
    coco = dict(images=[dict(id=4, file_name='a.jpg'), dict(id=9, file_name='sub/b.jpg')])
    seen = []

    def source(path):
        seen.append(path)
        if path.endswith('a.jpg'):
            return np.array([[10, 20, 40, 60, 0.8], [1, 2, 3, 4, 0.2]], np.float32)
        return np.array([[5, 6, 15, 26]], np.float32)  # no score

    dets = coco_detections(source, write_coco(tmp_path, coco), img_prefix='imgs')
    assert seen == ['imgs/a.jpg', 'imgs/sub/b.jpg']
    assert [d['image_id'] for d in dets] == [4, 4, 9]
    assert dets[0]['bbox'] == [10, 20, 30, 40] and dets[0]['score'] == pytest.approx(0.8)
    assert dets[2]['bbox'] == [5, 6, 10, 20] and dets[2]['score'] == 1.0
    path = tmp_path / 'det.json'
    path.write_text(json.dumps(dets))
    back = load_coco_detections(str(path), score_thr=0.5)
    np.testing.assert_array_equal(back[4], [[10, 20, 40, 60]])
    np.testing.assert_array_equal(back[9], [[5, 6, 15, 26]])
