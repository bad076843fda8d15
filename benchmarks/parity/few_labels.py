"""Rows with a few labelled target examples: CCSA (ADAPT's and ours), and ours with the labels alone (S+T).

The labelled target examples are drawn per seed from the pair's labelled
validation split (5 per class on the moons, 3 on the digits), so these rows'
`val_acc` includes them; the reported accuracy is on the test split.
"""

import keras
import numpy as np

import keras_transfer as kt
from benchmarks.parity import deep
from benchmarks.parity import problems

PER_CLASS = {"moons": 5, "digits": 3, "fmnist": 3}


def labelled(problem, seed):
    """`(x_l, y_l)`: `PER_CLASS` labelled target examples per class from the validation split."""
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.permutation(np.flatnonzero(problem.y_val == c))[:PER_CLASS[problem.name]]
                           for c in range(problem.num_classes)])
    return problem.x_val[pick], problem.y_val[pick]


def adapt_ccsa(problem, seed, margin=1.0, gamma=0.5):
    from adapt.feature_based import CCSA

    x_l, y_l = labelled(problem, seed)
    enc, head, _ = problems.networks(problem, seed)
    one_hot = np.eye(problem.num_classes, dtype="float32")[y_l]  # 1-D labels would be read as numbers
    model = CCSA(encoder=enc, task=head, Xt=x_l, yt=one_hot, margin=margin, gamma=gamma,
                 optimizer=keras.optimizers.Adam(problem.learning_rate), loss="categorical_crossentropy",
                 random_state=seed, verbose=0)
    return deep._adapt_fit(model, problem)


def ours_ccsa(problem, seed, margin=1.0, gamma=0.5, labelled_target_weight=0.0, alignment=True):
    """ADAPT's CCSA objective: `gamma * task + (1 - gamma) * contrastive` for the encoder is our
    `alignment_weight = (1 - gamma) / gamma`; its task loss sees the source only (`labelled_target_weight=0`);
    one encoder pass per domain. `alignment=False`: the labelled examples in the task loss only (S+T)."""
    x_l, y_l = labelled(problem, seed)
    enc, head, _ = problems.networks(problem, seed)
    csa = kt.losses.ContrastiveSemanticAlignment(margin=margin) if alignment else None
    model = kt.models.DomainAdaptationModel(enc, head, csa, alignment_weight=(1.0 - gamma) / gamma,
                                            joint_forward=False, labelled_target_weight=labelled_target_weight)
    model.compile(keras.optimizers.Adam(problem.learning_rate), "sparse_categorical_crossentropy")
    data = kt.data.domain_adaptation_dataset(source=(problem.x_source, problem.y_source), target=None,
                                             labelled_target=(x_l, y_l), batch_size=problem.batch, seed=seed)
    model.fit(data, epochs=problem.epochs, verbose=0)
    return lambda x: model.predict(x, batch_size=1024, verbose=0)
