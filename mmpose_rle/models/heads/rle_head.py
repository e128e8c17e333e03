"""RLE regression head: MMPose's ``RLEHead`` with RLE designs and the official head.

The head maps pooled features ``(B, C)`` to ``(B, K, 4)``: per keypoint the normalised
coordinates ``μ̂ = (x, y)`` in ``[0, 1]`` of the input and the scale logits of ``σ̂``.
At test time ``σ̂ = sigmoid(logit)``, the score is ``1 − mean(σ̂)`` and the flow is not run
(except in the ``'basic'`` design, whose prediction is ``f_φ(μ̂)``).
"""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpose.evaluation.functional import keypoint_pck_accuracy
from mmpose.models.heads import RLEHead as MMPoseRLEHead
from mmpose.models.utils.tta import flip_coordinates
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList, Predictions
from torch import Tensor, nn

from mmpose_rle.registry import MODELS
from ..losses.sanitize import mask_non_finite_labels
from .norm_linear import FeatureNormLinear

__all__ = ['RLEHead', 'FC_TYPES']

FC_TYPES = ('mmpose', 'official')


@MODELS.register_module()
class RLEHead(MMPoseRLEHead):
    """Top-down RLE head (Li et al., ICCV 2021), a drop-in for MMPose's ``RLEHead``.

    With the defaults it has MMPose's parameters (``fc``: ``C → K·4``) and behaviour, and
    loads MMPose state dicts strictly (the pre-1.0 ``loss.*`` layout too); its loss is
    :class:`mmpose_rle.models.losses.RLELoss`.

    Args:
        in_channels (int): Feature channels ``C`` (after ``GlobalAveragePooling``).
        num_joints (int): Number of keypoints ``K``.
        loss (dict): Loss config. Default: ``mmpose_rle.RLELoss`` with target weights.
        decoder (dict, optional): Codec config, usually ``RegressionLabel``.
        fc_type (str): ``'mmpose'``: one ``fc`` with ``K·4`` outputs ordered
            ``(x, y, σx, σy)`` per keypoint. ``'official'``: the official code's
            ``fc_coord`` (a :class:`FeatureNormLinear`, ``C → K·2``) and ``fc_sigma``
            (``C → K·2``). Default: ``'mmpose'``.
        sigma_init (float, optional): Initial ``σ̂`` in ``(0, 1)``: after ``init_cfg``,
            the biases of the σ logits are set to ``logit(sigma_init)``, so that
            ``σ̂ = sigmoid(w·x + b)`` starts near it (the weights are small). ``None``
            keeps ``init_cfg``'s biases (zero by default: ``σ̂ ≈ 0.5``). Default: None.
        init_cfg (dict, optional): Initialisation; MMPose's ``Normal(std=0.01)`` on
            every ``Linear`` by default.

    Predictions carry, besides MMPose's ``keypoints`` and ``keypoint_scores``
    (``1 − mean σ̂``), ``keypoint_sigmas`` of shape ``(1, K, 2)``: the predicted RMS
    error of each coordinate in pixels of the model input, ``σ̂_c · s_c · input_size``,
    where ``s`` is the RMS of the learned normalised-residual density
    (:meth:`RLELoss.residual_rms`); σ̂ alone is only a relative scale, because the flow
    can widen or narrow the density. Map them to the image with
    :func:`mmpose_rle.apis.sigmas_in_image`.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 num_joints: int,
                 loss: ConfigType = dict(
                     type='mmpose_rle.RLELoss', use_target_weight=True),
                 decoder: OptConfigType = None,
                 fc_type: str = 'mmpose',
                 sigma_init: Optional[float] = None,
                 init_cfg: OptConfigType = None):
        if fc_type not in FC_TYPES:
            raise ValueError(f'RLEHead: fc_type must be one of {FC_TYPES}, got {fc_type!r}')
        if sigma_init is not None and not 0 < sigma_init < 1:
            raise ValueError(f'RLEHead: sigma_init must lie in (0, 1), got {sigma_init!r}')
        super().__init__(in_channels, num_joints, loss=loss, decoder=decoder,
                         init_cfg=init_cfg)
        self.fc_type = fc_type
        self.sigma_init = sigma_init
        if fc_type == 'official':
            del self.fc
            self.fc_coord = FeatureNormLinear(in_channels, num_joints * 2)
            self.fc_sigma = nn.Linear(in_channels, num_joints * 2)

    def init_weights(self) -> None:
        """``init_cfg``'s initialisation, then the σ-logit biases from ``sigma_init``."""
        first_time = not self.is_init
        super().init_weights()
        if self.sigma_init is None or not first_time:
            return
        logit = math.log(self.sigma_init / (1 - self.sigma_init))
        with torch.no_grad():
            if self.fc_type == 'mmpose':  # fc outputs (x, y, σx, σy) per keypoint
                self.fc.bias.view(self.num_joints, 4)[:, 2:].fill_(logit)
            else:
                self.fc_sigma.bias.fill_(logit)

    @property
    def design(self) -> str:
        """The loss design (``'residual'`` for losses that do not say)."""
        return getattr(self.loss_module, 'design', 'residual')

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Raw outputs ``(B, K, 4)``: coordinates and σ logits, from ``feats[-1]``.

        Under mixed precision the outputs are returned in float32, so the loss, the
        flow and the decoding run in full precision.
        """
        if self.fc_type == 'mmpose':
            out = super().forward(feats)
        else:
            x = torch.flatten(feats[-1], 1)
            coords = self.fc_coord(x).reshape(-1, self.num_joints, 2)
            sigma = self.fc_sigma(x).reshape(-1, self.num_joints, 2)
            out = torch.cat([coords, sigma], dim=-1)
        return out.float() if out.dtype in (torch.float16, torch.bfloat16) else out

    def _predict_outputs(self, feats: Tuple[Tensor]) -> Tensor:
        """``(B, K, 4)``: predicted coordinates and ``σ̂`` (after the sigmoid)."""
        out = self.forward(feats)
        coords, sigma = out[..., :2], out[..., 2:].sigmoid()
        if self.design == 'basic':
            flow = self.loss_module.flow_model
            coords = flow(coords.reshape(-1, 2))[0].reshape(coords.shape)
        return torch.cat([coords, sigma], dim=-1)

    def predict(self,
                feats: Tuple[Tensor],
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Predict keypoints, scores (``1 − mean σ̂``) and ``keypoint_sigmas``.

        With ``test_cfg['flip_test']`` the feats are ``[orig, flipped]`` and the outputs
        of both (σ̂ included) are averaged after un-flipping, as in MMPose.
        """
        metainfo = batch_data_samples[0].metainfo
        if test_cfg.get('flip_test', False):
            assert isinstance(feats, list) and len(feats) == 2
            flip_indices = metainfo['flip_indices']
            if len(flip_indices) != self.num_joints:
                raise ValueError(
                    f'RLEHead: flip_indices has {len(flip_indices)} entries but the '
                    f'head predicts num_joints={self.num_joints} keypoints; check the '
                    'dataset metainfo and the head config')
            outputs = self._predict_outputs(feats[0])
            outputs_flip = flip_coordinates(
                self._predict_outputs(feats[1]),
                flip_indices=flip_indices,
                shift_coords=test_cfg.get('shift_coords', True),
                input_size=metainfo['input_size'])
            batch_outputs = (outputs + outputs_flip) * 0.5
        else:
            batch_outputs = self._predict_outputs(feats)

        preds = self.decode(batch_outputs.unsqueeze(1))  # (B, N=1, K, 4)
        input_size = np.asarray(metainfo.get('input_size', (1, 1)), dtype=np.float32)
        rms = self.loss_module.residual_rms() if hasattr(self.loss_module, 'residual_rms') \
            else 1.0
        sigmas = (batch_outputs[..., 2:] * rms).detach().cpu().numpy() * input_size
        for pred, sigma in zip(preds, sigmas):
            pred.keypoint_sigmas = sigma[None]
        return preds

    def loss(self,
             inputs: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """Loss and training logs.

        Returns:
            dict: ``loss_kpt`` (the RLE loss; a negative log-*density*, so negative
            values are normal), ``acc_pose`` (PCK@0.05 of the normalised coordinates, as
            MMPose), and two logs that are not optimised: ``nll`` (the loss per visible
            keypoint, comparable across batch sizes and keypoint counts) and
            ``sigma_mean`` (mean σ̂ of the visible keypoints).
        """
        labels = torch.cat([d.gt_instance_labels.keypoint_labels for d in batch_data_samples])
        weights = torch.cat([d.gt_instance_labels.keypoint_weights for d in batch_data_samples])
        if labels.shape[1] != self.num_joints:
            raise ValueError(
                f'RLEHead: the data set has {labels.shape[1]} keypoints but the head was '
                f'built with num_joints={self.num_joints}')

        def names() -> list:  # one per instance; built only when a label is masked
            return [str(d.metainfo.get('img_path', d.metainfo.get('img_id', i)))
                    for i, d in enumerate(batch_data_samples)
                    for _ in range(len(d.gt_instance_labels.keypoint_labels))]
        labels, weights, _ = mask_non_finite_labels(labels, weights, names, owner='RLEHead')

        outputs = self.forward(inputs)
        pred, sigma = outputs[..., :2], outputs[..., 2:4]
        loss = self.loss_module(pred, sigma, labels, weights.unsqueeze(-1))

        visible = weights > 0
        with torch.no_grad():
            num_visible = visible.sum().clamp_min(1)
            per_sample = len(labels) if getattr(self.loss_module, 'size_average', True) else 1
            sigma_hat = sigma.sigmoid().mean(-1)
            _, avg_acc, _ = keypoint_pck_accuracy(
                pred=to_numpy(pred), gt=to_numpy(labels), mask=to_numpy(visible),
                thr=0.05, norm_factor=np.ones((pred.size(0), 2), dtype=np.float32))
        return dict(loss_kpt=loss,
                    acc_pose=torch.tensor(avg_acc, device=labels.device),
                    nll=loss.detach() * per_sample / num_visible,
                    sigma_mean=(sigma_hat * visible).sum() / num_visible)

    def _load_state_dict_pre_hook(self, state_dict: dict, prefix: str,
                                  local_meta: dict, *args, **kwargs) -> None:
        """Rename the pre-1.0 layout ``{prefix}loss.*`` to ``{prefix}loss_module.*``.

        Applied when the checkpoint's metadata has no version or one below
        ``_version`` (2), as in MMPose (whose hook strips the prefix with ``lstrip``,
        a character set; here the prefix is matched exactly).
        """
        version: Optional[int] = local_meta.get('version', None)
        if version and version >= self._version:
            return
        old = prefix + 'loss.'
        for key in [k for k in state_dict if k.startswith(old)]:
            state_dict[prefix + 'loss_module.' + key[len(old):]] = state_dict.pop(key)
