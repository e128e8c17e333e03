r"""Export the inference graph of a top-down RLE model to ONNX and check it.

The exported graph maps a batch of **raw pixel crops** to the RLE predictions::

    images  (B, 3, H, W) float32, 0–255, channel order of MMPose's ``LoadImage``
            (BGR when the data preprocessor has ``bgr_to_rgb=True``, as in the COCO configs)
      → x = (flip_channels(images) − mean) / std       (the data preprocessor, in the graph)
      → head.predict_outputs(neck(backbone(x)))      point prediction, σ̂, predictive RMS
    coords  (B, K, 2) = μ̂ · (W, H)                    input pixels (MMPose's RegressionLabel)
    sigmas  (B, K, 2) = σ̂ = sigmoid(σ logits)        normalised scale
    scores  (B, K)    = 1 − mean_c σ̂_c                MMPose's keypoint score
    rms     (B, K, 2) = predictive RMS error · (W, H)  input pixels (``keypoint_sigmas``)

``(H, W)`` is the codec's ``input_size``: the crops are what ``TopdownAffine`` produces, and the
batch axis is dynamic. The normalisation is kept as ``Sub``/``Div`` nodes in front of the
backbone rather than folded into the first convolution, because the convolution pads with
zeros *after* normalisation. The flow is not part of the graph (RLE does not run it at test
time), except in the ``'basic'`` design, whose prediction is ``f_φ(μ̂)`` and whose RMS is the
spread of Q pushed through the flow at fixed quasi-random nodes. Flip test is not in the
graph either, so ``rms`` goes through the head's **single-view** σ map (the flip-test map
calibrates the average of two views). The metadata hold ``input_size``,
``input_channel_order``, the keypoint names, ``residual_rms`` (``s`` of the head's
``residual_rms()``: ``rms = σ̂ · s · size`` outside the basic design, before
calibration) and ``sigma_calibration`` (``identity``, or the single-view map as JSON with
``mode``, ``log_scale`` and ``power``; ``rms`` includes it).

:func:`verify_onnx` runs the file with ONNX Runtime and compares it with the PyTorch model
run the MMPose way (``PoseDataPreprocessor`` → ``extract_feat`` → head →
``RegressionLabel.decode``), so the folded preprocessing, the channel order and the scaling
are checked too. Coordinates are compared in normalised units (pixels divided by the input
size).

**One-stage models.** A ``BottomupPoseEstimator`` whose head is
:class:`~mmpose_rle.models.heads.YOLOXPoseRLEHead` exports its own graph (every prior's
outputs before selection, the preprocessing folded the same way):
:mod:`mmpose_rle.apis.onnx_one_stage`. :func:`export_onnx`, :func:`reference_outputs`,
:func:`run_onnx` and :func:`verify_onnx` take either kind of model (:func:`inference_graph`
picks the graph).

Example (from the repository's root):
    >>> import tempfile
    >>> model = build_model('configs/body_2d_keypoint/topdown_regression/coco/'
    ...                     'td-reg_res50_rle-8xb64-210e_coco-256x192.py',
    ...                     cfg_options={'model.backbone.depth': 18,
    ...                                  'model.head.in_channels': 512})
    >>> path = export_onnx(model, tempfile.mkdtemp() + '/rle.onnx')
    >>> sorted(verify_onnx(model, path))  # raises OnnxMismatchError beyond 1e-4
    ['coords', 'rms', 'scores', 'sigmas']
"""

import json
import warnings
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmpose.apis import init_model
from mmpose.structures import PoseDataSample
from torch import Tensor, nn

from mmpose_rle.models.heads import BaseRLEHead, RTMORLEHead, YOLOXPoseRLEHead

__all__ = [
    'INPUT_NAME',
    'OUTPUT_NAMES',
    'OnnxMismatchError',
    'RawPixelsGraph',
    'RLEInferenceGraph',
    'build_model',
    'export_onnx',
    'inference_graph',
    'is_one_stage',
    'sigma_metadata',
    'reference_outputs',
    'run_onnx',
    'verify_onnx',
]

INPUT_NAME = 'images'
OUTPUT_NAMES = ('coords', 'sigmas', 'scores', 'rms')


class OnnxMismatchError(RuntimeError):
    """The ONNX Runtime outputs differ from PyTorch's by more than the tolerance."""


def is_one_stage(model: nn.Module) -> bool:
    """Whether ``model`` is a one-stage model with :class:`YOLOXPoseRLEHead`."""
    return isinstance(getattr(model, 'head', None), YOLOXPoseRLEHead)


def _input_size(model: nn.Module) -> Tuple[int, int]:
    """The codec's input size ``(W, H)`` of a top-down RLE model, with clear errors."""
    head = getattr(model, 'head', None)
    if isinstance(head, RTMORLEHead):
        raise TypeError(
            'ONNX export of mmpose_rle.RTMORLEHead is not provided: export RTMO with '
            "MMPose's deployment tools (without σ), or use a one-stage model with "
            'mmpose_rle.YOLOXPoseRLEHead, whose graph carries σ'
        )
    if not isinstance(head, BaseRLEHead):
        raise TypeError(
            f'ONNX export needs a top-down model with a head of the mmpose_rle RLE family '
            f'(RLEHead, OfficialRLEHead, IntegralRLEHead ...) or a one-stage model with '
            f'mmpose_rle.YOLOXPoseRLEHead, got a head of type '
            f"{type(head).__name__}; for MMPose's RLEHead set the head type to "
            '"mmpose_rle.RLEHead" (its checkpoints load unchanged)'
        )
    if getattr(head, 'decoder', None) is None or not hasattr(head.decoder, 'input_size'):
        raise ValueError(
            "ONNX export needs the head's decoder (a RegressionLabel codec with "
            'input_size) to scale the coordinates to pixels'
        )
    w, h = head.decoder.input_size
    return int(w), int(h)


def _preprocessing(pre: nn.Module) -> Tuple[bool, Tensor, Tensor]:
    """Whether a data preprocessor reverses the channels, and its mean and std.

    Read through its public interface: ``mean`` and ``std`` are its buffers when it
    normalises, and the channel order is probed by running it on a crop whose three
    channels differ.
    """
    mean = getattr(pre, 'mean', None)
    std = getattr(pre, 'std', None)
    mean = torch.zeros(1, 1, 1, 1) if mean is None else mean.detach().reshape(1, -1, 1, 1)
    std = torch.ones(1, 1, 1, 1) if std is None else std.detach().reshape(1, -1, 1, 1)
    probe = torch.tensor([10.0, 60.0, 110.0]).reshape(3, 1, 1).expand(3, 2, 2)
    with torch.no_grad():
        out = pre(dict(inputs=[probe.clone()], data_samples=[PoseDataSample()]), False)['inputs'][
            0, :, :2, :2
        ].cpu()
    same = torch.allclose(out, ((probe - mean) / std)[0], atol=1e-4)
    flipped = torch.allclose(out, ((probe.flip(0) - mean) / std)[0], atol=1e-4)
    if same == flipped:
        raise ValueError(
            "could not read the data preprocessor's channel order and "
            "normalisation; export models with MMPose's PoseDataPreprocessor"
        )
    return flipped, mean.float(), std.float()


class RawPixelsGraph(nn.Module):
    """Base of the exported graphs: raw pixels in, the data preprocessor folded in front.

    ``x = (flip_channels(images) − mean) / std`` (:meth:`normalise`), as ``Sub``/``Div``
    nodes; the channel flip when the preprocessor converts the channels.

    Args:
        model (nn.Module): A pose estimator; its ``data_preprocessor`` is read.
        input_size (tuple[int, int]): ``(W, H)`` of the graph's input.
    """

    def __init__(self, model: nn.Module, input_size: Tuple[int, int]) -> None:
        super().__init__()
        self.model = model
        self.swap_channels, mean, std = _preprocessing(model.data_preprocessor)
        self.register_buffer('mean', mean.clone(), persistent=False)
        self.register_buffer('std', std.clone(), persistent=False)
        size = torch.tensor([float(v) for v in input_size], dtype=torch.float32)
        self.register_buffer('size', size, persistent=False)

    @property
    def input_size(self) -> Tuple[int, int]:
        """``(W, H)`` of the input images."""
        return int(self.size[0]), int(self.size[1])

    @property
    def input_channel_order(self) -> str:
        """Channel order the graph expects, for the metadata.

        The graph reverses the channels when the data preprocessor converts them
        (``bgr_to_rgb`` or ``rgb_to_bgr``, the same flip), so it takes what the data
        pipeline loads: BGR with MMPose's ``LoadImage`` and ``bgr_to_rgb=True``.
        """
        if self.swap_channels:
            return 'BGR (reversed to RGB in the graph, as bgr_to_rgb)'
        return 'as the data pipeline loads it (BGR with LoadImage), no conversion'

    def normalise(self, images: Tensor) -> Tensor:
        """The data preprocessor's output ``(B, 3, H, W)`` of raw 0–255 ``images``."""
        x = images.flip(1) if self.swap_channels else images
        return (x - self.mean) / self.std

    def input_metadata(self) -> Dict[str, str]:
        """Metadata of the input: size, channel order, range, mean and std."""
        w, h = self.input_size
        return {
            'input_size': f'{w},{h}',
            'input_channel_order': self.input_channel_order,
            'input_range': '0-255 (raw pixels; mean/std are applied in the graph)',
            'mean': ','.join(f'{v:g}' for v in self.mean.flatten().tolist()),
            'std': ','.join(f'{v:g}' for v in self.std.flatten().tolist()),
        }


class RLEInferenceGraph(RawPixelsGraph):
    """Raw pixels → ``(coords, sigmas, scores, rms)`` of a top-down RLE model, for export.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with a head of the RLE family
            (:class:`~mmpose_rle.models.heads.BaseRLEHead`) whose decoder has
            ``input_size``; its ``data_preprocessor`` (``mean``, ``std``, the channel swap)
            is folded into the graph.

    Shapes:
        ``images (B, 3, H, W)`` → ``coords (B, K, 2)`` (input pixels), ``sigmas (B, K, 2)``
        (σ̂), ``scores (B, K)`` (``1 − mean σ̂``), ``rms (B, K, 2)`` (input pixels).
    """

    output_names = OUTPUT_NAMES

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model, _input_size(model))

    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Predict coordinates (pixels), σ̂, scores and RMS (pixels) of raw crops."""
        out = self.model.head.predict_outputs(self.model.extract_feat(self.normalise(images)))
        return (out.coords * self.size, out.sigma, 1 - out.sigma.mean(dim=-1), out.rms * self.size)

    def metadata(self) -> Dict[str, str]:
        """Key/value metadata written into the ONNX file."""
        return _metadata(self)


def inference_graph(model: nn.Module) -> RawPixelsGraph:
    """The export graph of ``model``: :class:`RLEInferenceGraph` of a top-down RLE model,
    :class:`~mmpose_rle.apis.onnx_one_stage.OneStageInferenceGraph` of a one-stage one."""
    if is_one_stage(model):
        from .onnx_one_stage import OneStageInferenceGraph

        return OneStageInferenceGraph(model)
    return RLEInferenceGraph(model)


def build_model(
    config: Union[str, Path, Config],
    checkpoint: Optional[str] = None,
    cfg_options: Optional[dict] = None,
) -> nn.Module:
    """Build a pose model on the CPU in eval mode (MMPose's ``init_model``).

    The weights are those of ``checkpoint`` or, without one, the initial ones of the
    modules: ``init_weights`` is not run, so no pretrained backbone is downloaded.
    """
    import mmpose_rle  # noqa: F401  (registers the parts)

    return init_model(
        config if isinstance(config, Config) else str(config),
        checkpoint,
        device='cpu',
        cfg_options=cfg_options,
    )


def sigma_metadata(model: nn.Module) -> Dict[str, str]:
    """Metadata of σ shared by the graphs: ``residual_rms`` (when the loss has a flow),
    ``sigma_calibration`` (the single-view map the graph applies) and ``keypoint_names``
    (when the model's ``dataset_meta`` names the head's ``K`` keypoints)."""
    head = model.head
    meta = {}
    residual_rms = head.residual_rms()
    if residual_rms is not None:
        meta['residual_rms'] = ','.join(f'{v:.6g}' for v in residual_rms.tolist())
    calibration = head.sigma_calibration
    log_scale, power = calibration.map('single')  # the graph predicts one view
    meta['sigma_calibration'] = (
        'identity'
        if calibration.identity_in('single')
        else json.dumps(dict(mode='single', log_scale=log_scale.tolist(), power=power.tolist()))
    )
    names = (getattr(model, 'dataset_meta', None) or {}).get('keypoint_id2name')
    if names and len(names) == log_scale.shape[0]:
        meta['keypoint_names'] = ','.join(names[i] for i in sorted(names))
    return meta


def _metadata(graph: RLEInferenceGraph) -> Dict[str, str]:
    """Key/value metadata written into the ONNX file of a top-down graph."""
    meta = graph.input_metadata()
    meta['outputs'] = (
        'coords (B,K,2) input pixels; sigmas (B,K,2) normalised sigma; '
        'scores (B,K) = 1 - mean sigma; rms (B,K,2) predictive RMS error, '
        'input pixels'
    )
    meta.update(sigma_metadata(graph.model))
    return meta


def export_onnx(
    model: nn.Module, out_file: Union[str, Path], batch_size: int = 1, opset_version: int = 17
) -> Path:
    """Export the inference graph of ``model`` (:func:`inference_graph`) to ``out_file``.

    Uses the TorchScript exporter (``torch.onnx.export(dynamo=False)``), which needs no
    ``onnxscript``; the batch axis is dynamic. The graph's metadata are written into the
    file's ``metadata_props``.

    Args:
        model (nn.Module): Top-down RLE model, or one-stage model with
            :class:`YOLOXPoseRLEHead` (put in eval mode).
        out_file (str | Path): Where to write the ``.onnx`` file.
        batch_size (int): Batch size of the example input traced. Default: 1.
        opset_version (int): ONNX opset, at least 13. Default: 17.

    Returns:
        Path: ``out_file``.
    """
    if opset_version < 13:
        raise ValueError(f'opset_version must be at least 13, got {opset_version}')
    graph = inference_graph(model).eval()
    names = list(graph.output_names)
    w, h = graph.input_size
    example = torch.rand(batch_size, 3, h, w, generator=torch.Generator().manual_seed(0)) * 255
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    axes = {INPUT_NAME: {0: 'batch'}, **{name: {0: 'batch'} for name in names}}
    with torch.no_grad(), warnings.catch_warnings():
        graph(example)  # fills the loss's eval-mode caches, so the trace sees constants
        warnings.simplefilter('ignore')  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            graph,
            (example,),
            str(out_file),
            dynamo=False,
            opset_version=opset_version,
            input_names=[INPUT_NAME],
            output_names=names,
            dynamic_axes=axes,
        )
    import onnx

    proto = onnx.load(str(out_file))
    for key, value in graph.metadata().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(out_file))
    return out_file


def reference_outputs(model: nn.Module, images: Tensor) -> Dict[str, np.ndarray]:
    """PyTorch outputs, computed the MMPose way (not through :class:`RLEInferenceGraph`).

    Args:
        model (nn.Module): Top-down RLE model in eval mode (a one-stage one goes to
            :func:`~mmpose_rle.apis.onnx_one_stage.reference_prior_outputs`).
        images (Tensor): Raw crops ``(B, 3, H, W)``, 0–255, in the loader's channel order.

    Returns:
        dict: ``coords (B, K, 2)`` in input pixels (``RegressionLabel.decode``),
        ``sigmas (B, K, 2)``, ``scores (B, K)`` and ``rms (B, K, 2)`` in input pixels.
    """
    if is_one_stage(model):
        from .onnx_one_stage import reference_prior_outputs

        return reference_prior_outputs(model, images)
    w, h = _input_size(model)
    with torch.no_grad():
        data = dict(
            inputs=list(images.float()), data_samples=[PoseDataSample() for _ in range(len(images))]
        )
        inputs = model.data_preprocessor(data, False)['inputs']
        out = model.head.predict_outputs(model.extract_feat(inputs))
    coords, scores = model.head.decoder.decode(
        torch.cat([out.coords, out.sigma], dim=-1).cpu().numpy()
    )
    return dict(
        coords=coords.astype(np.float32),
        sigmas=out.sigma.cpu().numpy(),
        scores=scores.astype(np.float32),
        rms=(out.rms.cpu().numpy() * np.float32([w, h])).astype(np.float32),
    )


def run_onnx(onnx_file: Union[str, Path], images: np.ndarray) -> Dict[str, np.ndarray]:
    """Run an exported file with ONNX Runtime (CPU) on ``images (B, 3, H, W)``: all its
    outputs, by name."""
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover
        raise ImportError(
            'checking the export needs onnxruntime: pip install onnxruntime (or pass --no-verify)'
        ) from err
    session = ort.InferenceSession(str(onnx_file), providers=['CPUExecutionProvider'])
    names = [out.name for out in session.get_outputs()]
    outs = session.run(names, {INPUT_NAME: np.asarray(images, np.float32)})
    return dict(zip(names, outs))


#: Outputs in input pixels, compared in normalised units (divided by ``(W, H)``).
_PIXEL_OUTPUTS = ('coords', 'rms', 'bboxes', 'keypoints', 'keypoint_sigmas', 'bboxes_unclamped')
#: One-stage outputs of every prior, far outside the input for some: relative beyond it.
_UNBOUNDED_OUTPUTS = ('keypoints', 'keypoint_sigmas', 'bboxes_unclamped')


def _difference(name: str, got: np.ndarray, ref: np.ndarray, size: np.ndarray) -> float:
    """Max abs difference of one output: pixel outputs divided by the input size (the
    unbounded one-stage outputs by ``max(size, |ref|)``: relative where they outgrow the
    input), others as they are (labels: any mismatch is at least 1); equal values
    (infinities included) differ by 0."""
    if got.size == 0:
        return 0.0
    scale = np.tile(size, got.shape[-1] // 2) if name in _PIXEL_OUTPUTS else 1.0
    if name in _UNBOUNDED_OUTPUTS:
        scale = np.maximum(scale, np.abs(ref))
    with np.errstate(invalid='ignore'):
        error = np.abs((got.astype(np.float64) - ref) / scale)
    error[got == ref] = 0.0
    return float(np.nan_to_num(error, nan=np.inf).max())


def _model_input_size(model: nn.Module) -> Tuple[int, int]:
    """``(W, H)`` of the graph of a top-down or one-stage model."""
    if is_one_stage(model):
        from .onnx_one_stage import one_stage_input_size

        return one_stage_input_size(model)
    return _input_size(model)


def verify_onnx(
    model: nn.Module,
    onnx_file: Union[str, Path],
    batch_size: int = 2,
    atol: float = 1e-4,
    seed: int = 0,
    images: Optional[Tensor] = None,
) -> Dict[str, float]:
    """Compare ONNX Runtime with PyTorch on raw crops (or images); raise beyond ``atol``.

    Args:
        model (nn.Module): The model that was exported, in eval mode (top-down or
            one-stage).
        onnx_file (str | Path): The exported file.
        batch_size (int): Number of random crops (uniform 0–255) when ``images`` is not
            given. Default: 2.
        atol (float): Largest allowed max abs difference of every output. Default: 1e-4.
        seed (int): Seed of the random crops. Default: 0.
        images (Tensor, optional): ``(B, 3, H, W)`` raw crops to use instead.

    Returns:
        dict[str, float]: Max abs difference of every output of :func:`reference_outputs`:
        top-down ``coords`` and ``rms`` (normalised units: pixels divided by ``(W, H)``),
        ``sigmas`` and ``scores``; one-stage ``bboxes``, ``keypoints`` and
        ``keypoint_sigmas`` in normalised units, ``bboxes_unclamped`` relative to
        ``max((W, H), |box|)``, ``scores``, ``labels`` and ``keypoint_scores``.

    Raises:
        OnnxMismatchError: If a difference exceeds ``atol`` (or shapes differ).
    """
    w, h = _model_input_size(model)
    if images is None:
        gen = torch.Generator().manual_seed(seed)
        images = torch.rand(batch_size, 3, h, w, generator=gen) * 255
    ref = reference_outputs(model, images)
    got = run_onnx(onnx_file, images.numpy())
    size = np.array([w, h], np.float32)
    diffs = {}
    for name, want in ref.items():
        if name not in got:
            raise OnnxMismatchError(f'{name}: not an output of {onnx_file}')
        if got[name].shape != want.shape:
            raise OnnxMismatchError(
                f'{name}: ONNX shape {got[name].shape} != PyTorch shape {want.shape}'
            )
        diffs[name] = _difference(name, got[name], want, size)
    bad = {k: v for k, v in diffs.items() if not v <= atol}
    if bad:
        raise OnnxMismatchError(
            f'ONNX Runtime and PyTorch differ by more than {atol:g} '
            f'(max abs, pixel outputs such as coords in normalised units): {bad}'
        )
    return diffs
