"""Layer groups: the named parts of a model that freezing and per-group rates address.

- `naming.py`: `keras_transfer.layer_groups` (a model's own groups, groups
  inferred from the graph, or groups given as layer names / regexes) and the
  check of group names;
- `graph.py`: assigning a functional backbone's layers to stages (registry
  patterns, cut points of the graph);
- `transformer.py`: the groups of keras-hub transformer encoders;
- `freezing.py`: `keras_transfer.set_trainable`, `freeze_groups` (the one
  place trainability is set), snapshots;
- `describe.py`: `keras_transfer.describe_groups`;
- `variables.py`: the variables of groups (what an optimizer must know).

The public names live at the package root (`keras_transfer.layer_groups`,
`set_trainable`, `describe_groups`).
"""
