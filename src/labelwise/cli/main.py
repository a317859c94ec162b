"""The ``labelwise`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labelwise", description="Active learning for NLP.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="simulated AL on the bundled AG News sample")
    demo.add_argument("--output", default="demo_output", help="folder for the plot (default: demo_output)")
    demo.add_argument("--seeds", type=int, default=5, help="number of seeds (default: 5)")
    demo.add_argument("--iterations", type=int, default=10)
    from labelwise.cli import plasm as plasm_command

    plasm_command.add_parser(commands)
    from labelwise.cli import adapt as adapt_command
    from labelwise.cli import distill as distill_command

    distill_command.add_parser(commands)
    adapt_command.add_parser(commands)
    bench = commands.add_parser("benchmark", help="run (or resume) a benchmark config")
    bench.add_argument("config", help="YAML config (see docs/benchmark.md)")
    bench.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    bench.add_argument("--report", action="store_true", help="write the report when done")
    report = commands.add_parser("report", help="table and plots of a benchmark output folder")
    report.add_argument("folder", help="the output folder of 'labelwise benchmark'")
    report.add_argument("--metric", default=None, help="metric to tabulate (default: the task's main one)")
    report.add_argument("--iterations", default=None,
                        help="comma-separated iterations for the columns (default: up to 6 spread ones)")
    report.add_argument("--no-reference", action="store_true",
                        help="do not train the full-pool reference when it is missing (no savings table)")
    from labelwise.cli import tune as tune_command

    tune_command.add_parser(commands)
    serve = commands.add_parser("serve", help="serve labelwise to another tool")
    targets = serve.add_subparsers(dest="target", required=True)
    studio = targets.add_parser("label-studio", help="a Label Studio ML backend (docs/label_studio.md)")
    studio.add_argument("--store", required=True, help="the annotation log (JSON Lines) to append to")
    studio.add_argument("--config", required=True, help="backend config: data, model, strategy, label_studio")
    studio.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    studio.add_argument("--port", type=int, default=9090, help="port (default: 9090)")
    studio.add_argument("--token", default=None, help="request token (default: $LABELWISE_BACKEND_TOKEN)")
    studio.add_argument("--public-url", default=None, help="URL Label Studio reaches this backend at")
    studio.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from labelwise.cli.demo import run_demo

        run_demo(args.output, seeds=tuple(range(args.seeds)), iterations=args.iterations)
        return 0
    if args.command in ("plasm", "distill", "adapt"):
        import importlib

        from labelwise.errors import LabelwiseError

        try:
            return importlib.import_module(f"labelwise.cli.{args.command}").run(args)
        except LabelwiseError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.command == "serve":
        from labelwise.errors import LabelwiseError
        from labelwise.integrations.serve import serve as serve_backend

        try:
            return serve_backend(args.config, args.store, host=args.host, port=args.port, token=args.token,
                                 public_url=args.public_url, verbose=args.verbose)
        except LabelwiseError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.command == "tune":
        from labelwise.cli.tune import run as run_tune
        from labelwise.errors import LabelwiseError

        try:
            return run_tune(args)
        except LabelwiseError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.command in ("benchmark", "report"):
        from labelwise.errors import LabelwiseError

        try:
            return _benchmark_or_report(args)
        except LabelwiseError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    parser.error(f"unknown command {args.command!r}")
    return 2


def _benchmark_or_report(args: argparse.Namespace) -> int:
    from labelwise.benchmark.report import write_report

    if args.command == "benchmark":
        from labelwise.benchmark.runner import run_benchmark

        folder = run_benchmark(args.config, progress=not args.no_progress)
        print(f"records in {folder / 'records.jsonl'}")
        if args.report:
            print(f"report in {write_report(folder)}")
        return 0
    iterations = None
    if args.iterations:
        from labelwise.errors import ConfigError

        try:
            iterations = [int(part) for part in args.iterations.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(f"--iterations: {args.iterations!r} is not a list of iterations. Fix: give "
                              "comma-separated ints, e.g. --iterations 0,5,10.") from None
    print(f"report in {write_report(args.folder, metric=args.metric, iterations=iterations, reference=not args.no_reference)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
