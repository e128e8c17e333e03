r"""The RLE head family: one base class owns everything but the layers.

A head of the family maps backbone features to ``(B, K, 2D)`` raw outputs per keypoint —
the normalised coordinates ``μ̂`` (``[0, 1]`` of the input, as MMPose's
``RegressionLabel``) and the σ logits ``ℓ`` (``σ̂ = sigmoid(ℓ)``) — in :meth:`forward`,
and says where the σ-logit biases live (:meth:`sigma_bias`). :class:`BaseRLEHead` does
the rest, the same way for every head:

* :meth:`loss` — :class:`~mmpose_rle.models.losses.RLELoss` on ``(μ̂, ℓ)``, with the
  labels checked, non-finite ones masked, and the logs ``acc_pose``, ``nll``,
  ``sigma_mean``;
* :meth:`predict_outputs` — the one public way from features to predictions
  (:class:`RLEOutputs`: point prediction, ``σ̂`` and the predictive RMS error), used by
  :meth:`predict`, the ONNX export and the inference API;
* the prediction maths of the loss's setting, in one object the head owns
  (``predictive_model``, an :class:`~mmpose_rle.models.losses.RLEPredictive`) and answers
  for: :meth:`predictive` (``(μ̂, σ̂)`` → point prediction and RMS of the design),
  :meth:`residual_rms` (``s``) and :attr:`q_distribution` (the error model ``Q``);
* :meth:`predict` — flip test (outputs of both views averaged after un-flipping, as
  MMPose), decoding through the codec, the keypoint scores and ``keypoint_sigmas``: the
  predictive RMS error per coordinate in pixels of the model input;
* ``keypoint_score`` — MMPose's ``1 − mean σ̂`` (``'sigma'``), or the keypoint's expected
  OKS under its predicted error (``'expected_oks'``,
  :func:`~mmpose_rle.models.utils.expected_oks`, with the data set's ``oks_sigmas`` and
  the area of the instance's box): then MMPose's ``CocoMetric`` with
  ``keypoint_score_thr=0`` scores each instance by its box score times its expected OKS,
  and the inferencer's keypoint scores say how close each keypoint is expected to be in
  COCO's own measure;
* ``sigma_init`` — the initial ``σ̂``, through the σ-logit biases;
* ``sigma_calibration`` — fitted monotone maps of the predictive RMS, one per inference
  mode (:class:`~mmpose_rle.models.utils.SigmaCalibration`, identity until
  ``tools/calibrate_sigma.py`` or the calibration hook fits them): the single-view map in
  :meth:`predict_outputs` (and so in the ONNX graph and in :meth:`predict` without flip
  test), the flip-test map on the averaged RMS of :meth:`predict` with flip test;
* loading the pre-1.0 ``loss.*`` layout of MMPose's checkpoints.

What differs between the members is in class attributes and small hooks: the label fields
(:attr:`label_field`, :attr:`weight_field`), the checks of a batch's labels
(:meth:`checked_weights`), the name of an instance in warnings (:meth:`instance_name`), a
joint the codec pins (:meth:`fixed_root`), the units of ``μ̂`` (:meth:`to_head_units`), the
logs (:meth:`loss_logs`) and the three steps of :meth:`predict`
(:meth:`inference_outputs`, :meth:`decode_outputs`, :meth:`add_sigmas`,
:meth:`add_keypoint_scores`).
"""

from abc import abstractmethod
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from mmpose.evaluation.functional import keypoint_pck_accuracy
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.utils.tta import flip_coordinates
from mmpose.registry import KEYPOINT_CODECS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList, Predictions
from torch import Tensor

from mmpose_rle.registry import MODELS

from ..losses.rle_predictive import RLEPredictive
from ..losses.sanitize import mask_non_finite_labels
from ..utils.expected_oks import box_areas, expected_oks
from ..utils.image_sigmas import input_to_image_sigmas
from ..utils.sigma_calibration import MODES, SigmaCalibration
from ..utils.sigma_init import checked_sigma_init, sigma_init_bias
from .predictive_mixin import RLEPredictiveMixin

__all__ = ['BaseRLEHead', 'RLEOutputs', 'KEYPOINT_SCORES']

#: The ``keypoint_score`` choices of the top-down heads.
KEYPOINT_SCORES = ('sigma', 'expected_oks')


class RLEOutputs(NamedTuple):
    """What an RLE head predicts, per keypoint and coordinate (normalised units).

    Attributes:
        coords (Tensor): ``(B, K, D)`` the point prediction: ``μ̂``, or ``f_φ(μ̂)`` in the
            ``'basic'`` design.
        sigma (Tensor): ``(B, K, D)`` ``σ̂ = sigmoid(ℓ)``; MMPose's score is ``1 − mean σ̂``.
        rms (Tensor): ``(B, K, D)`` the predictive RMS error of each coordinate.
    """

    coords: Tensor
    sigma: Tensor
    rms: Tensor


class BaseRLEHead(RLEPredictiveMixin, BaseHead):
    """Base class of the RLE heads (see the module docstring).

    Subclasses build their layers in ``__init__`` (after calling this one) and implement
    :meth:`forward` and :meth:`sigma_bias`.

    Args:
        num_joints (int): Number of keypoints ``K``.
        loss (dict): Loss config. Default: ``mmpose_rle.RLELoss`` with target weights.
        decoder (dict, optional): Codec config, usually ``RegressionLabel``.
        sigma_init (float, optional): Initial ``σ̂`` in ``(0, 1)``: after ``init_cfg``, the
            σ-logit biases are set to ``logit(sigma_init)``, so that ``σ̂ = sigmoid(w·x +
            b)`` starts near it (the weights are small). ``None`` keeps ``init_cfg``'s biases
            (zero by default: ``σ̂ ≈ 0.5``). Default: None.
        keypoint_score (str): The predictions' ``keypoint_scores``: ``'sigma'``, MMPose's
            ``1 − mean σ̂``, or ``'expected_oks'``, ``E[OKS_k]`` of each keypoint under its
            σ in image pixels, for the area of the instance's box (module docstring).
            Default: ``'sigma'``.
        oks_sigmas (Sequence[float], optional): ``(K,)`` the data set's OKS sigmas (its
            metainfo's ``sigmas``); needed by ``keypoint_score='expected_oks'``.
        init_cfg (dict, optional): Initialisation; :attr:`default_init_cfg` when None.
    """

    _version = 2
    #: Coordinates per keypoint.
    coord_dim = 2
    #: Field of ``gt_instance_labels`` holding the ``(N, K, D)`` labels.
    label_field = 'keypoint_labels'
    #: Field of ``gt_instance_labels`` holding the ``(N, K)`` weights.
    weight_field = 'keypoint_weights'

    def __init__(
        self,
        num_joints: int,
        loss: ConfigType = dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        decoder: OptConfigType = None,
        sigma_init: Optional[float] = None,
        keypoint_score: str = 'sigma',
        oks_sigmas: Optional[Sequence[float]] = None,
        init_cfg: OptConfigType = None,
    ) -> None:
        super().__init__(self.default_init_cfg if init_cfg is None else init_cfg)
        self.num_joints = num_joints
        self.sigma_init = checked_sigma_init(type(self).__name__, sigma_init)
        self.keypoint_score = keypoint_score
        self.oks_sigmas = self._checked_score_args(keypoint_score, oks_sigmas)
        self.loss_module = MODELS.build(loss)
        self.predictive_model = RLEPredictive.of(self.loss_module)
        self.decoder = KEYPOINT_CODECS.build(decoder) if decoder is not None else None
        self.sigma_calibration = SigmaCalibration(num_joints, self.coord_dim)
        self._register_load_state_dict_pre_hook(self._upgrade_state_dict)

    def _checked_score_args(
        self, keypoint_score: str, oks_sigmas: Optional[Sequence[float]]
    ) -> Optional[np.ndarray]:
        """``oks_sigmas`` as a ``(K,)`` array, after checking ``keypoint_score``."""
        name = type(self).__name__
        if keypoint_score not in KEYPOINT_SCORES:
            raise ValueError(
                f'{name}: keypoint_score must be one of {KEYPOINT_SCORES}, got {keypoint_score!r}'
            )
        if keypoint_score == 'expected_oks' and self.coord_dim != 2:
            raise ValueError(f"{name}: keypoint_score='expected_oks' is for 2-D keypoints")
        if oks_sigmas is None:
            if keypoint_score == 'expected_oks':
                raise ValueError(
                    f"{name}: keypoint_score='expected_oks' needs oks_sigmas (the data set's "
                    "metainfo 'sigmas', one per keypoint)"
                )
            return None
        sigmas = np.asarray(oks_sigmas, dtype=float).reshape(-1)
        if len(sigmas) != self.num_joints or not np.all(sigmas > 0):
            raise ValueError(
                f'{name}: oks_sigmas must be {self.num_joints} positive values (one per '
                f'keypoint), got {list(oks_sigmas)!r}'
            )
        return sigmas

    @property
    def default_init_cfg(self) -> List[dict]:
        """MMPose's ``RLEHead`` default: ``Normal(std=0.01)``, zero bias, on ``Linear``."""
        return [dict(type='Normal', layer=['Linear'], std=0.01, bias=0)]

    @abstractmethod
    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Raw outputs ``(B, K, 2D)``: ``μ̂`` then the σ logits, in float32 under mixed
        precision (so the loss, the flow and the decoding run in full precision)."""

    @abstractmethod
    def sigma_bias(self) -> Tensor:
        """A ``(K, D)`` view of the biases of the σ logits (``sigma_init`` fills it)."""

    def init_weights(self) -> None:
        """``init_cfg``'s initialisation, then the σ-logit biases from ``sigma_init``."""
        first_time = not self.is_init
        super().init_weights()
        if self.sigma_init is not None and first_time:
            with torch.no_grad():
                self.sigma_bias().fill_(sigma_init_bias(self.sigma_init))

    @property
    def inference_modes(self) -> Tuple[str, ...]:
        """The inference modes of :meth:`predict`, each with its own σ map: ``'single'``,
        and ``'flip'`` (the flip test of MMPose's 2-D heads)."""
        return MODES if self.coord_dim == 2 else ('single',)

    @staticmethod
    def full_precision(out: Tensor) -> Tensor:
        """``out`` in float32 when autocast made it float16 or bfloat16."""
        return out.float() if out.dtype in (torch.float16, torch.bfloat16) else out

    def predict_outputs(self, feats: Tuple[Tensor], calibrated: bool = True) -> RLEOutputs:
        """Point prediction, ``σ̂`` and predictive RMS error from features (one view, no
        flip).

        Args:
            feats (tuple[Tensor]): The backbone (and neck) features.
            calibrated (bool): Whether the RMS goes through the single-view σ map (the
                flip test of :meth:`predict` maps the average of raw RMS instead).
                Default: True.

        Returns:
            RLEOutputs: all ``(B, K, D)``, normalised units.
        """
        out = self.forward(feats)
        dim = out.shape[-1] // 2
        mu, sigma = out[..., :dim], out[..., dim:].sigmoid()
        coords, rms = self.predictive(mu, sigma)
        return RLEOutputs(coords, sigma, self.sigma_calibration(rms) if calibrated else rms)

    def predict(
        self, feats: Tuple[Tensor], batch_data_samples: OptSampleList, test_cfg: ConfigType = {}
    ) -> Predictions:
        """Predict keypoints, scores (``keypoint_score``) and ``keypoint_sigmas``.

        With ``test_cfg['flip_test']`` the feats are ``[orig, flipped]`` and the outputs of
        both (``σ̂`` and the raw RMS included) are averaged after un-flipping, as in MMPose,
        and the average RMS goes through the flip-test σ map; without it, through the
        single-view map. ``keypoint_sigmas`` (``(1, K, D)`` per instance) is the predictive
        RMS error of each coordinate in pixels of the model input, and, for a top-down crop
        (``input_scale`` in the metainfo), ``keypoint_sigmas_image`` the same in image
        pixels (:func:`~mmpose_rle.models.utils.input_to_image_sigmas`): a per-instance
        field, so it survives MMPose's merging of the instances of an image.
        """
        outputs = self.inference_outputs(feats, batch_data_samples[0].metainfo, test_cfg)
        preds = self.decode_outputs(outputs, batch_data_samples)
        self.add_sigmas(preds, outputs.rms, batch_data_samples)
        self.add_keypoint_scores(preds, batch_data_samples)
        return preds

    def inference_outputs(
        self, feats: Tuple[Tensor], metainfo: dict, test_cfg: ConfigType
    ) -> RLEOutputs:
        """:meth:`predict_outputs` of one view, or with ``test_cfg['flip_test']`` the
        average of both views after un-flipping, the RMS through the flip-test σ map; all
        ``(B, K, D)``."""
        if not test_cfg.get('flip_test', False):
            return self.predict_outputs(feats)
        assert isinstance(feats, list) and len(feats) == 2
        flip_indices = metainfo['flip_indices']
        if len(flip_indices) != self.num_joints:
            raise ValueError(
                f'{type(self).__name__}: flip_indices has {len(flip_indices)} entries '
                f'but the head predicts num_joints={self.num_joints} keypoints; check '
                'the dataset metainfo and the head config'
            )
        outputs = torch.cat(self.predict_outputs(feats[0], calibrated=False), dim=-1)
        flipped = flip_coordinates(
            torch.cat(self.predict_outputs(feats[1], calibrated=False), dim=-1),
            flip_indices=flip_indices,
            shift_coords=test_cfg.get('shift_coords', True),
            input_size=metainfo['input_size'],
        )
        outputs = (outputs + flipped) * 0.5
        dim = outputs.shape[-1] // 3  # coords | σ̂ | RMS
        rms = self.sigma_calibration(outputs[..., 2 * dim :], mode='flip')
        return RLEOutputs(outputs[..., :dim], outputs[..., dim : 2 * dim], rms)

    def decode_outputs(self, outputs: RLEOutputs, batch_data_samples: OptSampleList) -> list:
        """One ``InstanceData`` per sample: ``keypoints`` ``(1, K, D)`` and
        ``keypoint_scores`` ``(1, K)``, decoded by the codec from ``(coords, σ̂)``."""
        return self.decode(torch.cat([outputs.coords, outputs.sigma], dim=-1).unsqueeze(1))

    def add_sigmas(self, preds: list, rms: Tensor, batch_data_samples: OptSampleList) -> None:
        """Set ``keypoint_sigmas`` ``(1, K, D)``: ``rms`` ``(B, K, D)`` times the input size
        in pixels, and ``keypoint_sigmas_image`` for a top-down crop (:meth:`predict`)."""
        metainfo = batch_data_samples[0].metainfo
        dim = rms.shape[-1]
        input_size = np.asarray(metainfo.get('input_size', (1,) * dim), dtype=np.float32)
        sigmas = rms.detach().cpu().numpy() * input_size
        for pred, sigma, sample in zip(preds, sigmas, batch_data_samples):
            pred.keypoint_sigmas = sigma[None]
            if 'input_scale' in sample.metainfo:
                pred.keypoint_sigmas_image = input_to_image_sigmas(
                    sigma[None], input_size, sample.metainfo['input_scale']
                ).astype(np.float32)

    def add_keypoint_scores(self, preds: list, batch_data_samples: OptSampleList) -> None:
        """With ``keypoint_score='expected_oks'``, replace the codec's ``keypoint_scores``
        ``(1, K)`` by ``E[OKS_k]`` of ``keypoint_sigmas_image`` for the area of the
        sample's box (``gt_instances.bboxes``: the box the crop was cut from, which MMPose
        reports as the prediction's box)."""
        if self.keypoint_score != 'expected_oks':
            return
        for pred, sample in zip(preds, batch_data_samples):
            boxes = getattr(sample.get('gt_instances', None), 'bboxes', None)
            if boxes is None or 'keypoint_sigmas_image' not in pred:
                raise ValueError(
                    f"{type(self).__name__}: keypoint_score='expected_oks' needs a top-down "
                    'sample: a box (gt_instances.bboxes) and input_scale in the metainfo'
                )
            scores = expected_oks(pred.keypoint_sigmas_image, box_areas(boxes), self.oks_sigmas)
            pred.keypoint_scores = scores.astype(np.float32)

    def loss(
        self, inputs: Tuple[Tensor], batch_data_samples: OptSampleList, train_cfg: ConfigType = {}
    ) -> dict:
        """Loss and training logs: :meth:`rle_losses` of the outputs against the labels in
        the units of ``μ̂`` (:meth:`to_head_units`), through :meth:`loss_logs`.

        Returns:
            dict: ``loss_kpt`` (the RLE loss; a negative log-*density*, so negative
            values are normal), ``acc_pose`` (PCK@0.05 of the normalised coordinates, as
            MMPose), and two logs that are not optimised: ``nll`` (the loss per visible
            keypoint, comparable across batch sizes and keypoint counts) and
            ``sigma_mean`` (mean σ̂ of the visible keypoints).
        """
        labels, weights = self.labels_and_weights(batch_data_samples)
        outputs = self.forward(inputs)
        losses = self.rle_losses(outputs, self.to_head_units(labels), weights)
        return self.loss_logs(losses, outputs, labels, weights)

    def to_head_units(self, labels: Tensor) -> Tensor:
        """The ``(N, K, D)`` labels in the units of ``μ̂``: the labels themselves."""
        return labels

    def loss_logs(self, losses: dict, outputs: Tensor, labels: Tensor, weights: Tensor) -> dict:
        """The dict :meth:`loss` returns, from :meth:`rle_losses`' ``losses``: those.

        ``outputs`` ``(N, K, 2D)``, ``labels`` ``(N, K, D)`` (label units) and ``weights``
        ``(N, K)`` are there for members whose logs differ."""
        return losses

    def labels_and_weights(self, batch_data_samples: Sequence) -> Tuple[Tensor, Tensor]:
        """``(N, K, D)`` labels (:attr:`label_field`) and ``(N, K)`` weights
        (:attr:`weight_field`) of a batch, checked (:meth:`checked_weights`), with
        non-finite labels masked (a warning names them, :meth:`instance_name`) and the
        weight of a :meth:`fixed_root` set to 0."""
        fields = [d.gt_instance_labels for d in batch_data_samples]
        labels = torch.cat([getattr(f, self.label_field) for f in fields])
        weights = torch.cat([getattr(f, self.weight_field) for f in fields])
        weights = self.checked_weights(labels, weights)

        def names() -> list:  # one per instance; built only when a label is masked
            return [
                self.instance_name(d, i)
                for i, d in enumerate(batch_data_samples)
                for _ in range(len(getattr(fields[i], self.label_field)))
            ]

        labels, weights, _ = mask_non_finite_labels(
            labels, weights, names, owner=type(self).__name__
        )
        fixed = self.fixed_root()
        if fixed is not None:
            weights = weights.clone()
            weights[:, fixed] = 0
        return labels, weights

    def checked_weights(self, labels: Tensor, weights: Tensor) -> Tensor:
        """Raise a clear error when the ``(N, K, D)`` labels do not fit the head; return the
        ``(N, K)`` weights (here as given)."""
        if labels.shape[1] != self.num_joints:
            raise ValueError(
                f'{type(self).__name__}: the data set has {labels.shape[1]} keypoints but '
                f'the head was built with num_joints={self.num_joints}'
            )
        return weights

    @staticmethod
    def instance_name(data_sample, index: int) -> str:
        """The name of sample ``index``'s instances in warnings: its ``img_path``, else its
        ``img_id``, else the index."""
        return str(data_sample.metainfo.get('img_path', data_sample.metainfo.get('img_id', index)))

    def fixed_root(self) -> Optional[int]:
        """Index of a joint whose label the codec fixes (weight 0 in the loss), or None:
        none in 2-D."""
        return None

    def rle_losses(self, outputs: Tensor, labels: Tensor, weights: Tensor) -> dict:
        """``loss_kpt``, ``acc_pose``, ``nll`` and ``sigma_mean`` of raw outputs
        ``(N, K, 2D)`` against labels ``(N, K, D)`` with weights ``(N, K)``."""
        dim = labels.shape[-1]
        pred, sigma = outputs[..., :dim], outputs[..., dim : 2 * dim]
        loss = self.loss_module(pred, sigma, labels, weights.unsqueeze(-1))
        visible = weights > 0
        with torch.no_grad():
            num_visible = visible.sum().clamp_min(1)
            per_sample = len(labels) if getattr(self.loss_module, 'size_average', True) else 1
            sigma_hat = sigma.sigmoid().mean(-1)
            _, avg_acc, _ = keypoint_pck_accuracy(
                pred=to_numpy(pred),
                gt=to_numpy(labels),
                mask=to_numpy(visible),
                thr=0.05,
                norm_factor=np.ones((pred.size(0), dim), dtype=np.float32),
            )
        return dict(
            loss_kpt=loss,
            acc_pose=torch.tensor(avg_acc, device=labels.device),
            nll=loss.detach() * per_sample / num_visible,
            sigma_mean=(sigma_hat * visible).sum() / num_visible,
        )

    def _upgrade_state_dict(
        self, state_dict: dict, prefix: str, local_meta: dict, *args, **kwargs
    ) -> None:
        """Rename the pre-1.0 layout ``{prefix}loss.*`` to ``{prefix}loss_module.*``, and
        give a checkpoint without a σ calibration the identity.

        The renaming is applied when the checkpoint's metadata has no version or one below
        ``_version`` (2), as in MMPose (whose hook strips the prefix with ``lstrip``, a
        character set; here the prefix is matched exactly).
        """
        self.sigma_calibration.fill_missing(state_dict, prefix + 'sigma_calibration.')
        version: Optional[int] = local_meta.get('version', None)
        if version and version >= self._version:
            return
        old = prefix + 'loss.'
        for key in [k for k in state_dict if k.startswith(old)]:
            state_dict[prefix + 'loss_module.' + key[len(old) :]] = state_dict.pop(key)
