"""MMPose's inferencer on every shipped 2-D config, and ours with σ, boxes, tables, videos."""

import json
from pathlib import Path

import cv2
import mmengine
import numpy as np
import pandas as pd
import pytest
import torch
from mmpose.apis import MMPoseInferencer, inference_topdown

from mmpose_rle.apis import SigmaPoseInferencer, coco_box_source
from mmpose_rle.datasets import figure_video, write_video
from mmpose_rle.visualization import SigmaPoseLocalVisualizer
from tests.helpers import QUICKSTART_CONFIG, ROOT, randomise_

#: Configs whose data set has a default detector in MMPose (people): tested on whole images.
PERSON_DIRS = ('body_2d_keypoint', 'swap')
CONFIGS_2D = sorted(
    str(p.relative_to(ROOT))
    for p in (ROOT / 'configs').rglob('*.py')
    if 'body_3d' not in str(p) and 'quickstart3d' not in str(p)
)


@pytest.fixture
def image(tmp_path) -> str:
    img = np.random.default_rng(0).integers(0, 255, (96, 80, 3), dtype=np.uint8)
    path = tmp_path / 'img.png'
    cv2.imwrite(str(path), img)
    return str(path)


@pytest.fixture
def data_roots(monkeypatch, tiny_figures):
    monkeypatch.setenv('MMPOSE_RLE_DATA_ROOT', str(tiny_figures))
    monkeypatch.setenv('OPENFIELD_ROOT', str(tiny_figures))  # only its metainfo is read


@pytest.mark.parametrize('config', CONFIGS_2D)
def test_every_shipped_2d_config_runs_in_mmposes_inferencer(config, image, tmp_path, data_roots):
    kwargs = {'det_model': 'whole_image'} if config.split('/')[1] in PERSON_DIRS else {}
    inferencer = MMPoseInferencer(pose2d=str(ROOT / config), device='cpu', **kwargs)
    assert isinstance(inferencer.inferencer.visualizer, SigmaPoseLocalVisualizer)
    result = next(inferencer(image, vis_out_dir=str(tmp_path / 'vis')))
    (instance,) = result['predictions'][0]
    num_joints = inferencer.inferencer.model.head.num_joints
    assert np.asarray(instance['keypoints']).shape == (num_joints, 2)
    assert (tmp_path / 'vis' / 'img.png').exists()


@pytest.fixture
def inferencer(data_roots) -> SigmaPoseInferencer:
    inf = SigmaPoseInferencer(str(QUICKSTART_CONFIG), device='cpu')
    randomise_(inf.model.head, std=0.05, seed=3)
    return inf


def test_sigma_in_the_output_is_the_models_keypoint_sigmas_in_image_pixels(inferencer, image):
    boxes = np.array([[5, 10, 60, 90], [20, 0, 80, 50]], np.float32)
    (result,) = list(inferencer(image, bboxes=[boxes]))
    got = np.array([inst['keypoint_sigmas'] for inst in result['predictions'][0]])
    samples = inference_topdown(inferencer.model, image, boxes, bbox_format='xyxy')
    want = np.stack(
        [
            s.pred_instances.keypoint_sigmas[0]
            / np.asarray(s.metainfo['input_size'])
            * np.asarray(s.metainfo['input_scale']).reshape(2)
            for s in samples
        ]
    )
    np.testing.assert_allclose(got, want, rtol=1e-5)
    bboxes = np.array([inst['bbox'][0] for inst in result['predictions'][0]])
    np.testing.assert_allclose(bboxes, boxes)
    inferencer.model.head.sigma_calibration.set_(torch.full((11, 2), np.log(2.0)), mode='flip')
    (doubled,) = list(inferencer(image, bboxes=[boxes]))
    got2 = np.array([inst['keypoint_sigmas'] for inst in doubled['predictions'][0]])
    np.testing.assert_allclose(got2, 2 * got, rtol=1e-4)


def test_boxes_come_from_a_coco_file_by_image_name(inferencer, image, tmp_path):
    coco = dict(
        images=[dict(id=7, file_name='sub/img.png'), dict(id=8, file_name='other.png')],
        annotations=[
            dict(id=1, image_id=7, bbox=[4, 6, 30, 40], iscrowd=0),
            dict(id=2, image_id=7, bbox=[0, 0, 10, 10], iscrowd=1),
            dict(id=3, image_id=8, bbox=[1, 1, 5, 5], iscrowd=0),
        ],
    )
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(coco))
    inferencer.box_source = coco_box_source(str(ann))
    (result,) = list(inferencer(image))
    (instance,) = result['predictions'][0]
    np.testing.assert_allclose(instance['bbox'][0], [4, 6, 34, 46])
    inferencer.box_source = None
    (whole,) = list(inferencer(image))
    np.testing.assert_allclose(whole['predictions'][0][0]['bbox'][0], [0, 0, 80, 96])


def test_a_video_gives_a_table_with_sigma_smoothed_columns_and_a_drawn_video(inferencer, tmp_path):
    video = figure_video(0, num_frames=30, size=96)
    path = write_video(video.frames, str(tmp_path / 'walk.mp4'))
    results = list(inferencer(path, out_dir=str(tmp_path / 'out'), smooth=True))
    assert len(results) == 30
    table = pd.read_csv(tmp_path / 'out' / 'predictions' / 'walk.csv')
    assert len(table) == 30 * 11 and sorted(table['frame'].unique()) == list(range(30))
    assert set(table['keypoint']) == set(inferencer.model.dataset_meta['keypoint_id2name'].values())
    for col in ('sigma_x', 'sigma_y', 'x_smooth', 'y_smooth', 'sigma_x_smooth'):
        assert table[col].notna().all()
    pd.testing.assert_frame_equal(table, inferencer.table, check_dtype=False)
    frames = mmengine.load(tmp_path / 'out' / 'predictions' / 'walk.json')
    first = frames[0]['instances'][0]
    np.testing.assert_allclose(
        first['keypoint_sigmas'],
        table.loc[table['frame'] == 0, ['sigma_x', 'sigma_y']].to_numpy(),
        rtol=1e-6,
    )
    assert Path(tmp_path / 'out' / 'visualizations' / 'walk.mp4').stat().st_size > 0


def test_boxes_of_the_wrong_shape_are_refused(inferencer, image):
    with pytest.raises(ValueError, match=r'\(N, 4\) or \(N, 5\)'):
        list(inferencer(image, bboxes=[np.zeros((2, 3))]))


def test_an_mmdetection_detector_is_a_box_source(data_roots, image, tmp_path):
    """MMPose's detector path with an MMDetection config (random weights: any boxes do)."""
    from mmdet.apis import init_detector
    from mmengine.utils import get_installed_path

    det_config = str(
        Path(get_installed_path('mmpose'))
        / '.mim/demo/mmdetection_cfg/rtmdet_nano_320-8xb32_coco-person.py'
    )
    detector = init_detector(det_config, None, device='cpu')
    torch.save({'state_dict': detector.state_dict(), 'meta': {}}, tmp_path / 'det.pth')
    inferencer = SigmaPoseInferencer(
        str(QUICKSTART_CONFIG),
        device='cpu',
        det_model=det_config,
        det_weights=str(tmp_path / 'det.pth'),
        det_cat_ids=(0,),
    )
    (result,) = list(inferencer(image, bbox_thr=0.0))
    boxes = np.array([inst['bbox'][0] for inst in result['predictions'][0]])
    assert len(boxes) >= 1 and not np.allclose(boxes[0], [0, 0, 80, 96])
    assert all('keypoint_sigmas' in inst for inst in result['predictions'][0])
