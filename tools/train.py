"""Train a top-down pose model: ``python tools/train.py CONFIG [options]``.

The command is :mod:`mmpose_rle.cli.train` (``python -m mmpose_rle.cli.train``); this file
is where ``mim train mmpose_rle`` looks for it.
"""

from mmpose_rle.cli.train import main

if __name__ == '__main__':
    main()
