"""Training and evaluation of a run: failures are recorded, a diverged run is marked."""

import numpy as np

from mmpose_rle.benchmark import (
    mark_divergence,
)


def test_a_diverged_run_is_failed_and_loses_its_perfect_coco_ap():
    """MMPose's COCO evaluation scores NaN keypoints as perfect (AP 1.0): seen with DSNT."""
    run = mark_divergence({'PCK': 0.0, 'EPE': float('nan'), 'coco/AP': 1.0, 'coco/AR': 1.0})
    assert 'diverged' in run['failed'] and np.isnan(run['coco/AP']) and np.isnan(run['coco/AR'])
    fine = mark_divergence({'PCK': 0.9, 'EPE': 3.0, 'coco/AP': 0.8})
    assert 'failed' not in fine and fine['coco/AP'] == 0.8
