"""Merge benchmark results of runs trained in separate processes or on separate machines."""

from typing import Dict, List

from .report import summarise

__all__ = ['merge_results']


def merge_results(records: List[dict]) -> Dict[str, dict]:
    """One benchmark's ``results`` from the ``results.json`` records of several.

    Each record is what ``tools/benchmark.py --train`` writes (``command`` and ``results``;
    ``results[variant]`` holds ``runs``, ``curves`` and ``uncertainty_curves``, one entry per
    seed). The runs of every variant are concatenated in the order of ``records`` and
    summarised again (mean and standard deviation over all of them), as if one benchmark had
    trained them all. Speed measurements are not merged: they are only comparable within the
    process that made them.

    Args:
        records (list[dict]): The loaded ``results.json`` files, in seed order.

    Returns:
        dict: ``results`` by variant, each with ``accuracy``, ``runs``, ``curves`` and
        ``uncertainty_curves``, in the order in which the variants first appear.

    Raises:
        ValueError: No record, or a record without trained runs.
    """
    if not records:
        raise ValueError('merge_results: no results to merge')
    merged: Dict[str, dict] = {}
    for index, record in enumerate(records):
        results = record.get('results') or {}
        trained = {name: r for name, r in results.items() if r.get('runs')}
        if not trained:
            raise ValueError(f'merge_results: record {index} ({record.get("command")}) has no runs')
        for name, result in trained.items():
            target = merged.setdefault(name, dict(runs=[], curves=[], uncertainty_curves=[]))
            count = len(result['runs'])
            target['runs'] += result['runs']
            target['curves'] += result.get('curves') or [[]] * count
            target['uncertainty_curves'] += result.get('uncertainty_curves') or [None] * count
    for result in merged.values():
        result['accuracy'] = summarise(result['runs'])
    return merged
