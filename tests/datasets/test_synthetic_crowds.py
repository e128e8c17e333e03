"""The procedural crowd data set: several figures per image, overlaps, COCO + bottom-up loading."""

import dataclasses
import json
from collections import Counter

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

from mmpose_rle.datasets import (
    KEYPOINTS,
    SyntheticCrowds,
    SyntheticFigures,
    generate_synthetic_crowds,
    generate_synthetic_figures,
)

TINY = dict(num_train=6, num_val=2, image_size=96)
PARAMS = SyntheticCrowds(**TINY, min_figures=2, max_figures=3, seed=3)


def _load(root):
    return [json.loads((root / f'{split}.json').read_text()) for split in ('train', 'val')]


def _iou(a, b):
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return iw * ih / (aw * ah + bw * bh - iw * ih)


def test_figure_counts_boxes_and_ids(tmp_path):
    params = dataclasses.replace(PARAMS, num_train=10, num_val=4)
    root = generate_synthetic_crowds(str(tmp_path), params, progress=False)
    train, val = _load(root)
    size = params.image_size
    assert len(train['images']) == 10 and len(val['images']) == 4
    assert train['categories'][0]['keypoints'] == list(KEYPOINTS)
    for split in (train, val):
        per_image = Counter(ann['image_id'] for ann in split['annotations'])
        counts = [per_image[image['id']] for image in split['images']]
        assert all(params.min_figures <= n <= params.max_figures for n in counts)
        assert set(per_image) == {image['id'] for image in split['images']}
    anns = train['annotations'] + val['annotations']
    # both ends of the range occur
    assert {n for n in Counter(a['image_id'] for a in anns).values()} == {2, 3}
    assert len({a['id'] for a in anns}) == len(anns)
    assert len({im['id'] for im in train['images'] + val['images']}) == 14
    for ann in anns:
        kps = np.array(ann['keypoints']).reshape(len(KEYPOINTS), 3)
        x, y, w, h = ann['bbox']
        visible = kps[:, 2] > 0
        assert set(kps[:, 2]) <= {0, 2} and (kps[~visible] == 0).all()
        assert ann['num_keypoints'] == visible.sum() > 0 and ann['iscrowd'] == 0
        assert ann['area'] == pytest.approx(w * h, rel=1e-3, abs=0.1)
        pts = kps[visible, :2]
        assert (pts >= [x, y]).all() and (pts <= [x + w, y + h]).all()
        assert (pts >= 0).all() and (pts <= size - 1).all()
        assert x >= 0 and y >= 0 and x + w <= size - 1 + 1e-6 and y + h <= size - 1 + 1e-6
        assert (root / 'images' / f'{ann["image_id"]:06d}.png').exists()


def test_deterministic_and_cached(tmp_path):
    a = generate_synthetic_crowds(str(tmp_path / 'a'), PARAMS, progress=False)
    b = generate_synthetic_crowds(str(tmp_path / 'b'), PARAMS, progress=False)
    for name in ('train.json', 'val.json', 'metainfo.py', 'params.json', 'images/000005.png'):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / 'DONE').exists()
    stamp = (a / 'train.json').stat().st_mtime_ns
    assert generate_synthetic_crowds(str(tmp_path / 'a'), PARAMS, progress=False) == a
    assert (a / 'train.json').stat().st_mtime_ns == stamp  # reused, not regenerated
    c = generate_synthetic_crowds(
        str(tmp_path / 'a'), dataclasses.replace(PARAMS, seed=4), progress=False
    )
    assert c != a and (c / 'train.json').read_bytes() != (a / 'train.json').read_bytes()


def test_key_has_every_field():
    changed = dict(
        num_train=7, num_val=3, image_size=64, min_figures=1, max_figures=5, seed=9, version=2
    )
    keys = {PARAMS.key()}
    for field, value in changed.items():
        keys.add(dataclasses.replace(PARAMS, **{field: value}).key())
    for scale_range in ((0.4, 1.0), (0.5, 0.9)):
        keys.add(dataclasses.replace(PARAMS, scale_range=scale_range).key())
    assert len(keys) == 1 + len(changed) + 2
    assert PARAMS.key().startswith('crowds-v') and SyntheticCrowds().key() != PARAMS.key()


@pytest.mark.parametrize(
    'bad', [dict(min_figures=0), dict(min_figures=3, max_figures=2), dict(scale_range=(0, 1))]
)
def test_bad_parameters_raise(bad):
    with pytest.raises(ValueError):
        SyntheticCrowds(**bad)


def test_figures_overlap_in_many_images(tmp_path):
    params = SyntheticCrowds(num_train=40, num_val=0, image_size=64, seed=1)
    (train, _) = _load(generate_synthetic_crowds(str(tmp_path), params, progress=False))
    boxes = {}
    for ann in train['annotations']:
        boxes.setdefault(ann['image_id'], []).append(ann['bbox'])
    overlapping = [
        any(_iou(p, q) > 0 for i, p in enumerate(bbs) for q in bbs[i + 1 :])
        for bbs in boxes.values()
    ]
    assert len(overlapping) == 40
    assert np.mean(overlapping) >= 0.4


def test_same_metainfo_as_single_figures(tmp_path):
    crowds = generate_synthetic_crowds(str(tmp_path), PARAMS, progress=False)
    single = generate_synthetic_figures(str(tmp_path), SyntheticFigures(**TINY), progress=False)
    assert (crowds / 'metainfo.py').read_bytes() == (single / 'metainfo.py').read_bytes()
    assert json.loads((crowds / 'params.json').read_text())['max_figures'] == 3


def test_mmpose_bottomup_loader_reads_it(tmp_path):
    root = generate_synthetic_crowds(str(tmp_path), PARAMS, progress=False)
    train, _ = _load(root)
    init_default_scope('mmpose')
    dataset = DATASETS.build(
        dict(
            type='BaseCocoStyleDataset',
            data_root=str(root),
            ann_file='train.json',
            data_prefix=dict(img='images/'),
            metainfo=dict(from_file=str(root / 'metainfo.py')),
            data_mode='bottomup',
            pipeline=[],
        )
    )
    assert len(dataset) == PARAMS.num_train
    assert dataset.metainfo['num_keypoints'] == len(KEYPOINTS)
    per_image = Counter(ann['image_id'] for ann in train['annotations'])
    for idx in range(len(dataset)):
        info = dataset[idx]
        n = per_image[info['img_id']]
        assert n >= 2
        assert info['keypoints'].shape == (n, len(KEYPOINTS), 2)
        assert info['keypoints_visible'].shape == (n, len(KEYPOINTS))
        assert info['bbox'].shape == (n, 4)
        assert info['img_path'].endswith(f'{info["img_id"]:06d}.png')
