"""collect_predictions predicts in the mode asked for, reads top-down and lifting models,
and to_head_units puts a lifting model's predictions into the units of its σ map."""

from types import SimpleNamespace

import numpy as np
import pytest
from mmpose.evaluation.functional import keypoint_mpjpe

from mmpose_rle.calibration import collect_predictions, inference_modes, to_head_units
from tests.calibration.fixtures import head_rms, raw_predictions


def test_collect_predictions_predicts_in_the_mode_asked_and_restores_test_cfg(model_and_loader):
    model, loader = model_and_loader
    model.head.sigma_calibration.reset_()
    by_hand = raw_predictions(model, loader, False)
    by_mode = collect_predictions(model, loader, mode='single')
    np.testing.assert_allclose(by_mode['errors'], by_hand['errors'])
    assert model.test_cfg['flip_test'] is True
    with pytest.raises(ValueError, match='mode must be'):
        collect_predictions(model, loader, mode='both')


def test_inference_modes_need_a_2d_head_and_flip_indices():
    def model(modes):
        return SimpleNamespace(head=SimpleNamespace(inference_modes=modes))

    def loader(metainfo):
        return SimpleNamespace(dataset=SimpleNamespace(metainfo=metainfo))

    with_flip = loader(dict(flip_indices=[1, 0]))
    assert inference_modes(model(('single', 'flip')), with_flip) == ('single', 'flip')
    assert inference_modes(model(('single', 'flip')), loader({})) == ('single',)
    assert inference_modes(model(('single',)), with_flip) == ('single',)  # the lifting head


def test_lifting_errors_are_mmposes_mpjpe_in_mm_and_grouped_by_video(lifting):
    model, loader = lifting
    predictions = collect_predictions(model, loader, keep_samples=True)
    assert predictions['errors'].shape == predictions['sigmas'].shape == (90, 17, 3)
    pred = np.concatenate([s.pred_instances.keypoints for s in predictions['samples']])
    gt = np.stack([s.gt_instances.lifting_target.reshape(17, 3) for s in predictions['samples']])
    mpjpe = keypoint_mpjpe(pred.reshape(-1, 17, 3), gt, predictions['visible'])
    errors = np.linalg.norm(predictions['errors'], axis=-1)[predictions['visible']]
    assert errors.mean() == pytest.approx(1000 * mpjpe, rel=1e-6)  # float32 in MMPose's
    assert len(set(predictions['groups'])) == 3  # the validation videos
    assert 'scores' not in predictions and 'scale' not in predictions


def test_lifting_sigmas_in_head_units_are_the_heads_rms(lifting):
    model, loader = lifting
    model.head.sigma_calibration.reset_()
    predictions = to_head_units(model.head, collect_predictions(model, loader))
    rms = head_rms(model, loader)
    np.testing.assert_allclose(predictions['sigmas'][:, 1:], rms[:, 1:], rtol=1e-5)
    assert not predictions['visible'][:, 0].any()  # the fixed root: σ 0 by construction
    assert predictions['visible'][:, 1:].all()


def test_to_head_units_drops_a_root_the_codec_put_back():
    """Hand-made: 3 collected joints, the head predicts 2 (root 1 removed by the codec)."""
    head = SimpleNamespace(
        num_joints=2,
        decoder=SimpleNamespace(root_index=[1]),
        sigma_scale_mm=lambda: np.array([[10.0, 20.0, 40.0], [2.0, 2.0, 2.0]]),
        fixed_root=lambda: None,
    )
    errors = np.arange(9.0).reshape(1, 3, 3)
    sigmas = np.full((1, 3, 3), 8.0)
    visible = np.ones((1, 3), bool)
    out = to_head_units(head, dict(errors=errors, sigmas=sigmas, visible=visible, groups=[0]))
    np.testing.assert_allclose(out['errors'], [[[0.0, 0.05, 0.05], [3.0, 3.5, 4.0]]])
    np.testing.assert_allclose(out['sigmas'], [[[0.8, 0.4, 0.2], [4.0, 4.0, 4.0]]])
    assert out['visible'].shape == (1, 2) and out['groups'] == [0]
    topdown = dict(errors=errors, visible=visible)
    assert to_head_units(SimpleNamespace(num_joints=3), topdown) is topdown
