r"""MMPose's lifting head in the units and initialisation of ours: a baseline without confounds.

:class:`CubeTemporalRegressionHead` is MMPose's ``TemporalRegressionHead`` (one ``1×1``
convolution ``C → K·3``, its loss, decoding and logs, all inherited) with the two things
:class:`~mmpose_rle.models.heads.RLELiftingHead` does differently from it besides the loss:

* **units** — the convolution regresses labels in a cube of ``cube_mm``
  (:mod:`mmpose_rle.models.utils.lifting_units`)::

      ŷ = label_scale · (W x + b)                       forward: (B, K, 3), label units
      L = loss(ŷ / label_scale, label / label_scale)    = loss(W x + b, label / label_scale)

  so the loss (``MSELoss`` by default) sees the same numbers as ours does, and prediction
  (``ŷ`` through the codec, MMPose's own ``predict``) is in label units;
* **initialisation** — ``Normal(std=0.01)``, zero bias, on the convolution
  (:data:`~mmpose_rle.models.utils.lifting_units.CUBE_INIT_CFG`); MMPose's head initialises
  only ``Linear`` layers, so its convolution keeps PyTorch's default.

With ``cube_mm=None`` and ``init_cfg=[]`` it is MMPose's head.
"""

from typing import Optional, Sequence, Tuple, Union

from mmpose.models.heads import TemporalRegressionHead
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

from ..utils.lifting_units import CUBE_INIT_CFG, check_units, cube_label_scale, lifting_label_mm

__all__ = ['CubeTemporalRegressionHead']


class _InCubeUnits(nn.Module):
    """``loss(pred / s, target / s, *rest)``: a loss evaluated in cube units."""

    def __init__(self, loss: nn.Module, label_scale: float) -> None:
        super().__init__()
        self.loss = loss
        self.label_scale = label_scale

    def forward(self, pred: Tensor, target: Tensor, *args, **kwargs) -> Tensor:
        """The wrapped loss of ``(B, K, 3)`` predictions and labels, both divided by ``s``."""
        return self.loss(pred / self.label_scale, target / self.label_scale, *args, **kwargs)


@MODELS.register_module()
class CubeTemporalRegressionHead(TemporalRegressionHead):
    """``TemporalRegressionHead`` regressing in a ``cube_mm`` cube from ``Normal(0.01)``.

    Args:
        in_channels (int | sequence[int]): Feature channels ``C`` of the backbone.
        num_joints (int): Joints ``K`` predicted.
        loss (dict): Loss config, evaluated in cube units. Default: ``MSELoss`` with target
            weights (MMPose's head's default).
        decoder (dict, optional): The lifting codec.
        unit_to_mm (float): Millimetres per unit of the decoded positions. Default: 1000.
        cube_mm (float, optional): Side of the cube; None regresses unscaled labels.
            Default: 2000 (``RLELiftingHead``'s).
        init_cfg (dict, optional): Initialisation; ``CUBE_INIT_CFG`` when None.

    Shapes:
        ``feats[-1]``: ``(B, C, 1)``; :meth:`forward`: ``(B, K, 3)`` in label units.

    Example:
        >>> head = CubeTemporalRegressionHead(in_channels=8, num_joints=4)
        >>> head.label_scale, head((head.conv.weight.new_zeros(2, 8, 1), )).shape
        (2.0, torch.Size([2, 4, 3]))
    """

    def __init__(
        self,
        in_channels: Union[int, Sequence[int]],
        num_joints: int,
        loss: ConfigType = dict(type='MSELoss', use_target_weight=True),
        decoder: OptConfigType = None,
        unit_to_mm: float = 1000.0,
        cube_mm: Optional[float] = 2000.0,
        init_cfg: OptConfigType = None,
    ) -> None:
        check_units(unit_to_mm, cube_mm, 'CubeTemporalRegressionHead')
        super().__init__(in_channels, num_joints, loss=loss, decoder=decoder, init_cfg=init_cfg)
        self.unit_to_mm = unit_to_mm
        self.cube_mm = cube_mm
        label_mm = lifting_label_mm(self.decoder, num_joints, unit_to_mm, type(self).__name__)
        self.label_scale = cube_label_scale(label_mm, cube_mm)
        self.loss_module = _InCubeUnits(self.loss_module, self.label_scale)

    @property
    def default_init_cfg(self) -> list:
        """``Normal(std=0.01)``, zero bias, on ``Linear`` and ``Conv1d`` layers."""
        return [dict(cfg) for cfg in CUBE_INIT_CFG]

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """``label_scale · conv(feats[-1])`` as ``(B, K, 3)``: positions in label units."""
        return super().forward(feats) * self.label_scale
