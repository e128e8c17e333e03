"""Merge the results of benchmark runs trained separately into one report.

``python tools/merge_benchmarks.py RUN_DIR [RUN_DIR ...] --out-dir DIR``

Train seeds or variants in parallel (one ``tools/benchmark.py --train --seeds S --variants V``
per process or machine, each with its own ``--out-dir``), then merge their ``results.json``
here: ``DIR/results.md`` and ``results.json`` hold every variant's runs in the order of the
given directories (give them in seed order), summarised over all of them, and the commands
that made each.
"""

import argparse
import json
import os.path as osp

from mmpose_rle.benchmark import command_line, write_report
from mmpose_rle.benchmark.merge import merge_results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', help='directories (or files) with results.json')
    parser.add_argument('--out-dir', required=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    records = []
    for path in args.runs:
        file = osp.join(path, 'results.json') if osp.isdir(path) else path
        if not osp.exists(file):
            raise SystemExit(f'merge_benchmarks: {file} does not exist')
        with open(file) as f:
            records.append(json.load(f))
    sources = [r.get('command', '?') for r in records]
    paths = write_report(merge_results(records), args.out_dir, command_line(), sources=sources)
    print('written: ' + ', '.join(paths.values()))


if __name__ == '__main__':
    main()
