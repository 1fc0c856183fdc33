"""The thinkj command: every subcommand is listed and answers --help."""

import sys

import pytest

from thinkj_verl.cli import COMMANDS, main


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("prepare", "preflight", "select", "clip", "pairs", "train", "eval"):
        assert f"  {name} " in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_answers_help(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    assert f"thinkj {name}" in capsys.readouterr().out


def test_unknown_command_is_named(capsys):
    assert main(["prepair"]) == 2
    assert "unknown command 'prepair'" in capsys.readouterr().err


class _ClosedPipe:
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_help_into_a_closed_pipe_exits_quietly(monkeypatch):
    # `thinkj --help | head`: the reader left; the command ends with the shell's 141, no traceback.
    from thinkj_verl.cli import entry

    monkeypatch.setattr(sys, "argv", ["thinkj", "--help"])
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert entry() == 141
