"""ONNX export of the RLE inference graph, checked against PyTorch with ONNX Runtime."""

import json
import math
import re

import numpy as np
import onnx
import pytest
import torch
from mmpose.structures import PoseDataSample

from mmpose_rle.apis.onnx_export import (
    OnnxMismatchError,
    build_model,
    export_onnx,
    reference_outputs,
    run_onnx,
    verify_onnx,
)
from mmpose_rle.registry import MODELS
from tests.helpers import ROOT, randomise_, run_tool
from tests.models.heads.rtmo_fixtures import head_cfg

R50 = (
    ROOT / 'configs/body_2d_keypoint/topdown_regression/coco/'
    'td-reg_res50_rle-8xb64-210e_coco-256x192.py'
)
R18_OPTIONS = ['model.backbone.depth=18', 'model.head.in_channels=512']


def _crops(batch: int, h: int = 256, w: int = 192, seed: int = 1) -> torch.Tensor:
    """Raw 0–255 crops that differ from each other (noise around per-image levels)."""
    gen = torch.Generator().manual_seed(seed)
    levels = torch.linspace(20, 200, batch).reshape(-1, 1, 1, 1)
    return (levels + torch.rand(batch, 3, h, w, generator=gen) * 55).clamp(0, 255)


@pytest.fixture(scope='module', params=['RLEHead', 'OfficialRLEHead'])
def exported(request, tmp_path_factory):
    """The R50 COCO model (no pretrained download) with a randomised head, exported."""
    model = build_model(R50, cfg_options={'model.head.type': 'mmpose_rle.' + request.param})
    randomise_(model.head, std=0.1, seed=3)
    path = export_onnx(model, tmp_path_factory.mktemp('onnx') / 'rle.onnx', batch_size=1)
    return model, path


def test_onnxruntime_matches_pytorch_and_mmpose_predict(exported):
    model, path = exported
    images = _crops(2)
    got = run_onnx(path, images.numpy())
    assert got['coords'].shape == (2, 17, 2) and got['sigmas'].shape == (2, 17, 2)
    assert got['scores'].shape == (2, 17) and got['rms'].shape == (2, 17, 2)
    size = np.array([192, 256], np.float32)
    ref = reference_outputs(model, images)
    assert np.abs((got['coords'] - ref['coords']) / size).max() <= 1e-4
    assert np.abs((got['rms'] - ref['rms']) / size).max() <= 1e-4
    assert np.abs(got['sigmas'] - ref['sigmas']).max() <= 1e-4
    assert np.abs(got['scores'] - ref['scores']).max() <= 1e-4
    np.testing.assert_allclose(got['scores'], 1 - got['sigmas'].mean(-1), atol=1e-6)
    # the outputs are not trivially constant (over images and keypoints)
    assert got['coords'].std(axis=0).mean() > 1.0 and got['coords'].std(axis=1).mean() > 5.0
    assert got['sigmas'].std(axis=0).mean() > 1e-3 and 0 < got['sigmas'].min()
    assert got['sigmas'].max() < 1
    # MMPose's own prediction path: preprocessor, backbone, head.predict (decode)
    with torch.no_grad():
        samples = [PoseDataSample(metainfo=dict(input_size=(192, 256))) for _ in range(2)]
        inputs = model.data_preprocessor(dict(inputs=list(images), data_samples=samples))
        preds = model.head.predict(model.extract_feat(inputs['inputs']), samples, test_cfg={})
    keypoints = np.concatenate([p.keypoints for p in preds])
    np.testing.assert_allclose(got['coords'], keypoints, atol=1e-4 * 256)
    np.testing.assert_allclose(
        got['scores'], np.concatenate([p.keypoint_scores for p in preds]), atol=1e-4
    )
    np.testing.assert_allclose(
        got['rms'], np.concatenate([p.keypoint_sigmas for p in preds]), atol=1e-4 * 256
    )
    diffs = verify_onnx(model, path, images=images)
    assert set(diffs) == {'coords', 'sigmas', 'scores', 'rms'} and max(diffs.values()) <= 1e-4


def test_graph_has_a_dynamic_batch_no_flow_and_metadata(exported):
    model, path = exported
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == 'batch' and [d.dim_value for d in dims[1:]] == [3, 256, 192]
    assert [o.name for o in proto.graph.output] == ['coords', 'sigmas', 'scores', 'rms']
    ops = {n.op_type for n in proto.graph.node}
    assert 'Tanh' not in ops and 'Exp' not in ops  # the flow's couplings are not in it
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta['input_size'] == '192,256' and meta['input_channel_order'].startswith('BGR')
    rms = [float(v) for v in meta['residual_rms'].split(',')]
    np.testing.assert_allclose(rms, model.head.loss_module.residual_rms().numpy(), rtol=1e-5)
    assert meta['keypoint_names'].split(',')[:2] == ['nose', 'left_eye']
    got = run_onnx(path, _crops(3).numpy())  # traced with batch 1, run with 3
    assert got['coords'].shape == (3, 17, 2)


def test_verify_fails_for_another_model(exported):
    model, path = exported
    fc = getattr(model.head, 'fc_coord', None) or model.head.fc
    with torch.no_grad():
        fc.bias[0] += 1e-3  # one coordinate moves by 1e-3 of the input width
    try:
        with pytest.raises(OnnxMismatchError, match='coords'):
            verify_onnx(model, path)
    finally:
        with torch.no_grad():
            fc.bias[0] -= 1e-3
    verify_onnx(model, path)


def test_rms_goes_through_the_single_view_map_not_the_flip_tests(tmp_path):
    """The graph predicts one view: its rms and metadata are the single-view map's."""
    model = build_model(
        R50, cfg_options={'model.backbone.depth': 18, 'model.head.in_channels': 512}
    )
    randomise_(model.head, std=0.05, seed=5)
    images = _crops(2, seed=4)
    raw = reference_outputs(model, images)['rms']  # identity maps
    calibration = model.head.sigma_calibration
    calibration.set_(torch.full((17, 2), math.log(2.0)), mode='single')
    calibration.set_(torch.full((17, 2), math.log(9.0)), torch.full((17, 2), 0.5), mode='flip')
    path = export_onnx(model, tmp_path / 'calibrated.onnx')
    got = run_onnx(path, images.numpy())
    np.testing.assert_allclose(got['rms'], 2 * raw, rtol=1e-4, atol=1e-4)
    meta = json.loads(
        {p.key: p.value for p in onnx.load(str(path)).metadata_props}['sigma_calibration']
    )
    assert meta['mode'] == 'single'
    np.testing.assert_allclose(meta['log_scale'], math.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(meta['power'], 1.0)


def test_export_rejects_a_model_without_an_rle_head():
    model = build_model(R50)
    model.head = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match='RLE family'):
        export_onnx(model, '/nonexistent/x.onnx')


def test_export_of_rtmo_names_the_alternative():
    model = build_model(R50)
    model.head = MODELS.build(head_cfg('mmpose_rle.RTMORLEHead'))
    with pytest.raises(TypeError, match='RTMORLEHead is not provided'):
        export_onnx(model, '/nonexistent/x.onnx')


def test_cli_exports_a_checkpoint_and_prints_the_differences(tmp_path):
    options = dict(o.split('=') for o in R18_OPTIONS)
    model = build_model(R50, cfg_options={k: int(v) for k, v in options.items()})
    randomise_(model.head, std=0.05, seed=5)
    ckpt = tmp_path / 'r18.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    out = tmp_path / 'r18.onnx'
    proc = run_tool(
        [
            'tools/export_onnx.py',
            str(R50),
            '--checkpoint',
            str(ckpt),
            '--out',
            str(out),
            '--batch',
            '2',
            '--cfg-options',
            *R18_OPTIONS,
        ]
    )
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith('onnxruntime vs'))
    assert 'batch 3' in line and line.endswith('OK')
    diffs = dict(re.findall(r'(coords|sigmas|scores|rms) ([0-9.e+-]+)', line))
    assert set(diffs) == {'coords', 'sigmas', 'scores', 'rms'}
    assert all(float(v) <= 1e-4 for v in diffs.values())
    # the file holds the checkpoint's weights
    images = _crops(2, seed=7)
    got, ref = run_onnx(out, images.numpy()), reference_outputs(model, images)
    np.testing.assert_allclose(got['coords'] / [192, 256], ref['coords'] / [192, 256], atol=1e-4)
    np.testing.assert_allclose(got['sigmas'], ref['sigmas'], atol=1e-4)
