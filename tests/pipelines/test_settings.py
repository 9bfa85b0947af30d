"""Settings: every section reads into its frozen dataclass; unknown sections and keys and wrong
types (in the file or in an IPRISK__ override) are refused naming section, key and expected type."""

from __future__ import annotations

import dataclasses

import pytest

from features import FeatureConfig
from models.collateral import CollateralScoreConfig
from models.decision import DecisionConfig, LimitsConfig, MasterScale, PricingConfig
from models.direction_evidence import DirectionPolicy
from models.explain import ExplanationConfig
from models.lgd import RecoveryArithmetic
from models.pd_model import PDModelConfig
from models.recovery import RecoveryConfig
from models.scorecard import ScorecardConfig
from pipelines.demo_book_config import DemoBookConfig
from pipelines.monitoring.config import MonitoringConfig
from pipelines.policy import load_policy
from pipelines.promotion import GateConfig
from pipelines.registers.ingest import IngestConfig
from pipelines.scale.cluster import ScaleConfig
from pipelines.serving_config import ServingConfig, load_config
from pipelines.settings import SECTIONS, SettingsError, load_section, raw_section
from pipelines.survival_job import SurvivalTrainConfig
from pipelines.training.configs import load_training_settings
from pipelines.training.splits import TrainConfig
from pipelines.tranches_job import TrancheSettings

CONFIGS = {
    "recovery_arithmetic": RecoveryArithmetic, "serving": ServingConfig, "features": FeatureConfig,
    "collateral": CollateralScoreConfig, "master_scale": MasterScale, "limits": LimitsConfig, "pricing": PricingConfig,
    "decision": DecisionConfig, "explanations": ExplanationConfig, "recovery": RecoveryConfig, "pd_model": PDModelConfig,
    "scorecard": ScorecardConfig, "tranches": TrancheSettings, "train": TrainConfig, "gate": GateConfig,
    "demo_book": DemoBookConfig, "patent_survival": SurvivalTrainConfig, "registers": IngestConfig,
    "risk_directions": DirectionPolicy,
    "monitoring": MonitoringConfig, "scale": ScaleConfig,
}


def test_every_section_has_a_config_and_reads():
    assert set(CONFIGS) == set(SECTIONS)
    for name, cls in CONFIGS.items():
        cfg = load_section(name, cls)
        assert dataclasses.is_dataclass(cfg) and type(cfg).__dataclass_params__.frozen, name


def test_the_shipped_file_states_every_field_of_every_section():
    """Nothing exists as a dataclass field without being read from pipelines/iprisk.yaml."""
    for name, cls in CONFIGS.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = fields - set(raw_section(name))
        if name == "demo_book":
            missing -= {"discount_rate"}  # taken from recovery_arithmetic (one rate for both sides)
        assert not missing, f"section {name} lacks {sorted(missing)}"


def test_pd_model_scorecard_and_explanations_are_read(monkeypatch):
    monkeypatch.setenv("IPRISK__PD_MODEL__NUM_LEAVES", "31")
    monkeypatch.setenv("IPRISK__SCORECARD__PDO", "40")
    monkeypatch.setenv("IPRISK__EXPLANATIONS__TOP_K_REASONS", "2")
    s = load_training_settings()
    assert s.pd_model.num_leaves == 31 and s.scorecard.pdo == 40.0
    assert load_policy().explanations.top_k_reasons == 2


def test_override_parses_yaml_values(monkeypatch):
    monkeypatch.setenv("IPRISK__LIMITS__MAX_EL_RATE", "0.015")
    monkeypatch.setenv("IPRISK__SERVING__VERSIONS", "{iprisk-pd: '3'}")
    monkeypatch.setenv("IPRISK__PD_MODEL__SYNTHETIC_OPS", "[ratio]")
    assert load_section("limits", LimitsConfig).max_el_rate == 0.015
    assert load_config().versions == {"iprisk-pd": "3"}
    assert load_section("pd_model", PDModelConfig).synthetic_ops == ("ratio",)


@pytest.mark.parametrize("var,value,needle", [
    ("IPRISK__LIMITS__MAX_EL_RATE", "lots", "section 'limits', key 'max_el_rate'"),
    ("IPRISK__SERVING__PORT", "http", "expected int"),
    ("IPRISK__SERVING__VERSIONS", "[1, 2]", "key 'versions'"),
    ("IPRISK__PD_MODEL__NUM_LEAVES", "1.5", "key 'num_leaves'"),
])
def test_wrong_types_in_overrides_are_refused(monkeypatch, var, value, needle):
    monkeypatch.setenv(var, value)
    section = var.split("__")[1].lower()
    with pytest.raises(SettingsError) as e:
        load_section(section, CONFIGS[section])
    assert needle in str(e.value) and f"environment {var}" in str(e.value)


def test_unknown_key_in_override_is_refused(monkeypatch):
    monkeypatch.setenv("IPRISK__LIMITS__MAX_EL_RATIO", "0.1")
    with pytest.raises(SettingsError, match=r"section 'limits': unknown key\(s\) max_el_ratio \(environment IPRISK__LIMITS__MAX_EL_RATIO\)"):
        load_section("limits", LimitsConfig)


def test_bad_file_is_refused(tmp_path, monkeypatch):
    f = tmp_path / "s.yaml"
    monkeypatch.setenv("IPRISK_CONFIG", str(f))
    f.write_text("limits:\n  max_el_rate: 0.02\n  max_amount: many\n")
    with pytest.raises(SettingsError, match=rf"section 'limits', key 'max_amount' \(file {f}\): expected float"):
        load_section("limits", LimitsConfig)
    f.write_text("limits:\n  max_el_rate: 0.02\n  typo_key: 1\n")
    with pytest.raises(SettingsError, match=r"unknown key\(s\) typo_key"):
        load_section("limits", LimitsConfig)
    f.write_text("limitz:\n  max_el_rate: 0.02\n")
    with pytest.raises(SettingsError, match=r"unknown section\(s\) \['limitz'\]"):
        load_section("limits", LimitsConfig)
    f.write_text("limits: [1, 2]\n")
    with pytest.raises(SettingsError, match="section 'limits' must be a mapping"):
        load_section("limits", LimitsConfig)


def test_a_config_s_own_check_becomes_a_settings_error(monkeypatch):
    monkeypatch.setenv("IPRISK__EXPLANATIONS__COUNTERFACTUAL_GRID", "1")
    with pytest.raises(SettingsError, match="section 'explanations'.*counterfactual_grid >= 2"):
        load_section("explanations", ExplanationConfig)


def test_frozen_configs_cannot_be_changed():
    cfg = load_section("gate", GateConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.min_auc_gain = 0.5  # type: ignore[misc]
