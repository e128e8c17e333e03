"""RealNVP normalizing flow (Dinh et al., 2017) as used by RLE.

The flow is a bijection ``f_φ`` from a latent space (standard normal prior ``p_z``) to the
data space. Each of its ``L`` affine coupling layers, with a binary mask ``m``, maps::

    x = m ⊙ z + (1 − m) ⊙ (z ⊙ exp(s(m ⊙ z)) + t(m ⊙ z))
    log |det ∂x/∂z| = Σ_j (1 − m_j) s_j(m ⊙ z)

where ``s`` (ending in ``tanh``, so every log-scale lies in (−1, 1)) and ``t`` are MLPs
``D → H → H → D`` with LeakyReLU. Only the entries with ``m_j = 0`` move, and consecutive
masks alternate so that every coordinate is transformed. The density is::

    log p_φ(x) = log p_z(f_φ⁻¹(x)) + log |det ∂f_φ⁻¹/∂x|

With the defaults (``dim=2``, 6 layers, width 64) the network, the state-dict keys
(``s.*``, ``t.*`` and the buffers ``loc``, ``cov``, ``mask``) and the initialisation are
those of MMPose's ``mmpose.models.utils.realnvp.RealNVP`` and of the official RLE code,
so their checkpoints load unchanged.

Example:
    >>> flow = RealNVP()
    >>> x, log_det = flow(torch.randn(5, 2))     # latent -> data
    >>> z, inv_log_det = flow.inverse(x)         # data -> latent
    >>> flow.log_prob(x).shape
    torch.Size([5])
"""

from typing import Tuple

import torch
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

__all__ = ['RealNVP']


def _mlp(dim: int, hidden: int, bounded: bool) -> nn.Sequential:
    """``D → H → H → D`` MLP with LeakyReLU; ``tanh`` at the end when ``bounded``."""
    layers = [
        nn.Linear(dim, hidden),
        nn.LeakyReLU(),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(),
        nn.Linear(hidden, dim),
    ]
    if bounded:
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


@MODELS.register_module()
class RealNVP(nn.Module):
    """RealNVP with alternating affine couplings and a standard normal prior.

    Args:
        dim (int): Dimension ``D`` of the data, 2 (image coordinates) or 3. Default: 2.
        num_layers (int): Number of coupling layers ``L``, at least 2. Default: 6.
        hidden_channels (int): Width ``H`` of the hidden layers of ``s`` and ``t``.
            Default: 64.
        init_gain (float): Gain of the Xavier-uniform initialisation of every linear
            weight; the default 0.01 makes the initial flow close to the identity
            (as in MMPose and the official code). Default: 0.01.

    Shapes:
        Inputs ``(B, D)``; log-determinants and log-probabilities ``(B,)``.
    """

    def __init__(
        self, dim: int = 2, num_layers: int = 6, hidden_channels: int = 64, init_gain: float = 0.01
    ) -> None:
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f'RealNVP supports dim 2 or 3, got {dim}')
        if num_layers < 2:
            raise ValueError(
                f'RealNVP needs at least 2 coupling layers so that every coordinate '
                f'is transformed, got num_layers={num_layers}'
            )
        self.dim = dim
        # mask[i, j] = 1 keeps coordinate j fixed in layer i; layers alternate.
        idx = torch.arange(num_layers)[:, None] + torch.arange(dim)[None, :]
        self.register_buffer('loc', torch.zeros(dim))
        self.register_buffer('cov', torch.eye(dim))
        self.register_buffer('mask', (idx % 2).float())
        self.s = nn.ModuleList(
            [_mlp(dim, hidden_channels, bounded=True) for _ in range(num_layers)]
        )
        self.t = nn.ModuleList(
            [_mlp(dim, hidden_channels, bounded=False) for _ in range(num_layers)]
        )
        self.init_gain = init_gain
        self.init_weights()

    def init_weights(self) -> None:
        """Xavier-uniform weights with gain ``init_gain`` (biases keep torch's init)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight, gain=self.init_gain)

    @property
    def num_layers(self) -> int:
        """Number of coupling layers."""
        return len(self.mask)

    @property
    def prior(self) -> torch.distributions.MultivariateNormal:
        """The latent distribution ``N(loc, cov)`` (standard normal by default)."""
        return torch.distributions.MultivariateNormal(self.loc, self.cov, validate_args=False)

    def _check(self, x: Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f'RealNVP(dim={self.dim}) expects a tensor of shape (B, {self.dim}), '
                f'got {tuple(x.shape)}'
            )

    def _coupling(self, i: int, fixed: Tensor) -> Tuple[Tensor, Tensor]:
        """Log-scale ``s`` and shift ``t`` of layer ``i``, zero on the fixed entries."""
        free = 1 - self.mask[i]
        return self.s[i](fixed) * free, self.t[i](fixed) * free

    def forward(self, z: Tensor) -> Tuple[Tensor, Tensor]:
        """Map latent points to the data space, ``x = f_φ(z)``.

        Args:
            z (Tensor): Latent points, shape ``(B, D)``.

        Returns:
            tuple[Tensor, Tensor]: ``x`` of shape ``(B, D)`` and
            ``log |det ∂x/∂z|`` of shape ``(B,)``.
        """
        self._check(z)
        x, log_det = z, z.new_zeros(z.shape[0])
        for i in range(self.num_layers):
            fixed = self.mask[i] * x
            s, t = self._coupling(i, fixed)
            x = fixed + (1 - self.mask[i]) * (x * torch.exp(s) + t)
            log_det = log_det + s.sum(dim=1)
        return x, log_det

    def inverse(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Map data points to the latent space, ``z = f_φ⁻¹(x)``.

        Args:
            x (Tensor): Data points, shape ``(B, D)``.

        Returns:
            tuple[Tensor, Tensor]: ``z`` of shape ``(B, D)`` and
            ``log |det ∂z/∂x|`` of shape ``(B,)``.
        """
        self._check(x)
        z, log_det = x, x.new_zeros(x.shape[0])
        for i in reversed(range(self.num_layers)):
            fixed = self.mask[i] * z
            s, t = self._coupling(i, fixed)
            z = (1 - self.mask[i]) * (z - t) * torch.exp(-s) + fixed
            log_det = log_det - s.sum(dim=1)
        return z, log_det

    def log_prob(self, x: Tensor) -> Tensor:
        """Log-density of data points, ``log p_z(f_φ⁻¹(x)) + log |det ∂f_φ⁻¹/∂x|``.

        Args:
            x (Tensor): Data points, shape ``(B, D)``.

        Returns:
            Tensor: Log-densities, shape ``(B,)``.
        """
        z, log_det = self.inverse(x)
        return self.prior.log_prob(z) + log_det

    def sample(self, num_samples: int) -> Tensor:
        """Draw ``num_samples`` points from the flow's density.

        Returns:
            Tensor: Samples of shape ``(num_samples, D)``.
        """
        z = self.prior.sample((num_samples,))
        return self.forward(z)[0]
