"""The branch comparison's statistics against hand-computed values: quantiles, Spearman ρ
from ranks, and the refusal of predictions paired with different ground truth."""

import numpy as np
import pytest

from mmpose_rle.benchmark.rtmo_branches import branch_errors, branches_markdown


def _predictions(norms: np.ndarray, visible: np.ndarray) -> dict:
    """Errors of the given norms along the direction (0.6, 0.8)."""
    errors = np.asarray(norms, float)[..., None] * np.array([0.6, 0.8])
    return dict(errors=errors, visible=visible, groups=np.arange(len(norms)))


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(float)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r of the ranks (no ties here)."""
    ra, rb = _ranks(a) - _ranks(a).mean(), _ranks(b) - _ranks(b).mean()
    return float((ra * rb).sum() / np.sqrt((ra**2).sum() * (rb**2).sum()))


def test_statistics_match_hand_computed_values():
    rng = np.random.default_rng(0)
    dcc_norms = rng.uniform(0.01, 0.3, size=(6, 4))
    reg_norms = dcc_norms * rng.uniform(0.5, 2.0, size=(6, 4))
    visible = rng.random((6, 4)) > 0.25
    visible[0] = False  # an instance without a visible keypoint takes no part
    out = branch_errors(_predictions(dcc_norms, visible), _predictions(reg_norms, visible))
    d, r = dcc_norms[visible], reg_norms[visible]
    assert out['num_keypoints'] == visible.sum()
    np.testing.assert_allclose(out['dcc/q50'], np.median(d))
    np.testing.assert_allclose(out['reg/q90'], np.percentile(r, 90))
    np.testing.assert_allclose(out['rho_keypoint'], _spearman(r, d))
    rows = visible.any(1)
    mean_d = np.array([dcc_norms[i][visible[i]].mean() for i in np.flatnonzero(rows)])
    mean_r = np.array([reg_norms[i][visible[i]].mean() for i in np.flatnonzero(rows)])
    np.testing.assert_allclose(out['rho_instance'], _spearman(mean_r, mean_d))
    assert out['reg_closer'] == pytest.approx(np.mean(r < d))


def test_agreeing_and_reversed_errors_give_plus_and_minus_one():
    norms = np.linspace(0.01, 0.2, 12).reshape(3, 4)
    visible = np.ones((3, 4), bool)
    same = branch_errors(_predictions(norms, visible), _predictions(2 * norms, visible))
    assert same['rho_keypoint'] == pytest.approx(1.0) and same['reg_closer'] == 0.0
    reversed_ = branch_errors(_predictions(norms, visible), _predictions(1 / norms, visible))
    assert reversed_['rho_keypoint'] == pytest.approx(-1.0)


@pytest.mark.parametrize('key', ['visible', 'groups'])
def test_refuses_predictions_paired_differently(key):
    norms, visible = np.ones((3, 2)), np.ones((3, 2), bool)
    dcc, reg = _predictions(norms, visible), _predictions(norms, visible)
    reg[key] = np.roll(reg[key], 1) if key == 'groups' else ~reg[key]
    with pytest.raises(ValueError, match=key):
        branch_errors(dcc, reg)


def test_refuses_when_nothing_is_visible():
    norms, visible = np.ones((2, 3)), np.zeros((2, 3), bool)
    with pytest.raises(ValueError, match='no visible keypoint'):
        branch_errors(_predictions(norms, visible), _predictions(norms, visible))


def test_markdown_has_a_row_per_model_and_their_mean():
    row = lambda ap, rho: {  # noqa: E731
        'dcc/AP': ap,
        'reg/AP': ap - 0.1,
        'dcc/q50': 0.05,
        'reg/q50': 0.06,
        'dcc/q90': 0.2,
        'reg/q90': 0.3,
        'rho_keypoint': rho,
        'rho_instance': rho,
        'reg_closer': 0.4,
    }
    table = branches_markdown({'seed0': row(0.6, 0.2), 'seed1': row(0.8, 0.4)})
    lines = table.splitlines()
    assert len(lines) == 5 and lines[2].startswith('| seed0 | 0.600 |')
    assert '0.700 ± 0.100' in lines[4] and '0.30 ± 0.10' in lines[4]
