"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

The command is :mod:`mmpose_rle.cli.test` (``python -m mmpose_rle.cli.test``); this file
is where ``mim test mmpose_rle`` looks for it.
"""

from mmpose_rle.cli.test import main

if __name__ == '__main__':
    main()
