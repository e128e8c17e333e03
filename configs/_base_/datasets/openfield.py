# openfield (DeepLabCut mouse frames, 4 keypoints) as an MMPose metainfo file, for the parts that
# read one from a file (OKSLoss, PoseOKS, YOLOXPoseRLEHead's joint weights).
dataset_info = dict(
    dataset_name='openfield',
    paper_info=dict(
        author='Mathis et al.',
        title='DeepLabCut: markerless pose estimation of user-defined body parts',
        container='Nature Neuroscience',
        year='2018',
        homepage='https://github.com/DeepLabCut/DeepLabCut',
    ),
    keypoint_info={
        0: dict(name='snout', id=0, color=[255, 128, 0], type='upper', swap=''),
        1: dict(name='leftear', id=1, color=[0, 255, 0], type='upper', swap='rightear'),
        2: dict(name='rightear', id=2, color=[0, 128, 255], type='upper', swap='leftear'),
        3: dict(name='tailbase', id=3, color=[255, 0, 255], type='lower', swap=''),
    },
    skeleton_info={
        0: dict(link=('snout', 'leftear'), id=0, color=[0, 255, 0]),
        1: dict(link=('snout', 'rightear'), id=1, color=[0, 128, 255]),
        2: dict(link=('snout', 'tailbase'), id=2, color=[255, 0, 255]),
    },
    joint_weights=[1.0, 1.0, 1.0, 1.0],
    # OKS sigmas; openfield has none, these are a loose guess, not a standard.
    sigmas=[0.05, 0.05, 0.05, 0.08],
)
