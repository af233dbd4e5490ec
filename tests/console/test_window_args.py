"""Every window command (console, review, board) refuses the same wrong ``--screenshot``/``--quit-after`` with
the same one line and exit 2, before it opens any database or window."""

from __future__ import annotations

from pathlib import Path

import pytest

from console import cli

BAD = [
    (["--quit-after", "0"], "--quit-after must be a positive number of seconds, not 0"),
    (["--quit-after", "-3"], "--quit-after must be a positive number of seconds, not -3"),
    (["--screenshot", "w.jpg"], "--screenshot saves a PNG; give a path ending in .png, not 'w.jpg'"),
    (["--screenshot", "/no/such/folder/w.png"], "--screenshot: folder '/no/such/folder' does not exist"),
]


def _exit_code(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:  # the console command reports through argparse
        return int(exc.code or 0)


@pytest.mark.parametrize("command", [[], ["review", "--db", "sqlite:///{tmp}/r.db"],
                                     ["central", "--db", "postgresql://127.0.0.1:9/none"]],
                         ids=["console", "review", "central"])
@pytest.mark.parametrize("bad, words", BAD, ids=[w.split(";")[0][:30] for _, w in BAD])
def test_every_window_command_refuses_the_same_window_options_the_same_way(
        command: list[str], bad: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command] + bad
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # refused before anything was created
