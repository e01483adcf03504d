"""The instructor kit's tools: the generated answer key, catch-up checkpoints, pre-flight."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kmssim.core.errors import ValidationException
from kmssim.lessons import answer_key, checkpoints, preflight, teach
from kmssim.lessons.exercises import EXERCISES

REPO = Path(__file__).resolve().parents[1]


# -- answer key ---------------------------------------------------------------------------

def test_the_committed_answer_key_is_what_the_checker_generates():
    committed = (REPO / "notebooks" / "ANSWERS.md").read_text(encoding="utf-8")
    assert committed == answer_key.answer_key(), (
        "notebooks/ANSWERS.md is stale: python -m kmssim.lessons.answer_key > notebooks/ANSWERS.md")


def test_the_answer_key_lists_every_exercise_once():
    key = answer_key.answer_key()
    for exercise_id in EXERCISES:
        assert key.count(f"| {exercise_id} | ") == 1, exercise_id


def test_answers_are_written_as_a_learner_types_them():
    from datetime import date
    assert answer_key.format_answer("date", date(2026, 3, 15)) == '"2026-03-15"'
    assert answer_key.format_answer("error", "DisabledException") == '"DisabledException"'
    assert answer_key.format_answer("int", 25) == "25"


# -- checkpoints ----------------------------------------------------------------------------

def test_sections_are_the_lessons_level_two_headings_in_order():
    found = checkpoints.sections(3)
    assert [s.section_id for s in found[:3]] == ["3.1", "3.2", "3.3"]
    assert found[0].title == "Write three years of records"
    assert [s.cell for s in found] == sorted(s.cell for s in found)


def test_a_checkpoint_rebuilds_the_state_at_the_start_of_a_section():
    blast = next(s for s in checkpoints.sections(3) if s.title == "Measure the blast radius")
    namespace: dict = {}
    restored = checkpoints.checkpoint(blast.section_id, into=namespace)
    assert len(namespace["records"]) == 37
    assert namespace["kms"].now.date().isoformat() == "2027-12-22"
    assert "records" in restored.names
    # What the next cell of the lesson does works on the rebuilt state:
    from kmssim.lessons.plot import exposure
    assert "v1" in str(exposure(namespace["kms"], namespace["records"]))


def test_the_first_section_restores_only_what_comes_before_it():
    namespace: dict = {}
    checkpoints.checkpoint("1.1", into=namespace)
    assert "kms" not in namespace


def test_a_checkpoint_replays_the_aws_magic_of_lesson_2():
    namespace: dict = {}
    rotation_off = next(s for s in checkpoints.sections(2)
                        if s.title.startswith("Move time forward"))
    checkpoints.checkpoint(rotation_off.section_id, into=namespace)   # after the %aws cells
    calls = [event.name for event in namespace["kms"].trail]
    assert calls.count("EnableKeyRotation") == 2       # the boto3 call and the %aws one


@pytest.mark.parametrize("lesson", [1, 2, 3, 4, 5, 6])
def test_every_lessons_last_checkpoint_replays_without_error(lesson):
    last = checkpoints.sections(lesson)[-1]
    restored = checkpoints.checkpoint(last.section_id, into={})
    assert restored.cells_run > 3 and "kms" in restored.namespace


def test_checkpoints_are_reachable_from_teach_and_fill_a_given_namespace():
    namespace: dict = {}
    teach.checkpoint("4.2", into=namespace)
    assert "rsa_id" in namespace


@pytest.mark.parametrize("name", ["3", "x.1", "3.99", "99.1"])
def test_a_bad_checkpoint_name_says_what_exists(name):
    with pytest.raises(ValidationException):
        checkpoints.checkpoint(name, into={})


def test_the_kit_lists_every_checkpoint():
    kit = (REPO / "notebooks" / "INSTRUCTORS.md").read_text(encoding="utf-8")
    for lesson in range(1, 7):
        for section in checkpoints.sections(lesson):
            assert f'`"{section.section_id}"`' in kit, section


def test_the_kit_and_readme_have_the_simulator_vs_aws_summary():
    readme = (REPO / "notebooks" / "README.md").read_text(encoding="utf-8")
    assert "## Simulator vs AWS" in readme
    for lesson in range(1, 7):
        opening = checkpoints._source(checkpoints._cells(lesson)[0])
        assert "Simulator vs AWS" in opening, lesson


def test_cmk_is_explained_once_in_lesson_1_only():
    for lesson in range(2, 7):
        text = " ".join(checkpoints._source(c) for c in checkpoints._cells(lesson))
        assert "customer master key" not in text.lower(), lesson
    first = " ".join(checkpoints._source(c) for c in checkpoints._cells(1))
    assert "customer master key (CMK)" in " ".join(first.replace(">", " ").split())


# -- pre-flight ---------------------------------------------------------------------------

def test_preflight_passes_in_the_test_environment():
    checks = tuple(c for c in preflight.CHECKS if c is not preflight.check_widget_state_saving)
    results = preflight.run(checks)
    assert [r.name for r in results] == ["Python", "packages", "widgets extension", "kernel"]
    assert all(r.ok for r in results), "\n".join(map(str, results))


def test_setup_turns_on_saving_widget_state_and_keeps_other_settings(tmp_path):
    import json
    assert not preflight.check_widget_state_saving(tmp_path).ok
    path = preflight.overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    themes = {"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}
    path.write_text(json.dumps(themes))
    assert preflight.save_widget_state(tmp_path) == path
    saved = json.loads(path.read_text())
    assert saved["@jupyter-widgets/jupyterlab-manager:plugin"] == {"saveState": True}
    assert saved["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert preflight.check_widget_state_saving(tmp_path).ok
    preflight.save_widget_state(tmp_path)                        # idempotent
    assert json.loads(path.read_text()) == saved


def test_preflight_reports_what_is_missing(monkeypatch):
    monkeypatch.setattr(preflight, "PACKAGES", ("kmssim", "no_such_package_for_kmssim"))
    result = preflight.check_packages()
    assert not result.ok and "no_such_package_for_kmssim" in str(result)
    assert str(result).startswith("FAIL")


def test_preflight_skips_the_kernel_when_packages_are_missing(monkeypatch):
    monkeypatch.setattr(preflight, "PACKAGES", ("no_such_package_for_kmssim",))
    results = preflight.run()
    assert results[-1].name == "kernel" and "skipped" in results[-1].detail


def test_preflight_refuses_an_old_python(monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 9, 1, "final", 0))
    assert not preflight.check_python().ok
