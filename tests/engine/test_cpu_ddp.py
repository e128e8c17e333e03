"""CPU distributed training: the launcher's environment and the errors that say what to do."""

import subprocess

import pytest

from mmpose_rle.engine import cpu_ddp, launcher_environment


def test_pytorch_reads_torchruns_variables():
    env = dict(RANK='1', WORLD_SIZE='2', LOCAL_RANK='1', MASTER_ADDR='10.0.0.1', MASTER_PORT='1234')
    assert launcher_environment('pytorch', env) == env


def test_slurm_maps_its_variables_and_defaults_the_port():
    env = dict(
        SLURM_PROCID='3',
        SLURM_NTASKS='4',
        SLURM_LOCALID='1',
        SLURM_NODELIST='n[1-2]',
        MASTER_ADDR='n1',
    )
    assert launcher_environment('slurm', env) == dict(
        RANK='3', WORLD_SIZE='4', LOCAL_RANK='1', MASTER_ADDR='n1', MASTER_PORT='29500'
    )


def test_slurm_master_is_the_first_host_of_the_node_list(monkeypatch):
    env = dict(SLURM_PROCID='0', SLURM_NTASKS='2', SLURM_NODELIST='node[01-02]')

    def scontrol(cmd, **kwargs):
        assert cmd == ['scontrol', 'show', 'hostnames', 'node[01-02]']
        return subprocess.CompletedProcess(cmd, 0, stdout='node01\nnode02\n')

    monkeypatch.setattr(cpu_ddp.subprocess, 'run', scontrol)
    assert launcher_environment('slurm', env)['MASTER_ADDR'] == 'node01'


def test_slurm_without_master_addr_or_scontrol_says_what_to_set(monkeypatch):
    env = dict(SLURM_PROCID='0', SLURM_NTASKS='2', SLURM_NODELIST='node[01-02]')

    def missing(cmd, **kwargs):
        raise FileNotFoundError('scontrol')

    monkeypatch.setattr(cpu_ddp.subprocess, 'run', missing)
    with pytest.raises(RuntimeError, match='set MASTER_ADDR'):
        launcher_environment('slurm', env)


def test_mpi_maps_open_mpis_variables():
    env = dict(
        OMPI_COMM_WORLD_RANK='2',
        OMPI_COMM_WORLD_SIZE='3',
        OMPI_COMM_WORLD_LOCAL_RANK='0',
        MASTER_ADDR='h0',
        MASTER_PORT='2000',
    )
    assert launcher_environment('mpi', env) == dict(
        RANK='2', WORLD_SIZE='3', LOCAL_RANK='0', MASTER_ADDR='h0', MASTER_PORT='2000'
    )


@pytest.mark.parametrize(
    'launcher, match',
    [
        ('pytorch', 'lacks RANK.*torchrun'),
        ('slurm', 'lacks SLURM_PROCID.*srun'),
        ('mpi', 'lacks OMPI_COMM_WORLD_RANK.*mpirun'),
    ],
)
def test_missing_variables_fail_at_once_with_what_to_use(launcher, match):
    with pytest.raises(RuntimeError, match=match):
        launcher_environment(launcher, {})


def test_unknown_launcher():
    with pytest.raises(ValueError, match='unknown launcher'):
        launcher_environment('ray', {})
