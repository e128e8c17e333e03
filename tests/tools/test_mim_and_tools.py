"""mim train/test from a regular (non-editable) wheel install, tools/test.py and infer.py."""

import zipfile

import pandas as pd
import pytest

from mmpose_rle.datasets import KEYPOINTS
from tests.helpers import QUICKSTART_CONFIG, ROOT, TINY_OPTIONS, run_tool


@pytest.fixture(scope='module')
def installed_wheel(tmp_path_factory):
    """Build the wheel and install it (without dependencies) into a private site dir."""
    tmp = tmp_path_factory.mktemp('wheel')
    run_tool(
        [
            '-m',
            'pip',
            'wheel',
            '--no-deps',
            '--no-build-isolation',
            '-q',
            '-w',
            str(tmp / 'dist'),
            str(ROOT),
        ],
        cwd=tmp,
    )
    wheel = next((tmp / 'dist').glob('mmpose_rle-*.whl'))
    names = zipfile.ZipFile(wheel).namelist()
    assert 'mmpose_rle/.mim/tools/train.py' in names
    assert 'mmpose_rle/.mim/tools/test.py' in names
    assert 'mmpose_rle/.mim/configs/quickstart/rle_res18_synthetic-64x64.py' in names
    run_tool(
        ['-m', 'pip', 'install', '--no-deps', '-q', '--target', str(tmp / 'site'), str(wheel)],
        cwd=tmp,
    )
    return tmp / 'site'


def test_mim_train_and_test_from_installed_wheel(installed_wheel, tiny_figures, tmp_path):
    env = {'PYTHONPATH': str(installed_wheel), 'MMPOSE_RLE_DATA_ROOT': str(tiny_figures)}
    work = tmp_path / 'work'
    # the config is given by name: mim finds it in the installed package's .mim/configs
    proc = run_tool(
        [
            '-m',
            'mim',
            'train',
            'mmpose_rle',
            QUICKSTART_CONFIG.name,
            '--work-dir',
            str(work),
            '--cfg-options',
            *TINY_OPTIONS,
            'train_cfg.max_epochs=1',
        ],
        env=env,
        cwd=tmp_path,
    )
    assert str(installed_wheel / 'mmpose_rle/.mim/tools/train.py') in proc.stdout
    ckpt = work / 'epoch_1.pth'
    assert ckpt.exists()
    proc = run_tool(
        [
            '-m',
            'mim',
            'test',
            'mmpose_rle',
            QUICKSTART_CONFIG.name,
            '--checkpoint',
            str(ckpt),
            '--work-dir',
            str(work),
            '--cfg-options',
            'test_dataloader.batch_size=8',
        ],
        env=env,
        cwd=tmp_path,
    )
    out = proc.stdout + proc.stderr
    assert 'PCK:' in out and 'coco/AP:' in out and 'EPE:' in out


def test_tools_test_and_infer_from_repo(tiny_figures, tmp_path):
    env = {'MMPOSE_RLE_DATA_ROOT': str(tiny_figures)}
    work = tmp_path / 'work'
    run_tool(
        [
            'tools/train.py',
            str(QUICKSTART_CONFIG),
            '--work-dir',
            str(work),
            '--cfg-options',
            *TINY_OPTIONS,
            'train_cfg.max_epochs=1',
        ],
        env=env,
    )
    out_pkl = tmp_path / 'preds.pkl'
    proc = run_tool(
        [
            'tools/test.py',
            str(QUICKSTART_CONFIG),
            str(work / 'epoch_1.pth'),
            '--work-dir',
            str(work),
            '--out',
            str(out_pkl),
            '--show-dir',
            'vis',
        ],
        env=env,
    )
    assert 'PCK:' in proc.stdout + proc.stderr and out_pkl.stat().st_size > 0
    assert len(list(work.glob('*/vis/*.png'))) == 8  # every validation image drawn
    image = tiny_figures / 'images' / '000024.png'
    out = tmp_path / 'infer'
    proc = run_tool(
        [
            'tools/infer.py',
            str(image),
            str(QUICKSTART_CONFIG),
            str(work / 'epoch_1.pth'),
            '--out-dir',
            str(out),
        ],
        env=env,
    )
    lines = proc.stdout.splitlines()
    start = lines.index(next(ln for ln in lines if ln.split()[:2] == ['frame', 'image']))
    header = ['frame', 'image', 'instance', 'keypoint', 'x', 'y', 'sigma_x', 'sigma_y', 'score']
    assert lines[start].split() == header
    rows = [ln.split() for ln in lines[start + 1 : start + 12]]
    assert [r[3] for r in rows] == list(KEYPOINTS)
    assert all(float(r[6]) > 0 and float(r[7]) > 0 for r in rows)
    assert (out / 'visualizations' / '000024.png').stat().st_size > 0
    assert len(pd.read_csv(out / 'predictions' / 'predictions.csv')) == len(KEYPOINTS)


def test_benchmark_trains_from_an_installed_wheel(installed_wheel, tiny_figures, tmp_path):
    """The benchmark's training runs `python -m mmpose_rle.cli.train`, which the wheel
    carries: nothing of the repository is needed."""
    script = (
        'import mmpose_rle, sys\n'
        'from mmengine.config import Config\n'
        'from mmpose_rle.benchmark import train_variant\n'
        'assert mmpose_rle.__file__.startswith(sys.argv[1]), mmpose_rle.__file__\n'
        'cfg = Config.fromfile(sys.argv[2])\n'
        'cfg.merge_from_dict({"train_dataloader.batch_size": 8})\n'
        'out = train_variant(cfg, sys.argv[3], seed=0, epochs=1)\n'
        'print("trained", out["checkpoint"])\n'
    )
    config = installed_wheel / 'mmpose_rle/.mim/configs/quickstart/rle_res18_synthetic-64x64.py'
    proc = run_tool(
        ['-c', script, str(installed_wheel), str(config), str(tmp_path / 'work')],
        env={'PYTHONPATH': str(installed_wheel), 'MMPOSE_RLE_DATA_ROOT': str(tiny_figures)},
        cwd=tmp_path,
    )
    assert (tmp_path / 'work' / 'epoch_1.pth').exists() and 'trained' in proc.stdout
