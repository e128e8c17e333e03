# The quick-start config with dropout in the neck (tests/stochastic_modules.py), for the
# tests of exact resume with stochastic layers. Loaders without persistent workers create
# their iterators (and draw a base seed from torch's global generator) every epoch.
_base_ = ['../../configs/quickstart/rle_res18_synthetic-64x64.py']
custom_imports = dict(
    imports=['mmpose_rle', 'tests.stochastic_modules'], allow_failed_imports=False
)
model = dict(neck=dict(_delete_=True, type='mmpose_rle.DropoutGAP', p=0.5))
train_dataloader = dict(persistent_workers=False)
val_dataloader = dict(persistent_workers=False)
test_dataloader = val_dataloader
