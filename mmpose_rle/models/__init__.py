"""Models of mmpose_rle; importing this module registers them."""

from .flows import *  # noqa: F401,F403
from .flows import __all__ as _flows
from .heads import *  # noqa: F401,F403
from .heads import __all__ as _heads
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _losses

__all__ = [*_flows, *_heads, *_losses]
