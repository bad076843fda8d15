"""Source-free and test-time adaptation: a trained model adapts to unlabelled target inputs."""

from keras_transfer.test_time.bn_adapt import BNAdapt
from keras_transfer.test_time.shot import SHOT
from keras_transfer.test_time.tent import TENT

__all__ = ["BNAdapt", "SHOT", "TENT"]
