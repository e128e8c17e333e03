"""Build hook: ship ``configs/`` and ``tools/`` inside the package as ``mmpose_rle/.mim/``.

``mim train mmpose_rle CONFIG`` and ``mim test`` look for ``.mim/tools/train.py`` (and the
configs) inside the installed package. Everything else is in setup.cfg/pyproject.toml.
"""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
MIM_DIRS = ('configs', 'tools')


class BuildPyWithMim(build_py):
    """``build_py`` that also copies configs/ and tools/ into ``mmpose_rle/.mim``."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            return  # editable installs read the repository itself
        target = os.path.join(self.build_lib, 'mmpose_rle', '.mim')
        for name in MIM_DIRS:
            dst = os.path.join(target, name)
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(
                os.path.join(ROOT, name), dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc')
            )


setup(cmdclass={'build_py': BuildPyWithMim})
