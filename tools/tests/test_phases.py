"""tools.phases: a failed phase's log is kept and the report says why it failed; scenarios share a lab."""

import subprocess
import sys

import pytest

from tools import phases


def test_report_names_the_failed_test_and_its_assertion(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PHASES_FILE", str(tmp_path / "phases.tsv"))
    (tmp_path / "test_x.py").write_text("def test_a():\n    assert 1 == 2, 'one is not two'\n")
    phases.reset()
    assert phases.run("ok", [sys.executable, "-c", "print('fine')"]) == 0
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", str(tmp_path)]
    assert phases.run("molecule/x/verify", command) != 0
    capsys.readouterr()

    assert phases.report(warn_after=0, fail_after=0, top=2) == 0
    out = capsys.readouterr().out
    assert "why molecule/x/verify failed" in out
    assert "test_x.py::test_a - AssertionError: one is not two" in out
    assert "why ok failed" not in out
    assert (tmp_path / "logs" / "molecule_x_verify.log").exists()


def test_reasons_prefers_ansible_fatal_lines_and_caps_their_number(tmp_path, monkeypatch):
    monkeypatch.setenv("PHASES_FILE", str(tmp_path / "phases.tsv"))
    oks = ["echo 'ok: [node%d]'" % i for i in range(3)]
    script = "; ".join(oks + ["echo 'fatal: [node%d]: FAILED! => {}'" % i for i in range(20)])
    assert phases.run("converge", ["bash", "-c", script + "; exit 2"]) == 2
    lines = phases.reasons("converge", limit=5)
    assert lines[:5] == ["fatal: [node%d]: FAILED! => {}" % i for i in range(5)]
    assert lines[5].startswith("... 15 more")


def test_reasons_read_through_molecules_frame(tmp_path, monkeypatch):
    monkeypatch.setenv("PHASES_FILE", str(tmp_path / "phases.tsv"))
    framed = "printf '  \\033[2m│\\033[0m FAILED tests/test_10.py::test_x - AssertionError: node2\\n'"
    assert phases.run("verify", ["bash", "-c", framed + "; exit 1"]) == 1
    assert phases.reasons("verify") == ["FAILED tests/test_10.py::test_x - AssertionError: node2"]


def test_a_phase_without_reason_lines_shows_its_last_lines(tmp_path, monkeypatch):
    monkeypatch.setenv("PHASES_FILE", str(tmp_path / "phases.tsv"))
    assert phases.run("odd", ["bash", "-c", "seq 1 9; exit 3"]) == 3
    assert phases.reasons("odd") == ["5", "6", "7", "8", "9"]


def test_the_command_line_reports_an_empty_file(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tools.phases", "report"],
        env={"PHASES_FILE": str(tmp_path / "none.tsv"), "PATH": "/usr/bin:/bin"},
        cwd=str(phases.__file__).rsplit("/tools/", 1)[0],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "no phases recorded" in result.stdout


DEFAULT = ["destroy", "create", "converge", "idempotence", "verify", "destroy"]
FAULTS = ["create", "converge", "verify", "destroy"]


def test_a_scenario_alone_runs_its_whole_sequence():
    assert phases.lab_steps(DEFAULT) == DEFAULT


def test_the_first_scenario_on_a_shared_lab_leaves_it_up():
    assert phases.lab_steps(DEFAULT, keep_lab=True) == ["destroy", "create", "converge", "idempotence", "verify"]


def test_the_last_scenario_on_a_shared_lab_verifies_it_then_removes_it():
    assert phases.lab_steps(FAULTS, reuse_lab=True) == ["verify", "destroy"]
    assert phases.lab_steps(DEFAULT, reuse_lab=True) == ["verify", "destroy"]


def test_a_scenario_between_two_others_only_verifies():
    assert phases.lab_steps(FAULTS, keep_lab=True, reuse_lab=True) == ["verify"]


def test_reusing_a_lab_needs_a_converge_step_to_leave_out():
    with pytest.raises(ValueError, match="converge"):
        phases.lab_steps(["create", "verify"], reuse_lab=True)
