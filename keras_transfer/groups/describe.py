"""`describe_groups`: a table of a model's layer groups and what trains."""

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.groups.freezing import is_batchnorm
from keras_transfer.groups.naming import layer_groups


@keras_transfer_export("keras_transfer.describe_groups")
def describe_groups(model, groups=None, print_fn=print):
    """Prints each group: its layers, parameters, what trains (or returns the table as text).

    The `trainable` column counts the parameters the optimizer updates (for
    a PEFT model, the LoRA / DoRA / IA3 variables inside frozen layers); the
    last row totals the model and gives the share that trains.

    Like `model.summary()`, it prints and returns `None`, so
    `print(describe_groups(model))` or the REPL's echo does not show the table
    a second time; `print_fn=None` returns the text instead.

    Args:
        model: a model with layer groups (e.g. from `build_classifier`).
        groups: explicit groups `{name: [layer names or regexes]}`, or `None`
            for the model's own.
        print_fn: the function that prints the text (`print` by default, or
            e.g. a logger's `info`), or `None` to return the text.

    Returns:
        `None` when it prints; the table as a string when `print_fn=None`.

    Example:

    >>> import keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 3, weights=None, input_shape=(32, 32, 3))
    >>> text = keras_transfer.describe_groups(model, print_fn=None)
    >>> text.splitlines()[2].split()[:3]
    ['block1', '3', '38,720']
    """
    mapping = layer_groups(model, groups)
    # What the optimizer updates: a variable trains when the model lists it (a frozen container
    # whose sublayers train, e.g. a transformer block with LoRA factors, reports none of its own).
    trained = {id(v) for v in model.trainable_weights}
    header = f"{'group':<14}{'layers':>7}{'params':>14}{'trainable':>14}  state      layers (first .. last)"
    lines = [f"Layer groups of {model.name!r}", header]
    footnote = False
    for name, layers in mapping.items():
        params = sum(int(_size(v)) for layer in layers for v in layer.weights)
        trainable = sum(int(_size(v)) for layer in layers for v in layer.weights if id(v) in trained)
        weighted = [layer for layer in layers if layer.weights]
        others = [layer for layer in weighted if not is_batchnorm(layer)]
        if not weighted:
            status = "-"
        elif trainable == 0:
            status = "frozen"
        elif trainable == params:
            status = "trainable"
        elif (
            len(others) < len(weighted)
            and all(layer.trainable for layer in others)
            and not any(layer.trainable for layer in weighted if is_batchnorm(layer))
            and trainable == sum(int(_size(v)) for layer in others for v in layer.weights)
        ):
            status = "trainable*"
            footnote = True
        else:
            status = "partial"
        span = f"{layers[0].name} .. {layers[-1].name}" if layers else ""
        lines.append(f"{name:<14}{len(layers):>7}{params:>14,}{trainable:>14,}  {status:<10} {span}")
    total = sum(int(_size(v)) for v in _unique(model.weights))
    total_trainable = sum(int(_size(v)) for v in _unique(model.trainable_weights))
    share = f"{total_trainable / total:.2%} of the parameters train" if total else ""
    lines.append(f"{'total':<14}{'':>7}{total:>14,}{total_trainable:>14,}  {share}")
    if footnote:
        lines.append("* BatchNorm layers stay frozen (inference mode); see `train_batchnorm`.")
    text = "\n".join(lines)
    if print_fn is None:
        return text
    print_fn(text)
    return None


def _unique(variables):
    return list({id(v): v for v in variables}.values())


def _size(variable):
    size = 1
    for dim in variable.shape:
        size *= int(dim)
    return size
