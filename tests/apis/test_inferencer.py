"""MMPose's inferencer on every shipped 2-D config, and ours with σ, boxes, tables, videos;
one-stage models through MMPose's inferencer, ours, ``tools/infer.py`` and as box sources."""

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import cv2
import mmengine
import numpy as np
import pandas as pd
import pytest
import torch
from mmengine.config import Config
from mmpose.apis import MMPoseInferencer, inference_topdown, init_model

from mmpose_rle.apis import SigmaPoseInferencer, coco_box_source
from mmpose_rle.apis.boxes import one_stage_box_source
from mmpose_rle.datasets import (
    SyntheticCrowds,
    figure_video,
    generate_synthetic_crowds,
    write_video,
)
from mmpose_rle.visualization import SigmaPoseLocalVisualizer
from tests.helpers import QUICKSTART_CONFIG, ROOT, load_tool, randomise_

#: Configs whose data set has a default detector in MMPose (people): tested on whole images.
PERSON_DIRS = ('body_2d_keypoint', 'swap')
#: Model configs (not the data set metainfo under ``_base_``), 3-D lifting left out.
CONFIGS_2D = sorted(
    str(p.relative_to(ROOT))
    for p in (ROOT / 'configs').rglob('*.py')
    if not {'body_3d_keypoint', 'quickstart3d', '_base_'} & set(p.relative_to(ROOT).parts)
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
    monkeypatch.setenv('MMPOSE_RLE_CROWDS_ROOT', str(tiny_figures))  # the same metainfo


@pytest.mark.parametrize('config', CONFIGS_2D)
def test_every_shipped_2d_config_runs_in_mmposes_inferencer(config, image, tmp_path, data_roots):
    """One instance: the whole image of a top-down model, the best prior of a one-stage one
    (random weights score every prior alike, so its threshold goes; initialised as MMPose's
    training starts)."""
    kwargs = {'det_model': 'whole_image'} if config.split('/')[1] in PERSON_DIRS else {}
    inferencer = MMPoseInferencer(pose2d=str(ROOT / config), device='cpu', **kwargs)
    assert isinstance(inferencer.inferencer.visualizer, SigmaPoseLocalVisualizer)
    model = inferencer.inferencer.model
    call = {}
    if inferencer.inferencer.cfg.data_mode == 'bottomup':
        # MMPose's initialisation (PyTorch's defaults overflow RTMO's boxes), no download
        model.backbone.init_cfg = None
        model.init_weights()
        _keep_top(model, top=1)
        call = dict(bbox_thr=0.0)
    result = next(inferencer(image, vis_out_dir=str(tmp_path / 'vis'), **call))
    (instance,) = result['predictions'][0]
    num_joints = getattr(model.head, 'num_joints', None) or model.head.num_keypoints
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


# --- one-stage (bottom-up) models: MMPose's inferencer, ours, and as a box source ---

ONE_STAGE_CONFIG = ROOT / 'configs/one_stage/yoloxpose-rle_tiny_crowds-192.py'
#: The most instances an untrained one-stage model keeps in the tests (its scores are all
#: near 1e-4: the calls pass ``bbox_thr=0``, from which MMPose's inferencer sets the
#: model's score threshold).
TOP = 4


@pytest.fixture(scope='module')
def one_stage(tmp_path_factory):
    """Two procedural crowd images (one 96 x 96, one 72 x 96 crop: not the input's shape),
    a folder of both, a 6-frame video, the crowds RLE config with its input shrunk to
    96 x 96 (fast), and the checkpoint of an untrained model of it (a state dict only);
    ``$MMPOSE_RLE_CROWDS_ROOT`` names the crowds while the module's tests run."""
    tmp = tmp_path_factory.mktemp('one_stage')
    params = SyntheticCrowds(num_train=1, num_val=2, image_size=96, min_figures=2, seed=5)
    root = generate_synthetic_crowds(str(tmp), params, progress=False)
    folder = tmp / 'images'
    folder.mkdir()
    square = cv2.imread(str(root / 'images' / '000001.png'))
    cv2.imwrite(str(folder / 'square.png'), square)
    cv2.imwrite(str(folder / 'wide.png'), cv2.imread(str(root / 'images' / '000002.png'))[:72])
    frames = figure_video(1, num_frames=30, size=96).frames[:6]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('MMPOSE_RLE_CROWDS_ROOT', str(root))
        cfg = Config.fromfile(str(ONE_STAGE_CONFIG))
        for split in ('val_dataloader', 'test_dataloader'):
            (resize,) = [t for t in cfg[split].dataset.pipeline if t.type == 'BottomupResize']
            resize.input_size = (96, 96)
        config = str(tmp / 'yoloxpose-rle_tiny_crowds-96.py')
        cfg.dump(config)
        model = init_model(config, None, device='cpu')
        model.init_weights()  # MMPose's prior: every score near 1e-4, each a little different
        torch.save({'state_dict': model.state_dict()}, tmp / 'one_stage.pth')
        yield SimpleNamespace(
            config=config,
            checkpoint=str(tmp / 'one_stage.pth'),
            folder=str(folder),
            images=[str(folder / 'square.png'), str(folder / 'wide.png')],
            video=write_video(frames, str(tmp / 'six.mp4')),
        )


def _keep_top(model, top: Optional[int] = TOP) -> None:
    """Let an untrained one-stage model keep its ``top`` best priors (all when ``None``):
    in the head's ``test_cfg``, which MMPose's inferencer copies before each call, and the
    model's, which :func:`~mmpose.apis.inference_bottomup` reads."""
    for cfg in (model.head.test_cfg, model.test_cfg):
        cfg.update(score_thr=0.0, nms_pre=top or 100000)


def _check_sigmas(instances) -> None:
    """``keypoint_sigmas`` (input px) and ``keypoint_sigmas_image`` (image px) of 1 to
    ``TOP`` instances: finite, positive, and related by the image's scale per axis."""
    n = len(instances)
    assert 1 <= n <= TOP
    assert instances.keypoint_sigmas.shape == instances.keypoint_sigmas_image.shape == (n, 11, 2)
    sigmas = instances.keypoint_sigmas_image
    assert np.isfinite(sigmas).all() and (sigmas > 0).all()


def test_mmposes_inferencer_runs_the_one_stage_model_on_an_image_a_folder_and_a_video(
    one_stage, tmp_path
):
    """MMPose's own door, no box source: every instance of every image and frame carries
    ``keypoint_sigmas`` (input pixels) and ``keypoint_sigmas_image`` (image pixels)."""
    inferencer = MMPoseInferencer(
        pose2d=one_stage.config, pose2d_weights=one_stage.checkpoint, device='cpu'
    )
    assert inferencer.inferencer.cfg.data_mode == 'bottomup'
    _keep_top(inferencer.inferencer.model)
    for inputs, count in ((one_stage.images[1], 1), (one_stage.folder, 2), (one_stage.video, 6)):
        vis = tmp_path / Path(inputs).stem
        results = list(
            inferencer(inputs, return_datasamples=True, vis_out_dir=str(vis), bbox_thr=0.0)
        )
        samples = [sample for result in results for sample in result['predictions']]
        assert len(samples) == count
        for sample in samples:
            _check_sigmas(sample.pred_instances)
            scale = np.asarray(sample.metainfo['input_scale']) / sample.metainfo['input_size']
            np.testing.assert_allclose(
                sample.pred_instances.keypoint_sigmas_image,
                sample.pred_instances.keypoint_sigmas * scale,
                rtol=1e-5,
            )
        assert any(vis.iterdir())


def samples_of(inferencer, inputs, **kwargs) -> list:
    """The predicted samples of our inferencer on ``inputs`` (``bbox_thr=0`` by default)."""
    results = inferencer(inputs, return_datasamples=True, **{'bbox_thr': 0.0, **kwargs})
    return [sample for result in results for sample in result['predictions']]


def test_our_inferencer_puts_one_stage_sigmas_in_the_dicts_files_and_table(one_stage, tmp_path):
    """Ours adds what MMPose's dictionaries drop: ``keypoint_sigmas`` (image pixels) in
    every instance, the JSON files and the table; ``bbox_thr`` keeps the instances above."""
    inferencer = SigmaPoseInferencer(one_stage.config, one_stage.checkpoint, device='cpu')
    _keep_top(inferencer.model)
    samples = samples_of(inferencer, one_stage.folder)
    out = tmp_path / 'out'
    results = list(inferencer(one_stage.folder, out_dir=str(out), bbox_thr=0.0))
    dicts = [inst for result in results for inst in result['predictions'][0]]
    want = np.concatenate([s.pred_instances.keypoint_sigmas_image for s in samples])
    got = np.array([inst['keypoint_sigmas'] for inst in dicts])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    table = pd.read_csv(out / 'predictions' / 'predictions.csv')
    assert len(table) == 11 * len(dicts)
    np.testing.assert_allclose(table[['sigma_x', 'sigma_y']].to_numpy(), want.reshape(-1, 2))
    for sample in samples:
        stem = Path(sample.metainfo['img_path']).stem
        saved = mmengine.load(out / 'predictions' / f'{stem}.json')
        np.testing.assert_allclose(
            [inst['keypoint_sigmas'] for inst in saved],
            sample.pred_instances.keypoint_sigmas_image,
            rtol=1e-6,
        )
        assert (out / 'visualizations' / f'{stem}.png').exists()
    scores = np.concatenate([s.pred_instances.bbox_scores for s in samples])
    assert scores.max() > scores.min()
    thr = float(np.median(scores))
    kept = [i for r in inferencer(one_stage.folder, bbox_thr=thr) for i in r['predictions'][0]]
    assert sorted(i['bbox_score'] for i in kept) == sorted(float(s) for s in scores[scores > thr])


def test_our_inferencer_tables_a_one_stage_video_with_sigmas(one_stage, tmp_path):
    inferencer = SigmaPoseInferencer(one_stage.config, one_stage.checkpoint, device='cpu')
    _keep_top(inferencer.model, top=1)
    results = list(inferencer(one_stage.video, out_dir=str(tmp_path), smooth=True, bbox_thr=0))
    assert len(results) == 6
    table = pd.read_csv(tmp_path / 'predictions' / 'six.csv')
    assert len(table) == 6 * 11 and sorted(table['frame'].unique()) == list(range(6))
    for col in ('sigma_x', 'sigma_y', 'x_smooth', 'sigma_x_smooth'):
        assert np.isfinite(table[col]).all() and (table[col] != 0).all()


def test_a_one_stage_model_is_the_box_source_of_a_top_down_model(one_stage, data_roots):
    """The one-stage source gives the one-stage model's best instance boxes in image pixels
    (those of its own predictions, the wide image included), best first; the top-down model
    predicts on them exactly as on the same boxes given by a fixed source."""
    source = one_stage_box_source(
        one_stage.config, one_stage.checkpoint, score_thr=0.0, max_boxes=3
    )
    one = SigmaPoseInferencer(one_stage.config, one_stage.checkpoint, device='cpu')
    _keep_top(one.model, top=None)
    top_down = SigmaPoseInferencer(str(QUICKSTART_CONFIG), device='cpu')
    randomise_(top_down.model.head, std=0.05, seed=3)
    fixed = {}
    for image in one_stage.images:
        boxes = source(image)
        height, width = cv2.imread(image).shape[:2]
        assert boxes.shape == (3, 5) and boxes.dtype == np.float32
        assert (np.diff(boxes[:, 4]) <= 0).all()
        assert (boxes[:, :4] >= 0).all() and (boxes[:, [0, 2]] <= width).all()
        assert (boxes[:, [1, 3]] <= height).all()
        (sample,) = samples_of(one, image, nms_thr=0.65)  # the config's, as the source's
        order = np.argsort(-sample.pred_instances.bbox_scores, kind='stable')[:3]
        np.testing.assert_allclose(boxes[:, 4], sample.pred_instances.bbox_scores[order])
        want = np.clip(sample.pred_instances.bboxes[order], 0, [width, height] * 2)
        np.testing.assert_allclose(boxes[:, :4], want, rtol=1e-5, atol=1e-4)
        fixed[image] = boxes
    results = {}
    for name, box_source in (('one_stage', source), ('fixed', fixed.__getitem__)):
        top_down.box_source = box_source
        results[name] = [r['predictions'][0] for r in top_down(one_stage.images)]
    for image, from_one, from_fixed in zip(one_stage.images, *results.values()):
        np.testing.assert_allclose([i['bbox'][0] for i in from_one], fixed[image][:, :4])
        np.testing.assert_allclose([i['bbox_score'] for i in from_one], fixed[image][:, 4])
        for a, b in zip(from_one, from_fixed):
            np.testing.assert_allclose(a['keypoints'], b['keypoints'])
            np.testing.assert_allclose(a['keypoint_sigmas'], b['keypoint_sigmas'])


def test_tools_detect_boxes_writes_the_one_stage_boxes_as_coco_detections(one_stage, tmp_path):
    """``tools/detect_boxes.py``: every image of the COCO file, its boxes as the one-stage
    source gives them, in ``x, y, w, h`` with their scores."""
    tool = load_tool('detect_boxes')
    names = [Path(image).name for image in one_stage.images]
    ann = tmp_path / 'ann.json'
    ann.write_text(
        json.dumps(dict(images=[dict(id=3, file_name=names[0]), dict(id=5, file_name=names[1])]))
    )
    out = tmp_path / 'det.json'
    args = [one_stage.config, one_stage.checkpoint, str(ann), '--img-prefix', one_stage.folder]
    tool.main([*args, '--out', str(out), '--score-thr', '0', '--max-boxes', '2'])
    dets = mmengine.load(out)
    source = one_stage_box_source(
        one_stage.config, one_stage.checkpoint, score_thr=0.0, max_boxes=2
    )
    assert [d['image_id'] for d in dets] == [3, 3, 5, 5]
    for image_id, image in zip((3, 5), one_stage.images):
        boxes = source(image)
        got = np.array([d['bbox'] + [d['score']] for d in dets if d['image_id'] == image_id])
        want = np.concatenate([boxes[:, :2], boxes[:, 2:4] - boxes[:, :2], boxes[:, 4:]], 1)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_a_one_stage_box_source_sees_video_frames(one_stage, data_roots, tmp_path):
    source = one_stage_box_source(
        one_stage.config, one_stage.checkpoint, score_thr=0.0, max_boxes=2
    )
    top_down = SigmaPoseInferencer(str(QUICKSTART_CONFIG), device='cpu', box_source=source)
    results = list(top_down(one_stage.video))
    capture = cv2.VideoCapture(one_stage.video)
    for result in results:
        ok, frame = capture.read()
        assert ok
        boxes = [inst['bbox'][0] for inst in result['predictions'][0]]
        np.testing.assert_allclose(boxes, source(frame)[:, :4], rtol=1e-5)
    assert len(results) == 6


def test_tools_infer_takes_its_boxes_from_a_one_stage_model(one_stage, data_roots, tmp_path):
    """``tools/infer.py --boxes-from-one-stage``: the top-down model's instances sit in the
    one-stage model's boxes (at most ``--max-boxes``); a one-stage CONFIG runs alone."""
    tool = load_tool('infer')
    args = [one_stage.folder, str(QUICKSTART_CONFIG), '--out-dir', str(tmp_path / 'top')]
    args += ['--boxes-from-one-stage', one_stage.config, one_stage.checkpoint]
    tool.main([*args, '--bbox-thr', '0', '--max-boxes', '2'])
    source = one_stage_box_source(
        one_stage.config, one_stage.checkpoint, score_thr=0.0, max_boxes=2
    )
    for image in one_stage.images:
        saved = mmengine.load(tmp_path / 'top' / 'predictions' / f'{Path(image).stem}.json')
        np.testing.assert_allclose([i['bbox'][0] for i in saved], source(image)[:, :4])
    options = ['--cfg-options', 'model.test_cfg.score_thr=0.0', f'model.test_cfg.nms_pre={TOP}']
    out = tmp_path / 'one'
    args = [one_stage.images[0], one_stage.config, one_stage.checkpoint, '--bbox-thr', '0']
    tool.main([*args, '--out-dir', str(out), *options])
    table = pd.read_csv(out / 'predictions' / 'predictions.csv')
    assert 11 <= len(table) <= 11 * TOP and np.isfinite(table['sigma_x']).all()
