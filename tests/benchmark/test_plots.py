"""The benchmark's figures: each drawn when the results hold what it shows."""

import os.path as osp

import pytest

from mmpose_rle.benchmark.plots import write_plots

ACCURACY = dict(
    PCK=dict(mean=0.8, std=0.1, n=2),
    EPE=dict(mean=3.0, std=0.5, n=2),
    predicts_sigma=dict(mean=1.0, std=0.0, n=2),
)
SPEED = dict(throughput_b32_flip=100.0)
CURVES = [[dict(epoch=1, time=5.0, PCK=0.5), dict(epoch=2, time=9.0, PCK=0.7)]]
AP_CURVES = [
    [{'epoch': 10, 'time': 5.0, 'coco/AP': 0.3}, {'epoch': 20, 'time': 9.0, 'coco/AP': 0.5}]
]
UNCERTAINTY = dict(
    reliability=dict(nominal=[0.1, 0.5, 0.9], raw=[0.2, 0.6, 0.8], temperature=[0.1, 0.5, 0.9]),
    sparsification=dict(fraction=[0.0, 0.5], by_sigma=[1.0, 0.7], oracle=[1.0, 0.4]),
)


@pytest.mark.parametrize(
    'result, drawn',
    [
        (dict(speed=SPEED), set()),
        (dict(accuracy=ACCURACY), {'accuracy'}),
        (dict(accuracy=ACCURACY, speed=SPEED), {'accuracy', 'throughput'}),
        (dict(accuracy=ACCURACY, curves=CURVES), {'accuracy', 'learning_curves'}),
        (dict(curves=[CURVES[0][:1]]), set()),  # one validation: no curve
        (dict(curves=AP_CURVES), {'learning_curves'}),  # a one-stage benchmark: COCO AP
        (dict(curves=[[{'epoch': 1, 'time': 1.0}, {'epoch': 2, 'time': 2.0}]]), set()),
        (dict(uncertainty_curves=[UNCERTAINTY]), {'reliability', 'sparsification'}),
    ],
)
def test_each_figure_needs_its_results(tmp_path, result, drawn):
    baseline = dict(accuracy=dict(ACCURACY, predicts_sigma=dict(mean=0.0, std=0.0, n=2)))
    paths = write_plots(dict(rle=result, l1=baseline), str(tmp_path))
    assert set(paths) == drawn | {'accuracy'}  # the baseline's accuracy: always
    for path in paths.values():
        assert osp.dirname(path) == str(tmp_path) and osp.getsize(path) > 1000
