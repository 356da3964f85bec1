"""Settings come from the environment; one that cannot be used stops a run before it starts,
naming the variable and its value (no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.core.settings import SettingsError, load_settings
from orchestration.raw.sources import check_source_settings


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"WAREHOUSE_SOURCE": "bogus"}, "WAREHOUSE_SOURCE='bogus' is not one of demo, csv, live"),
        ({"WAREHOUSE_SOURCE": "csv"},
         "WAREHOUSE_SOURCE=csv needs WAREHOUSE_CSV_DIR: the folder of your CSV files (not set)"),
        ({"WAREHOUSE_SOURCE": "csv", "WAREHOUSE_CSV_DIR": "/nonexistent/exports"},
         "WAREHOUSE_CSV_DIR='/nonexistent/exports': no such folder (/nonexistent/exports)"),
        ({"WAREHOUSE_DEMO_TICKERS": "20.5"}, "WAREHOUSE_DEMO_TICKERS='20.5' is not a whole number of tickers"),
        ({"WAREHOUSE_DEMO_YEARS": "abc"}, "WAREHOUSE_DEMO_YEARS='abc' is not a number of years"),
        ({"WAREHOUSE_DEMO_YEARS": "-2"},
         "WAREHOUSE_DEMO_TICKERS unset, WAREHOUSE_DEMO_YEARS='-2': years must be positive, got -2.0"),
        ({"WAREHOUSE_DEMO_TICKERS": "5"},
         "WAREHOUSE_DEMO_TICKERS='5', WAREHOUSE_DEMO_YEARS unset: tickers must be at least the 14 seed ones, got 5"),
        ({"WAREHOUSE_DEMO_YEARS": "0"},
         "WAREHOUSE_DEMO_TICKERS unset, WAREHOUSE_DEMO_YEARS='0': years must be positive, got 0.0"),
    ],
)  # fmt: skip
def test_a_setting_that_cannot_be_used_is_named_with_its_value(environ, message, tmp_path):
    """As a run checks them: the settings, then the source's own rules (the demo's scale)."""
    with pytest.raises(SettingsError) as raised:
        check_source_settings(load_settings({"WAREHOUSE_DIR": str(tmp_path), **environ}))
    assert str(raised.value) == message


def test_demo_scale_settings_are_read_as_numbers(tmp_path):
    settings = load_settings(
        {"WAREHOUSE_DIR": str(tmp_path), "WAREHOUSE_DEMO_TICKERS": " 200 ", "WAREHOUSE_DEMO_YEARS": "2.5"}
    )
    assert (settings.demo_tickers, settings.demo_years) == (200, 2.5)
    # another source ignores the demo's scale
    other = load_settings(
        {
            "WAREHOUSE_DIR": str(tmp_path),
            "WAREHOUSE_SOURCE": "csv",
            "WAREHOUSE_CSV_DIR": str(tmp_path),
            "WAREHOUSE_DEMO_TICKERS": "5",
        }
    )
    assert other.source == "csv"
    check_source_settings(other)


def test_the_live_sources_variables_are_read_here(tmp_path):
    """SEC_USER_AGENT, WAREHOUSE_SHARES_OVERRIDES (else shares_overrides.csv in WAREHOUSE_CSV_DIR when
    it is there) and WAREHOUSE_LIVE_REFRESH: read with the others, passed to the source."""
    base = {"WAREHOUSE_DIR": str(tmp_path), "WAREHOUSE_SOURCE": "live"}
    unset = load_settings(base)
    assert (unset.sec_user_agent, unset.shares_overrides, unset.live_refresh) == (None, None, False)
    assert load_settings({**base, "WAREHOUSE_CSV_DIR": str(tmp_path)}).shares_overrides is None  # no file there
    (tmp_path / "shares_overrides.csv").write_text("ticker,as_of,shares\n")
    found = load_settings({**base, "WAREHOUSE_CSV_DIR": str(tmp_path), "SEC_USER_AGENT": "Jane jane@example.com"})
    assert found.shares_overrides == tmp_path / "shares_overrides.csv"
    assert found.sec_user_agent == "Jane jane@example.com"
    named = load_settings({**base, "WAREHOUSE_CSV_DIR": str(tmp_path), "WAREHOUSE_SHARES_OVERRIDES": "/data/mine.csv"})
    assert named.shares_overrides == Path("/data/mine.csv")  # named wins; checked when the source reads it
    assert load_settings({**base, "WAREHOUSE_LIVE_REFRESH": " Yes "}).live_refresh is True


def test_make_run_with_an_unusable_setting_or_months_says_so_and_exits_2(monkeypatch, tmp_path, capsys):
    from orchestration.cli import run

    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path))
    monkeypatch.setenv("WAREHOUSE_SOURCE", "bogus")

    assert run.main() == 2
    assert capsys.readouterr().err == "Cannot run: WAREHOUSE_SOURCE='bogus' is not one of demo, csv, live\n"
    assert not (tmp_path / "build.duckdb").exists()

    monkeypatch.setenv("WAREHOUSE_SOURCE", "demo")
    assert run.main(months="2024-01..2024-03,2024-05") == 2
    assert capsys.readouterr().err == (
        "Cannot run: MONTHS=2024-01..2024-03,2024-05: give one month (YYYY-MM) or one range of months "
        "(YYYY-MM..YYYY-MM)\n"
    )
    assert not (tmp_path / "build.duckdb").exists()


def test_make_note_with_an_unusable_setting_says_so_and_exits_2(monkeypatch, tmp_path, capsys):
    from orchestration.cli.note import main

    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path))
    monkeypatch.setenv("WAREHOUSE_KEEP_RUNS", "0")

    assert main([]) == 2
    assert capsys.readouterr().err == "note: WAREHOUSE_KEEP_RUNS='0' is not a whole number of runs of at least 1\n"
    # the demo's scale does not matter to a note, which only reads the published file
    monkeypatch.setenv("WAREHOUSE_KEEP_RUNS", "3")
    monkeypatch.setenv("WAREHOUSE_DEMO_TICKERS", "5")
    assert main([]) == 1
    assert capsys.readouterr().err.startswith("note: ")  # no published file in tmp_path: the note's own error


@pytest.mark.parametrize(("target", "variable"), [("note", "MONTH"), ("run", "MONTHS")])
def test_a_month_with_a_quote_reaches_python_as_text_not_as_a_shell_command(tmp_path, target, variable):
    """`make note MONTH="2024-06'; touch x; echo '"`: the value reaches the program whole, is refused
    there, and no shell ever runs what follows the quote."""
    import os
    import subprocess

    marker = tmp_path / "ran"
    value = f"2024-06'; touch {marker}; echo '"
    done = subprocess.run(
        ["make", "--no-print-directory", target, f"{variable}={value}"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "WAREHOUSE_DIR": str(tmp_path / "warehouse")},
    )
    assert not marker.exists()
    assert done.returncode != 0
    assert value in done.stderr  # refused by the program, which names what it was given
