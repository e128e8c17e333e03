r"""The benchmark's view of σ: raw, calibrated on held-out folds, and against heatmaps.

For a checkpoint, :func:`uncertainty_report` takes the predictions of the test split
(:func:`~mmpose_rle.calibration.collect_predictions`, normalised units) and reports the
metrics of :func:`~mmpose_rle.evaluation.uncertainty_metrics` for three versions of σ:

* ``raw/…`` — the model's own σ (``keypoint_sigmas``);
* ``temperature/…`` and ``power/…`` — σ calibrated by the two maps of
  :mod:`mmpose_rle.calibration` per keypoint and axis, and ``power_shared/…`` by one power
  map for every keypoint (``share='all'``, fewer parameters for a small validation split),
  all **cross-fitted**: each image's σ comes from a map fitted on the other folds of the
  split, so no metric is computed on data its map saw.

Models without σ (the heatmap head) get the same treatment with ``1 / max(score, 10⁻³)`` as
their raw uncertainty — the heatmap's peak value (MMPose's keypoint score) turned into a
scale by the same calibration step — so the table shows whether RLE's σ beats what heatmaps
already give. Coverage, ECE, NLL and AUSE of the raw heatmap "σ" mean nothing (it has no
unit); AUSE and ρ after calibration do.

:func:`sigma_scored_coco` recomputes COCO AP with each keypoint scored by its expected OKS
(:func:`~mmpose_rle.evaluation.expected_oks`) under the cross-fitted σ, and
:func:`ranking_report` says how well the instance scores (the model's own and the σ score)
rank the instances by their true OKS, and the AP of the best ranking
(:mod:`~mmpose_rle.evaluation.instance_ranking`).

:func:`model_coverage` gives the coverage that the fitted RLE model itself implies at ``kσ``
(its flow's shape, not the Laplace or Gaussian family of the metrics' ``nominal``), so raw
coverage can be read against what the model claims.
"""

import copy
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import Evaluator

from mmpose_rle.calibration import heldout_report
from mmpose_rle.evaluation import (
    expected_oks,
    instance_oks,
    oracle_keypoint_scores,
    reliability,
    score_ranking,
    sparsification,
)
from mmpose_rle.models.utils import box_areas

__all__ = [
    'uncertainty_report',
    'sigma_scored_coco',
    'ranking_report',
    'model_coverage',
    'CALIBRATIONS',
]

#: The calibrations the report cross-fits: ``name: (kind, share)`` of
#: :func:`~mmpose_rle.calibration.fit_calibration`.
CALIBRATIONS = dict(
    temperature=('temperature', 'none'), power=('power', 'none'), power_shared=('power', 'all')
)


def model_coverage(head: object, ks: Sequence[float] = (1, 2)) -> Dict[str, float]:
    """The coverage the head's fitted model implies for its own σ.

    ``model/nominal_{k}sigma = mean_c P_p(|x̄_c| ≤ k s_c)``, with ``p`` the density of the
    normalised residual the flow was fitted to and ``s_c`` its RMS
    (:meth:`~mmpose_rle.models.losses.RLEPredictive.coverage`): what a σ that means what
    the model says should cover. Empty for a head without an RLE flow (the heatmap head) and
    in the basic design, whose error shape changes with ``μ̂``.

    Args:
        head (object): A pose model's head.
        ks (Sequence[float]): The multiples ``k`` of σ. Default: ``(1, 2)``.
    """
    model = getattr(head, 'predictive_model', None)
    if model is None or model.flow is None or model.design == 'basic':
        return {}
    return {f'model/nominal_{k}sigma': float(model.coverage(float(k)).mean()) for k in ks}


def _raw_sigmas(predictions: Dict[str, np.ndarray]) -> np.ndarray:
    if 'sigmas' in predictions:
        return predictions['sigmas']
    scores = np.maximum(predictions['scores'], 1e-3)
    return np.repeat((1 / scores)[..., None], predictions['errors'].shape[-1], axis=-1)


def uncertainty_report(
    predictions: Dict[str, np.ndarray], family: str = 'laplace', folds: int = 5, seed: int = 0
) -> Dict[str, object]:
    """Metrics of the raw and the cross-fitted calibrated σ (module docstring).

    Returns:
        dict: ``{version}/{metric}`` for ``version`` ``raw`` and each of
        :data:`CALIBRATIONS`;
        ``predicts_sigma`` (1 or 0); ``calibrated_sigmas`` (the cross-fitted σ of each
        calibration, ``(N, K, D)``) and ``curves``: the reliability diagram (``nominal``
        levels, observed coverage of ``raw`` and ``temperature``) and the sparsification
        curves of the temperature-calibrated σ, as lists.
    """
    errors, visible = predictions['errors'], predictions['visible']
    raw = _raw_sigmas(predictions)
    metrics, calibrated = {}, {}
    for name, (kind, share) in CALIBRATIONS.items():
        fitted, sigmas = heldout_report(
            errors, raw, visible, predictions['groups'], family, (kind,), share, folds, seed
        )
        metrics.update(raw=fitted['raw'], **{name: fitted[kind]})
        calibrated[name] = sigmas[kind]
    out: Dict[str, object] = {
        f'{version}/{k}': v for version, values in metrics.items() for k, v in values.items()
    }
    out['predicts_sigma'] = float('sigmas' in predictions)

    out['calibrated_sigmas'] = calibrated
    e, raw_v, cal_v = errors[visible], raw[visible], calibrated['temperature'][visible]
    diagram = reliability(e, cal_v, family)
    sparse = sparsification(e, cal_v)
    out['curves'] = dict(
        reliability=dict(
            nominal=diagram['nominal'].tolist(),
            temperature=diagram['observed'].tolist(),
            raw=reliability(e, raw_v, family)['observed'].tolist(),
        ),
        sparsification={k: sparse[k].tolist() for k in ('fraction', 'by_sigma', 'oracle')},
    )
    return out


def sigma_scored_coco(
    samples: List, sigmas: np.ndarray, coco_metric: dict, dataset_meta: dict
) -> Dict[str, float]:
    """COCO metrics with keypoints scored by their expected OKS under ``sigmas``.

    Args:
        samples (list): The predicted data samples of the split, in the order of
            ``sigmas``' instances.
        sigmas (np.ndarray): ``(N, K, D)`` σ in normalised units (converted to the
            samples' input pixels here).
        coco_metric (dict): The config's ``CocoMetric`` arguments (its ``type`` is replaced
            by ``mmpose_rle.SigmaCocoMetric``).
        dataset_meta (dict): The data set's metainfo.
    """
    sizes = [np.asarray(s.metainfo['input_size'], np.float64) for s in samples]
    sizes = np.concatenate(
        [np.tile(z, (len(s.pred_instances.keypoints), 1)) for z, s in zip(sizes, samples)]
    )
    pixels = sigmas * sizes[:, None, :]
    return _evaluate_with(
        samples, 'keypoint_sigmas', pixels, 'mmpose_rle.SigmaCocoMetric', coco_metric, dataset_meta
    )


def _evaluate_with(
    samples: List, field: str, values: np.ndarray, metric: str, coco_metric: dict, meta: dict
) -> Dict[str, float]:
    """Set ``pred_instances.<field>`` of each sample to its instances' rows of ``values``
    (``(N, ...)``, in float32) and evaluate the samples with ``coco_metric`` as ``metric``."""
    start = 0
    for sample in samples:
        n = len(sample.pred_instances.keypoints)
        setattr(sample.pred_instances, field, values[start : start + n].astype(np.float32))
        start += n
    evaluator = Evaluator([dict(coco_metric, type=metric)])
    evaluator.dataset_meta = meta
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def _box_areas(samples: List) -> np.ndarray:
    """Areas ``(N,)`` of the predicted boxes of every instance of ``samples``."""
    return np.concatenate([box_areas(s.pred_instances.bboxes) for s in samples])


def ranking_report(
    predictions: Dict[str, object],
    coco_metric: dict,
    dataset_meta: dict,
    sigmas: Optional[np.ndarray] = None,
) -> Dict[str, float]:
    """How well instance scores rank instances by their true OKS.

    The OKS uses each instance's box area (top-down models copy the boxes they crop).

    Args:
        predictions (dict): :func:`~mmpose_rle.calibration.collect_predictions` with
            ``samples``.
        coco_metric (dict): The config's ``CocoMetric`` arguments.
        dataset_meta (dict): The data set's metainfo (``sigmas``: the OKS sigmas).
        sigmas (np.ndarray, optional): ``(N, K, D)`` σ in normalised units; when given,
            the ranking of the σ score (mean expected OKS) is reported too.

    Returns:
        dict: ``score/oks_spearman`` (ρ between the mean keypoint score and the OKS),
        ``oracle_score/coco/…`` (COCO metrics with every instance scored by its OKS) and,
        with ``sigmas``, ``sigma_score/oks_spearman``.
    """
    samples = copy.deepcopy(predictions['samples'])
    areas = _box_areas(samples)
    scale = np.asarray(predictions['scale'], np.float64)[:, None, :]
    oks_sigmas = dataset_meta['sigmas']
    oks = instance_oks(predictions['errors'] * scale, areas, oks_sigmas, predictions['visible'])
    out = {'score/oks_spearman': score_ranking(predictions['scores'].mean(1), oks)}
    if sigmas is not None:
        expected = expected_oks(sigmas * scale, areas, oks_sigmas)
        out['sigma_score/oks_spearman'] = score_ranking(expected.mean(1), oks)
    scores = oracle_keypoint_scores(oks, predictions['errors'].shape[1])
    oracle = _evaluate_with(
        samples, 'keypoint_scores', scores, 'mmpose.CocoMetric', coco_metric, dataset_meta
    )
    out.update({f'oracle_score/{k}': v for k, v in oracle.items()})
    return out


def coco_metric_args(evaluator_cfg) -> Optional[dict]:
    """The ``CocoMetric`` entry of an evaluator config, or None."""
    entries = evaluator_cfg if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]
    for entry in entries:
        if str(entry.get('type', '')).split('.')[-1] == 'CocoMetric':
            return dict(entry)
    return None
