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
from keras_transfer import regularizers  # noqa: E402
from keras_transfer import ssl  # noqa: E402
from keras_transfer import strategies  # noqa: E402
from keras_transfer import text  # noqa: E402
from keras_transfer import utils  # noqa: E402
from keras_transfer.feature_extraction import build_classifier  # noqa: E402
from keras_transfer.feature_extraction import fit_classifier  # noqa: E402
from keras_transfer.fine_tuning import fine_tune  # noqa: E402
from keras_transfer.fine_tuning import lr_find  # noqa: E402
from keras_transfer.groups.describe import describe_groups  # noqa: E402
from keras_transfer.groups.freezing import set_trainable  # noqa: E402
from keras_transfer.groups.naming import layer_groups  # noqa: E402
from keras_transfer.strategies import transfer  # noqa: E402
from keras_transfer.text import build_text_classifier  # noqa: E402

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
    "regularizers",
    "set_trainable",
    "ssl",
    "strategies",
    "text",
    "transfer",
    "utils",
]
