"""keras_transfer: every transfer-learning strategy as ordinary Keras 3 usage.

>>> import keras_transfer as kt
>>> model = kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3))
>>> list(kt.layer_groups(model))[-2:]
['block5', 'head']
"""

from keras_transfer._backend import check_backend as _check_backend

_check_backend()

from keras_transfer import backbones  # noqa: E402
from keras_transfer import callbacks  # noqa: E402
from keras_transfer import data  # noqa: E402
from keras_transfer import distill  # noqa: E402
from keras_transfer import export  # noqa: E402
from keras_transfer import few_shot  # noqa: E402
from keras_transfer import fine_tuning  # noqa: E402
from keras_transfer import generative  # noqa: E402
from keras_transfer import layers  # noqa: E402
from keras_transfer import losses  # noqa: E402
from keras_transfer import models  # noqa: E402
from keras_transfer import optimizers  # noqa: E402
from keras_transfer import peft  # noqa: E402
from keras_transfer import regularizers  # noqa: E402
from keras_transfer import robust_fine_tuning  # noqa: E402
from keras_transfer import selection  # noqa: E402
from keras_transfer import ssl  # noqa: E402
from keras_transfer import strategies  # noqa: E402
from keras_transfer import test_time  # noqa: E402
from keras_transfer import text  # noqa: E402
from keras_transfer import utils  # noqa: E402
from keras_transfer.feature_extraction.build_classifier import build_classifier  # noqa: E402
from keras_transfer.feature_extraction.fit_classifier import fit_classifier  # noqa: E402
from keras_transfer.fine_tuning.fine_tune import fine_tune  # noqa: E402
from keras_transfer.fine_tuning.lr_finder import lr_find  # noqa: E402
from keras_transfer.groups.describe import describe_groups  # noqa: E402
from keras_transfer.groups.freezing import set_trainable  # noqa: E402
from keras_transfer.groups.naming import layer_groups  # noqa: E402
from keras_transfer.strategies.runner import transfer  # noqa: E402
from keras_transfer.text.build_text_classifier import build_text_classifier  # noqa: E402

# The shipped strategies, registered in the order `strategies.available()` lists them:
# each technique package registers its own in its `recipes.py`.
from keras_transfer.feature_extraction import recipes as _feature_extraction  # noqa: E402, F401
from keras_transfer.fine_tuning import recipes as _fine_tuning  # noqa: E402, F401
from keras_transfer.regularizers import recipes as _regularizers  # noqa: E402, F401
from keras_transfer.few_shot import recipes as _few_shot  # noqa: E402, F401
from keras_transfer.text import recipes as _text  # noqa: E402, F401
from keras_transfer.domain_adaptation import recipes as _domain_adaptation  # noqa: E402, F401
from keras_transfer.ssl import recipes as _ssl  # noqa: E402, F401
from keras_transfer.distill import recipes as _distill  # noqa: E402, F401
from keras_transfer.generative import recipes as _generative  # noqa: E402, F401
from keras_transfer.test_time import recipes as _test_time  # noqa: E402, F401
from keras_transfer.robust_fine_tuning import recipes as _robust_fine_tuning  # noqa: E402, F401
from keras_transfer.peft import recipes as _peft  # noqa: E402, F401

__version__ = "0.1.0"

__all__ = [
    "backbones",
    "build_classifier",
    "build_text_classifier",
    "callbacks",
    "data",
    "describe_groups",
    "distill",
    "export",
    "few_shot",
    "fine_tune",
    "fine_tuning",
    "fit_classifier",
    "generative",
    "layer_groups",
    "layers",
    "losses",
    "lr_find",
    "models",
    "optimizers",
    "peft",
    "regularizers",
    "robust_fine_tuning",
    "selection",
    "set_trainable",
    "ssl",
    "strategies",
    "text",
    "transfer",
    "utils",
]
