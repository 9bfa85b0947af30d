"""The settings a training run reads, each from its section of `pipelines/iprisk.yaml`."""

from __future__ import annotations

from dataclasses import dataclass

from features import FeatureConfig
from models.decision import MasterScale
from models.direction_evidence import DirectionPolicy
from models.pd_model import PDModelConfig
from models.recovery import RecoveryConfig
from models.scorecard import ScorecardConfig
from pipelines.promotion import GateConfig
from pipelines.settings import load_section, recovery_discount_rate
from pipelines.training.splits import TrainConfig


@dataclass(frozen=True)
class TrainingSettings:
    """Sections train, gate, master_scale, features, pd_model, scorecard, recovery, the
    recoveries' discount rate (recovery_arithmetic) and which risk directions are enforced
    (risk_directions)."""

    train: TrainConfig
    gate: GateConfig
    master_scale: MasterScale
    features: FeatureConfig
    pd_model: PDModelConfig
    scorecard: ScorecardConfig
    recovery: RecoveryConfig
    discount_rate: float
    directions: DirectionPolicy


def load_training_settings() -> TrainingSettings:
    return TrainingSettings(
        train=load_section("train", TrainConfig),
        gate=load_section("gate", GateConfig),
        master_scale=load_section("master_scale", MasterScale),
        features=load_section("features", FeatureConfig),
        pd_model=load_section("pd_model", PDModelConfig),
        scorecard=load_section("scorecard", ScorecardConfig),
        recovery=load_section("recovery", RecoveryConfig),
        discount_rate=recovery_discount_rate(),
        directions=load_section("risk_directions", DirectionPolicy),
    )
