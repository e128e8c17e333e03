r"""The unit a 3-D lifting head regresses in: a cube of ``cube_mm`` millimetres.

MMPose's lifting codecs give ``lifting_target_label`` in metres (``VideoPoseLifting``) or in
target standard deviations (``ImagePoseLifting`` with ``target_std``). A head that works in a
cube of side ``cube_mm`` regresses ``label / label_scale`` with::

    label_mm    = target_std · unit_to_mm                    (K, 3); target_std = 1 without one
    label_scale = cube_mm / mean(label_mm)                    (1 when cube_mm is None)

and multiplies its outputs by ``label_scale`` back into label units before decoding.
:class:`~mmpose_rle.models.heads.RLELiftingHead` and
:class:`~mmpose_rle.models.heads.CubeTemporalRegressionHead` share these units and
:data:`CUBE_INIT_CFG`, their initialisation.

Example:
    >>> cube_label_scale(np.full((4, 3), 1000.0), cube_mm=2000.0)
    2.0
    >>> cube_label_scale(np.full((4, 3), 1000.0), cube_mm=None)
    1.0
"""

from typing import List, Optional

import numpy as np

__all__ = ['CUBE_INIT_CFG', 'check_units', 'lifting_label_mm', 'cube_label_scale']

#: ``Normal(std=0.01)``, zero bias, on ``Linear`` and ``Conv1d`` layers (MMPose's ``RLEHead``'s
#: initialisation extended to the lifting heads' ``1×1`` convolutions): outputs start near 0.
CUBE_INIT_CFG: List[dict] = [dict(type='Normal', layer=['Linear', 'Conv1d'], std=0.01, bias=0)]


def check_units(unit_to_mm: float, cube_mm: Optional[float], owner: str) -> None:
    """Raise a ``ValueError`` naming ``owner`` unless ``unit_to_mm > 0`` and ``cube_mm`` is
    None or positive."""
    if not (unit_to_mm > 0 and (cube_mm is None or cube_mm > 0)):
        raise ValueError(
            f'{owner}: unit_to_mm and cube_mm must be positive, got {unit_to_mm!r} and {cube_mm!r}'
        )


def lifting_label_mm(decoder, num_joints: int, unit_to_mm: float, owner: str) -> np.ndarray:
    """Millimetres per unit of ``lifting_target_label``, ``(K, 3)``.

    Args:
        decoder: The lifting codec (or None); its ``target_std`` is used when it has one.
        num_joints (int): Joints ``K`` the head predicts.
        unit_to_mm (float): Millimetres per unit of the decoded positions.
        owner (str): The head's name, for the error message.

    Returns:
        np.ndarray: ``target_std · unit_to_mm`` as ``(K, 3)``.
    """
    std = getattr(decoder, 'target_std', None)
    scale = np.ones((num_joints, 3)) if std is None else np.asarray(std, float)
    if scale.size != num_joints * 3:
        raise ValueError(
            f'{owner}: the codec has target_std for {scale.size // 3} joints but '
            f'the head predicts num_joints={num_joints}'
        )
    return scale.reshape(num_joints, 3) * unit_to_mm


def cube_label_scale(label_mm: np.ndarray, cube_mm: Optional[float]) -> float:
    """``label_scale = cube_mm / mean(label_mm)``; 1 (label units) when ``cube_mm`` is None.

    Args:
        label_mm (np.ndarray): ``(K, 3)`` from :func:`lifting_label_mm`.
        cube_mm (float, optional): Side of the cube in millimetres.

    Returns:
        float: Label units per unit of the head's output.
    """
    return 1.0 if cube_mm is None else float(cube_mm / np.mean(label_mm))
