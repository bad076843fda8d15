"""Resolving a model's groups for the fine-tuning callbacks."""

from keras_transfer import groups as groups_lib


def resolve_groups(model, groups):
    mapping = groups_lib.layer_groups(model, groups)
    if not mapping:
        raise ValueError(f"Model {model.name!r} has no layer groups; pass `groups={{name: [layer names]}}`.")
    return mapping
