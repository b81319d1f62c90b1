"""What a newcomer meets first: commands named by messages and the README exist, the README's plugin
package is the one the tests install, the README's examples hold."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from mvbench.cli import cli

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = set(cli.commands)
#: "mvbench <command> ..." inside a message or a doc, up to the end of the quoted text.
MENTION = re.compile(r"mvbench ((?:" + "|".join(sorted(COMMANDS)) + r")\b[^\"'`\n)#]*)")


def mentions(text: str) -> list[str]:
    return [m.group(1).strip() for m in MENTION.finditer(text)]


def check_command(mention: str) -> None:
    """The subcommand path of ``mention`` exists and each ``--option`` it names is one of it."""
    command: click.Command = cli
    tokens = mention.split()
    while isinstance(command, click.Group) and tokens and tokens[0] in command.commands:
        command = command.commands[tokens.pop(0)]
    assert not isinstance(command, click.Group), f"'mvbench {mention}' names no command"
    options = {opt for param in command.params for opt in getattr(param, "opts", [])} | {"--help", "-h"}
    for token in tokens:
        name = token.strip("[]").split("=")[0].rstrip(".,;:")
        if name.startswith("--") and "{" not in name:
            assert name in options, f"'mvbench {mention}': {command.name} has no option {name}"


SOURCES = sorted(p for folder in ("mvbench", "datasets", "methods") for p in (ROOT / folder).rglob("*.py"))


def test_every_command_a_message_names_exists():
    found = [mention for path in SOURCES for mention in mentions(path.read_text())]
    assert any("datasets prepare" in m for m in found)
    for mention in found:
        check_command(mention)


def test_every_command_the_readme_names_exists():
    found = mentions((ROOT / "README.md").read_text())
    assert len(found) > 20
    for mention in found:
        check_command(mention)


def test_the_checker_catches_a_wrong_option():
    with pytest.raises(AssertionError, match="run has no option --raw"):
        check_command("run --datasets pascal --raw DIR")
    check_command("datasets prepare pascal --raw DIR")


def test_list_methods_shows_whole_first_sentences():
    from mvbench.cli import first_sentence

    doc = "PIC (Wang et al., IJCAI 2019): weighted fusion of completed\n    per-view graphs. More here.\n\nDetails."
    assert first_sentence(doc) == "PIC (Wang et al., IJCAI 2019): weighted fusion of completed per-view graphs."
    from test_cli import mvbench_in_process

    _, out, _ = mvbench_in_process("list", "methods", check=0)
    assert "fusion of completed per-view similarity graphs, for incomplete views." in out


EXAMPLE = Path(__file__).parent / "plugins" / "my-method"
SNIPPET = re.compile(r"`my-method/([^`]+)`:\n\n```\w+\n(.*?)```", re.S)


def test_the_readme_plugin_package_is_the_tested_one():
    snippets = dict(SNIPPET.findall((ROOT / "README.md").read_text()))
    assert set(snippets) == {"pyproject.toml", "my_package/my_method.py"}
    for path, text in snippets.items():
        assert text == (EXAMPLE / path).read_text(), f"README's my-method/{path} differs from {EXAMPLE / path}"
    assert (EXAMPLE / "my_package" / "__init__.py").read_text() == ""


def test_the_readme_plugin_package_installs_and_runs(tmp_path):
    import subprocess
    import sys

    from test_cli import child_runs, mvbench

    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target"]
    subprocess.run([*pip, str(target), str(EXAMPLE)], check=True, capture_output=True)
    env = {"PYTHONPATH": str(target)}
    assert "my_method" in mvbench("list", "methods", env=env, check=0).stdout
    args = ["run", "--methods", "my_method", "--datasets", "synthetic", "--seeds", "2", "--no-progress"]
    mvbench(*args, env=env, check=0)
    runs = child_runs()
    assert len(runs) == 2 and all(r.data.tags["mvbench.status"] == "done" for r in runs)
    assert all(r.data.metrics["acc"] > 0.5 for r in runs)  # synthetic's clusters are well separated
    assert "train/inertia" in runs[0].data.metrics
    bad = mvbench("run", "--methods", "my_method", "--param", "my_method.tol=-1", env=env, check=2)
    assert "my_method: tol must be > 0, got -1.0" in bad.stderr and bad.stderr.count("\n") == 1
