"""Few-shot and zero-shot transfer: heads on frozen embeddings, episode evaluation."""

from keras_transfer.few_shot.cosine_head import CosineClassifierHead
from keras_transfer.few_shot.episode_result import EpisodeResult
from keras_transfer.few_shot.episodes import evaluate_episodes
from keras_transfer.few_shot.head_classifier import HeadClassifier
from keras_transfer.few_shot.prototype_head import PrototypeHead
from keras_transfer.few_shot.zero_shot_head import ZeroShotHead

__all__ = ["CosineClassifierHead", "EpisodeResult", "HeadClassifier", "PrototypeHead", "ZeroShotHead", "evaluate_episodes"]
