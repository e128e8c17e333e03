"""The procedural quick-start data set: deterministic, cached, valid COCO + metainfo."""

import json

import numpy as np
from mmpose.datasets.datasets.utils import parse_pose_metainfo

from mmpose_rle.datasets import FLIP_PAIRS, KEYPOINTS, SyntheticFigures, generate_synthetic_figures

PARAMS = SyntheticFigures(num_train=6, num_val=2, image_size=96, seed=3)


def test_deterministic_and_cached(tmp_path):
    a = generate_synthetic_figures(str(tmp_path / 'a'), PARAMS, progress=False)
    b = generate_synthetic_figures(str(tmp_path / 'b'), PARAMS, progress=False)
    for name in ('train.json', 'val.json', 'metainfo.py', 'images/000003.png'):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    stamp = (a / 'train.json').stat().st_mtime_ns
    assert generate_synthetic_figures(str(tmp_path / 'a'), PARAMS, progress=False) == a
    assert (a / 'train.json').stat().st_mtime_ns == stamp  # reused, not regenerated
    c = generate_synthetic_figures(
        str(tmp_path / 'a'),
        SyntheticFigures(num_train=6, num_val=2, image_size=96, seed=4),
        progress=False,
    )
    assert c != a and (c / 'train.json').read_bytes() != (a / 'train.json').read_bytes()


def test_coco_annotations_are_consistent(tmp_path):
    root = generate_synthetic_figures(str(tmp_path), PARAMS, progress=False)
    train, val = (json.loads((root / f'{s}.json').read_text()) for s in ('train', 'val'))
    assert len(train['images']) == 6 and len(val['images']) == 2
    assert train['categories'][0]['keypoints'] == list(KEYPOINTS)
    for ann in train['annotations'] + val['annotations']:
        kps = np.array(ann['keypoints']).reshape(-1, 3)
        x, y, w, h = ann['bbox']
        visible = kps[:, 2] > 0
        assert ann['num_keypoints'] == visible.sum() > 0
        assert (kps[visible, 0] >= x).all() and (kps[visible, 0] <= x + w).all()
        assert (kps[visible, 1] >= y).all() and (kps[visible, 1] <= y + h).all()
        assert (root / 'images' / f'{ann["image_id"]:06d}.png').exists()


def test_metainfo_parses_with_flip_pairs(tmp_path):
    root = generate_synthetic_figures(str(tmp_path), PARAMS, progress=False)
    meta = parse_pose_metainfo(dict(from_file=str(root / 'metainfo.py')))
    assert meta['num_keypoints'] == len(KEYPOINTS)
    assert {frozenset(p) for p in meta['flip_pairs']} == {frozenset(p) for p in FLIP_PAIRS}
    flip = meta['flip_indices']
    assert all(flip[a] == b and flip[b] == a for a, b in FLIP_PAIRS)
    assert len(meta['sigmas']) == len(KEYPOINTS)


def test_pose_draw_order_is_unchanged():
    """``_pose`` (refactored to share ``_angles`` with the crowd set) consumes the generator
    exactly as the original inline code did, so a seed gives the same data set as before."""
    from mmpose_rle.datasets.synthetic import _pose, figure_keypoints

    for seed in range(5):
        rng = np.random.default_rng(seed)
        scale = rng.uniform(0.15, 0.24) * 160
        root = rng.uniform(0.4, 0.6, size=2) * 160
        tilt, head = rng.normal(0, 0.35), rng.normal(0, 0.3)
        limbs = {
            side: tuple(
                rng.uniform(lo, hi) for lo, hi in ((0.4, 2.6), (-0.3, 1.5), (0.1, 0.8), (-0.6, 0.2))
            )
            for side in ('left', 'right')
        }
        expected = figure_keypoints(scale, root, tilt, head, limbs)
        after = rng.random()
        rng = np.random.default_rng(seed)
        assert np.array_equal(_pose(rng, 160), expected)
        assert rng.random() == after  # no extra or missing draws


def test_write_coco_set_numbers_annotations_with_ann_id(tmp_path):
    from mmpose_rle.datasets.synthetic import figure_keypoints, write_coco_set

    params = SyntheticFigures(num_train=2, num_val=1, image_size=64, seed=0)
    limbs = {side: (1.0, 0.5, 0.3, -0.2) for side in ('left', 'right')}
    figure = figure_keypoints(12.0, np.array([32.0, 32.0]), 0.0, 0.0, limbs)

    def draw(rng):
        return np.zeros((64, 64, 3), np.uint8), [figure, figure + 1]

    out = write_coco_set(
        str(tmp_path), params, draw, 'test', False, ann_id=lambda i, n: 100 * i + n
    )
    train = json.loads((out / 'train.json').read_text())
    val = json.loads((out / 'val.json').read_text())
    assert [a['id'] for a in train['annotations']] == [1, 2, 103, 104]
    assert [a['id'] for a in val['annotations']] == [205, 206]
    assert [a['image_id'] for a in val['annotations']] == [2, 2]
    assert (out / 'DONE').exists() and (out / 'metainfo.py').exists()
