"""The variables of layer groups: what trains when a group is unfrozen."""


def trainable_capable_variables(layers):
    """Variables of `layers` that train when their layer is unfrozen (frozen ones included), in order."""
    variables, seen = [], set()
    for layer in layers:
        for sub in layer._flatten_layers(include_self=True, recursive=True):
            for variable in sub._trainable_variables:
                if id(variable) not in seen:
                    seen.add(id(variable))
                    variables.append(variable)
    return variables


def group_variable_paths(mapping):
    """`{group name: [variable paths]}` for a `layer_groups` mapping (groups without variables left out).

    A variable shared by several groups belongs to the first.
    """
    paths, seen = {}, set()
    for name, layers in mapping.items():
        own = [v.path for v in trainable_capable_variables(layers) if v.path not in seen]
        seen.update(own)
        if own:
            paths[name] = own
    return paths
