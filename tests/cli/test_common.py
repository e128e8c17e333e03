"""The options the commands share parse alike everywhere, and --cfg-options reach the
config."""

import pytest

from mmpose_rle.cli import calibrate, test, train
from mmpose_rle.cli.common import LAUNCHERS, load_config

SHARED = ['--work-dir', 'w', '--launcher', 'slurm', '--local-rank', '3']
SHARED += ['--cfg-options', 'a.b=2', 'c=[1,2]']


@pytest.mark.parametrize('command, positionals', [(train, ['c.py']), (test, ['c.py', 'k.pth'])])
def test_runner_options_parse_the_same_in_train_and_test(command, positionals):
    args = command.parse_args([*positionals, *SHARED])
    assert (args.config, args.work_dir, args.launcher, args.local_rank) == ('c.py', 'w', 'slurm', 3)
    assert args.cfg_options == {'a.b': 2, 'c': [1, 2]}
    defaults = command.parse_args(positionals)
    assert (defaults.work_dir, defaults.cfg_options, defaults.launcher) == (None, None, 'none')
    assert defaults.local_rank == 0
    assert command.parse_args([*positionals, '--local_rank=1']).local_rank == 1
    with pytest.raises(SystemExit):
        command.parse_args([*positionals, '--launcher', 'ssh'])
    assert set(LAUNCHERS) == {'none', 'pytorch', 'slurm', 'mpi'}


def test_load_config_merges_the_options_over_the_file(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text("a = dict(b=1, keep='yes')\nc = [0]\n")
    args = calibrate.parse_args([str(path), 'k.pth', '--cfg-options', 'a.b=2', 'c=[1,2]'])
    cfg = load_config(args)
    assert cfg.a == dict(b=2, keep='yes') and cfg.c == [1, 2]
    plain = load_config(calibrate.parse_args([str(path), 'k.pth']))
    assert plain.a.b == 1 and plain.c == [0]
