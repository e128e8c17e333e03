r"""RLE for 3-D pose lifting: a head for MMPose's ``PoseLifter``.

The head replaces MMPose's ``TemporalRegressionHead`` (VideoPose3D / SimpleBaseline3D on
a ``TCN`` backbone). From the backbone's last feature map ``x`` (``(B, C, 1)``: one output
frame per input sequence, single-frame or temporal) two ``1×1`` convolutions give, per
joint ``k`` and coordinate ``c ∈ {x, y, z}``::

    μ̂_kc = (W_μ x + b_μ)_kc              conv:        C → K·3  (MMPose's layer and layout)
    σ̂_kc = sigmoid((W_σ x + b_σ)_kc)     conv_sigma:  C → K·3

**Units.** The codec's ``lifting_target_label`` is the root-relative position in metres
(``VideoPoseLifting``; MMPose's Human3.6M annotations are in metres: its
``preprocess_h36m.py`` divides the millimetre ground truth by 1000) or normalised,
``(X − root − target_mean) / target_std`` (``ImagePoseLifting``). As 2-D RLE works in
units of the crop (errors of a few hundredths, far below the bound 1 of ``σ̂ = sigmoid``),
the head works in units of a cube of ``cube_mm`` (2 m, about a body's extent)::

    μ̂ = label / label_scale,   label_scale = cube_mm / (unit_to_mm · mean(target_std))
                                 (= cube_mm / unit_to_mm without target_std)

(:mod:`mmpose_rle.models.utils.lifting_units`; ``cube_mm=None`` regresses the labels in
their own units, ``label_scale = 1``, as MMPose's ``TemporalRegressionHead`` does.)

In metres or standard deviations, ``σ̂ ≤ 1`` would sit at its bound while the errors are
large (early training, outliers) and its gradient would vanish. (With ``target_std`` the
unit is a box, not a cube: coordinate ``kc`` spans ``cube_mm · std_kc / mean(std)``.)

**Loss.** :class:`~mmpose_rle.models.losses.RLELoss` with a 3-D flow (``RealNVP(dim=3)``)
on ``(μ̂, σ̂)`` — every design, ``Q`` and formulation; the default is the loss's
(residual design, Laplace ``Q``, MMPose's formulation). Two 3-D facts about the
formulations:

* ``'mmpose'`` and ``'official'`` count ``log G_φ`` once per coordinate and, in the
  residual design, ``log σ̂`` twice: moving scale from the flow to ``σ̂`` (``σ̂ → kσ̂``, the
  flow narrowed by ``1/k``) changes their log terms by ``(2D − D²) log k`` — nothing at
  ``D = 2``, ``−3 log k`` at ``D = 3`` (``tests/models/losses/test_rle_loss_3d.py``). In
  3-D the split of scale between ``σ̂`` and the flow is therefore not fixed by the data,
  and training drifts ``σ̂`` up (the cube only slows the drift; in metres it reached its
  bound). The reported RMS is ``σ̂ · s`` with the flow's own spread ``s``, so it follows
  the split; the benchmark measures its coverage (``docs/lifting.md``), and the σ
  calibration corrects what is left.
* ``'exact'`` (each term once, divided by the normaliser ``Z_φ``) has no such drift, but
  its quasi-Monte Carlo ``Z_φ`` (4096 nodes of ``Q``) can miss a flow that narrows
  between the nodes, which 3-D training can exploit (``docs/lifting.md``, known
  limitations): not recommended here.

**Prediction.** ``μ̂ · label_scale`` (or the point prediction of the ``'basic'`` design) is
decoded through the codec, adding the root, exactly as MMPose's lifting head does, so
MMPose's ``MPJPE`` metric (``mpjpe``, ``p-mpjpe``, ``n-mpjpe``) runs unchanged; and
``keypoint_sigmas`` is the predictive RMS error of every coordinate in millimetres::

    keypoint_sigmas_kc = rms_kc · label_scale · target_std_kc · unit_to_mm

(``target_std = 1`` without one; ``rms = σ̂ · s`` of the loss's design, through the head's
``sigma_calibration``, see :class:`~mmpose_rle.models.heads.BaseRLEHead`). A root removed
by the codec (``remove_root=True``) is put back by the decoder from the sample's
``target_root``; its σ is 0.

**A root the codec keeps** (``VideoPoseLifting`` with ``zero_center=True``, the default, or
``ImagePoseLifting`` without ``remove_root`` and without ``target_mean``) has the label 0
in every sample: there is nothing to learn, and the RLE loss would reward shrinking its
σ̂ without bound (the ``log σ̂`` term), so the root's σ̂ would dominate the loss and the
logs. Its weight in the loss is 0 (:meth:`RLELiftingHead.fixed_root`), its label-space
prediction is that 0 (the codec's decoding then adds ``target_root`` as for every joint)
and its σ is 0 (MMPose's MSE head learns the same value approximately).
"""

from typing import Optional, Tuple

import numpy as np
import torch
from mmpose.evaluation.functional import keypoint_mpjpe
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

from ..utils.lifting_units import CUBE_INIT_CFG, check_units, cube_label_scale, lifting_label_mm
from .base_rle_head import BaseRLEHead, RLEOutputs

__all__ = ['RLELiftingHead']

_FLOW_3D = dict(type='mmpose_rle.RealNVP', dim=3)


def _with_3d_flow(loss: ConfigType) -> ConfigType:
    """``loss`` with a 3-D RealNVP when it is an ``RLELoss`` that names no flow."""
    loss = dict(loss)
    if str(loss.get('type', '')).split('.')[-1] == 'RLELoss':
        loss.setdefault('flow', dict(_FLOW_3D))
    return loss


@MODELS.register_module()
class RLELiftingHead(BaseRLEHead):
    """RLE lifting head (module docstring), a drop-in for ``TemporalRegressionHead``.

    Args:
        in_channels (int): Feature channels ``C`` of the backbone (``TCN``'s
            ``stem_channels``).
        num_joints (int): Joints ``K`` predicted (16 when the codec removes the root).
        loss (dict): Loss config; an ``RLELoss`` without a ``flow`` gets
            ``RealNVP(dim=3)``. Default: ``mmpose_rle.RLELoss`` (``'residual'`` design,
            Laplace ``Q``, ``'mmpose'`` formulation) with target weights.
        decoder (dict, optional): The lifting codec (``ImagePoseLifting`` or
            ``VideoPoseLifting``), as in MMPose's configs.
        sigma_init (float, optional): Initial ``σ̂`` (:class:`BaseRLEHead`). Default: None.
        unit_to_mm (float): Millimetres per unit of the decoded positions: 1000 for
            MMPose's Human3.6M (metres). Default: 1000.
        cube_mm (float, optional): Side of the cube that is the head's unit (module
            docstring); None regresses the labels unscaled (``label_scale = 1``).
            Default: 2000.
        init_cfg (dict, optional): Initialisation; by default MMPose's ``RLEHead``'s,
            ``Normal(std=0.01)`` with zero bias, here on the convolutions, so that training
            starts at ``μ̂ ≈ 0`` and ``σ̂ ≈ 0.5`` (PyTorch's default initialisation, which
            MMPose's lifting head keeps, starts at errors above 1 cube and pins ``σ̂`` at
            its bound). MMPose's lifting head's ``init_cfg`` (``Normal`` on ``Linear`` layers
            only) leaves the convolutions at PyTorch's default.

    Shapes:
        ``feats[-1]``: ``(B, C, 1)`` (or ``(B, C)``); :meth:`forward`: ``(B, K, 6)``,
        ``μ̂`` (units of the cube) then the σ logits; predictions: ``keypoints`` ``(1, K', 3)`` and
        ``keypoint_sigmas`` ``(1, K', 3)`` (mm) per sample, ``K'`` the decoded joints.

    Example:
        >>> head = RLELiftingHead(in_channels=8, num_joints=4)
        >>> head((torch.zeros(2, 8, 1), )).shape
        torch.Size([2, 4, 6])
    """

    #: Coordinates per joint.
    coord_dim = 3
    label_field = 'lifting_target_label'
    weight_field = 'lifting_target_weight'

    def __init__(
        self,
        in_channels: int,
        num_joints: int,
        loss: ConfigType = dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        decoder: OptConfigType = None,
        sigma_init: Optional[float] = None,
        unit_to_mm: float = 1000.0,
        cube_mm: Optional[float] = 2000.0,
        init_cfg: OptConfigType = None,
    ) -> None:
        check_units(unit_to_mm, cube_mm, 'RLELiftingHead')
        super().__init__(
            num_joints,
            loss=_with_3d_flow(loss),
            decoder=decoder,
            sigma_init=sigma_init,
            init_cfg=init_cfg,
        )
        flow = getattr(self.loss_module, 'flow_model', None)
        if flow is not None and getattr(flow, 'dim', self.coord_dim) != self.coord_dim:
            raise ValueError(
                f'RLELiftingHead: the loss models {flow.dim}-D residuals but lifting '
                "predicts 3-D joints: use flow=dict(type='mmpose_rle.RealNVP', dim=3)"
            )
        self.in_channels = in_channels
        self.unit_to_mm = unit_to_mm
        self.cube_mm = cube_mm
        self.label_scale = cube_label_scale(self.label_mm(), cube_mm)
        self.conv = nn.Conv1d(in_channels, num_joints * 3, 1)
        self.conv_sigma = nn.Conv1d(in_channels, num_joints * 3, 1)

    @property
    def default_init_cfg(self) -> list:
        """``Normal(std=0.01)``, zero bias, on ``Linear`` and ``Conv1d`` layers."""
        return [dict(cfg) for cfg in CUBE_INIT_CFG]

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Raw outputs ``(B, K, 6)``: ``μ̂`` and the σ logits, from ``feats[-1]``."""
        x = feats[-1]
        if x.dim() == 2:
            x = x[..., None]
        if x.dim() != 3 or x.shape[-1] != 1:
            raise ValueError(
                f'RLELiftingHead: expected features (B, C, 1) (one output frame per '
                f"sequence), got {tuple(x.shape)}; make the backbone's receptive field "
                'equal to the sequence length (e.g. TCN kernel_sizes=(3, 3, 3) for 27 frames)'
            )
        mu = self.conv(x).reshape(-1, self.num_joints, 3)
        sigma = self.conv_sigma(x).reshape(-1, self.num_joints, 3)
        return self.full_precision(torch.cat([mu, sigma], dim=-1))

    def sigma_bias(self) -> Tensor:
        """``conv_sigma.bias`` as ``(K, 3)``."""
        return self.conv_sigma.bias.view(self.num_joints, 3)

    def label_mm(self) -> np.ndarray:
        """``(K, 3)`` millimetres per unit of ``lifting_target_label``:
        ``target_std · unit_to_mm`` (``target_std = 1`` when the codec has none)."""
        return lifting_label_mm(self.decoder, self.num_joints, self.unit_to_mm, type(self).__name__)

    def sigma_scale_mm(self) -> np.ndarray:
        """``(K, 3)`` millimetres per unit of ``μ̂`` and of the RMS: ``label_scale ·
        label_mm()`` (module docstring)."""
        return self.label_scale * self.label_mm()

    def fixed_root(self) -> Optional[int]:
        """Index of the predicted joint that the codec pins to the origin, or None.

        A codec that centres every pose on one root joint and keeps it (``zero_center``
        true, ``remove_root`` false, one ``root_index``, no ``target_mean``) gives that
        joint the label 0 in every sample (module docstring).
        """
        decoder = self.decoder
        root_index = list(getattr(decoder, 'root_index', []) or [])
        if (
            decoder is None
            or len(root_index) != 1
            or getattr(decoder, 'remove_root', False)
            or not getattr(decoder, 'zero_center', True)
            or getattr(decoder, 'target_mean', None) is not None
        ):
            return None
        return int(root_index[0])

    def to_head_units(self, labels: Tensor) -> Tensor:
        """The ``(N, K, 3)`` labels in units of the cube: ``label / label_scale``."""
        return labels / self.label_scale

    def loss_logs(self, losses: dict, outputs: Tensor, labels: Tensor, weights: Tensor) -> dict:
        """The logs of :meth:`loss`.

        Returns:
            dict: ``loss_pose3d`` (the RLE loss of ``μ̂`` against ``label / label_scale``, a
            negative log-density; MMPose's lifting head logs its loss under this name),
            ``mpjpe`` (of the point prediction of the loss's design, in label units, over
            the joints with weight: as MMPose's head but without a fixed root), ``nll`` and
            ``sigma_mean`` (σ̂ in units of the cube; see :class:`BaseRLEHead`).
        """
        visible = to_numpy(weights) > 0
        with torch.no_grad():  # f_φ(μ̂) in the basic design; else μ̂ itself
            point = self.predictive_model.point(outputs[..., :3], outputs[..., 3:].sigmoid())
        pred = to_numpy(point) * self.label_scale
        mpjpe = (
            keypoint_mpjpe(pred=pred, gt=to_numpy(labels), mask=visible) if visible.any() else 0.0
        )
        return dict(
            loss_pose3d=losses['loss_kpt'],
            mpjpe=torch.tensor(mpjpe, device=labels.device),
            nll=losses['nll'],
            sigma_mean=losses['sigma_mean'],
        )

    def checked_weights(self, labels: Tensor, weights: Tensor) -> Tensor:
        """Raise unless ``lifting_target_label`` is ``(N, num_joints, 3)``; return the
        ``lifting_target_weight`` as ``(N, K)`` in the labels' dtype."""
        if labels.dim() != 3 or labels.shape[1:] != (self.num_joints, 3):
            raise ValueError(
                f'RLELiftingHead: lifting_target_label has shape {tuple(labels.shape)} but the '
                f'head predicts (N, num_joints={self.num_joints}, 3); check num_joints and the '
                "codec's remove_root"
            )
        return weights.reshape(labels.shape[:2]).to(labels)

    @staticmethod
    def instance_name(data_sample, index: int) -> str:
        """The name of a sample in warnings: its (first) ``target_img_path``, else the index."""
        return str(data_sample.metainfo.get('target_img_path', [index])[0])

    def inference_outputs(
        self, feats: Tuple[Tensor], metainfo: dict, test_cfg: ConfigType
    ) -> RLEOutputs:
        """:meth:`predict_outputs`; flip test is refused (no 3-D flip)."""
        if test_cfg.get('flip_test', False):
            raise ValueError(
                "RLELiftingHead does not support flip_test (MMPose's lifting heads do not "
                'either): set model.test_cfg.flip_test=False'
            )
        return self.predict_outputs(feats)

    def decode_outputs(self, outputs: RLEOutputs, batch_data_samples: OptSampleList) -> list:
        """Positions ``μ̂ · label_scale`` (a :meth:`fixed_root` at its label 0) decoded by
        the codec with each sample's ``target_root``, as MMPose's lifting head does."""
        metainfo = batch_data_samples[0].metainfo
        if metainfo.get('target_root', None) is not None:
            roots = [torch.as_tensor(d.metainfo['target_root']) for d in batch_data_samples]
            target_root = torch.stack(roots).to(outputs.coords)
        else:
            target_root = outputs.coords.new_empty((len(batch_data_samples), 0))
        fixed = self.fixed_root()
        coords = outputs.coords * self.label_scale
        if fixed is not None:  # the codec's label of the root: 0 by construction
            coords[..., fixed, :] = 0.0
        return self.decode((coords, target_root))

    def add_sigmas(self, preds: list, rms: Tensor, batch_data_samples: OptSampleList) -> None:
        """Set ``keypoint_sigmas`` ``(1, K', 3)``: ``rms`` ``(B, K, 3)`` in millimetres
        (:meth:`sigma_scale_mm`), 0 for a root the codec put back or a :meth:`fixed_root`."""
        fixed = self.fixed_root()
        sigmas = to_numpy(rms).astype(np.float64) * self.sigma_scale_mm()
        root_index = getattr(self.decoder, 'root_index', [0])
        for pred, sigma in zip(preds, sigmas.astype(np.float32)):
            if pred.keypoints.shape[-2] == self.num_joints + 1:  # the codec put the root back
                sigma = np.insert(sigma, root_index[0], 0.0, axis=0)
            if fixed is not None:
                sigma[fixed] = 0.0
            pred.keypoint_sigmas = sigma[None]
