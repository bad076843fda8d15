"""The work of the `keras-transfer` commands.

The console entry point and its parser are `keras_transfer_cli` (outside this
package, so `--help` does not import TensorFlow); `main` is re-exported here.
"""

import os
import sys
import time
import warnings

from keras_transfer.cli import _report


def run_demo(args):
    """`keras-transfer demo`."""
    from keras_transfer.cli import demo

    config = demo.DemoConfig.quick() if args.quick else demo.DemoConfig.full() if args.full else demo.DemoConfig()
    if _report.refuse_overwrite(args.out, args.overwrite, sys.stderr):
        return 2
    start = time.time()
    print("keras_transfer demo: transfer learning on real data, offline.\n")
    result = demo.run_image_demo(config, progress=_progress_of("run"))
    print()
    print(demo.summarize(result))
    sections, images = [], []
    if not args.skip_text:
        from keras_transfer.text.demo import run_text_demo

        print("\nText: a pretrained sentence encoder against training from scratch.")
        try:
            with warnings.catch_warnings():  # the demo truncates long texts to 64 tokens on purpose
                warnings.filterwarnings("ignore", message=".*truncated to sequence_length.*")
                text = run_text_demo(quick=args.quick, progress=lambda message: print("  " + message, flush=True))
        except FileNotFoundError as error:  # the encoder or the texts are not installed
            print(f"  skipped: {error}")
        else:
            os.makedirs(args.out, exist_ok=True)
            section, text_image = demo.text_section(text, args.out)
            sections.append(section)
            images.append(text_image)
            print("\n" + section.split("\n![")[0])
    report, image = demo.write_report(result, args.out, extra_sections=sections)
    plots = "\n        ".join([image, *images])
    print(f"\nReport: {report}\nPlots:  {plots}\nTotal time: {time.time() - start:.0f} s")
    return 0


def run_fit(args):
    """`keras-transfer fit`."""
    from keras_transfer.cli import fit

    return fit.run(args, _progress_of("strategy"))


def run_rank(args):
    """`keras-transfer rank`."""
    from keras_transfer.cli import rank

    return rank.run(args, _progress_of("candidate"))


def _progress_of(unit):
    import keras

    return lambda total: keras.utils.Progbar(total, unit_name=unit)


from keras_transfer_cli import build_parser, main  # noqa: E402, F401  (the entry point)
