"""Raw σ against training and validation errors: ``python tools/sigma_fit_gap.py CONFIG CKPT``.

The command is :mod:`mmpose_rle.cli.fit_gap` (``python -m mmpose_rle.cli.fit_gap``).
"""

from mmpose_rle.cli.fit_gap import main

if __name__ == '__main__':
    main()
