# The quick-start config with the σ calibration hook (fits on the validation split after
# training and saves calibrated.pth), for its tests.
_base_ = ['../../configs/quickstart/rle_res18_synthetic-64x64.py']
custom_hooks = [dict(type='mmpose_rle.SigmaCalibrationHook', folds=2)]
