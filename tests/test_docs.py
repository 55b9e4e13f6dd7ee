"""The README keeps its promises: the two commands, CI's command, and every subcommand."""

import re
from pathlib import Path

from tuidl.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_install_and_open_then_install_and_test():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert "pip install -e ." in blocks[0] and blocks[0].rstrip().endswith("tuidl")
    assert "pip install" in blocks[1] and "pytest" in blocks[1]


def test_ci_runs_the_readme_test_block():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "ci-test:begin" in ci and "ci-test:end" in ci
    assert "<!-- ci-test:begin -->" in README and "<!-- ci-test:end -->" in README
    assert "ruff check" in ci and "ruff format --check" in ci


def test_every_subcommand_is_documented():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    docs = README + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    for name in sub.choices:
        assert f"tuidl {name}" in docs, f"`tuidl {name}` is not documented in README or docs/"
