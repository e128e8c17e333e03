"""Calibrate σ at the end of training, on the validation split: ``SigmaCalibrationHook``.

Add ``custom_hooks = [dict(type='mmpose_rle.SigmaCalibrationHook')]`` to a config. After the
last epoch the hook runs the model (top-down, bottom-up with the one-stage RLE head, or
lifting) over the validation loader in each inference mode (one view, and the flip test
when the head and the data allow it), fits the head's σ map of each mode
(:func:`mmpose_rle.calibration.calibrate_model`; bottom-up, on the ground truth paired with
a prediction by box IoU, :func:`~mmpose_rle.evaluation.instance_pairs`), logs the held-out
reports and saves the model as ``calibrated.pth`` in the work dir (the epoch checkpoints
stay as they were). In a distributed run every rank collects its share of the
validation set; the shares are gathered so that every rank fits the same maps, and rank 0
saves.
"""

import json

import numpy as np
from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpose_rle.calibration import calibrate_model, format_report
from mmpose_rle.registry import HOOKS

__all__ = ['SigmaCalibrationHook']


@HOOKS.register_module()
class SigmaCalibrationHook(Hook):
    """Fit the σ calibration after training (module docstring).

    Args:
        kind (str): ``'temperature'`` or ``'power'``. Default: ``'temperature'``.
        share (str): ``'none'``, ``'axis'`` or ``'all'``. Default: ``'none'``.
        folds (int): Folds of the held-out report. Default: 5.
        filename (str): Name of the saved checkpoint. Default: ``'calibrated.pth'``.
    """

    priority = 'LOW'

    def __init__(
        self,
        kind: str = 'temperature',
        share: str = 'none',
        folds: int = 5,
        filename: str = 'calibrated.pth',
    ) -> None:
        self.kind, self.share, self.folds, self.filename = kind, share, folds, filename

    @staticmethod
    def _gather(predictions: dict) -> dict:
        """The predictions of every rank, concatenated."""
        parts = all_gather_object(predictions)
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        reports = calibrate_model(
            model,
            runner.val_dataloader,
            gather=self._gather,
            kind=self.kind,
            share=self.share,
            folds=self.folds,
        )
        runner.logger.info('\n' + format_report(reports))
        runner.message_hub.update_info('sigma_calibration', json.loads(json.dumps(reports)))
        if is_main_process():
            runner.save_checkpoint(
                runner.work_dir, self.filename, save_optimizer=False, save_param_scheduler=False
            )
