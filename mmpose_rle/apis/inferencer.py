"""``SigmaPoseInferencer``: MMPose's 2-D inferencer with each keypoint's σ.

A subclass of MMPose's :class:`~mmpose.apis.inferencers.Pose2DInferencer`: its input
handling (images, folders, videos, webcams), detector, batching, progress bar, drawing and
output files are MMPose's. It adds:

* ``keypoint_sigmas`` in every predicted instance: the predictive RMS error of each
  coordinate in image pixels (``keypoint_sigmas_image`` of the heads of
  :mod:`mmpose_rle`, through the σ calibration of the checkpoint when it holds one);
* boxes for top-down models from a box source (``box_source``: the ground-truth boxes of
  a COCO file, :func:`~mmpose_rle.apis.coco_box_source`, or the instances of a one-stage
  model, :func:`~mmpose_rle.apis.boxes.one_stage_box_source`, which also sees video
  frames) or given per input (``bboxes=[...]``, one ``(N, 4)`` or ``(N, 5)`` array per
  image or video frame), which MMPose's 2-D inferencer ignores; without them MMPose's
  detector (``det_model``) or the whole image (bottom-up models need no boxes: MMPose
  sets their score and NMS thresholds from the call's ``bbox_thr`` and ``nms_thr``);
* a table of every keypoint (``frame, image, instance, keypoint, x, y, sigma_x, sigma_y,
  score``) in :attr:`table` after each call, written as ``<video>.csv`` or
  ``predictions.csv`` into ``pred_out_dir``; with ``smooth=True`` it gains the
  σ-aware RTS-smoothed coordinates (:func:`~mmpose_rle.apis.kalman.smooth_keypoints`)
  in ``x_smooth, y_smooth, sigma_x_smooth, sigma_y_smooth``.

Example::

    inferencer = SigmaPoseInferencer(config, checkpoint, show_progress=True)
    results = list(inferencer('video.mp4', out_dir='out', smooth=True))
    inferencer.table  # also in out/predictions/video.csv
"""

import os
from typing import Dict, List, Optional, Sequence

import mmengine
import numpy as np
import pandas as pd
from mmengine.fileio import join_path
from mmpose.apis.inferencers import Pose2DInferencer
from mmpose.structures import PoseDataSample, split_instances

from mmpose_rle.registry import INFERENCERS

from .boxes import BoxSource
from .kalman import smooth_keypoints

__all__ = ['SigmaPoseInferencer', 'TABLE_COLUMNS', 'instance_dicts', 'smooth_table']

#: Columns of :attr:`SigmaPoseInferencer.table`.
TABLE_COLUMNS = (
    'frame',
    'image',
    'instance',
    'keypoint',
    'x',
    'y',
    'sigma_x',
    'sigma_y',
    'score',
)


@INFERENCERS.register_module()
class SigmaPoseInferencer(Pose2DInferencer):
    """MMPose's 2-D pose inferencer whose predictions carry σ in image pixels.

    Args:
        *args: :class:`~mmpose.apis.inferencers.Pose2DInferencer`'s arguments (``model``,
            ``weights``, ``device``, ``scope``, ``det_model``, ``det_weights``,
            ``det_cat_ids``, ``show_progress``).
        box_source (BoxSource, optional): Boxes of an image (path or frame), for top-down
            models.
        **kwargs: As ``*args``.

    Calls take MMPose's keyword arguments plus ``smooth`` (bool): add RTS-smoothed columns
    to the table (videos; one trajectory per instance index).
    """

    def __init__(self, *args, box_source: Optional[BoxSource] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.box_source = box_source
        #: The keypoint table of the last call (module docstring).
        self.table = pd.DataFrame(columns=list(TABLE_COLUMNS))
        self._rows: List[dict] = []
        self._frames = 0

    def __call__(self, inputs, *args, smooth: bool = False, **kwargs):
        """MMPose's call (a generator of results); fills :attr:`table` when it ends."""
        self._rows, self._frames = [], 0
        pred_out_dir = kwargs.get('pred_out_dir')
        if pred_out_dir is None and kwargs.get('out_dir'):
            pred_out_dir = f'{kwargs["out_dir"]}/predictions'
        yield from super().__call__(inputs, *args, **kwargs)
        table = pd.DataFrame(self._rows, columns=list(TABLE_COLUMNS))
        self.table = smooth_table(table) if smooth else table
        if pred_out_dir:
            name = 'predictions'
            if self._video_input:
                name = os.path.splitext(self.video_info['name'])[0]
            mmengine.mkdir_or_exist(pred_out_dir)
            self.table.to_csv(join_path(pred_out_dir, f'{name}.csv'), index=False)

    def preprocess_single(
        self,
        input,
        index: int,
        bbox_thr: float = 0.3,
        nms_thr: float = 0.3,
        bboxes: Sequence = (),
    ) -> list:
        """MMPose's preprocessing, or, for a top-down model given boxes, one crop per box."""
        boxes = np.asarray(bboxes, dtype=np.float32)
        topdown = self.cfg.data_mode == 'topdown'
        if topdown and boxes.size == 0 and self.box_source is not None:
            boxes = np.asarray(self.box_source(input), dtype=np.float32)
        if not topdown or boxes.size == 0:
            return super().preprocess_single(input, index, bbox_thr, nms_thr, [])
        if boxes.ndim != 2 or boxes.shape[1] not in (4, 5):
            raise ValueError(f'boxes of input {index} must be (N, 4) or (N, 5), got {boxes.shape}')
        if isinstance(input, str):
            data_info = dict(img_path=input)
        else:
            data_info = dict(img=input, img_path=f'{index}.jpg'.rjust(10, '0'))
        data_info.update(self.model.dataset_meta)
        scores = boxes[:, 4] if boxes.shape[1] == 5 else np.ones(len(boxes), np.float32)
        return [
            self.pipeline(dict(data_info, bbox=box[None, :4], bbox_score=score[None]))
            for box, score in zip(boxes, scores)
        ]

    def postprocess(
        self,
        preds: List[PoseDataSample],
        visualization: List[np.ndarray],
        return_datasample: Optional[bool] = None,
        return_datasamples: bool = False,
        pred_out_dir: str = '',
    ) -> dict:
        """MMPose's results, with ``keypoint_sigmas`` (image pixels) in every instance."""
        result = super().postprocess(
            preds, visualization, return_datasample, return_datasamples=True, pred_out_dir=''
        )
        instances = [instance_dicts(pred) for pred in preds]
        for pred, dicts in zip(preds, instances):
            self._add_rows(pred, dicts)
            if not pred_out_dir:
                continue
            if self._video_input:
                self.video_info['predictions'].append(dicts)
            else:
                stem = os.path.splitext(os.path.basename(pred.metainfo['img_path']))[0]
                mmengine.dump(dicts, join_path(pred_out_dir, stem + '.json'), indent='  ')
        if not (return_datasamples or return_datasample):
            result['predictions'] = instances
        return result

    def _add_rows(self, pred: PoseDataSample, dicts: List[dict]) -> None:
        frame, self._frames = self._frames, self._frames + 1
        image = os.path.basename(pred.metainfo.get('img_path', ''))
        if self._video_input:
            image = self.video_info['name']
        names = self.model.dataset_meta.get('keypoint_id2name', {})
        for i, inst in enumerate(dicts):
            sigmas = inst.get('keypoint_sigmas', [[np.nan, np.nan]] * len(inst['keypoints']))
            for k, ((x, y), (sx, sy), score) in enumerate(
                zip(inst['keypoints'], sigmas, inst['keypoint_scores'])
            ):
                row = (frame, image, i, names.get(k, str(k)), x, y, sx, sy, score)
                self._rows.append(dict(zip(TABLE_COLUMNS, row)))
        if not dicts:  # keep the frame count of frames without instances
            self._rows.append(dict(frame=frame, image=image))


def instance_dicts(pred: PoseDataSample) -> List[Dict]:
    """MMPose's per-instance dicts of a predicted sample plus ``keypoint_sigmas``.

    Returns:
        list[dict]: ``keypoints`` ``(K, 2)``, ``keypoint_scores`` ``(K,)``, ``bbox``,
        ``bbox_score`` (MMPose's :func:`~mmpose.structures.split_instances`) and, when the
        head predicts σ, ``keypoint_sigmas`` ``(K, 2)`` in image pixels.
    """
    instances = pred.get('pred_instances')
    dicts = split_instances(instances)
    if instances is not None and 'keypoint_sigmas_image' in instances:
        for inst, sigma in zip(dicts, np.asarray(instances.keypoint_sigmas_image)):
            inst['keypoint_sigmas'] = sigma.tolist()
    return dicts


def smooth_table(table: pd.DataFrame) -> pd.DataFrame:
    """Add RTS-smoothed columns to a keypoint table, one trajectory per instance index.

    Args:
        table (pd.DataFrame): Rows of :data:`TABLE_COLUMNS` (one video).

    Returns:
        pd.DataFrame: A copy with ``x_smooth, y_smooth, sigma_x_smooth, sigma_y_smooth``.
    """
    out = table.copy()
    rows = out.dropna(subset=['keypoint'])
    frames = int(out['frame'].max()) + 1 if len(out) else 0
    for col in ('x_smooth', 'y_smooth', 'sigma_x_smooth', 'sigma_y_smooth'):
        out[col] = np.nan
    for (_, _), track in rows.groupby(['instance', 'keypoint'], sort=False):
        xy = np.full((frames, 2), np.nan)
        sig = np.full((frames, 2), np.nan)
        f = track['frame'].to_numpy(int)
        xy[f] = track[['x', 'y']].to_numpy(float)
        sig[f] = track[['sigma_x', 'sigma_y']].to_numpy(float)
        smoothed = smooth_keypoints(xy, sig)
        out.loc[track.index, ['x_smooth', 'y_smooth']] = smoothed.keypoints[f]
        out.loc[track.index, ['sigma_x_smooth', 'sigma_y_smooth']] = smoothed.sigmas[f]
    return out
