"""Learning curves: validations read from an MMEngine log, timed from its first line."""

import numpy as np
import pytest

from mmpose_rle.benchmark.curves import learning_curve, mean_curve, plot_learning_curves

LOG = """\
11/30 23:59:50 - mmengine - INFO - Checkpoints will be saved to /w.
11/30 23:59:55 - mmengine - INFO - Epoch(train)  [1][6/6]  lr: 1e-03  time: 0.5  loss: -1.0
12/01 00:00:10 - mmengine - INFO - Epoch(val) [1][2/2]    PCK: 0.250000  coco/AP: 0.5  \
EPE: nan  data_time: 0.0100
not a log line
12/01 00:01:50 - mmengine - INFO - Epoch(val) [2][2/2]    PCK: 0.750000  EPE: 2.5e+00
"""


def test_validations_are_timed_across_midnight(tmp_path):
    path = tmp_path / 'train.log'
    path.write_text(LOG)
    first, second = learning_curve(str(path))
    assert first['time'] == 20.0 and first['epoch'] == 1  # 23:59:50 → 00:00:10
    assert first['PCK'] == 0.25 and first['coco/AP'] == 0.5 and np.isnan(first['EPE'])
    assert 'data_time' not in first  # the validation's own step time
    assert second == dict(PCK=0.75, EPE=2.5, time=120.0, epoch=2)


@pytest.mark.parametrize(
    'first, second, seconds',
    [
        ('02/29 10:00:00', '02/29 10:00:30', 30.0),  # a leap day parses
        ('12/31 23:59:00', '01/01 00:01:00', 120.0),  # the new year
        ('02/28 23:59:00', '02/29 00:00:30', 90.0),
        ('02/29 23:59:00', '03/01 00:00:30', 90.0),
    ],
)
def test_validations_are_timed_across_leap_days_and_the_new_year(tmp_path, first, second, seconds):
    path = tmp_path / 'train.log'
    path.write_text(
        f'{first} - mmengine - INFO - Checkpoints will be saved to /w.\n'
        f'{second} - mmengine - INFO - Epoch(val) [1][2/2]    PCK: 0.5\n'
    )
    assert learning_curve(str(path)) == [dict(PCK=0.5, time=seconds, epoch=1)]


def test_mean_curve_over_the_epochs_every_seed_reached():
    a = [dict(epoch=1, time=10.0, PCK=0.2), dict(epoch=2, time=20.0, PCK=0.6)]
    b = [dict(epoch=1, time=14.0, PCK=0.4), dict(epoch=2, time=22.0, PCK=0.8), dict(epoch=3)]
    c = mean_curve([a, b])
    np.testing.assert_array_equal(c['epoch'], [1, 2])
    np.testing.assert_allclose(c['time'], [12.0, 21.0])
    np.testing.assert_allclose(c['mean'], [0.3, 0.7])
    np.testing.assert_allclose(c['low'], [0.2, 0.6])
    np.testing.assert_allclose(c['high'], [0.4, 0.8])


@pytest.mark.parametrize('runs', [[[dict(epoch=1, time=1.0, PCK=0.5)]], [[]]])
def test_plot_draws_a_file_even_without_curves(tmp_path, runs):
    path = tmp_path / 'curves.png'
    plot_learning_curves({'rle': runs}, str(path))
    assert path.stat().st_size > 1000
