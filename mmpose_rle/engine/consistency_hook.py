"""Check the head against the data set before the first iteration."""

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpose_rle.registry import HOOKS

__all__ = ['HeadDatasetCheckHook', 'check_head_against_metainfo']


def check_head_against_metainfo(head, metainfo: dict, split: str) -> None:
    """Raise ``ValueError`` when the head cannot serve the data set.

    A head whose codec removes the root joint (MMPose's lifting codecs with
    ``remove_root=True``) predicts one joint fewer than the data set has.

    Args:
        head: A keypoint head with ``num_joints`` (and optionally ``decoder``).
        metainfo (dict): The data set's parsed metainfo (``num_keypoints``,
            ``flip_indices``).
        split (str): Name of the data set for the message.
    """
    num_joints = getattr(head, 'num_joints', None)
    num_keypoints = metainfo.get('num_keypoints')
    if num_joints is None or num_keypoints is None:
        return
    decoder = getattr(head, 'decoder', None)
    removes_root = bool(getattr(decoder, 'remove_root', False)) and (
        len(getattr(decoder, 'root_index', [0])) == 1  # MMPose removes only a single root
    )
    expected = num_keypoints - 1 if removes_root else num_keypoints
    if num_joints != expected:
        root = ' (the codec removes the root)' if removes_root else ''
        raise ValueError(
            f'model.head.num_joints={num_joints} but the {split} data set '
            f'({metainfo.get("dataset_name", "?")}) has {num_keypoints} keypoints{root}: set '
            f'num_joints={expected} in the config'
        )
    flip_indices = metainfo.get('flip_indices')
    if flip_indices is not None and len(flip_indices) != num_keypoints:
        raise ValueError(
            f"the {split} data set's flip_indices has {len(flip_indices)} entries for "
            f'{num_keypoints} keypoints: check the `swap` partners in its metainfo'
        )


@HOOKS.register_module()
class HeadDatasetCheckHook(Hook):
    """Fail before training, validation or testing starts when ``num_joints`` or the flip
    indices do not match the data set (instead of at the first batch, or never)."""

    priority = 'VERY_HIGH'

    @staticmethod
    def _check(runner, loader_name: str, split: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        loader = getattr(runner, loader_name, None)
        dataset = getattr(loader, 'dataset', None)
        metainfo = getattr(dataset, 'metainfo', None)
        if hasattr(model, 'head') and metainfo:
            check_head_against_metainfo(model.head, metainfo, split)

    def before_train(self, runner) -> None:
        self._check(runner, 'train_dataloader', 'training')

    def before_val(self, runner) -> None:
        self._check(runner, 'val_dataloader', 'validation')

    def before_test(self, runner) -> None:
        self._check(runner, 'test_dataloader', 'test')
