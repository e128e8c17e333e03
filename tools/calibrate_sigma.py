"""Calibrate the σ of a checkpoint: ``python tools/calibrate_sigma.py CONFIG CHECKPOINT``.

The command is :mod:`mmpose_rle.cli.calibrate` (``python -m mmpose_rle.cli.calibrate``).
"""

from mmpose_rle.cli.calibrate import main

if __name__ == '__main__':
    main()
