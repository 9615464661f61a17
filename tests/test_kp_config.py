"""The ``[kp]`` section: malformed rulesets are refused naming the key; ``--ruleset FILE``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import load_ruleset as load
from helpers import registry

from tests.kp_helpers import P_FILE
from validator.cli import main
from validator.rules.builtin import SHIPPED_DIR
from validator.ruleset.load import from_data
from validator.ruleset.model import RulesetError
from validator_kp.config import parse

SHIPPED = (SHIPPED_DIR / "kp-cigna.toml").read_text(encoding="utf-8")


def test_shipped_ruleset_parses():
    cfg = parse(load("kp-cigna").data["kp"])
    assert cfg.phone == "888.831.0761"
    assert cfg.kp_states == ("CA", "CO", "DC", "GA", "HI", "MD", "OR", "VA", "WA")
    assert cfg.routes["insured"].payer_id == "62308"
    assert cfg.routes["self-funded"].payer_id == "94320"
    assert cfg.routes["insured"].mailing_address == "P.O. Box 188061, Chattanooga, TN 37422-8061"
    assert cfg.routes["self-funded"].mailing_address == (
        "P.O. Box 30547, Salt Lake City, UT 84130-0547")
    assert [str(cfg.products[p].effective) for p in ("HMO", "EPO", "POS2", "POS3", "PPO")] == [
        "2022-08-01", "2022-08-01", "2022-10-01", "2023-01-01", "2023-01-01"]
    assert cfg.regions["WA"].excluded_insured_products == ("HMO", "EPO", "POS2", "POS3", "PPO")
    assert cfg.regions["NW"].excluded_insured_products == ("PPO", "POS3")
    assert [p for p, _ in cfg.plan_keywords] == ["POS3", "POS2", "PPO", "EPO", "HMO", "POS"]
    assert cfg.claim_filing == {"HM": "HMO", "14": "EPO", "13": "POS", "12": "PPO"}
    assert cfg.patterns == ("KAISER", "KPIC", "KP")
    assert "0516" in cfg.emergency.revenue_codes and "S9088" in cfg.emergency.procedures


def _edit(old: str, new: str) -> str:
    assert old in SHIPPED, old
    return SHIPPED.replace(old, new, 1)


BROKEN = [
    # (edit, text the error must contain)
    (('name = "HMO"\n', 'name = "HMO"\ncolour = "red"\n'), "kp.products.HMO.colour: unknown key 'colour'"),
    (("[kp.emergency]\n", "[kp.emergency]\nplace_of_service = []\n"),
     "kp.emergency.place_of_service: unknown key 'place_of_service'"),
    (('phone = "888.831.0761"\n', 'phone = "888.831.0761"\nphones = []\n'), "kp.phones: unknown key"),
    (("emergency_only = true\n", 'emergency_only = "yes"\n'),
     "kp.products.HMO.emergency_only: must be true or false"),
    (('phone = "888.831.0761"', "phone = 8888310761"), "kp.phone: must be a string"),
    (('payer_ids = ["94320"]', 'payer_ids = "94320"'), "kp.identify.payer_ids: must be a list"),
    (("effective = 2022-08-01", 'effective = "2022-13-01"'),
     "kp.products.HMO.effective: '2022-13-01' is not a real date"),
    (("effective = 2022-10-01", "effective = 20221001"), "kp.products.POS2.effective: must be a date"),
    (("effective = 2022-08-01", "effective = 2022-08-01T10:00:00"),
     "kp.products.HMO.effective: must be a date"),
    (('excluded_insured_products = ["PPO", "POS3"]', 'excluded_insured_products = ["PPO", "POS4"]'),
     "kp.regions.NW.excluded_insured_products[1]: unknown product 'POS4'"),
    (("[kp.products.PPO]", "[kp.products.HDHP]"), "kp.products.HDHP: unknown product 'HDHP'"),
    (('product = "EPO"', 'product = "EPP"'), "kp.plan_keywords[3].product: unknown product 'EPP'"),
    (('HM = "HMO"', 'HM = "HMX"'), "kp.claim_filing.HM: unknown product 'HMX'"),
    (("[kp.regions.HI]", "[kp.regions.TX]"), "kp.regions.TX: unknown region 'TX'"),
    (('phone = "888.831.0761"\n', ""), "kp.phone: required key 'phone' is missing"),
    (('payer_id = "62308"\n', ""), "kp.routes.insured.payer_id: required key 'payer_id' is missing"),
    (('kp_states = ["CA",', 'kp_states = ["CAL",'), "kp.kp_states[0]: unknown state 'CAL'"),
]


@pytest.mark.parametrize(("edit", "needle"), BROKEN, ids=[b[1] for b in BROKEN])
def test_malformed_ruleset_is_refused_naming_the_key(tmp_path: Path, edit, needle):
    path = tmp_path / "broken.toml"
    path.write_text(_edit(*edit), encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        load(str(path))
    assert needle in str(info.value)
    assert str(path) in str(info.value)


def test_section_must_be_a_table():
    data = tomllib.loads(SHIPPED)
    data["kp"] = 3
    with pytest.raises(RulesetError, match=r"kp: must be a table"):
        from_data(data, "inline.toml", registry())


@pytest.mark.parametrize(("edit", "needle"), BROKEN[:3] + BROKEN[6:7] + BROKEN[9:10])
def test_cli_refuses_a_malformed_ruleset_with_exit_2(tmp_path: Path, edit, needle):
    path = tmp_path / "broken.toml"
    path.write_text(_edit(*edit), encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(P_FILE), "--ruleset", str(path), "--format",
                                    "json", "--no-ig"])
    assert res.exit_code == 2
    assert needle in res.stderr
    assert "Traceback" not in res.output + res.stderr
    assert res.stdout == ""


def _kp_findings(args: list[str]) -> dict[str, set[str]]:
    res = CliRunner().invoke(main, ["check", str(P_FILE), "--format", "json", "-q", "--no-ig",
                                    *args])
    assert res.exit_code in (0, 1), res.output
    doc = json.loads(res.stdout)
    out: dict[str, set[str]] = {}
    for f in doc["findings"]:
        if f["rule"].startswith("KP"):
            out.setdefault(f["claim_id"], set()).add(f["rule"])
    return out, doc


def test_ruleset_file_changes_the_data_the_rules_use(tmp_path: Path):
    path = tmp_path / "custom.toml"
    text = _edit("effective = 2022-08-01", "effective = 2023-06-01")  # HMO
    text = text.replace('phone = "888.831.0761"', 'phone = "800.555.0100"', 1)
    path.write_text(text, encoding="utf-8")
    default, _ = _kp_findings([])
    custom, doc = _kp_findings(["--ruleset", str(path)])
    assert "P-OK-NCAL-HMO-ER" not in default
    assert custom["P-OK-NCAL-HMO-ER"] == {"KP110"}
    assert doc["ruleset"]["name"] == "kp-cigna"
    msgs = [f["message"] for f in doc["findings"] if f["rule"] == "KP110"]
    assert msgs and all("800.555.0100" in m for m in msgs)
    kp = {c["claim_id"]: c["kp"] for c in doc["claims"]}
    assert kp["P-OK-NCAL-HMO-ER"]["phone"] == "800.555.0100"


def test_ruleset_without_kp_section_checks_no_kp_rules(tmp_path: Path):
    path = tmp_path / "generic.toml"
    path.write_text('[ruleset]\nname = "generic"\nversion = "1"\n', encoding="utf-8")
    found, doc = _kp_findings(["--ruleset", str(path)])
    assert found == {}
    assert all(c["kp"] == {"member": False} for c in doc["claims"])


def test_patterns_come_from_the_ruleset(tmp_path: Path):
    path = tmp_path / "patterns.toml"
    path.write_text(_edit('patterns = ["KAISER", "KPIC", "KP"]', 'patterns = ["SKPX"]'),
                    encoding="utf-8")
    found, doc = _kp_findings(["--ruleset", str(path)])
    kp = {c["claim_id"]: c["kp"] for c in doc["claims"]}
    assert kp["P-NONKP-WORD-NOT-SUBSTRING"]["member"] is True
    assert kp["P-OK-NCAL-HMO-ER"]["member"] is False  # KAISER no longer a pattern
    assert found["P-NONKP-WORD-NOT-SUBSTRING"] == {"KP140", "KP161"}
