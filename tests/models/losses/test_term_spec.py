"""The table of the formulations: the constants the loss's reference operations read."""

import math

import pytest

from mmpose_rle.models.losses.term_spec import (
    GAUSSIAN_NORM,
    LAPLACE_NORM,
    OFFICIAL_LAPLACE_SCALE,
    term_spec,
)


@pytest.mark.parametrize('formulation', ['mmpose', 'official', 'exact'])
@pytest.mark.parametrize('q', ['laplace', 'gaussian'])
def test_normaliser_scale_and_coefficients_agree(formulation, q):
    spec = term_spec('residual', q, formulation, 2)
    assert spec.norm in (LAPLACE_NORM, GAUSSIAN_NORM)
    assert math.isclose(math.log(spec.norm), spec.const, rel_tol=1e-15)
    assert spec.kappa == 1 / spec.scale


def test_the_official_laplace_is_a_laplace_of_scale_root_2_with_a_gaussian_normaliser():
    spec = term_spec('residual', 'laplace', 'official', 2)
    assert spec.scale == OFFICIAL_LAPLACE_SCALE == math.sqrt(2) and spec.norm == GAUSSIAN_NORM
    assert term_spec('residual', 'laplace', 'mmpose', 2).norm == LAPLACE_NORM == 2
