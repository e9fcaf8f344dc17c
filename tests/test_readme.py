"""The README's two set-up commands are what CI runs, verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set up", 1)[1].split("## Commands", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", setup, flags=re.S)


def test_readme_has_two_setup_commands():
    cmds = _readme_commands()
    assert len(cmds) == 2
    assert "simran run scenarios/quickstart.toml" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_commands_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for cmd in _readme_commands():
        assert cmd in ci, f"README command not in .ci/run verbatim:\n{cmd}"


def test_every_cli_command_is_in_the_readme():
    from simran.cli.main import build_parser

    text = (ROOT / "README.md").read_text()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in sub.choices:
        assert f"simran {name}" in text, f"`simran {name}` is not documented in the README"


def test_every_help_page_renders():
    """argparse formats help lazily: a stray '%' in a help text only fails when shown."""
    from simran.cli.main import build_parser

    parser = build_parser()
    parser.format_help()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        assert p.format_help(), name
