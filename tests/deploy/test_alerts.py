"""The alert rules pass promtool's checks and its unit tests, every alert is unit-tested, and every
alert's runbook exists."""
import re
import shutil
import subprocess

import yaml

from tests.deploy.conftest import K8S, REPO

ALERTS = K8S / "base" / "monitoring" / "alerts.yaml"
UNIT_TESTS = REPO / "tests" / "deploy" / "alerts_test.yaml"


def rules() -> list[dict]:
    return [r for g in yaml.safe_load(ALERTS.read_text())["spec"]["groups"] for r in g["rules"]]


def promtool(*args, cwd) -> subprocess.CompletedProcess:
    assert shutil.which("promtool"), "promtool missing: apt-get install prometheus"
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def extract(tmp_path):
    """promtool reads plain rule files: the PrometheusRule's spec is one."""
    spec = yaml.safe_load(ALERTS.read_text())["spec"]
    (tmp_path / "alerts.rules.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    shutil.copy(UNIT_TESTS, tmp_path / "alerts_test.yaml")


def test_promtool_checks_the_rules(tmp_path):
    extract(tmp_path)
    done = promtool("check", "rules", "alerts.rules.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout


def test_promtool_unit_tests_pass(tmp_path):
    extract(tmp_path)
    done = promtool("test", "rules", "alerts_test.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_expectation_fails_the_unit_tests(tmp_path):
    extract(tmp_path)
    broken = (tmp_path / "alerts_test.yaml").read_text().replace("severity: page, job: portal-billing",
                                                                  "severity: page, job: portal-grades")
    (tmp_path / "alerts_test.yaml").write_text(broken)
    assert promtool("test", "rules", "alerts_test.yaml", cwd=tmp_path).returncode != 0


def test_every_alert_is_unit_tested_firing():
    tested = {case["alertname"] for t in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
              for case in t.get("alert_rule_test", []) if case["exp_alerts"]}
    assert tested == {r["alert"] for r in rules()}


def test_every_alert_has_a_runbook_and_bilingual_summary():
    for rule in rules():
        runbook = rule["annotations"]["runbook_url"]
        assert re.fullmatch(r"docs/runbooks/[a-z-]+\.md", runbook), runbook
        text = (REPO / runbook).read_text(encoding="utf-8")
        assert rule["alert"] in text, f"{runbook} does not name {rule['alert']}"
        assert " / " in rule["annotations"]["summary"], "summary: French / English"
        assert rule["labels"]["severity"] in ("page", "warning")
