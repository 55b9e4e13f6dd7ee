"""docs/plugins.md carries exactly the hooks and params sections rendered from the code."""

from pathlib import Path

from tuidl.plugins import hookspecs
from tuidl.plugins.docgen import BEGIN, END, extract, main, render_generated
from tuidl.plugins.manager import HOOK_KINDS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def test_guide_contains_the_current_generated_section():
    text = GUIDE.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert extract(text) == render_generated(), (
        "docs/plugins.md is out of date: run `python -m tuidl.plugins.docgen --write`"
    )


def test_every_hook_and_its_whole_docstring_is_rendered():
    section = render_generated()
    for hookname in HOOK_KINDS:
        assert f"`{hookname}(register)`" in section
        doc = getattr(hookspecs, hookname).__doc__.split("\n\n")[-1].strip().splitlines()[-1]
        assert doc.strip() in section


def test_check_mode_detects_drift(tmp_path, capsys):
    stale = tmp_path / "plugins.md"
    stale.write_text(f"intro\n{BEGIN}\nold text\n{END}\noutro\n", encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert main(["--write", str(stale)]) == 0
    assert main(["--check", str(stale)]) == 0
    text = stale.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("\noutro\n")
    capsys.readouterr()
