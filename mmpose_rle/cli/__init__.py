"""Command-line entry points, inside the package so that they work from a wheel too.

``python -m mmpose_rle.cli.train CONFIG`` and ``python -m mmpose_rle.cli.test CONFIG CKPT``
are what ``tools/train.py`` and ``tools/test.py`` (and so ``mim train/test mmpose_rle``)
run.
"""
