"""The command line entry point."""
import subprocess
import sys


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "convq", "--help"], capture_output=True, text=True, check=True)
    assert "info" in out.stdout


def test_info_runs():
    out = subprocess.run([sys.executable, "-m", "convq", "info"], capture_output=True, text=True, check=True)
    assert "convq" in out.stdout and "threads" in out.stdout


def test_unknown_command_fails():
    out = subprocess.run([sys.executable, "-m", "convq", "nope"], capture_output=True, text=True)
    assert out.returncode != 0
