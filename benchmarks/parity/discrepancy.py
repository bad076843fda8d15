"""Classifier-discrepancy twins: MCD and MDD, ADAPT's estimator and ours from the same initial weights.

The second (MCD) or auxiliary (MDD) classifier starts, on both sides, as the
task network's weights times `1 + 0.01 N(0, 1)` (ADAPT's own initialisation;
ours draws the noise from the seed, ADAPT from its `random_state`).

- MCD: ADAPT `MCD(pretrain=True, n_steps=n, pretrain__epochs=epochs // 2)`
  fits half the epochs source-only, then the other half adapting, one update
  per batch (`n - 1` encoder steps on the target discrepancy, then both
  classifiers on source loss minus discrepancy and the encoder on the
  discrepancy alone, from one forward pass). Ours, `MCDModel(generator_steps=n)`,
  runs every epoch with the paper's three updates per batch (A: source losses of
  everything; B: classifiers, source losses minus discrepancy; C: the extractor
  on the discrepancy, n times). Same epochs and batches, different algorithms.
- MDD: ADAPT `MDD(lambda_=0.1, gamma=4)`; ours `DomainAdaptationModel` with
  `MarginDisparityHead(hidden_units=(), lambda_=0.1, margin=4)` (linear, as
  ADAPT's copy of the task head), `alignment_weight=1`, one encoder pass per
  domain, no schedule: the same update, weight for weight
  (`tests/domain_adaptation/test_adapt_twins.py`).
"""

import keras
import numpy as np

import keras_transfer as kt
from benchmarks.parity import deep
from benchmarks.parity import problems


def _networks(problem, seed):
    """`(encoder, task, noisy copy of task)` from the seed."""
    enc, head, _ = problems.networks(problem, seed)
    second = keras.models.clone_model(head)
    rng = np.random.default_rng(seed)
    second.set_weights([w * (1.0 + 0.01 * rng.standard_normal(w.shape)) for w in head.get_weights()])
    return enc, head, second


def adapt_mcd(problem, seed, n=1):
    from adapt.feature_based import MCD

    enc, head, _ = problems.networks(problem, seed)  # ADAPT makes its own noisy copy of `head`
    pretrain = problem.epochs // 2
    model = MCD(encoder=enc, task=head, pretrain=True, n_steps=n, pretrain__epochs=pretrain,
                **deep._adapt_kwargs(problem, seed))
    model.fit(problem.x_source, problems.one_hot(problem), epochs=problem.epochs - pretrain, batch_size=problem.batch,
              verbose=0)
    return lambda x: model.predict(x, batch_size=1024, verbose=0)


def ours_mcd(problem, seed, n=1):
    enc, head, second = _networks(problem, seed)
    return deep._ours_fit(kt.models.MCDModel(enc, head, second_classifier=second, generator_steps=n), problem, seed)


def adapt_mdd(problem, seed):
    from adapt.feature_based import MDD

    enc, head, _ = problems.networks(problem, seed)
    model = MDD(encoder=enc, task=head, lambda_=0.1, gamma=4.0, **deep._adapt_kwargs(problem, seed))
    return deep._adapt_fit(model, problem)


def ours_mdd(problem, seed):
    enc, head, second = _networks(problem, seed)
    alignment = kt.layers.MarginDisparityHead(hidden_units=(), lambda_=0.1, margin=4.0)
    alignment.build([(None, 64), (None, problem.num_classes)])
    alignment.class_logits.set_weights(second.get_weights())  # softmax of these logits: the noisy copy's output
    model = kt.models.DomainAdaptationModel(enc, head, alignment, alignment_weight=1.0, joint_forward=False)
    return deep._ours_fit(model, problem, seed)
