"""ADDA and WDGRL twins: ADAPT's estimator and ours from the same initial weights, objective, optimizer and steps.

Both adversaries are `problems.discriminator`'s network (64 hidden ReLU units):
ADDA's ends in a sigmoid on ADAPT's side and in a logit on ours (the same
loss: ADAPT takes `-log(D + eps)`, ours the cross-entropy of the logit);
WDGRL's critic ends in one linear unit on both sides.
"""

import keras
import tensorflow as tf

import keras_transfer as kt
from benchmarks.parity import deep
from benchmarks.parity import problems


def _logit_copy(discriminator):
    """`discriminator` (hidden layers + a sigmoid unit) as a network ending in the same unit's logit."""
    hidden, output = discriminator.layers[-2], discriminator.layers[-1]
    twin = keras.Sequential([keras.Input((hidden.kernel.shape[0],)),
                             keras.layers.Dense(hidden.units, activation="relu"), keras.layers.Dense(1)])
    twin.set_weights([w.numpy() for w in (hidden.kernel, hidden.bias, output.kernel, output.bias)])
    return twin


# ----------------------------------------------------------------------------- ADDA
def adapt_adda(problem, seed):
    """ADAPT's ADDA: a source-only pretraining of `epochs` epochs, then `epochs` epochs of stage 2."""
    from adapt.feature_based import ADDA

    enc, head, disc = problems.networks(problem, seed, discriminator_inputs=64)
    model = ADDA(encoder=enc, task=head, discriminator=disc, pretrain=True, pretrain__epochs=problem.epochs,
                 **deep._adapt_kwargs(problem, seed))
    return deep._adapt_fit(model, problem)


def ours_adda(problem, seed):
    """Stage 1: `keras.Sequential([encoder, head]).fit` on the source, a shuffled `tf.data` pipeline as ADAPT's
    pretraining (the same steps: the source is the longer domain in every pair); stage 2: `ADDA` for `epochs`
    epochs (Adam for both players)."""
    enc, head, disc = problems.networks(problem, seed, discriminator_inputs=64)
    stage_1 = keras.Sequential([enc, head])
    stage_1.compile(keras.optimizers.Adam(problem.learning_rate), "sparse_categorical_crossentropy")
    source = (tf.data.Dataset.from_tensor_slices((problem.x_source, problem.y_source))
              .shuffle(len(problem.y_source), seed=seed).batch(problem.batch).prefetch(tf.data.AUTOTUNE))
    stage_1.fit(source, epochs=problem.epochs, verbose=0)
    model = kt.models.ADDA(enc, head, discriminator=_logit_copy(disc))
    return deep._ours_fit(model, problem, seed)


# ----------------------------------------------------------------------------- WDGRL
def _critic(seed):
    keras.utils.set_random_seed(seed + 1000)
    return keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)],
                            name="critic")


def adapt_wdgrl(problem, seed, lambda_=0.1, gamma=10.0, critic_steps=1):
    from adapt.feature_based import WDGRL

    enc, head, _ = problems.networks(problem, seed)
    model = WDGRL(encoder=enc, task=head, discriminator=_critic(seed), lambda_=lambda_, gamma=gamma,
                  **deep._adapt_kwargs(problem, seed))
    return deep._adapt_fit(model, problem)


def ours_wdgrl(problem, seed, lambda_=0.1, gamma=10.0, critic_steps=1):
    """`alignment_weight=lambda_`, `gradient_penalty_weight=gamma`, one encoder pass per domain (as ADAPT);
    `critic_steps=1` is ADAPT's one critic update per step."""
    enc, head, _ = problems.networks(problem, seed)
    model = kt.models.WDGRL(enc, head, critic=problems.clone(_critic(seed)), alignment_weight=lambda_,
                            gradient_penalty_weight=gamma, critic_steps=critic_steps, joint_forward=False, seed=seed)
    return deep._ours_fit(model, problem, seed)
