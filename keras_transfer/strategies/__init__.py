"""Strategies by name: a registry of transfer recipes and `keras_transfer.transfer`.

>>> import keras_transfer
>>> "dann" in keras_transfer.strategies.available()
True
"""

from keras_transfer.strategies import builtin  # noqa: F401  (registers the shipped strategies)
from keras_transfer.strategies.registry import available
from keras_transfer.strategies.registry import get_strategy
from keras_transfer.strategies.registry import list_strategies
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy
from keras_transfer.strategies.runner import transfer
from keras_transfer.strategies.transfer_result import TransferResult

__all__ = [
    "Strategy",
    "TransferResult",
    "available",
    "get_strategy",
    "list_strategies",
    "register_strategy",
    "transfer",
]
