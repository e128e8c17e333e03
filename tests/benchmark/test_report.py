"""The benchmark report: summaries, tables and the files written."""

import numpy as np
import pytest

from mmpose_rle.benchmark import (
    markdown,
    summarise,
)


def test_summary_and_markdown():
    stats = summarise([dict(PCK=0.5, EPE=np.float32(3.0)), dict(PCK=0.7, EPE=1.0)])
    assert stats['EPE']['mean'] == 2.0  # NumPy scalars count (MMPose's EPE is one)
    assert stats['PCK'] == dict(mean=0.6, std=pytest.approx(0.1), n=2)
    table = markdown({'rle': dict(accuracy=stats)})
    assert '| rle | 0.600 ± 0.100 |' in table and '2 seed(s)' in table
    speed = dict(params=23.7, latency_b1=0.0125, throughput_b32=8.0)
    table = markdown({'rle': dict(speed=speed), 'l1': dict(speed=dict(throughput_b32=10.0))})
    assert '| params (M) | ms b1 | img/s b32 |' in table  # only the measured columns
    assert '| rle | 23.70 | 12.5 | 8.0 | 1.00× |' in table  # latency in ms
    assert '| l1 | — | — | 10.0 | 1.25× |' in table
