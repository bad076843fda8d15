"""What a `tf.data` pipeline does, read from its serialized graph.

Used to decide whether a dataset's elements are a fixed function of its
source (so that features computed from them once can be reused every epoch)
or whether it draws random numbers (augmentation) on each pass.
"""

import dataclasses

import tensorflow as tf

# Ops that draw random numbers. Any op whose type contains "Random" is one
# (RandomUniform, StatelessRandomUniformV2, RandomDataset, ...); these are
# the others.
_RANDOM_OPS = frozenset(
    {
        "TruncatedNormal",
        "ParameterizedTruncatedNormal",
        "StatelessTruncatedNormal",
        "StatelessTruncatedNormalV2",
        "StatelessParameterizedTruncatedNormal",
        "Multinomial",
        "StatelessMultinomial",
        "RngSkip",
        "RngReadAndSkip",
        "SampleDistortedBoundingBox",
        "SampleDistortedBoundingBoxV2",
        "StatelessSampleDistortedBoundingBox",
        "StatelessShuffle",
    }
)
# Ops that run Python code: what they compute cannot be read from the graph.
_OPAQUE_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc", "GeneratorDataset"})
_SHUFFLE_OPS = ("ShuffleDataset", "ShuffleAndRepeatDataset")


@dataclasses.dataclass(frozen=True)
class PipelineInfo:
    """Summary of a dataset's graph.

    Attributes:
        random_ops: sorted op types that draw random numbers (empty when the
            elements are a fixed function of the source, up to order).
        opaque_ops: op types that run Python code (randomness unknown).
        shuffles: whether the pipeline shuffles elements.
        readable: whether the graph could be serialized at all.
    """

    random_ops: tuple
    opaque_ops: tuple
    shuffles: bool
    readable: bool = True

    @property
    def deterministic_content(self):
        """True when each pass yields the same elements (maybe reordered)."""
        return self.readable and not self.random_ops and not self.opaque_ops


def _op_types(dataset):
    serialized = tf.raw_ops.DatasetToGraphV2(
        input_dataset=dataset._variant_tensor,
        external_state_policy=0,  # keep stateful ops (warns instead of failing)
    )
    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(serialized.numpy())
    types = {node.op for node in graph.node}
    for function in graph.library.function:
        types.update(node.op for node in function.node_def)
    return types


def inspect_pipeline(dataset):
    """Returns the `PipelineInfo` of a `tf.data.Dataset`."""
    try:
        types = _op_types(dataset)
    except Exception:  # e.g. a dataset over resources that cannot be serialized
        return PipelineInfo(random_ops=(), opaque_ops=(), shuffles=False, readable=False)
    random_ops = sorted(t for t in types if "Random" in t or t in _RANDOM_OPS)
    opaque = sorted(t for t in types if t in _OPAQUE_OPS)
    shuffles = any(t.startswith(_SHUFFLE_OPS) for t in types)
    return PipelineInfo(random_ops=tuple(random_ops), opaque_ops=tuple(opaque), shuffles=shuffles)
