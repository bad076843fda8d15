"""Where DANN's wall time goes, ours against ADAPT's, per phase of an epoch; before/after a change in one run.

On the parity moons (600 + 600 points, 2-64-64 encoder, batch 32, 19 steps an
epoch, Adam, ADAPT's DANN objective with lambda 1), one process fits, in
alternating order, ADAPT's DANN, ours, ours with `steps_per_execution=8` and
ours without the three domain-adaptation logs (`task_loss`,
`alignment_loss`, `domain_accuracy`: what their `Mean` trackers cost), and
both with the DANN lambda ramp (ADAPT's `UpdateLambda(gamma=10)`, our
`GradientReversalSchedule("dann")`: a callback writing lambda before every
batch), each for `--epochs` epochs, and splits each epoch into: the first batch (the new
iterator and its shuffle buffers, the first step), the steady steps, the
tail (last batch to `on_epoch_end`: Keras builds the next epoch's iterator
there) and the gap to the next epoch (metric resets). Times are wall and CPU;
ratios are taken against ADAPT in the same process and round.

With `--before DIR` (a checkout of the package before a change), every round
also runs a process whose `keras_transfer` is `DIR/keras_transfer`, the two
processes alternating: the ratios ours/ADAPT before and after come from the
same run.

    mkdir /tmp/kt_before && git archive 2389729 keras_transfer | tar -x -C /tmp/kt_before
    nice -n 10 python -m benchmarks.parity.speed --before /tmp/kt_before --before-label "main at 2389729" \
        --rounds 4 --epochs 30 --output benchmarks/results/dann_speed.md
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def _phases_callback(keras):
    class Phases(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.first, self.steps, self.tail, self.gap = [], [], [], []
            self._end = None

        def on_epoch_begin(self, epoch, logs=None):
            self._begin = self._last = time.perf_counter()
            if self._end is not None:
                self.gap.append(self._begin - self._end)

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            (self.first if batch == 0 else self.steps).append(now - self._last)
            self._last = now

        def on_epoch_end(self, epoch, logs=None):
            self._end = time.perf_counter()
            self.tail.append(self._end - self._last)

        def summary(self, epochs):
            ms = lambda values: 1000.0 * float(np.median(values)) if values else 0.0  # noqa: E731
            return {"first_ms": ms(self.first), "step_ms": ms(self.steps), "tail_ms": ms(self.tail),
                    "gap_ms": ms(self.gap)}

    return Phases


def inner(epochs, order_seed):
    """One process, one round: every variant fitted once (after a warm-up fit), in an order set by the round."""
    import keras

    import keras_transfer as kt
    from benchmarks.parity import deep, problems

    problem = problems.moons()
    problem.epochs = epochs

    class WithoutDomainLogs(kt.models.DomainAdaptationModel):
        """Ours with the `loss` log only: what the three extra `Mean` trackers cost."""

        @property
        def metrics(self):
            return [self._loss_tracker]

    def ours(model_class=kt.models.DomainAdaptationModel, steps_per_execution=1, schedule=False):
        enc, head, disc = problems.networks(problem, 0, discriminator_inputs=64)
        twin = deep.dann_model(enc, head, disc, 1.0)
        model = model_class(enc, head, twin.alignment, alignment_weight=2.0, joint_forward=False)
        if model_class is WithoutDomainLogs:
            for tracker in (model.task_loss_tracker, model.alignment_loss_tracker, model.domain_accuracy_tracker):
                tracker.update_state = lambda *args, **kwargs: None
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                      steps_per_execution=steps_per_execution)

        def fit(callbacks):
            data = kt.data.domain_adaptation_dataset(source=(problem.x_source, problem.y_source),
                                                     target=problem.x_target, batch_size=problem.batch, seed=0)
            ramp = [kt.callbacks.GradientReversalSchedule("dann", gamma=10.0)] if schedule else []
            model.fit(data, epochs=problem.epochs, verbose=0, callbacks=[*ramp, *callbacks])
        return fit

    def adapt(schedule=False):
        import tensorflow as tf
        from adapt.feature_based import DANN
        from adapt.utils import UpdateLambda

        enc, head, disc = problems.networks(problem, 0, discriminator_inputs=64)
        model = DANN(encoder=enc, task=head, discriminator=disc, lambda_=tf.Variable(0.0) if schedule else 1.0,
                     **deep._adapt_kwargs(problem, 0))
        y = problems.one_hot(problem)
        ramp = [UpdateLambda(max_steps=problem.epochs * problem.steps_per_epoch, gamma=10.0)] if schedule else []
        return lambda callbacks: model.fit(problem.x_source, y, epochs=problem.epochs, batch_size=problem.batch,
                                           verbose=0, callbacks=[*ramp, *callbacks])

    variants = {"adapt": adapt(), "ours": ours(), "ours_spe8": ours(steps_per_execution=8),
                "ours_without_da_logs": ours(WithoutDomainLogs), "adapt_ramp": adapt(schedule=True),
                "ours_ramp": ours(schedule=True)}
    names = list(variants) if order_seed % 2 == 0 else list(variants)[::-1]
    for name in names:  # warm-up: tracing and the first dataset, not timed
        variants[name]([])
    out = {}
    phases = _phases_callback(keras)
    for name in names:
        callback = phases()
        wall, cpu = time.perf_counter(), time.process_time()
        variants[name]([callback])
        out[name] = {"wall_ms_per_epoch": 1000 * (time.perf_counter() - wall) / epochs,
                     "cpu_ms_per_epoch": 1000 * (time.process_time() - cpu) / epochs, **callback.summary(epochs)}
    return out


def _run_process(package, epochs, order_seed):
    command = [sys.executable, "-m", "benchmarks.parity.speed", "--inner", "--epochs", str(epochs),
               "--order-seed", str(order_seed)]
    if package:
        command += ["--package", package]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _table(rounds, label):
    variants = list(rounds[0])
    lines = [f"### {label}", "",
             "| variant | wall ms/epoch | CPU ms/epoch | wall / ADAPT (median, min-max) | CPU / ADAPT | first batch ms "
             "| step ms | tail ms | gap ms |", "|---|---|---|---|---|---|---|---|---|"]
    for v in variants:
        col = lambda key: float(np.median([r[v][key] for r in rounds]))  # noqa: E731
        wall = np.array([r[v]["wall_ms_per_epoch"] / r["adapt"]["wall_ms_per_epoch"] for r in rounds])
        cpu = np.median([r[v]["cpu_ms_per_epoch"] / r["adapt"]["cpu_ms_per_epoch"] for r in rounds])
        lines.append(f"| {v} | {col('wall_ms_per_epoch'):.1f} | {col('cpu_ms_per_epoch'):.1f} | {np.median(wall):.3f} "
                     f"({wall.min():.2f}-{wall.max():.2f}) | {cpu:.3f} | {col('first_ms'):.2f} | {col('step_ms'):.3f} "
                     f"| {col('tail_ms'):.2f} | {col('gap_ms'):.2f} |")
    return lines + [""]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--before", default=None, help="a checkout of the package before the change")
    parser.add_argument("--before-label", default=None, help="what the --before checkout is (e.g. its commit)")
    parser.add_argument("--output", default=None, help="also write the tables here (Markdown)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--package", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--order-seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        if args.package:
            sys.path.insert(0, args.package)  # holds only a `keras_transfer` link: `benchmarks` stays this checkout's
        import warnings

        warnings.filterwarnings("ignore")
        print(json.dumps(inner(args.epochs, args.order_seed)), flush=True)
        return 0
    link = None
    if args.before:
        link = tempfile.mkdtemp(prefix="kt_before_")
        os.symlink(os.path.join(os.path.abspath(args.before), "keras_transfer"), os.path.join(link, "keras_transfer"))
    load, after, before = os.getloadavg(), [], []
    for r in range(args.rounds):
        sides = [("after", None)] + ([("before", link)] if link else [])
        for side, package in (sides if r % 2 == 0 else sides[::-1]):
            (after if side == "after" else before).append(_run_process(package, args.epochs, r))
            print(side, json.dumps((after if side == "after" else before)[-1]), flush=True)
    command = "nice -n 10 python -m benchmarks.parity.speed " + " ".join(sys.argv[1:] if argv is None else argv)
    lines = ["# DANN epoch phases against ADAPT's", "", f"Command: `{command}`", "",
             __doc__.split("\n\n")[0].replace("\n", " ") + " " + __doc__.split("\n\n")[1].replace("\n", " "), "",
             f"{args.rounds} rounds of {args.epochs} epochs; load average at start "
             f"{', '.join(f'{v:.2f}' for v in load)}, at end {', '.join(f'{v:.2f}' for v in os.getloadavg())}", ""]
    lines += _table(after, "after (this checkout)") + (_table(before, f"before ({args.before_label or args.before})") if before else [])
    print("\n".join(lines))
    if args.output:
        with open(args.output, "w") as handle:
            handle.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
