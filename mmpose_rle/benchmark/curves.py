"""Learning curves from training logs: validation metrics against training wall time.

MMEngine's logger writes every validation as a line such as::

    11/27 00:46:57 - mmengine - INFO - Epoch(val) [10][2/2]    PCK: 0.912  AUC: 0.8 ...

:func:`learning_curve` reads those lines of a run's log and times them from the log's first
timestamp (the start of training), so a curve shows what a user waits for: the accuracy
reached after so many seconds of training, validation included. :func:`plot_learning_curves`
draws one line per variant (the mean over seeds at each validation) with a band from the
lowest to the highest seed.
"""

import re
from datetime import datetime, timedelta
from typing import Dict, List, Optional

import numpy as np

from .figures import figure

__all__ = ['learning_curve', 'mean_curve', 'plot_learning_curves']

_STAMP = re.compile(r'^(\d{2}/\d{2} \d{2}:\d{2}:\d{2}) - mmengine - ')
_VAL = re.compile(r'Epoch\(val\) \[(\d+)\]\[\d+/\d+\]\s+(.*)$')
_METRIC = re.compile(r'([\w/ .()]+?): (-?[0-9.]+(?:e[+-]?\d+)?|nan|inf)')


def _stamp(line: str) -> Optional[datetime]:
    """The line's timestamp, placed in the leap year 2000 (so that 02/29 parses)."""
    match = _STAMP.match(line)
    return datetime.strptime('2000/' + match.group(1), '%Y/%m/%d %H:%M:%S') if match else None


def learning_curve(log_path: str) -> List[Dict[str, float]]:
    """Validation records of a training log, each with ``time`` (seconds since the log's
    first timestamp), ``epoch`` and every metric of the line (``PCK``, ``EPE`` ...).

    Timestamps carry no year; they are read in a leap year, and a run that crosses midnight
    or the new year is handled by counting forward: a year when the date goes back by more
    than 300 days, else a day each time the clock goes back by more than 12 hours. (Only a
    night from 02/28 to 03/01 of a common year is timed a day too long.)
    """
    records: List[Dict[str, float]] = []
    start = previous = None
    offset = timedelta(0)
    with open(log_path, errors='replace') as f:
        for line in f:
            stamp = _stamp(line)
            if stamp is None:
                continue
            if previous is not None and stamp + offset < previous - timedelta(days=300):
                offset += stamp.replace(year=2001) - stamp  # the new year
            elif previous is not None and stamp + offset < previous - timedelta(hours=12):
                offset += timedelta(days=1)
            stamp = stamp + offset
            previous = stamp
            start = start or stamp
            val = _VAL.search(line)
            if val:
                record = {k.strip(): float(v) for k, v in _METRIC.findall(val.group(2))}
                record.pop('data_time', None)  # the validation's own step times
                record.update(time=(stamp - start).total_seconds(), epoch=int(val.group(1)))
                records.append(record)
    return records


def mean_curve(curves: List[List[Dict[str, float]]], key: str = 'PCK') -> Dict[str, np.ndarray]:
    """Mean time and ``key``, and its min and max, over seeds at each validated epoch
    that every seed reached."""
    epochs = sorted(set.intersection(*[{r['epoch'] for r in c if key in r} for c in curves]))
    table = [[next(r for r in c if r['epoch'] == e and key in r) for c in curves] for e in epochs]
    value = np.array([[r[key] for r in row] for row in table]).reshape(len(epochs), -1)
    time = np.array([[r['time'] for r in row] for row in table]).reshape(len(epochs), -1)
    return dict(
        epoch=np.array(epochs),
        time=time.mean(1),
        mean=value.mean(1),
        low=value.min(1),
        high=value.max(1),
    )


def plot_learning_curves(
    curves: Dict[str, List[List[Dict[str, float]]]], path: str, key: str = 'PCK'
) -> None:
    """``key`` against training wall time, a line per variant and a band over seeds."""
    with figure(path, figsize=(7, 4.5)) as (fig, ax):
        for name, runs in curves.items():
            runs = [r for r in runs if r]
            if not runs:
                continue
            c = mean_curve(runs, key)
            (line,) = ax.plot(c['time'], c['mean'], marker='.', label=f'{name} ({len(runs)} seeds)')
            ax.fill_between(c['time'], c['low'], c['high'], color=line.get_color(), alpha=0.2)
        ax.set_xlabel('training wall time (s), validation included')
        ax.set_ylabel(f'validation {key} (mean over seeds; band: min to max)')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
