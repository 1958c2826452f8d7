"""The ``nerkit`` command: one thin function per command over the library.

Every command parses its arguments and calls one library function. A :class:`NerkitError`
(bad input, missing file, unknown label...) is printed as one line on stderr with exit status
2; ``--verbose`` shows the traceback as well.

stdout carries only results (text, ``--json``, predictions); progress bars and logs go to
stderr. ``--quiet`` (before or after the command: ``nerkit --quiet train ...`` and ``nerkit
train ... --quiet`` are the same) hides the bars and the info logs; warnings and errors stay.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Sequence

from nerkit._version import __version__
from nerkit.errors import NerkitError

DOCS = "Documentation: README.md in the nerkit repository."

# one module per command, in the order of the help; each has register(commands) and imports
# nothing heavy until its command runs
COMMANDS = (
    "data", "train", "tune", "evaluate", "score", "report", "predict", "serve", "render",
    "export", "push",
)
# commands whose info log (the run's steps and scores) shows without --verbose
LOGGING_COMMANDS = ("train", "tune")
QUIET_HELP = "no progress bars or info logs on stderr (warnings and errors still show)"


def build_parser() -> argparse.ArgumentParser:
    """The ``nerkit`` parser with every command of :data:`COMMANDS` registered."""
    parser = argparse.ArgumentParser(
        prog="nerkit",
        description="Named-entity recognition with transformer encoders.",
        epilog=DOCS,
    )
    parser.add_argument("--version", action="version", version=f"nerkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and logs")
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"nerkit.cli.{name}").register(commands)
    for command in commands.choices.values():
        try:  # after the command too; SUPPRESS: not given there, the global flag's value stays
            command.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                                 help=QUIET_HELP)
        except argparse.ArgumentError:  # the command defines its own
            pass
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a :class:`NerkitError` becomes one line on stderr and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    informative = args.verbose or args.command in LOGGING_COMMANDS
    logging.basicConfig(
        level=logging.INFO if informative and not args.quiet else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from nerkit.modeling.progress import enabled, set_enabled

    bars_before = enabled()
    set_enabled(not args.quiet)
    try:
        if informative and not args.quiet:
            from tqdm.contrib.logging import logging_redirect_tqdm

            with logging_redirect_tqdm():  # log lines above the progress bars, not through them
                return run_command(args, parser)
        return run_command(args, parser)
    finally:
        set_enabled(bars_before)  # for a caller that runs main() in its own process


def run_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the parsed command, turning a :class:`NerkitError` into one line on stderr."""
    if not args.command:
        parser.print_help()
        return 2
    if not args.verbose:
        # library chatter (weight-loading bars and reports) would bury our one-line messages;
        # training keeps its own progress bar
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        if "transformers" in sys.modules:  # imported already (embedded use): too late for env
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return int(args.func(args) or 0)
    except NerkitError as err:
        if args.verbose:
            raise
        print(f"nerkit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nerkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
