"""Command line: ``python -m convq COMMAND``.

Each command is a function registered in ``COMMANDS`` with its own argparse parser;
``python -m convq --help`` lists them.
"""
from __future__ import annotations

import argparse
import platform
import sys

COMMANDS = {}


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


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m convq",
        description="convq: quantized-gradient convex optimisation and log-concave sampling.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {name:<10} {help}" for name, (_, help) in COMMANDS.items())
        + "\n\nRun 'python -m convq COMMAND --help' for the options of a command.",
    )
    parser.add_argument("command", choices=sorted(COMMANDS), help="the command to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="options of the command")
    ns = parser.parse_args(argv[:1] if argv and not argv[0].startswith("-") else argv)
    fn, _ = COMMANDS[ns.command]
    return fn(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
