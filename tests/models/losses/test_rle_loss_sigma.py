"""σ means what it says: fit the flow, μ̂ and σ̂ to residuals of a known distribution and
compare the reported predictive RMS (``RLELoss.predictive``) with the truth.

The residuals are drawn on a stratified quantile grid (4096 per coordinate, shuffled) and
scaled to unit RMS, so the training set has the distribution's shape up to its far tail.
(Unscaled, a Student-t with 3 degrees of freedom has an RMS of 0.97 on the grid: the rest of
its variance lies beyond the last quantile, where no training set can show it.) The truth is
the RMS error of the reported point over those labels, ``sqrt(scale² + offset²)`` per
coordinate: what σ claims. The fitted point need not land on the labels' centre (with
``'reparam'`` or ``'exact'`` it can sit a quarter to one and a half scales off), and the
offset is part of the error. For a Gaussian with 10 % gross outliers the RMS is
dominated by the outliers; there the check is the coverage that the fitted model implies
(``RLELoss.predictive_coverage``, the shape of the fitted density at its own RMS) against
the observed one on fresh draws. The default passes; ``'exact'`` (a strict expected
failure) implies 0.87 / 0.90 within 1σ where 0.92 / 0.92 are observed: the tails of its
fitted ``Q·G_φ/Z_φ`` are off.

Two sources of the RMS ``s`` of ``x̄`` are checked: the flow's (``rms_source='flow'``, the
default of the residual and reparam designs with ``'mmpose'`` and ``'official'``), whose
Gaussian-tailed density follows a Student-t3 only in part and whose scale depends on the fit
(its tolerance is wider there), and the second moment measured in training (``'moment'``, the
default of the basic design and of ``'exact'`` in the residual design), within 5 % for every
distribution. In ``'reparam'`` with ``'mmpose'`` or ``'official'`` the flow's source is the
power ``G_φ^κ`` of the flow that the measured virial picks
(:mod:`~mmpose_rle.models.losses.predictive`): with small errors the flow ends at its
narrowest scale and ``G_φ`` alone is 11–31 % high, ``G_φ^2`` (``σ̂``'s stationary point, which
the default run checks) is right; with large errors ``σ̂`` approaches 1 instead and
``G_φ`` is right. In the basic design the moment is the RMS of the labels' preimages
under the flow against the fitted ``Q``'s, which widens ``Q`` before it is pushed through the
flow; the flow's ``s`` there is 1, which is 8–15 % high with small errors under a Gaussian
``Q`` and with Gaussian errors under a Laplace ``Q`` (one such setting is checked by default).
The flow's s in ``'exact'`` in the residual design is within 10 % (9.5 % high with small
Gaussian errors under a Laplace ``Q``). The default run checks the default design, Q and
formulation, ``'reparam'``, and the defaults of the basic design and of ``'exact'``;
``-m slow`` runs every setting with its default source (the reparam fits for
:data:`REPARAM_STEPS`), which passes all 108, and the measured moment, which passes all 108,
within 5 % except in the basic design with Student-t3 errors (10 %). Its basic-design factor
is one for both coordinates (the flow mixes them), so it fixes the scale of the predictive
spread but not how the fitted flow shares it between the coordinates: with other flow
initialisations a coordinate can be 7–12 % off while the geometric mean of the two stays
within 2 %.
"""

import math
from typing import Callable, Dict, Tuple

import numpy as np
import pytest
import torch
from scipy import stats
from torch import Tensor, nn

from mmpose_rle.models.losses import RLELoss
from mmpose_rle.models.losses.predictive import density_samples, weighted_rms

QUANTILES: Dict[str, Callable[[np.ndarray], np.ndarray]] = dict(
    laplace=lambda u: stats.laplace.ppf(u) / math.sqrt(2),
    gaussian=stats.norm.ppf,
    student_t3=lambda u: stats.t.ppf(u, 3) / math.sqrt(3),
)
TOLERANCE = dict(laplace=0.05, gaussian=0.05, student_t3=0.10)
SCALES = dict(small=0.01, large=0.2)  # RMS of the error, in units of the crop
N_TRAIN = 4096
#: Steps of the reparam fits in the slow run, as in the review that set the targets: σ̂ and
#: the flow move along the loss's falling direction until the flow reaches its narrowest
#: scale, and after 800 steps σ̂ has not caught up on Student-t3 errors (12 % low).
REPARAM_STEPS = 3000


@pytest.fixture(autouse=True)
def one_thread_and_a_fixed_seed():
    """Hundreds of tiny steps: one thread avoids oversubscription on a shared machine. The
    seed fixes the flow's initial weights, drawn when a test builds its loss, whatever ran
    before it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def stratified(name: str, gen: torch.Generator) -> Tensor:
    """``(N_TRAIN, 2)`` residuals on a shuffled quantile grid, scaled to unit RMS."""
    u = (np.arange(N_TRAIN) + 0.5) / N_TRAIN
    grid = QUANTILES[name](u)
    grid = grid / np.sqrt(np.mean(grid**2))
    cols = [grid[torch.randperm(N_TRAIN, generator=gen).numpy()] for _ in range(2)]
    return torch.tensor(np.stack(cols, 1), dtype=torch.float32)


def outliers(n: int, gen: torch.Generator) -> Tensor:
    """N(0, 1) with 10 % gross outliers of 8× the scale."""
    gross = torch.rand(n, 2, generator=gen) < 0.1
    return torch.randn(n, 2, generator=gen) * torch.where(gross, 8.0, 1.0)


def fit(
    loss: RLELoss, residuals: Tensor, scale: float, steps: int = 800, seed: int = 0
) -> Tuple[Tensor, Tensor]:
    """Fit constant μ̂, σ̂ and the flow to labels ``0.4 + scale · r`` (Adam, minibatches of
    256, cosine decay); return the point prediction and the reported RMS, ``(2,)`` each."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    target = (0.4 + scale * residuals)[:, None]  # (N, 1, 2)
    mu = nn.Parameter(torch.full((2,), 0.4))
    logit = nn.Parameter(torch.full((2,), math.log(scale / (1 - scale))))
    opt = torch.optim.Adam([mu, logit, *loss.parameters()], lr=1e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=5e-4)
    for _ in range(steps):
        batch = target[torch.randint(0, len(target), (256,), generator=gen)]
        opt.zero_grad()
        loss(mu.expand(256, 1, 2), logit.expand(256, 1, 2), batch).backward()
        opt.step()
        schedule.step()
    loss.eval()
    with torch.no_grad():
        point, rms = loss.predictive(mu[None, None], logit.sigmoid()[None, None])
    return point[0, 0], rms[0, 0]


def check_rms(loss: RLELoss, name: str, scale: str, tolerance: float, steps: int = 800) -> None:
    """The reported RMS against the RMS error of the reported point over the training
    labels, ``sqrt(scale² + offset²)`` (the point need not land on the labels' centre)."""
    gen = torch.Generator().manual_seed(1)
    residuals = stratified(name, gen)
    point, rms = fit(loss, residuals, SCALES[scale], steps)
    truth = ((0.4 + SCALES[scale] * residuals - point) ** 2).mean(0).sqrt()
    ratio = (rms / truth).tolist()
    assert all(abs(r - 1) <= tolerance for r in ratio), f'reported / true RMS = {ratio}'


@pytest.mark.parametrize('scale', list(SCALES))
@pytest.mark.parametrize('name', ['laplace', 'gaussian', 'student_t3'])
def test_default_loss_reports_the_true_rms(name, scale):
    check_rms(RLELoss(), name, scale, TOLERANCE[name])


@pytest.mark.parametrize('scale', list(SCALES))
@pytest.mark.parametrize('name', ['laplace', 'gaussian', 'student_t3'])
def test_the_measured_moment_reports_the_true_rms_to_5_percent(name, scale):
    check_rms(RLELoss(rms_source='moment'), name, scale, 0.05)


@pytest.mark.slow
@pytest.mark.parametrize('scale', list(SCALES))
@pytest.mark.parametrize('name', ['laplace', 'gaussian', 'student_t3'])
@pytest.mark.parametrize('formulation', ['mmpose', 'official', 'exact'])
@pytest.mark.parametrize('q', ['laplace', 'gaussian'])
@pytest.mark.parametrize('design', ['residual', 'reparam', 'basic'])
def test_every_setting_reports_the_true_rms(design, q, formulation, name, scale):
    loss = RLELoss(design=design, q_distribution=q, formulation=formulation)
    check_rms(loss, name, scale, TOLERANCE[name], REPARAM_STEPS if design == 'reparam' else 800)


@pytest.mark.parametrize('scale', list(SCALES))
def test_reparams_default_reports_the_true_rms(scale):
    # small errors: the flow ends at its narrowest and G alone is 24 % high here
    loss = RLELoss(design='reparam')
    assert loss.rms_source == 'flow'
    check_rms(loss, 'gaussian', scale, 0.05)


@pytest.mark.parametrize('name', ['gaussian', 'student_t3'])
def test_the_basic_designs_default_the_measured_moment_reports_the_true_rms(name):
    loss = RLELoss(design='basic')
    assert loss.rms_source == 'moment'
    check_rms(loss, name, 'small', 0.05)


def test_the_exact_residual_designs_default_the_measured_moment_reports_the_true_rms():
    # the flow's s is 9.5 % high here
    loss = RLELoss(formulation='exact')
    assert loss.rms_source == 'moment'
    check_rms(loss, 'gaussian', 'small', 0.05)


def test_the_basic_designs_flow_scale_misses_where_its_q_does_not_fit():
    # why the moment is the basic design's default: s = 1 leaves Q's fitted scale off
    with pytest.raises(AssertionError, match='reported / true RMS'):
        check_rms(RLELoss(design='basic', rms_source='flow'), 'gaussian', 'small', 0.05)


@pytest.mark.slow
@pytest.mark.parametrize('scale', list(SCALES))
@pytest.mark.parametrize('name', ['laplace', 'gaussian', 'student_t3'])
@pytest.mark.parametrize('formulation', ['mmpose', 'official', 'exact'])
@pytest.mark.parametrize('q', ['laplace', 'gaussian'])
@pytest.mark.parametrize('design', ['residual', 'reparam', 'basic'])
def test_the_measured_moment_reports_the_true_rms_in_every_setting(
    design, q, formulation, name, scale
):
    loss = RLELoss(design=design, q_distribution=q, formulation=formulation, rms_source='moment')
    # basic: one factor for both coordinates; how the flow spreads Q over them is its fit's
    check_rms(loss, name, scale, TOLERANCE[name] if design == 'basic' else 0.05)


EXACT_SHAPE_MISS = pytest.mark.xfail(
    strict=True,
    reason="'exact': the tails of the fitted Q·G/Z are off, 0.05 short of the observed "
    'coverage at 1σ (its RMS is not used: the moment is)',
)


@pytest.mark.parametrize(
    'formulation',
    ['mmpose', pytest.param('exact', marks=[pytest.mark.slow, EXACT_SHAPE_MISS])],
)
def test_gross_outliers_are_covered_as_the_model_says(formulation):
    scale = SCALES['large']
    gen = torch.Generator().manual_seed(1)
    loss = RLELoss(formulation=formulation)
    point, rms = fit(loss, outliers(N_TRAIN, gen), scale)
    errors = (0.4 + scale * outliers(200_000, gen) - point).abs()
    for k in (1.0, 2.0):
        observed = (errors <= k * rms).float().mean(0)
        nominal = loss.predictive_coverage(k)
        gap = (observed - nominal).abs().max().item()
        assert gap <= 0.03, f'k={k}: observed {observed.tolist()}, model {nominal.tolist()}'


@pytest.mark.slow
def test_reparam_with_mmposes_counting_presses_the_flow_to_its_narrowest_scale():
    """With small errors, ``'mmpose'``'s reparam loss falls as the flow narrows (``log G``
    counted twice, ``log σ̂`` once per coordinate), down to RealNVP's bound: three coupling
    layers per coordinate with tanh-bounded log-scales, ``e^{−3}`` of the unit Gaussian's
    RMS. The exact likelihood, counting each term once, leaves the flow's scale free. (The
    flow's own RMS, not the reported ``G^κ``'s.)"""
    gen = torch.Generator().manual_seed(1)
    residuals = stratified('gaussian', gen)
    bound = math.exp(-3.0)
    rms = {}
    for formulation in ('mmpose', 'exact'):
        loss = RLELoss(design='reparam', formulation=formulation)
        fit(loss, residuals, SCALES['small'], steps=3000)
        rms[formulation] = weighted_rms(*density_samples(loss.flow_model, 'flow', 'gaussian'))
    assert bool((rms['mmpose'] < 1.1 * bound).all()), rms
    assert bool((rms['exact'] > 3 * bound).all()), rms
