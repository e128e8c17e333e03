"""What the commands share: the options of a command that builds an MMEngine runner, and
how a command loads its config."""

import argparse

from mmengine.config import Config, DictAction

__all__ = ['LAUNCHERS', 'add_runner_arguments', 'load_config']

#: MMEngine's job launchers.
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_runner_arguments(
    parser: argparse.ArgumentParser,
    work_dir_help: str,
    cfg_options_help: str = 'override config entries',
) -> None:
    """Add ``--work-dir``, ``--cfg-options`` (``key=value`` pairs merged into the config),
    ``--launcher`` (one of :data:`LAUNCHERS`, default ``'none'``) and ``--local_rank``
    (``--local-rank``, default 0, set by PyTorch's launchers) to ``parser``."""
    parser.add_argument('--work-dir', help=work_dir_help)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=cfg_options_help)
    parser.add_argument('--launcher', choices=list(LAUNCHERS), default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """``args.config`` with ``args.cfg_options`` (when given) merged into it."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg
