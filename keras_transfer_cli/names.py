"""The registered strategy names, for argument checks that must not import TensorFlow.

Kept in step with `keras_transfer.strategies.available()` by
`tests/cli/test_fast_start.py`: a strategy added to the registry is added here.
"""

STRATEGY_NAMES = (
    "feature_extraction",
    "fine_tune",
    "gradual",
    "l2sp",
    "prototype",
    "text",
    "dann",
    "cdan",
    "mmd",
    "coral",
    "fixmatch",
    "distill",
    "pp_pssl",
    "bn_adapt",
    "tent",
    "shot",
    "lp_ft",
    "wise_ft",
    "model_soup",
)
