"""The ``cocity`` command line: help for every subcommand, exit codes."""

import subprocess
import sys

import pytest

from cocity_analysis.cli import main

SUBCOMMANDS = ("fetch", "resolve", "prepare", "report", "status")


def test_help_documents_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in text
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "usage: cocity " + name in capsys.readouterr().out


def test_console_script_runs():
    done = subprocess.run([sys.executable, "-m", "cocity_analysis.cli", "--help"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "prepare" in done.stdout


def test_resolve_exit_codes(capsys):
    assert main(["resolve", "Matera", "Cava de’ Tirreni"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Matera\t077014\tMatera"
    assert out[1].split("\t")[1] == "065037"
    assert main(["resolve", "Matera", "Castro"]) != 0
    err = capsys.readouterr().err
    assert "Castro" in err and "LE" in err and "BG" in err


def test_report_without_prepare_is_a_clear_error(tmp_path, capsys):
    code = main(["report", "--all", "--processed", str(tmp_path / "nothing"), "--out", str(tmp_path / "r")])
    assert code == 2
    assert "cocity prepare" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
