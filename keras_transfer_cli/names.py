"""The registered strategy names, for argument checks that must not import TensorFlow.

Kept in step with `keras_transfer.strategies.available()` by
`tests/cli/test_fast_start.py`: a strategy added to the registry is added here.
"""

STRATEGY_NAMES = (
    "feature_extraction",
    "fine_tune",
    "gradual",
    "l2sp",
    "lwf",
    "co_tuning",
    "bss",
    "delta",
    "stochnorm",
    "prototype",
    "text",
    "dann",
    "cdan",
    "mmd",
    "coral",
    "jan",
    "bsp",
    "mcc",
    "afn",
    "entropy",
    "mcd",
    "mdd",
    "fixmatch",
    "pseudo_label",
    "mean_teacher",
    "uda",
    "flexmatch",
    "distill",
    "pp_pssl",
    "bn_adapt",
    "tent",
    "shot",
    "lp_ft",
    "wise_ft",
    "model_soup",
)
