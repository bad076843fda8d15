"""Output paths and the provenance line shared by the regulariser benchmarks' reports."""

import datetime
import os
import time


def prepare(args, name, default_folder):
    """Sets `args.jsonl` / `args.markdown` (`<name>.jsonl` / `.md` in `args.output` or `default_folder`).

    Returns `(started, load, start)`: the local start time, the load averages as text, `time.time()`.
    """
    output = args.output or default_folder
    os.makedirs(output, exist_ok=True)
    args.jsonl, args.markdown = (os.path.join(output, name + ext) for ext in (".jsonl", ".md"))
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return started, "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), time.time()


def command_line(module, args, started, load, wall):
    """The report's last line: the command of `benchmarks.<module>`, when it started, the load, the wall time."""
    return (f"\nCommand: `{' '.join([f'nice -n 10 python -m benchmarks.{module}', *args.argv])}`. "
            f"Started {started}, load average at start {load}; wall time of the last invocation "
            f"{'— (report rebuilt with --summarize)' if args.summarize else f'{wall / 60:.1f} min'} "
            f"(a shared machine: seconds are indicative only); {os.cpu_count()} CPUs.\n")


def write(args, module, parts, started, load, wall):
    """Writes `parts` and the command line, one paragraph each, to `args.markdown`; returns the text."""
    text = "\n".join([*parts, command_line(module, args, started, load, wall)])
    with open(args.markdown, "w") as handle:
        handle.write(text)
    return text
