r"""Integral RLE head: RLE on soft-argmax (integral) regression.

Li et al. (ICCV 2021, arXiv 2107.11291) also apply RLE to heatmap-based regression with
a soft-argmax readout (Integral Pose Regression, Sun et al. 2018; DSNT, Nibali et al.
2018). This head keeps MMPose's building blocks for that readout — the
SimpleBaseline deconvolutions of :class:`mmpose.models.heads.HeatmapHead` and the flat
softmax / linear expectation of :class:`mmpose.models.heads.IntegralRegressionHead` — and
adds a σ branch, so that its output is the same ``(B, K, 4)`` as
:class:`~mmpose_rle.models.heads.RLEHead`'s and the RLE loss, decoding, flip test and
``keypoint_sigmas`` are :class:`~mmpose_rle.models.heads.BaseRLEHead`'s.

Maths, for the last backbone feature map ``F`` of shape ``(B, C, h, w)``:

* heatmap logits ``Z = final_layer(conv_layers(deconv_layers(F)))``, shape
  ``(B, K, H, W)`` with ``(W, H) = (w, h) · 2^n`` for ``n`` stride-2 deconvolutions;
* a softmax over the ``H·W`` positions of each keypoint, with temperature ``β``::

      P_k,ij = exp(β Z_k,ij) / Σ_i'j' exp(β Z_k,i'j')

* the expected coordinates (soft-argmax), normalised to ``[0, 1]`` of the input as
  :class:`mmpose.codecs.RegressionLabel` normalises the labels (``x / input_w``)::

      μ̂_x,k = Σ_ij P_k,ij · g_x(j),      μ̂_y,k = Σ_ij P_k,ij · g_y(i)

  with ``g`` the cell centres in MMPose's pixel-centre convention (``grid_offset='pixel'``,
  default): ``g(j) = (j + ½)/W − ½/w_in`` for an input ``w_in`` pixels wide
  (:func:`~mmpose_rle.models.utils.pixel_grid`), so mirrored maps decode to exactly
  mirrored coordinates and the flip test is self-consistent; a float ``o`` gives
  ``g(j) = (j + o)/W`` (``0.0``: MMPose's ``IntegralRegressionHead`` grid, the one of its
  ``MSRAHeatmap`` codec, for starting from a heatmap checkpoint). ``μ̂`` lies between the
  outermost cell centres: a convex combination of the grid;
* the σ logits: ``GAP(S) → Linear → K·2`` with ``S`` the backbone features ``F``
  (``sigma_source='backbone'``, default) or the features that enter the final ``1×1``
  conv (``'heatmap_features'``); ``σ̂ = sigmoid(logit)`` as in :class:`RLEHead`.

The output is ``(B, K, 4) = (μ̂_x, μ̂_y, σ_logit_x, σ_logit_y)``.
"""

from typing import Optional, Sequence, Tuple, Union

import torch
from mmpose.models.heads import HeatmapHead
from mmpose.models.necks import GlobalAveragePooling
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

from ..utils import cell_grid, pixel_grid, soft_argmax, spatial_log_softmax, window_around_peak
from .base_rle_head import BaseRLEHead

__all__ = ['IntegralRLEHead', 'SIGMA_SOURCES']

SIGMA_SOURCES = ('backbone', 'heatmap_features')

OptIntSeq = Optional[Sequence[int]]


def _checked_featuremap_size(
    in_channels: int, sigma_source: str, in_featuremap_size: Union[int, Sequence[int], None]
) -> Optional[Tuple[int, int]]:
    """Check ``in_channels`` and ``sigma_source``; ``in_featuremap_size`` as ``(w, h)``."""
    if not isinstance(in_channels, int):
        raise ValueError(
            f'IntegralRLEHead: in_channels must be an int (one feature map), got {in_channels!r}'
        )
    if sigma_source not in SIGMA_SOURCES:
        raise ValueError(
            f'IntegralRLEHead: sigma_source must be one of {SIGMA_SOURCES}, got {sigma_source!r}'
        )
    if isinstance(in_featuremap_size, int):
        in_featuremap_size = (in_featuremap_size, in_featuremap_size)
    if in_featuremap_size is not None and len(in_featuremap_size) != 2:
        raise ValueError(
            f'IntegralRLEHead: in_featuremap_size must be (w, h), got {in_featuremap_size!r}'
        )
    return None if in_featuremap_size is None else tuple(int(s) for s in in_featuremap_size)


@MODELS.register_module()
class IntegralRLEHead(BaseRLEHead):
    """Soft-argmax (integral) regression head trained with RLE.

    Deconvolutions (SimpleBaseline) on the spatial backbone features, a ``1×1`` conv to
    ``K`` heatmaps, a softmax over space and the expected coordinate give ``μ̂``; a
    global-average-pooled linear branch gives the σ logits (see the module docstring
    for the equations). Use it **without** the ``GlobalAveragePooling`` neck
    (``neck=None``): it needs the feature map.

    Only the layers and :meth:`forward` are its own: the loss (``loss_kpt``,
    ``acc_pose``), the decoding with a ``RegressionLabel`` codec, the flip test and
    ``keypoint_sigmas`` are :class:`BaseRLEHead`'s.

    The deconvolutions and the final conv live in ``simplebaseline_head``, a
    :class:`mmpose.models.heads.HeatmapHead`, with the parameter names of MMPose's
    ``IntegralRegressionHead``; a SimpleBaseline ``HeatmapHead`` checkpoint
    (``head.deconv_layers.*``, ``head.conv_layers.*``, ``head.final_layer.*``) loads
    into it too (the keys are renamed on load), e.g. through the model's
    ``init_cfg=dict(type='Pretrained', checkpoint=...)``; only ``fc_sigma`` is then left
    at its initialisation.

    Args:
        in_channels (int): Channels ``C`` of the last backbone feature map.
        num_joints (int): Number of keypoints ``K``.
        in_featuremap_size (int | sequence[int], optional): Its size ``(w, h)`` (an int
            for square maps), e.g. ``(6, 8)`` for a 192×256 input and a stride-32 ResNet;
            checked against the features when given. The grids follow the heatmaps'
            size at run time, so it may be None.
        beta (float): Softmax temperature ``β`` (multiplies the heatmap logits).
            Default: 1.0.
        sharpen (float): ``γ ≥ 1``: the soft-argmax reads ``softmax(γ β Z) ∝ P^γ``, a
            sharpened copy of the map ``P`` (which a dense loss trains). A Gaussian peak
            stays a Gaussian at the same place (its width over ``√γ``), while the mass
            spread over the background, which pulls the expectation toward the map's
            centre, shrinks exponentially. Default: 1.0 (``P`` itself).
        readout_window (int, optional): ``r``: at prediction (eval mode) the soft-argmax
            reads only the ``(2r+1)×(2r+1)`` cells around each map's peak, renormalised
            (:func:`~mmpose_rle.models.utils.window_around_peak`); a map with two modes
            then decodes to its stronger one instead of a point between them. The σ
            branch still sees the whole map. Default: None (the whole map).
        readout_window_in_training (bool): Apply ``readout_window`` in training too, so
            that the RLE loss sees the windowed read-out. Default: False (training reads
            the whole map, whose gradient reaches every cell).
        grid_offset (float | str): ``'pixel'`` for the pixel-centre grid (needs the input
            size: ``input_size`` or the decoder's), or ``o`` of the grid ``(j + o) / W``.
            Default: ``'pixel'``.
        input_size (sequence[int], optional): ``(w, h)`` of the model input, for the
            pixel-centre grid. Default: None (the decoder's ``input_size``).
        deconv_out_channels (sequence[int], optional): Output channels of the stride-2
            deconvolutions; ``None`` or empty for none. Default: ``(256, 256, 256)``.
        deconv_kernel_sizes (sequence[int], optional): Their kernel sizes (2, 3 or 4).
            Default: ``(4, 4, 4)``.
        conv_out_channels (sequence[int], optional): Output channels of intermediate
            convs after the deconvolutions. Default: None.
        conv_kernel_sizes (sequence[int], optional): Their kernel sizes. Default: None.
        final_layer (dict, optional): Arguments of the final conv to ``K`` heatmaps;
            ``None`` uses the features as heatmap logits (their channels must be ``K``).
            Default: ``dict(kernel_size=1)``.
        sigma_source (str): Input of the σ branch, ``'backbone'`` (GAP of the backbone
            features, ``C → K·2``, as the official RLE model's ``fc_sigma``) or
            ``'heatmap_features'`` (GAP of the features entering ``final_layer``).
            Default: ``'backbone'``.
        loss (dict): Loss config. Default: ``mmpose_rle.RLELoss`` with target weights.
        decoder (dict, optional): Codec config, usually ``RegressionLabel``.
        sigma_init (float, optional): Initial ``σ̂`` (:class:`BaseRLEHead`). Default: None.
        init_cfg (dict, optional): Initialisation of the head; default ``Normal(std=0.01)``
            on ``Linear`` layers (σ branch), while ``simplebaseline_head`` keeps
            MMPose's ``HeatmapHead`` default (``Normal(std=0.001)`` on convs, BN ``1``),
            so that the initial heatmaps are nearly uniform (``μ̂ ≈ 0.5``).
        **score_kwargs: :class:`BaseRLEHead`'s ``keypoint_score`` and ``oks_sigmas``.

    Attributes:
        heatmap_size (tuple[int, int] | None): ``(W, H)`` of the heatmaps, when
            ``in_featuremap_size`` is given.
    """

    def __init__(
        self,
        in_channels: int,
        num_joints: int,
        in_featuremap_size: Union[int, Sequence[int], None] = None,
        beta: float = 1.0,
        sharpen: float = 1.0,
        readout_window: Optional[int] = None,
        readout_window_in_training: bool = False,
        grid_offset: Union[float, str] = 'pixel',
        input_size: Optional[Sequence[int]] = None,
        deconv_out_channels: OptIntSeq = (256, 256, 256),
        deconv_kernel_sizes: OptIntSeq = (4, 4, 4),
        conv_out_channels: OptIntSeq = None,
        conv_kernel_sizes: OptIntSeq = None,
        final_layer: Optional[dict] = dict(kernel_size=1),
        sigma_source: str = 'backbone',
        loss: ConfigType = dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        decoder: OptConfigType = None,
        sigma_init: Optional[float] = None,
        init_cfg: OptConfigType = None,
        **score_kwargs,
    ):
        in_featuremap_size = _checked_featuremap_size(in_channels, sigma_source, in_featuremap_size)
        super().__init__(
            num_joints,
            loss=loss,
            decoder=decoder,
            sigma_init=sigma_init,
            init_cfg=init_cfg,
            **score_kwargs,
        )
        self.in_channels = in_channels
        self.in_featuremap_size = in_featuremap_size
        if not sharpen >= 1:
            raise ValueError(f'IntegralRLEHead: sharpen must be >= 1, got {sharpen!r}')
        self.beta = float(beta)
        self.sharpen = float(sharpen)
        if readout_window is not None and not (
            isinstance(readout_window, int) and readout_window >= 0
        ):
            raise ValueError(
                f'IntegralRLEHead: readout_window must be None or an int >= 0, '
                f'got {readout_window!r}'
            )
        self.readout_window = readout_window
        self.readout_window_in_training = bool(readout_window_in_training)
        if input_size is None and self.decoder is not None:
            input_size = getattr(self.decoder, 'input_size', None)
        self.grid_offset = grid_offset if grid_offset == 'pixel' else float(grid_offset)
        self.input_size = None if input_size is None else tuple(float(v) for v in input_size)
        self.sigma_source = sigma_source
        self._build_heatmap_layers(
            deconv_out_channels,
            deconv_kernel_sizes,
            conv_out_channels,
            conv_kernel_sizes,
            final_layer,
        )
        self.gap = GlobalAveragePooling()
        sigma_channels = in_channels if sigma_source == 'backbone' else self.heatmap_channels
        self.fc_sigma = nn.Linear(sigma_channels, num_joints * 2)

        self._register_load_state_dict_pre_hook(self._heatmap_head_keys_pre_hook)

    def _build_heatmap_layers(
        self,
        deconv_out_channels: OptIntSeq,
        deconv_kernel_sizes: OptIntSeq,
        conv_out_channels: OptIntSeq,
        conv_kernel_sizes: OptIntSeq,
        final_layer: Optional[dict],
    ) -> None:
        """``simplebaseline_head`` (SimpleBaseline deconvolutions, convolutions and the final
        ``1×1`` conv, built by MMPose; its loss has no parameters and is never called),
        ``heatmap_size`` ``(W, H)`` (or None) and ``heatmap_channels`` (the channels ``C_f``
        entering ``final_layer``)."""
        num_joints = self.num_joints
        self.simplebaseline_head = HeatmapHead(
            in_channels=self.in_channels,
            out_channels=num_joints,
            deconv_out_channels=deconv_out_channels,
            deconv_kernel_sizes=deconv_kernel_sizes,
            conv_out_channels=conv_out_channels,
            conv_kernel_sizes=conv_kernel_sizes,
            final_layer=final_layer,
        )
        feat_channels = self.in_channels
        if deconv_out_channels:
            feat_channels = deconv_out_channels[-1]
        if conv_out_channels:
            feat_channels = conv_out_channels[-1]
        if final_layer is None and feat_channels != num_joints:
            raise ValueError(
                f'IntegralRLEHead: without final_layer the features are the heatmap '
                f'logits and need num_joints={num_joints} channels, got {feat_channels}'
            )
        num_deconv = len(deconv_out_channels) if deconv_out_channels else 0
        self.heatmap_size = (
            None
            if self.in_featuremap_size is None
            else tuple(s * 2**num_deconv for s in self.in_featuremap_size)
        )
        self.heatmap_channels = feat_channels

    def heatmap_logits(self, feats: Tuple[Tensor]) -> Tuple[Tensor, Tensor]:
        """Heatmap logits ``Z`` ``(B, K, H, W)`` and the features entering ``final_layer``."""
        x = feats[-1]
        if x.dim() != 4:
            raise ValueError(
                f'{type(self).__name__}: expects a (B, C, h, w) feature map, got shape '
                f'{tuple(x.shape)}; remove the GlobalAveragePooling neck (neck=None)'
            )
        head = self.simplebaseline_head
        features = head.conv_layers(head.deconv_layers(x))
        logits = head.final_layer(features)
        if self.heatmap_size is not None and tuple(logits.shape[-2:]) != self.heatmap_size[::-1]:
            W, H = self.heatmap_size
            raise ValueError(
                f'{type(self).__name__}: heatmaps are {logits.shape[-1]}x{logits.shape[-2]} '
                f'(w x h) but the head was built for {W}x{H} (in_featuremap_size='
                f'{self.in_featuremap_size} upsampled by the deconvolutions); set '
                'in_featuremap_size to the backbone output size (w, h), or to None, and '
                'make sure the model has no GlobalAveragePooling neck'
            )
        return logits, features

    def get_heatmaps(self, feats: Tuple[Tensor]) -> Tensor:
        """Normalised heatmaps ``P = softmax(β Z)`` over space, shape ``(B, K, H, W)``."""
        logits, _ = self.heatmap_logits(feats)
        return spatial_log_softmax(logits.float(), self.beta).exp()

    def grids(self, logits: Tensor) -> Tuple[Tensor, Tensor]:
        """The soft-argmax grids ``(W,)`` and ``(H,)`` of heatmaps shaped like ``logits``."""
        height, width = logits.shape[-2:]
        if self.grid_offset == 'pixel':
            if self.input_size is None:
                raise ValueError(
                    f"{type(self).__name__}: grid_offset='pixel' needs the input size: give "
                    'input_size=(w, h) or a decoder with input_size (RegressionLabel)'
                )
            gx, gy = pixel_grid(width, self.input_size[0]), pixel_grid(height, self.input_size[1])
        else:
            gx, gy = cell_grid(width, self.grid_offset), cell_grid(height, self.grid_offset)
        return gx.to(logits.device), gy.to(logits.device)

    def sigma_bias(self) -> Tensor:
        """``fc_sigma.bias`` as ``(K, 2)``."""
        return self.fc_sigma.bias.view(self.num_joints, 2)

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Raw outputs ``(B, K, 4)``: soft-argmax coordinates and σ logits.

        Args:
            feats (tuple[Tensor]): Backbone features; the last, ``(B, C, h, w)``, is
                used.

        Returns:
            Tensor: ``(μ̂_x, μ̂_y, σ_logit_x, σ_logit_y)`` per keypoint, ``μ̂`` in
            ``[0, 1]`` of the input (see the module docstring); float32 under mixed
            precision, as :meth:`RLEHead.forward`.
        """
        logits, features = self.heatmap_logits(feats)
        return self.readout(logits, feats, features)[0]

    def readout(
        self, logits: Tensor, feats: Tuple[Tensor], features: Tensor
    ) -> Tuple[Tensor, Tensor]:
        """Raw outputs ``(B, K, 4)`` and ``log P`` ``(B, K, H, W)`` from the heatmap logits.

        ``log P = log_softmax(β Z)`` is computed in float32 (so a dense loss on it stays
        finite under mixed precision); ``feats`` and ``features`` feed the σ branch.
        """
        log_p = spatial_log_softmax(logits.float(), self.beta)
        probs = log_p.exp()
        readout = probs
        if self.sharpen != 1:
            readout = spatial_log_softmax(logits.float(), self.beta * self.sharpen).exp()
        if self.readout_window is not None and (
            self.readout_window_in_training or not self.training
        ):
            readout = window_around_peak(readout, self.readout_window)
        coords = soft_argmax(readout, *self.grids(logits))  # (B, K, 2)
        pooled = self.gap(feats[-1] if self.sigma_source == 'backbone' else features)
        sigma = self.sigma_logits(pooled, probs, coords)
        out = torch.cat([coords.to(sigma.dtype), sigma], dim=-1)
        return self.full_precision(out), log_p

    def sigma_logits(self, pooled: Tensor, probs: Tensor, coords: Tensor) -> Tensor:
        """σ logits ``(B, K, 2)`` from the pooled features (``probs`` and ``coords`` are
        there for subclasses that use the maps' spread)."""
        return self.fc_sigma(pooled).reshape(-1, self.num_joints, 2)

    def _heatmap_head_keys_pre_hook(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Rename a ``HeatmapHead``'s keys ``{prefix}{deconv_layers,conv_layers,
        final_layer}.*`` to ``{prefix}simplebaseline_head.*``.

        Our own state dicts have no such keys at the top level, so the renaming is
        unconditional; it lets a SimpleBaseline heatmap checkpoint initialise the head.
        """
        for key in list(state_dict):
            if not key.startswith(prefix):
                continue
            first = key[len(prefix) :].split('.', 1)[0]
            if first in ('deconv_layers', 'conv_layers', 'final_layer'):
                new = prefix + 'simplebaseline_head.' + key[len(prefix) :]
                state_dict[new] = state_dict.pop(key)
