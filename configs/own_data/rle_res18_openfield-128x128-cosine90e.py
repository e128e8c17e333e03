# RLE on openfield at the training time of the 60-epoch heatmap baseline: an RLE epoch costs
# about 0.64x a heatmap epoch here (no deconvolutions), so 90 epochs fit its budget; cosine
# LR decay instead of the step drops (README, Benchmark: the levers measured on openfield).
_base_ = ['./rle_res18_openfield-128x128.py']

max_epochs = 90
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, T_max=max_epochs, eta_min=1e-5,
         by_epoch=True),
]
