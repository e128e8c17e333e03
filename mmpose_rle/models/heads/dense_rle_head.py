r"""Dense RLE head: integral RLE whose heatmaps are supervised densely.

:class:`~mmpose_rle.models.heads.IntegralRLEHead` reads a coordinate out of a spatial softmax
(soft-argmax) and trains it with RLE alone; from scratch its heatmaps learn slowly, because
the soft-argmax passes gradients of order ``β/(H·W)`` to each cell. This head adds the dense,
translation-equivariant supervision of a heatmap head — the KL divergence between the
softmax and a Gaussian around the label (:class:`~mmpose_rle.models.losses.HeatmapKLLoss`) —
and keeps what RLE gives: a continuous coordinate (no quantisation) and a predicted σ::

    L = L_RLE(μ̂, σ̂) + λ · Σ_k KL(T_k ‖ softmax(β Z_k)) / N

The heatmap logits ``Z`` come from SimpleBaseline deconvolutions (or a lighter stack),
``μ̂`` is their soft-argmax over the ``(2r+1)×(2r+1)`` cells around each map's peak
(``readout_window`` ``r = 8`` by default, in training and at test: a map with a second mode,
common when the model has seen few images, decodes to its stronger mode instead of a point
between the two) and the σ logits ``ℓ_kc`` are a sum of learned terms: the pooled
features' linear map (``sigma_pooled``) and statistics of each map (``sigma_map_stats``; by
default the spread alone)::

    ℓ_kc = [W·gap(F)]_kc + b_kc + a_kc·log std_c(P_k) + p_kc·log max P_k + e_kc·H(P_k)

with ``a, p, e`` learned (from ``sigma_map_init``) and ``H`` the entropy of the map. Why the
spread by default: the pooled features' linear map sees only the small training errors of a
few dozen images and learns little about which predictions are wrong, while a map that
spreads out is a sign of doubt that carries over to unseen images; with both terms, σ ranks
the errors of unseen images at every training-set size measured (``docs/sigma_sources.md``).
It takes MMPose's ``RegressionLabel`` codec as it is: the dense target is built from the normalised
labels inside the head. Loss logs: ``loss_kpt`` (RLE),
``loss_dense`` and the RLE head's ``acc_pose``, ``nll``, ``sigma_mean``.
"""

import math
import warnings
from typing import Optional, Sequence, Tuple, Union

import torch
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

from ..losses import HeatmapKLLoss
from .integral_rle_head import IntegralRLEHead

__all__ = ['DenseRLEHead', 'MAP_STATS', 'map_statistic']

#: Statistics of a keypoint's softmax map that can feed its σ logits.
MAP_STATS = ('spread', 'peak', 'entropy')


def map_statistic(stat: str, probs: Tensor, coords: Tensor, grids: Tuple[Tensor, Tensor]) -> Tensor:
    """One statistic of each keypoint's softmax map, ``(B, K, 2)`` (per coordinate).

    Args:
        stat (str): ``'spread'``: ``log std_c(P_k)`` of the whole map about the read-out
            ``μ̂_k`` (so a second mode outside the read-out window widens it);
            ``'peak'``: ``log max P_k``; ``'entropy'``: ``H(P_k) = −Σ P log P`` (the last
            two the same for both coordinates).
        probs (Tensor): ``(B, K, H, W)`` the maps ``P``.
        coords (Tensor): ``(B, K, 2)`` their soft-argmax in the grids' units.
        grids (tuple): ``(gx (W,), gy (H,))`` cell centres.
    """
    if stat == 'spread':
        gx, gy = grids
        var_x = (probs.sum(-2) * (gx - coords[..., 0:1]) ** 2).sum(-1)
        var_y = (probs.sum(-1) * (gy - coords[..., 1:2]) ** 2).sum(-1)
        return 0.5 * torch.log(torch.stack([var_x, var_y], dim=-1).clamp_min(1e-12))
    flat = probs.flatten(2)
    if stat == 'peak':
        value = torch.log(flat.amax(-1).clamp_min(1e-12))
    elif stat == 'entropy':
        value = -(flat * torch.log(flat.clamp_min(1e-12))).sum(-1)
    else:
        raise ValueError(f'unknown map statistic {stat!r}; use one of {MAP_STATS}')
    return value.unsqueeze(-1).expand(-1, -1, 2)


OptIntSeq = Optional[Sequence[int]]


@MODELS.register_module()
class DenseRLEHead(IntegralRLEHead):
    """Soft-argmax RLE with a dense heatmap loss (see the module docstring).

    Use it without the ``GlobalAveragePooling`` neck (``neck=None``). Every argument of
    :class:`IntegralRLEHead` applies; the ones added or with other defaults:

    Args:
        in_channels (int): Channels ``C`` of the last backbone feature map.
        num_joints (int): Number of keypoints ``K``.
        in_featuremap_size (int | sequence[int], optional): Checked when given; the grids
            follow the maps. Default: None.
        dense_weight (float): ``λ``, the weight of the dense term. Default: 100.0: the KL
            term per keypoint is small beside the RLE loss, and a weak dense term leaves the
            soft-argmax learning as slowly as without (measurements: see
            ``docs/benchmark.md``, Levers).
        target_sigma (float): Standard deviation of the dense target in heatmap cells.
            Default: 1.0, half MMPose's ``MSRAHeatmap`` default: a narrower target makes
            the soft-argmax, which reads the map's mass, more exact once there are enough
            training images to learn such maps, and costs accuracy on a few dozen; 1 is
            the compromise (measurements: ``docs/benchmark.md``, the dense target's
            width).
        target_mean_matched (bool): Centre each dense target so that its mean is the
            label also where the map's border cuts it
            (:class:`~mmpose_rle.models.losses.HeatmapKLLoss`). Default: True.
        sigma_from_spread (bool): Add ``a ⊙ log std(P)`` to the σ logits (the same as
            ``'spread'`` in ``sigma_map_stats``). Default: False.
        sigma_map_stats (sequence[str]): Map statistics added to the σ logits, any of
            ``'spread'`` (``log std_c(P_k)``), ``'peak'`` (``log max P_k``) and
            ``'entropy'`` (``H(P_k)``), each with its own weight per keypoint and
            coordinate, learned from ``sigma_map_init``; ``()`` for the pooled features
            alone. A checkpoint without a statistic's weights loads them as 0 (its model's
            σ unchanged), with a warning. Default: ``('spread',)``.
        sigma_map_init (float): Initial value of the statistics' weights (1 with
            ``'spread'`` alone: σ̂ starts monotone in the map's spread, about proportional to it
            where σ̂ is small). Default: 1.0.
        sigma_pooled (bool): Whether the pooled features' linear map enters the σ logits;
            without it the σ logits are the bias plus the map statistics. Default: True.
        heatmap_init_std (float, optional): Standard deviation of the final ``1×1`` conv's
            initial weights in units of ``1/√C_f`` (``C_f`` its input channels): 1 gives
            heatmap logits of about unit spread at step 0, a map that is not flat. ``None``
            keeps MMPose's ``Normal(std=0.001)``. Default: 1.0.
        readout_window (int, optional): ``r``: the soft-argmax reads the
            ``(2r+1)×(2r+1)`` cells around each map's peak (:class:`IntegralRLEHead`).
            Default: 8, several times the dense target's σ: the peak the dense term
            trains is read whole, and a second mode (a look-alike part, the other side)
            no longer pulls ``μ̂`` to a point between the two. None reads the whole map.
        readout_window_in_training (bool): Read through the window in training too, so
            that the RLE loss fits ``σ̂`` to the errors of the windowed read-out. Default:
            True.
        **kwargs: :class:`IntegralRLEHead`'s other arguments (``beta``, ``grid_offset``,
            ``deconv_out_channels``, ``sigma_source``, ``loss``, ``decoder``, ``sigma_init``,
            ``keypoint_score``, ``oks_sigmas`` ...).
    """

    def __init__(
        self,
        in_channels: int,
        num_joints: int,
        in_featuremap_size: Union[int, Sequence[int], None] = None,
        dense_weight: float = 100.0,
        target_sigma: float = 1.0,
        target_mean_matched: bool = True,
        sigma_from_spread: bool = False,
        sigma_map_stats: Sequence[str] = ('spread',),
        sigma_map_init: float = 1.0,
        sigma_pooled: bool = True,
        heatmap_init_std: Optional[float] = 1.0,
        readout_window: Optional[int] = 8,
        readout_window_in_training: bool = True,
        init_cfg: OptConfigType = None,
        **kwargs,
    ) -> None:
        super().__init__(
            in_channels,
            num_joints,
            in_featuremap_size=in_featuremap_size,
            readout_window=readout_window,
            readout_window_in_training=readout_window_in_training,
            init_cfg=init_cfg,
            **kwargs,
        )
        self.dense_loss_module = HeatmapKLLoss(
            target_sigma=target_sigma, loss_weight=dense_weight, match_mean=target_mean_matched
        )
        stats = tuple(
            dict.fromkeys((('spread',) if sigma_from_spread else ()) + tuple(sigma_map_stats))
        )
        unknown = set(stats) - set(MAP_STATS)
        if unknown:
            raise ValueError(
                f'DenseRLEHead: unknown sigma_map_stats {sorted(unknown)}; use {MAP_STATS}'
            )
        if not (sigma_pooled or stats):
            raise ValueError(
                'DenseRLEHead: without sigma_pooled, sigma_map_stats must name a statistic'
            )
        self.sigma_map_stats = stats
        self.sigma_pooled = sigma_pooled
        self.heatmap_init_std = heatmap_init_std
        for stat in stats:  # 'spread_weight' is also sigma_from_spread's checkpoint name
            weight = torch.full((num_joints, 2), float(sigma_map_init))
            setattr(self, f'{stat}_weight', nn.Parameter(weight))
        self._register_load_state_dict_pre_hook(self._fill_map_weights)

    def _fill_map_weights(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Give a checkpoint of a σ head (with ``fc_sigma``) without the weights of a
        statistic in ``sigma_map_stats`` (trained with other statistics, or with the pooled
        features alone) zeros there: the σ of the model it was trained as, with a warning.
        Other checkpoints (a heatmap model's, say) keep the initial weights."""
        missing = [s for s in self.sigma_map_stats if prefix + f'{s}_weight' not in state_dict]
        if not missing or prefix + 'fc_sigma.weight' not in state_dict:
            return
        warnings.warn(
            f'DenseRLEHead: the checkpoint has no weights for the map statistics {missing}; '
            'they are set to 0, so σ is that of the model the checkpoint was trained as. Set '
            f'sigma_map_stats to the statistics it was trained with (e.g. [] for the pooled '
            'features alone) to silence this, or fine-tune to learn them.',
            stacklevel=2,
        )
        for stat in missing:
            state_dict[prefix + f'{stat}_weight'] = torch.zeros_like(
                getattr(self, f'{stat}_weight')
            )

    def init_weights(self) -> None:
        """``init_cfg``, ``sigma_init``, then the final conv from ``heatmap_init_std``
        (not when the head's ``init_cfg`` loads pretrained weights)."""
        first_time = not self.is_init
        super().init_weights()
        final = self.simplebaseline_head.final_layer
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg]
        pretrained = any(c and c.get('type') == 'Pretrained' for c in cfgs)
        if (
            first_time
            and not pretrained
            and self.heatmap_init_std is not None
            and isinstance(final, nn.Conv2d)
        ):
            with torch.no_grad():
                std = self.heatmap_init_std / math.sqrt(final.in_channels)
                final.weight.normal_(0, std)
                if final.bias is not None:
                    final.bias.zero_()

    def sigma_logits(self, pooled: Tensor, probs: Tensor, coords: Tensor) -> Tensor:
        """σ logits ``(B, K, 2)``: the pooled features' linear map (or its bias alone
        without ``sigma_pooled``) plus the weighted map statistics of ``sigma_map_stats``."""
        if self.sigma_pooled:
            logits = super().sigma_logits(pooled, probs, coords)
        else:
            logits = self.fc_sigma.bias.reshape(1, self.num_joints, 2).expand(len(probs), -1, -1)
        grids = self.grids(probs) if self.sigma_map_stats else None
        for stat in self.sigma_map_stats:
            value = map_statistic(stat, probs, coords, grids)
            logits = logits + getattr(self, f'{stat}_weight') * value.to(logits)
        return logits

    def loss(
        self, inputs: Tuple[Tensor], batch_data_samples: OptSampleList, train_cfg: ConfigType = {}
    ) -> dict:
        """The RLE losses and logs (:meth:`BaseRLEHead.rle_losses`) plus ``loss_dense``."""
        labels, weights = self.labels_and_weights(batch_data_samples)
        logits, features = self.heatmap_logits(inputs)
        outputs, log_p = self.readout(logits, inputs, features)
        losses = self.rle_losses(outputs, labels, weights)
        losses['loss_dense'] = self.dense_loss_module(log_p, labels, self.grids(log_p), weights)
        return losses
