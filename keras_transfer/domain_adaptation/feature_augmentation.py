"""`FeatureAugmentation`: "frustratingly easy" domain adaptation, general + domain-specific copies of the features."""

import numpy as np

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation._feature_transform import FeatureTransform


@keras_transfer_export("keras_transfer.domain_adaptation.FeatureAugmentation")
class FeatureAugmentation(FeatureTransform):
    """Feature augmentation: a shared copy of the features and one copy per domain.

    `transform(x, "source") = [x, x, 0]` and `transform(x, "target") =
    [x, 0, x]` (general, source-only, target-only blocks). A classifier
    trained on the augmented source examples *and a few labelled target
    examples* learns shared weights where the domains agree and
    domain-specific corrections where they differ; predict on
    `transform(x, "target")`. It needs target labels (supervised domain
    adaptation): with none, the target block never trains.

    `fit(x_source, x_target)` only records the number of features (the
    target inputs may be the labelled ones). Inputs of any shape are
    flattened; with a `feature_extractor` its outputs are augmented instead.

    Args:
        feature_extractor: `None` (the inputs themselves) or a Keras model
            mapping the inputs to features first.

    Example:

    >>> import numpy as np, keras_transfer
    >>> fa = keras_transfer.domain_adaptation.FeatureAugmentation()
    >>> source, target = fa.fit_transform(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]))
    >>> source.tolist(), target.tolist()
    ([[1.0, 2.0, 1.0, 2.0, 0.0, 0.0]], [[3.0, 4.0, 0.0, 0.0, 3.0, 4.0]])

    Reference:
        Daumé III, "Frustratingly Easy Domain Adaptation", ACL 2007
        (https://arxiv.org/abs/0907.1815).
    """

    _minimum_examples = 1

    def __init__(self, feature_extractor=None):
        super().__init__(feature_extractor)

    def _fit(self, source, target):
        pass

    def _transform(self, x, domain):
        zeros = np.zeros_like(x)
        return np.concatenate([x, x, zeros] if domain == "source" else [x, zeros, x], axis=1)
