"""`make clean` deletes exactly the warehouse folder, whatever characters its path holds, and
refuses a folder that cannot be a warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.cli.clean import refusal
from orchestration.core.paths import REPO_ROOT


@pytest.fixture
def make_clean(monkeypatch, tmp_path):
    """What `make clean` runs (the Makefile passes no path: the program reads WAREHOUSE_DIR), with
    dbt's own output folders redirected so that the test leaves the repository's manifest alone."""
    from orchestration.cli import clean

    dbt_output = (tmp_path / "dbt_target", tmp_path / "dbt_logs")
    monkeypatch.setattr(clean, "DBT_OUTPUT", dbt_output)

    def run(folder: Path) -> int:
        for path in dbt_output:
            path.mkdir(exist_ok=True)
        monkeypatch.setenv("WAREHOUSE_DIR", str(folder))
        return clean.main()

    return run


def test_the_makefile_hands_the_path_to_the_program_untouched():
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "clean:\n\t$(PYTHON) -m orchestration.cli.clean\n" in makefile


def test_a_path_with_a_space_and_a_quote_is_one_folder(make_clean, tmp_path):
    victim = tmp_path / "data"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    warehouse = tmp_path / "data wh's"  # `make clean` once deleted tmp_path/data for this path
    (warehouse / "publications").mkdir(parents=True)
    (warehouse / "build.duckdb").write_bytes(b"")
    assert make_clean(warehouse) == 0
    assert not warehouse.exists() and not (tmp_path / "dbt_target").exists()
    assert (victim / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("folder", "reason"),
    [(Path("/"), "root"), (Path.home(), "home folder"), (REPO_ROOT, "holds the repository"),
     (REPO_ROOT.parent, "holds the repository")],
)  # fmt: skip
def test_folders_that_cannot_be_a_warehouse_are_refused(folder, reason):
    assert reason in refusal(folder)


def test_a_folder_of_other_files_is_refused_and_kept(make_clean, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    assert make_clean(mine) == 2
    err = capsys.readouterr().err
    assert "holds files but no warehouse" in err and str(mine) in err
    assert (mine / "thesis.tex").exists() and (tmp_path / "dbt_target").exists()


def test_a_missing_or_empty_folder_is_fine(tmp_path):
    assert refusal(tmp_path) is None and refusal(tmp_path / "never made") is None
