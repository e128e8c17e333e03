"""σ from pixels of the model input to pixels of the image."""

import numpy as np

__all__ = ['input_to_image_sigmas']


def input_to_image_sigmas(
    sigmas: np.ndarray, input_size: np.ndarray, input_scale: np.ndarray
) -> np.ndarray:
    """Map per-coordinate σ from the top-down crop to the image.

    The affine crop of a top-down model scales axis ``d`` by ``input_size_d / input_scale_d``
    (no rotation at test time), so a scale in input pixels maps to the image as
    ``σ_img = σ_input / input_size · input_scale``, the same map MMPose applies to the
    keypoints' offsets from the crop centre.

    Args:
        sigmas (np.ndarray): ``(N, K, 2)`` σ in pixels of the model input.
        input_size (np.ndarray): ``(2,)`` the model input ``(w, h)``.
        input_scale (np.ndarray): ``(2,)`` or ``(N, 2)`` the crop's ``(w, h)`` in the image.

    Returns:
        np.ndarray: ``(N, K, 2)`` σ in image pixels.
    """
    size = np.asarray(input_size, dtype=np.float64)
    scale = np.asarray(input_scale, dtype=np.float64).reshape(-1, 1, 2)
    return np.asarray(sigmas, dtype=np.float64) / size * scale
