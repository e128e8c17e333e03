# The dropout config of the exact-resume tests, with every rank recording what each step
# drew and saw (tests/rank_trace.py): for the checks that two ranks really train apart.
_base_ = ['./rle_dropout_synthetic-64x64.py']
custom_imports = dict(
    imports=['mmpose_rle', 'tests.stochastic_modules', 'tests.rank_trace'],
    allow_failed_imports=False,
)
custom_hooks = [dict(type='mmpose_rle.RankTraceHook')]
