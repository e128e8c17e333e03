# RLE on openfield at the training time of the 60-epoch heatmap baseline: an RLE step costs
# about 0.7x a heatmap step here (no deconvolutions), so 90 epochs fit its budget; cosine
# LR decay instead of the step drops, and sigma-hat starting at 0.1 instead of 0.5
# (docs/benchmark.md, Levers).
_base_ = ['./rle_res18_openfield-128x128.py']

max_epochs = 90
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(
        type='CosineAnnealingLR',
        begin=0,
        end=max_epochs,
        T_max=max_epochs,
        eta_min=1e-5,
        by_epoch=True,
    ),
]
model = dict(head=dict(sigma_init=0.1))
