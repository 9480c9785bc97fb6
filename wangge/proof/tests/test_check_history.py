"""manage.py check_history: exit 0 (valid), 1 (anomalies, one witness per class), 2 (malformed)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from django.core.management import call_command

HISTORIES = Path(__file__).resolve().parent / "histories"


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("check_history", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_a_valid_history_exits_0_and_says_valid():
    code, out, _err = run(str(HISTORIES / "serial.jsonl"))
    assert code == 0 and out.strip() == "valid"


def test_anomalies_exit_1_with_each_class_and_one_witness():
    code, out, _err = run(str(HISTORIES / "lost_update.jsonl"))
    assert code == 1
    assert "lost-update (1):" in out and "G-single (1):" in out
    assert "T2 did not see T1's append of 1 to grid:42" in out
    assert out.count("  - ") == 2  # one witness per class


def test_the_papers_two_node_example_prints_the_global_cycle():
    code, out, _err = run(str(HISTORIES / "paper_s1_s2.jsonl"))
    assert code == 1
    assert "global-cycle (1):" in out and "T1 → T3 → T2 → T4 → T1" in out


def test_json_output_is_the_check_result():
    code, out, _err = run(str(HISTORIES / "write_skew.jsonl"), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["valid"] is False and data["anomaly_types"] == ["G2-item"]
    assert [step["type"] for step in data["anomalies"]["G2-item"][0]["cycle"]] == ["rw", "rw"]


def test_realtime_flag_checks_strict_serializability(tmp_path):
    path = tmp_path / "stale.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(e)
            for e in [
                {"process": 0, "type": "invoke", "value": [["append", "x", 1]]},
                {"process": 0, "type": "ok", "value": [["append", "x", 1]]},
                {"process": 1, "type": "invoke", "value": [["r", "x", None]]},
                {"process": 1, "type": "ok", "value": [["r", "x", []]]},
                {"process": 2, "type": "invoke", "value": [["r", "x", None]]},
                {"process": 2, "type": "ok", "value": [["r", "x", [1]]]},
            ]
        )
    )
    assert run(str(path))[0] == 0
    code, out, _err = run(str(path), "--realtime")
    assert code == 1 and "G-single-realtime" in out


def test_a_malformed_file_exits_2_naming_the_line():
    code, out, err = run(str(HISTORIES / "malformed.jsonl"))
    assert code == 2 and out == ""
    assert "line 3:" in err and "'type'" in err


def test_a_missing_file_exits_2(tmp_path):
    code, _out, err = run(str(tmp_path / "nope.jsonl"))
    assert code == 2 and "nope.jsonl" in err


def test_a_history_of_completions_only_is_checked_and_the_missing_real_time_is_named():
    code, out, _err = run(str(HISTORIES / "completed_only_g1c.jsonl"), "--realtime")
    assert code == 1
    assert "G1c (1):" in out
    assert "note: the history holds completed operations only" in out
