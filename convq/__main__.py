"""Command line: ``python -m convq COMMAND``.

Each command is a function registered in ``COMMANDS`` with its own argparse parser;
``python -m convq --help`` lists them, ``python -m convq --version`` prints the version.
"""
from __future__ import annotations

import argparse
import platform
import sys
from typing import Callable, Dict, List, Optional, Tuple

COMMANDS: Dict[str, Tuple[Callable[[List[str]], int], str]] = {}


def command(name, help):
    def register(fn):
        COMMANDS[name] = (fn, help)
        return fn
    return register


@command("demo", "the main job: quantized SGD on L2-logistic regression with every quantizer (table + PNG)")
def _demo(argv):
    from .demo import run
    return run(argv)


@command("info", "print the version, the build (sanitized or not) and the thread count")
def _info(argv):
    parser = argparse.ArgumentParser(prog="python -m convq info", description="Describe this convq build.")
    parser.parse_args(argv)
    import numpy as np

    from . import __version__, _core
    from ._threads import available_cpus
    print(f"convq {__version__}")
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.system()})")
    print(f"numpy {np.__version__}")
    print(f"C core: {_core.__file__}")
    print(f"sanitizer build: {'yes' if _core.SANITIZED else 'no'}")
    print(f"threads (CPUs available: affinity and cgroup quota): {available_cpus()}")
    return 0


def _parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="python -m convq",
        description="convq: quantized-gradient convex optimisation and log-concave sampling.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {name:<10} {help}" for name, (_, help) in COMMANDS.items())
        + "\n\nRun 'python -m convq COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"convq {__version__}")
    parser.add_argument("command", nargs="?", choices=sorted(COMMANDS), help="the command to run")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``python -m convq [--version] COMMAND [OPTIONS]``; returns the exit status.

    Options before the command (``--help``, ``--version``) are the program's; the rest go
    to the command, whose parser reads them all before it computes anything. An unknown
    option or command is a usage error (exit status 2, argparse's message on stderr).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if not argv or argv[0].startswith("-"):
        parser.parse_args(argv)         # --help / --version exit here; an unknown option is an error
        parser.error("a command is required")
    ns = parser.parse_args(argv[:1])
    fn, _ = COMMANDS[ns.command]
    return fn(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
