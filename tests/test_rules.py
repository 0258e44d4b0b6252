"""The rules file: loaded and validated at start, bad files refused with file, line and rule."""
from pathlib import Path

import pytest

from processing import rules
from processing.errors import RulesFileError

RULES_DIR = Path(__file__).resolve().parent.parent / "processing" / "rules"
TEXT = (RULES_DIR / "dammam.yml").read_text(encoding="utf-8")


def _error(text: str) -> RulesFileError:
    """The error a modified copy of the Dammam file raises."""
    with pytest.raises(RulesFileError) as caught:
        rules.parse(text, "/rules/dammam.yml")
    return caught.value


def _line_of(text: str, fragment: str) -> int:
    """1-based line number of the first line containing fragment."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_the_dammam_rules_file_is_valid_and_covers_every_rule_kind():
    ruleset = rules.load_for(RULES_DIR, "dammam")
    assert ruleset.municipality == "dammam" and ruleset.version
    assert {rule.kind for rule in ruleset.rules} == set(rules.KINDS)
    assert len(ruleset.sha256) == 64


def test_a_negative_distance_names_file_line_and_rule():
    bad = TEXT.replace("min_distance_m: 50", "min_distance_m: -5")
    err = _error(bad)
    assert err.path == "/rules/dammam.yml"
    assert err.rule == "cafe-distance"
    assert err.line == _line_of(bad, "min_distance_m: -5")
    assert "min_distance_m" in err.problem
    assert str(err).startswith(f"/rules/dammam.yml:{err.line}: rule 'cafe-distance':")


def test_an_unknown_value_names_the_rule():
    bad = TEXT.replace("edge: side", "edge: sideways")
    err = _error(bad)
    assert err.rule == "setback-side"
    assert err.line == _line_of(bad, "edge: sideways")


def test_an_unknown_rule_kind_is_refused():
    err = _error(TEXT.replace("kind: max_floors", "kind: max_flors"))
    assert err.rule == "floors"
    assert "max_flors" in err.problem


def test_a_missing_reference_is_refused():
    bad = TEXT.replace('    reference: "اشتراطات البناء 1444هـ، المادة 8 / Building requirements '
                       '1444H, art. 8"\n    severity: blocking\n    message:\n      ar: "الارتفاع',
                       '    severity: blocking\n    message:\n      ar: "الارتفاع')
    err = _error(bad)
    assert err.rule == "height"
    assert "reference" in err.problem


def test_a_rule_id_used_twice_points_at_the_second_use():
    bad = TEXT.replace("  - id: floors", "  - id: coverage")
    err = _error(bad)
    assert err.rule == "coverage"
    assert err.line == [i for i, line in enumerate(bad.splitlines(), 1)
                        if line.strip() == "- id: coverage"][1]


def test_a_duplicate_key_is_refused_with_its_line():
    bad = TEXT.replace("by_zone: {R1: 2, R2: 4", "by_zone: {R1: 2, R1: 4")
    err = _error(bad)
    assert "duplicate key 'R1'" in err.problem
    assert err.line == _line_of(bad, "R1: 2, R1: 4")


def test_a_misspelt_key_is_refused_not_ignored():
    err = _error(TEXT.replace("min_distance_m: 50", "min_distanse_m: 50"))
    assert err.rule == "cafe-distance"
    assert "min_distanse_m" in err.problem


def test_text_that_is_not_yaml_is_refused_with_its_line():
    err = _error(TEXT + "\n  - id: [unclosed\n")
    assert "not valid YAML" in err.problem
    assert err.line is not None


def test_the_file_name_must_match_its_municipality(tmp_path):
    (tmp_path / "khobar.yml").write_text(TEXT, encoding="utf-8")
    with pytest.raises(RulesFileError, match="expected 'khobar'"):
        rules.load_for(tmp_path, "khobar")


def test_a_missing_file_is_reported_with_its_path(tmp_path):
    with pytest.raises(RulesFileError, match="cannot be read"):
        rules.load_for(tmp_path, "dammam")


def test_the_server_refuses_to_start_on_a_bad_rules_file(tmp_path):
    import subprocess
    import sys

    (tmp_path / "dammam.yml").write_text(TEXT.replace("max_count: 3", "max_count: 0"),
                                         encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgresql://u:p@127.0.0.1:1/x",
           "AMANAT_PROCESSING_RULES_DIR": str(tmp_path), "AMANAT_STATE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "geoserver.cli", "worker"], env=env,
                          cwd=RULES_DIR.parent.parent, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"{tmp_path}/dammam.yml:" in done.stderr and "pharmacy-density" in done.stderr
