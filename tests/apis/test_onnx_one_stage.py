"""ONNX export of the one-stage (YOLOX-Pose RLE) graph: ONNX Runtime against the PyTorch
graph and against ``model.predict`` after the numpy selection, σ and its calibration."""

import json
import math
import re

import numpy as np
import onnx
import pytest
import torch
from mmengine.config import Config
from mmpose.structures import PoseDataSample

from mmpose_rle.apis.onnx_export import (
    OnnxMismatchError,
    build_model,
    export_onnx,
    reference_outputs,
    run_onnx,
    verify_onnx,
)
from mmpose_rle.apis.onnx_one_stage import (
    INSTANCE_FIELDS,
    ONE_STAGE_OUTPUT_NAMES,
    OneStageInferenceGraph,
    one_stage_input_size,
    select_instances,
    selection_cfg,
)
from mmpose_rle.models.heads.yoloxpose_rle_head import KEYPOINT_SCORES
from tests.helpers import randomise_, run_tool
from tests.models.heads.yoloxpose_fixtures import SIZE, K, head_cfg

N = sum((SIZE // s) ** 2 for s in (8, 16, 32))  # priors of a 64x64 input
TEST_CFG = dict(score_thr=0.2, nms_thr=0.3)
GROUP_NORM = dict(type='GN', num_groups=1)
#: Weight gains of the head's output layers (boxes and keypoints small: they are
#: exponentiated or scaled by the stride).
OUT_GAINS = dict(
    out_cls=2.0, out_obj=2.0, out_bbox=0.3, out_kpt=0.5, out_kpt_vis=1.5, out_kpt_sigma=1.5
)
PIXELS = ('bboxes', 'keypoints', 'keypoint_sigmas', 'bboxes_unclamped')


def _config(**head_overrides) -> Config:
    """A tiny CSPDarknet + PAFPN + YOLOXPoseRLEHead at 64x64 whose preprocessing normalises
    and swaps the channels; the input size comes from the test pipeline. Group norm in the
    backbone and neck keeps random features at unit scale for any image (batch norm with
    random weights does not); the head keeps its batch norm."""
    model = dict(
        type='BottomupPoseEstimator',
        data_preprocessor=dict(
            type='PoseDataPreprocessor',
            pad_size_divisor=32,
            mean=[10.0, 20.0, 30.0],
            std=[50.0, 60.0, 70.0],
            bgr_to_rgb=True,
        ),
        backbone=dict(
            type='CSPDarknet',
            deepen_factor=0.33,
            widen_factor=0.125,
            out_indices=(2, 3, 4),
            spp_kernal_sizes=(5, 9, 13),
            norm_cfg=GROUP_NORM,
        ),
        neck=dict(
            type='YOLOXPAFPN',
            in_channels=[32, 64, 128],
            out_channels=16,
            num_csp_blocks=1,
            norm_cfg=GROUP_NORM,
        ),
        head=head_cfg(**head_overrides),
        test_cfg=TEST_CFG,
    )
    pipeline = [
        dict(type='LoadImage'),
        dict(type='BottomupResize', input_size=(SIZE, SIZE), pad_val=(114, 114, 114)),
        dict(type='PackPoseInputs'),
    ]
    return Config(dict(model=model, test_dataloader=dict(dataset=dict(pipeline=pipeline))))


def _randomise_model_(model: torch.nn.Module, seed: int = 3) -> torch.nn.Module:
    """Random convolutions (N(0, g²/fan_in) weights, ``g`` 1 or :data:`OUT_GAINS` for the
    head's output layers), boxes that overlap their neighbours' and a random flow: outputs
    that vary over priors and images without overflowing."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Conv2d):
                layer = name.split('.')[-2] if name.startswith('head.head_module.') else ''
                std = OUT_GAINS.get(layer, 1.0) / math.sqrt(module.weight[0].numel())
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * std)
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
        for conv in model.head.head_module.out_bbox:
            conv.bias[2:] += math.log(2.5)  # boxes of 2.5 strides
    randomise_(model.head.loss_rle, std=0.1, seed=seed)
    return model


def _batch(batch: int, seed: int) -> dict:
    """A data preprocessor's input of :func:`_images`."""
    samples = [PoseDataSample() for _ in range(batch)]
    return dict(inputs=list(_images(batch, seed)), data_samples=samples)


def _model(**head_overrides) -> torch.nn.Module:
    return _randomise_model_(build_model(_config(**head_overrides)))


def _images(batch: int, seed: int = 1) -> torch.Tensor:
    """Raw 0–255 images with coloured blobs on noise (structure that the priors see)."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(SIZE * 1.0), torch.arange(SIZE * 1.0), indexing='ij')
    out = torch.rand(batch, 3, SIZE, SIZE, generator=gen) * 40
    for b in range(batch):
        for _ in range(4):
            cx, cy, r = (torch.rand(3, generator=gen) * torch.tensor([64.0, 64.0, 12.0])).tolist()
            color = torch.rand(3, 1, 1, generator=gen) * 215
            out[b] += color * torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (r + 4) ** 2))
    return out.clamp(0, 255)


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """The tiny model with σ in the keypoint scores, exported with batch 1."""
    model = _model(keypoint_score='product')
    path = export_onnx(model, tmp_path_factory.mktemp('onnx1') / 'one_stage.onnx')
    return model, path


def _graph_outputs(model, images) -> dict:
    with torch.no_grad():
        outs = OneStageInferenceGraph(model).eval()(images)
    return {name: t.numpy() for name, t in zip(ONE_STAGE_OUTPUT_NAMES, outs)}


def _assert_close(got: dict, want: dict, names=ONE_STAGE_OUTPUT_NAMES, tol: float = 1e-4):
    """Pixel outputs to ``tol`` of the input size (relative ``tol`` beyond it, where priors
    far from everything predict far away), the others to ``tol``."""
    for name in names:
        assert got[name].shape == want[name].shape, name
        atol, rtol = (tol * SIZE, tol) if name in PIXELS else (tol, 0)
        np.testing.assert_allclose(got[name], want[name], atol=atol, rtol=rtol, err_msg=name)


def test_onnxruntime_matches_the_pytorch_graph(exported):
    model, path = exported
    images = _images(2)
    got = run_onnx(path, images.numpy())
    assert list(got) == list(ONE_STAGE_OUTPUT_NAMES)
    assert got['scores'].shape == (2, N) and got['labels'].dtype == np.int64
    assert got['keypoints'].shape == got['keypoint_sigmas'].shape == (2, N, K, 2)
    assert got['keypoint_scores'].shape == (2, N, K) and got['bboxes'].shape == (2, N, 4)
    _assert_close(got, _graph_outputs(model, images))
    # the folded preprocessing equals MMPose's PoseDataPreprocessor
    _assert_close(got, reference_outputs(model, images))
    diffs = verify_onnx(model, path, images=images)
    assert set(diffs) == set(ONE_STAGE_OUTPUT_NAMES) and max(diffs.values()) <= 1e-4
    # not trivially constant over priors or images; boxes clamped to the input
    assert got['scores'].std(axis=1).min() > 0.02 and got['keypoints'].std(axis=0).mean() > 0.1
    assert got['bboxes'].min() >= 0 and got['bboxes'].max() <= SIZE
    assert (got['bboxes_unclamped'] != got['bboxes']).any()


def test_selected_instances_equal_model_predict(exported):
    model, path = exported
    images = _images(2, seed=5)
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    cfg = json.loads(meta['test_cfg'])
    assert cfg == dict(selection_cfg(model)) == dict(TEST_CFG, nms_pre=100000)
    outputs = run_onnx(path, images.numpy())
    instances = select_instances(outputs, **cfg)
    # MMPose's own path; input centre and scale that map input pixels to themselves
    meta_in = dict(
        input_size=np.array([SIZE, SIZE]),
        input_center=np.array([32.0, 32.0]),
        input_scale=np.array([64.0, 64.0]),
    )
    samples = [PoseDataSample(metainfo=meta_in) for _ in range(2)]
    with torch.no_grad():
        preds = model.test_step(dict(inputs=list(images), data_samples=samples))
    for inst, pred in zip(instances, preds):
        want = pred.pred_instances
        assert len(inst['scores']) == len(want) > 1
        for name in INSTANCE_FIELDS:
            atol = 1e-4 * SIZE if name in PIXELS else 1e-4
            np.testing.assert_allclose(inst[name], want.get(name), atol=atol, err_msg=name)
        sigmas = inst['keypoint_sigmas']
        assert np.isfinite(sigmas).all() and sigmas.min() > 0
    above = (outputs['scores'] > cfg['score_thr']).sum()
    assert sum(len(p.pred_instances) for p in preds) < above  # the NMS removed instances


def test_sigma_doubles_with_a_calibration_scale_of_two(exported, tmp_path):
    model, path = exported
    images = _images(2, seed=7)
    raw = run_onnx(path, images.numpy())
    assert np.isfinite(raw['keypoint_sigmas']).all() and raw['keypoint_sigmas'].min() > 0
    calibration = model.head.sigma_calibration
    calibration.set_(torch.full((K, 2), math.log(2.0)), mode='single')
    calibration.set_(torch.full((K, 2), math.log(9.0)), mode='flip')  # not the graph's
    try:
        calibrated = export_onnx(model, tmp_path / 'calibrated.onnx')
        got = run_onnx(calibrated, images.numpy())
        verify_onnx(model, calibrated, images=images)
    finally:
        calibration.set_(torch.zeros(K, 2), mode='single')
        calibration.set_(torch.zeros(K, 2), mode='flip')
    np.testing.assert_allclose(
        got['keypoint_sigmas'], 2 * raw['keypoint_sigmas'], rtol=1e-4, atol=1e-5
    )
    _assert_close(got, raw, names=[n for n in ONE_STAGE_OUTPUT_NAMES if n != 'keypoint_sigmas'])
    meta = {p.key: p.value for p in onnx.load(str(calibrated)).metadata_props}
    calibration_meta = json.loads(meta['sigma_calibration'])
    assert calibration_meta['mode'] == 'single'
    np.testing.assert_allclose(calibration_meta['log_scale'], math.log(2.0), rtol=1e-6)


@pytest.mark.parametrize('choice', KEYPOINT_SCORES)
def test_keypoint_scores_are_the_heads_choice(exported, choice):
    """The graph's keypoint scores of the kept priors equal ``head.predict``'s."""
    model, _ = exported
    images = _images(1, seed=9)
    previous, model.head.keypoint_score = model.head.keypoint_score, choice
    try:
        outputs = _graph_outputs(model, images)
        with torch.no_grad():
            sample = PoseDataSample(metainfo=dict(input_size=(SIZE, SIZE)))
            inputs = model.data_preprocessor(dict(inputs=list(images), data_samples=[sample]))
            feats = model.extract_feat(inputs['inputs'])
            want = model.head.predict(feats, [sample], TEST_CFG)[0]
    finally:
        model.head.keypoint_score = previous
    inst = select_instances(outputs, **TEST_CFG)[0]
    assert len(want) > 0
    np.testing.assert_allclose(inst['keypoint_scores'], want.keypoint_scores, atol=1e-6)
    if choice != 'visibility':  # σ enters the score
        assert not np.allclose(inst['keypoint_scores'], want.keypoints_visible, atol=1e-3)


def test_numpy_selection_reproduces_the_heads(exported):
    """``select_instances`` keeps the priors that ``YOLOXPoseRLEHead.select`` keeps, in its
    order, for random overlapping boxes, thresholds and top-k."""
    head = exported[0].head
    gen = np.random.default_rng(0)
    corner = gen.uniform(0, 40, (200, 2))
    boxes = np.concatenate([corner, corner + gen.uniform(2, 30, (200, 2))], -1)
    boxes = boxes.astype(np.float32)[None]
    scores = gen.uniform(0, 1, (1, 200)).astype(np.float32)
    outputs = dict(scores=scores, bboxes=boxes, labels=np.zeros((1, 200), np.int64))
    outputs.update({name: np.zeros((1, 200, K)) for name in INSTANCE_FIELDS[3:]})
    for cfg in (
        dict(score_thr=0.3, nms_thr=0.5),
        dict(score_thr=0.05, nms_thr=0.3, nms_pre=50),
        dict(score_thr=0.1, nms_thr=1.0),
    ):
        keep, best, _ = head.select(
            torch.from_numpy(scores[0, :, None]), torch.from_numpy(boxes[0]), cfg
        )
        inst = select_instances(outputs, **cfg)[0]
        np.testing.assert_array_equal(inst['indices'], keep.numpy())
        np.testing.assert_allclose(inst['scores'], best.numpy())
        if cfg['nms_thr'] < 1:
            assert len(keep) < (scores > cfg['score_thr']).sum()


def test_graph_has_a_dynamic_batch_no_nms_and_metadata(exported):
    model, path = exported
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == 'batch' and [d.dim_value for d in dims[1:]] == [3, SIZE, SIZE]
    assert [o.name for o in proto.graph.output] == list(ONE_STAGE_OUTPUT_NAMES)
    assert 'NonMaxSuppression' not in {n.op_type for n in proto.graph.node}
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta['input_size'] == '64,64' and meta['input_channel_order'].startswith('BGR')
    assert meta['mean'] == '10,20,30' and meta['std'] == '50,60,70'
    assert meta['keypoint_score'] == 'product' and meta['num_keypoints'] == str(K)
    assert meta['residual_unit'] == 'instance' and meta['sigma_calibration'] == 'identity'
    rms = [float(v) for v in meta['residual_rms'].split(',')]
    np.testing.assert_allclose(rms, model.head.residual_rms().numpy(), rtol=1e-5)
    assert 'keypoint_names' not in meta  # the default COCO names are not the head's K
    got = run_onnx(path, _images(3).numpy())  # traced with batch 1, run with 3
    assert got['keypoint_sigmas'].shape == (3, N, K, 2)


def test_verify_fails_for_another_model(exported):
    model, path = exported
    bias = model.head.head_module.out_kpt_sigma[0].bias
    with torch.no_grad():
        bias[0] += 0.05
    try:
        with pytest.raises(OnnxMismatchError, match='keypoint_sigmas'):
            verify_onnx(model, path, images=_images(2))
    finally:
        with torch.no_grad():
            bias[0] -= 0.05
    verify_onnx(model, path, images=_images(2))


def test_input_size_needs_the_config_and_the_padding_divisor():
    model = _model()
    model.cfg = Config(dict(codec=dict(input_size=(96, 64))))
    assert one_stage_input_size(model) == (96, 64)
    model.cfg = Config(dict(codec=dict(input_size=(80, 64))))
    with pytest.raises(ValueError, match='pad_size_divisor'):
        one_stage_input_size(model)
    model.cfg = Config(dict())
    with pytest.raises(ValueError, match='input size'):
        export_onnx(model, '/nonexistent/x.onnx')


def test_cli_exports_a_one_stage_checkpoint(tmp_path):
    model = _model()
    config = tmp_path / 'tiny_yoloxpose_rle.py'
    _config().dump(str(config))
    ckpt = tmp_path / 'tiny.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    out = tmp_path / 'tiny.onnx'
    proc = run_tool(
        ['tools/export_onnx.py', str(config), '--checkpoint', str(ckpt), '--out', str(out)]
    )
    assert 'keypoint_sigmas (B,N,5,2)' in proc.stdout
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith('onnxruntime vs'))
    assert 'batch 2' in line and line.endswith('OK')
    diffs = dict(re.findall(r'(\w+) ([0-9.e+-]+)', line.split(':', 1)[1]))
    assert set(ONE_STAGE_OUTPUT_NAMES) <= set(diffs)
    # the file holds the checkpoint's weights
    images = _images(2, seed=11)
    _assert_close(run_onnx(out, images.numpy()), reference_outputs(model, images))
