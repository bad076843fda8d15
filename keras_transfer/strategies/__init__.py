"""Strategies by name: the registry of transfer recipes that `keras_transfer.transfer` runs.

Each technique package registers its own strategies (its `recipes.py`); the
package root imports them in the order `available()` lists them.

>>> import keras_transfer
>>> "dann" in keras_transfer.strategies.available()
True
"""

from keras_transfer.strategies.registry import available
from keras_transfer.strategies.registry import get_strategy
from keras_transfer.strategies.registry import list_strategies
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy
from keras_transfer.strategies.transfer_result import TransferResult

__all__ = [
    "Strategy",
    "TransferResult",
    "available",
    "get_strategy",
    "list_strategies",
    "register_strategy",
]
