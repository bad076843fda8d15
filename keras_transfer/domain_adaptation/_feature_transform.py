"""The base of the shallow feature transforms: `fit(x_source, x_target)`, `transform(x, domain)`, scikit-learn params."""

import inspect

from keras_transfer import _checks
from keras_transfer.domain_adaptation.importance_weights import _flat

DOMAINS = ("source", "target")


class FeatureTransform:
    """Fitted on source and target inputs (NumPy), then maps either domain's inputs to the new features.

    Subclasses store their constructor arguments under the same names (read
    by `get_params`, so `sklearn.base.clone` works) and implement
    `_fit(source, target)` and `_transform(x, domain)` on float64 matrices
    `(n, d)`. Inputs of any shape `(n, ...)` are flattened; with a
    `feature_extractor` (a Keras model) its outputs are used instead.
    """

    def __init__(self, feature_extractor=None):
        if feature_extractor is not None and not hasattr(feature_extractor, "predict"):
            raise _checks.invalid("feature_extractor", "None or a Keras model", feature_extractor, error=TypeError)
        self.feature_extractor = feature_extractor

    # === scikit-learn style parameters ===
    @classmethod
    def _param_names(cls):
        return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]

    def get_params(self, deep=True):
        """The constructor arguments, `{name: value}` (as scikit-learn estimators)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Sets constructor arguments (checked as the constructor checks them); the transform must be fitted again."""
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise _checks.invalid(unknown[0], f"a parameter of {type(self).__name__} ({', '.join(self._param_names())})",
                                  params[unknown[0]])
        self.__init__(**{**self.get_params(), **params})
        return self

    def __repr__(self):
        changed = {k: v for k, v in self.get_params().items()
                   if v is not inspect.signature(type(self).__init__).parameters[k].default}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # === Fitting and transforming ===
    _minimum_examples = 2  # per domain in `fit` (statistics need two)

    def _features(self, name, x, minimum=1, batch_size=256):
        return _flat(name, x, self.feature_extractor, batch_size, minimum=minimum)

    def fit(self, x_source, x_target):
        """Fits the transform on source inputs `(n_s, ...)` and target inputs `(n_t, ...)`; returns `self`."""
        source = self._features("x_source", x_source, self._minimum_examples)
        target = self._features("x_target", x_target, self._minimum_examples)
        if source.shape[1] != target.shape[1]:
            raise _checks.invalid("x_target", f"{source.shape[1]} features per example, as x_source",
                                  f"{target.shape[1]} features")
        self._check_sizes(source, target)
        self._fit(source, target)
        self.n_features_in_ = source.shape[1]
        return self

    def transform(self, x, domain="target"):
        """The new features `(n, k)` (float64) of inputs `x` from `domain` (`"source"` or `"target"`)."""
        _checks.check_choice("domain", domain, DOMAINS)
        if not hasattr(self, "n_features_in_"):
            raise ValueError(f"This {type(self).__name__} is not fitted yet: call fit(x_source, x_target) first.")
        features = self._features("x", x)
        if features.shape[1] != self.n_features_in_:
            raise _checks.invalid("x", f"{self.n_features_in_} features per example, as in fit",
                                  f"{features.shape[1]} features")
        return self._transform(features, domain)

    def fit_transform(self, x_source, x_target):
        """`fit`, then the pair `(transform(x_source, "source"), transform(x_target, "target"))`."""
        self.fit(x_source, x_target)
        return self.transform(x_source, "source"), self.transform(x_target, "target")

    def _check_sizes(self, source, target):
        """Subclasses refuse problems too large for their dense linear algebra here."""

    def _fit(self, source, target):
        raise NotImplementedError

    def _transform(self, x, domain):
        raise NotImplementedError

