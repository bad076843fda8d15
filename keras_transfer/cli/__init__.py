"""The `keras-transfer` command."""

import argparse
import os
import sys
import time
import warnings


def _progress(total):
    import keras

    return keras.utils.Progbar(total, unit_name="run")


def _demo(args):
    from keras_transfer.cli import demo

    config = demo.DemoConfig.quick() if args.quick else demo.DemoConfig.full() if args.full else demo.DemoConfig()
    if os.path.exists(os.path.join(args.out, "README.md")) and not args.overwrite:
        print(f"error: {args.out} already holds a report; pass --overwrite or another --out.", file=sys.stderr)
        return 2
    start = time.time()
    print("keras_transfer demo: transfer learning on real data, offline.\n")
    result = demo.run_image_demo(config, progress=_progress)
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


def build_parser():
    parser = argparse.ArgumentParser(prog="keras-transfer", description="Transfer learning with Keras 3, ready to use.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the offline demo on real data and write a report with plots")
    demo.add_argument("--out", default="demo_report", help="report folder (default: demo_report)")
    size = demo.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="one seed, one label budget (about a minute)")
    size.add_argument("--full", action="store_true", help="5 seeds, 5 label budgets (much longer)")
    demo.add_argument("--overwrite", action="store_true", help="replace an existing report")
    demo.add_argument("--skip-text", action="store_true", help="images only (no sentence-encoder part)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
