"""README result blocks (auralisation.records): each is what its committed record renders, and the test fails when
one is stale or typed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auralisation.errors import ParameterError
from auralisation.records import (
    RECORDS,
    blocks_in,
    documents,
    listenable_record,
    markdown_record,
    publish,
    refresh_readme,
    render,
    stale_blocks,
    stale_sources,
    study_record,
)
from auralisation.study import CRITERIA, RunRecord, VerdictRow

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_blocks_are_what_their_records_render():
    pages = documents(ROOT)
    assert ROOT / "README.md" in pages
    assert {"study", "listenable"} <= {name for page in pages for name in blocks_in(page.read_text(encoding="utf-8"))}
    for page in pages:
        assert stale_blocks(page, ROOT) == [], f"run `auralisation.records.refresh_readme('{page}')` after a run"
    assert stale_sources(ROOT) == []  # where a run's results file is here, the record is that file's


def _study_record() -> str:
    runs = [RunRecord("choi2016", 0, 12, 300.0, 100.0, 90.0, 0.875, 0.896, 0.667, 0.667)]
    rows = [VerdictRow(c.key, 0.1, 0.05, 0.2, 60, "holds", arch="choi2016", seed=0, condition=condition)
            for c in CRITERIA for condition in ("trained", "untrained", "trained - untrained")]
    return json.dumps({"machine": "a test machine", "runs": [r.__dict__ for r in runs],
                       "verdicts": [r.__dict__ for r in rows]})


def test_a_block_is_stale_until_refreshed_from_its_record(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# t\n\n<!-- study:begin -->\n<!-- study:end -->\n\n<!-- listenable:begin -->\nold table\n"
                      "<!-- listenable:end -->\n")
    assert stale_blocks(readme, tmp_path) == ["study", "listenable"]
    refresh_readme(readme, tmp_path)
    assert stale_blocks(readme, tmp_path) == []
    assert "No study has been run with these rules" in readme.read_text()  # no record: the block says what to run
    publish("study", _study_record(), root=tmp_path)
    assert (tmp_path / RECORDS / "study.json").is_file() and stale_blocks(readme, tmp_path) == []
    text = readme.read_text()
    assert "87.5 %, 89.6 %" in text and "**1/1**" in text  # the record's accuracy, and the seed learned
    readme.write_text(text.replace("87.5 %", "88.0 %"))  # a figure typed over the generated one
    assert stale_blocks(readme, tmp_path) == ["study"]
    (tmp_path / RECORDS / "study.json").write_text(_study_record().replace("0.875", "0.9"))  # a new run's record
    readme.write_text(text)
    assert stale_blocks(readme, tmp_path) == ["study"]
    assert render("study", tmp_path).count("90.0 %, 89.6 %") == 1


def test_unknown_blocks_are_refused(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- accuracy:begin -->\n98 %\n<!-- accuracy:end -->\n")
    with pytest.raises(ParameterError, match="no README block 'accuracy'"):
        stale_blocks(readme, tmp_path)
    with pytest.raises(ParameterError, match="no README block"):
        publish("accuracy", "{}", root=tmp_path)


def test_a_record_is_stale_against_a_changed_results_file(tmp_path):
    from auralisation.methods.benchmark import _empty

    scores = tmp_path / "results" / "listenable" / "scores.json"
    scores.parent.mkdir(parents=True)
    result = _empty(["gradcam"], ["clean"], ["normalised"], "x")
    result.clips.append(0)
    result.seconds["gradcam"] = 1.0
    result.accuracy["clean"].append(1.0)
    for rows in (result.scores["clean"]["normalised"], *result.sparsity["clean"].values()):
        for values in rows.values():
            for score in values.values():
                score.append(0.5)
    scores.write_text(result.to_json())
    readme = tmp_path / "README.md"
    readme.write_text("<!-- listenable:begin -->\n<!-- listenable:end -->\n")
    publish("listenable", listenable_record(scores, tmp_path), root=tmp_path)
    assert stale_blocks(readme, tmp_path) == [] and stale_sources(tmp_path) == []
    assert "| gradcam | **0.5 [0.5, 0.5]** |" in readme.read_text()  # AI of the one method: the best, in bold
    scores.write_text(scores.read_text().replace("0.5", "0.25"))  # a new run: the record no longer is its file's
    assert stale_sources(tmp_path) == ["listenable"]
    study = tmp_path / "results" / "study" / "study.json"
    study.parent.mkdir(parents=True)
    study.write_text(_study_record())
    publish("study", study_record(study), root=tmp_path)
    assert stale_sources(tmp_path) == ["listenable"]
    study.write_text(_study_record().replace("0.875", "0.9"))
    assert stale_sources(tmp_path) == ["study", "listenable"]


def test_the_commands_block_renders_what_timed_measured(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- commands:begin -->\n<!-- commands:end -->\n")
    refresh_readme(readme, tmp_path)
    assert "| `make reproduce` | not measured yet: `python3 scripts/timed.py reproduce`" in readme.read_text()
    run = {"seconds": 1897.4, "fresh": True, "load_at_start": 0.3, "peak_memory_bytes": 3 * 2**30,
           "machine": "AMD EPYC, 2 cores, 23 GiB",
           "disk_bytes": {".venv": 3.5 * 2**30, "data": 600 * 2**20}, "date": "2026-12-06", "commit": "abc1234",
           "notebooks": {"01_train_cnn.ipynb": 511.0, "07_pretrained.ipynb": 95.2}}
    (tmp_path / RECORDS).mkdir(parents=True)
    (tmp_path / RECORDS / "commands.json").write_text(json.dumps({"reproduce": run}))
    assert stale_blocks(readme, tmp_path) == ["commands"]
    refresh_readme(readme, tmp_path)
    text = readme.read_text()
    assert ("| `make reproduce` | 31 min 37 s from a fresh clone; set-up and data 21 min 31 s; notebooks 01 8 min "
            "31 s, 07 1 min 35 s | 3.0 GB | `.venv` 3.5 GB, `data` 600 MB |") in text
    assert ("`make reproduce` on 2026-12-06, commit abc1234, AMD EPYC, 2 cores, 23 GiB, load average 0.3 at the "
            "start") in text
    assert "| `make test` | not measured yet" in text


def test_timed_reads_pytest_s_summary_and_sizes_folders(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("timed", ROOT / "scripts" / "timed.py")
    timed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timed)
    line = "=========== 644 passed, 1 skipped, 3 warnings in 616.20s (0:10:16) ==========="
    assert timed.PYTEST_SUMMARY.match(line).group(1) == "644 passed, 1 skipped, 3 warnings in 616.20s (0:10:16)"
    assert timed.PYTEST_SUMMARY.match("===== 2 failed, 642 passed in 600s =====") is not None  # a failure: make fails
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "x").write_bytes(b"12345")
    (tmp_path / "a" / "b" / "y").write_bytes(b"123")
    (tmp_path / "a" / "link").symlink_to(tmp_path / "a" / "x")
    assert timed.folder_bytes(tmp_path / "a") == 8 and timed.folder_bytes(tmp_path / "missing") == 0
    assert timed.machine().count(",") == 2


def test_publish_writes_the_block_into_every_page_that_holds_it(tmp_path):
    (tmp_path / "docs").mkdir()
    pages = [tmp_path / "README.md", tmp_path / "docs" / "pretrained.md", tmp_path / "docs" / "other.md"]
    pages[0].write_text("<!-- tagger-speed:begin -->\n<!-- tagger-speed:end -->\n")
    pages[1].write_text("# p\n\n<!-- tagger-speed:begin -->\nold\n<!-- tagger-speed:end -->\n")
    pages[2].write_text("<!-- taggers:begin -->\nuntouched\n<!-- taggers:end -->\n")
    publish("tagger-speed", markdown_record("| MSD_vgg | 0.30 |"), root=tmp_path)
    assert all("| MSD_vgg | 0.30 |" in page.read_text() for page in pages[:2])
    assert "untouched" in pages[2].read_text()  # another block, not published: left as it is
