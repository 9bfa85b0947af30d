"""The registry and the promotion gate fail safe: a registry that does not answer, or a champion
that cannot be loaded or re-scored, stops the run, leaves the champion alias where it was and
deletes what the run registered. Faults are injected at every registry call the gate makes."""

from __future__ import annotations

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from data_contracts.errors import ModelError, RegistryError
from pipelines import registry, tracking
from pipelines.promotion import GateConfig
from pipelines.training.gate import register_and_gate

KINDS = ("pd", "scorecard")


class _Est:
    feature_names_ = ["x"]

    def __init__(self, shift: float):
        self.shift = shift

    def predict_pd(self, X):
        return np.clip(X["x"].to_numpy(float) + self.shift, 0, 1)


class TinyModel(mlflow.pyfunc.PythonModel):
    def __init__(self, shift: float):
        self.pd_model = self.scorecard = _Est(shift)

    def predict(self, context, model_input, params=None):  # noqa: ARG002
        return pd.DataFrame({"probability_of_default": self.pd_model.predict_pd(model_input)})


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """One registry per test module and one logged pair of models, registered anew by each test
    under its own names (logging is the slow part)."""
    tmp = tmp_path_factory.mktemp("registry")
    mp = pytest.MonkeyPatch()
    mp.setenv("IPRISK_HOME", str(tmp))
    exp = tracking.connect(f"sqlite:///{tmp / 'mlruns.db'}")
    with mlflow.start_run(experiment_id=exp):
        uris = {k: mlflow.pyfunc.log_model(name=f"{k}_model", python_model=TinyModel(0.0)).model_uri for k in KINDS}
    yield uris
    mp.undo()


@pytest.fixture
def reg(logged, request):
    """Model names of this test (kind → name) and the logged URIs."""
    tag = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:60]
    names = {k: f"{tag}-{k}" for k in KINDS}
    return {"uris": logged, "names": names, "pd": names["pd"]}


GOOD = {"pd.auc": 0.80, "pd.jeffreys_pass_share": 1.0, "pd.mean_pd_in_interval": 1.0,
        "scorecard.auc": 0.80, "scorecard.jeffreys_pass_share": 1.0, "scorecard.mean_pd_in_interval": 1.0}
BETTER = {k: (0.9 if k.endswith("auc") else v) for k, v in GOOD.items()}


def _champ_metrics(auc: float = 0.8):
    return lambda kind, wrapper: {"auc": auc}


def _gate(reg, metrics, champion_metrics=None):
    return register_and_gate(reg["uris"], reg["names"], {}, metrics, champion_metrics or _champ_metrics(), GateConfig())


def _state(reg):
    return {n: (registry.alias_version(n), registry.alias_version(n, registry.CHALLENGER),
                sorted(int(v.version) for v in MlflowClient().search_model_versions(f"name='{n}'")))
            for n in reg["names"].values()}


def test_alias_lookup_tells_missing_from_error(reg, monkeypatch):
    assert registry.alias_version("no-such-model") is None
    MlflowClient().create_registered_model(reg["pd"] + "-empty")
    assert registry.alias_version(reg["pd"] + "-empty") is None
    versions, decisions = _gate(reg, GOOD)
    assert [d.decision for d in decisions] == ["promoted", "promoted"]
    assert registry.alias_version(reg["pd"]) == versions["pd"]

    def down(*a, **k):
        raise MlflowException("connection refused", error_code="INTERNAL_ERROR")

    monkeypatch.setattr(MlflowClient, "get_registered_model", down)
    with pytest.raises(RegistryError, match=r"get_registered_model\('.*-pd'\) failed"):
        registry.alias_version(reg["pd"])


def test_first_model_is_promoted_and_a_better_one_replaces_it(reg):
    _gate(reg, GOOD)
    before = _state(reg)
    versions, decisions = _gate(reg, BETTER)
    assert [d.decision for d in decisions] == ["promoted", "promoted"]
    assert registry.alias_version(reg["pd"]) == versions["pd"] != before[reg["pd"]][0]


FAULTS = [
    ("get_registered_model", MlflowClient, 1),   # champion lookup
    ("get_model_version", MlflowClient, 1),      # loading the champion
    ("set_model_version_tag", MlflowClient, 3),  # applying the second verdict
    ("set_registered_model_alias", MlflowClient, 1),
]


@pytest.mark.parametrize("method,owner,after", FAULTS, ids=[f[0] for f in FAULTS])
def test_registry_hiccup_at_any_step_leaves_the_champion(reg, monkeypatch, method, owner, after):
    """The registry fails once, at call `after + 1` of `method`: the run stops naming the call,
    aliases are as they were and the run's versions are deleted."""
    _gate(reg, GOOD)
    before = _state(reg)
    real = getattr(owner, method)
    calls = {"n": 0}

    def flaky(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == after + 1:
            raise MlflowException("registry unavailable", error_code="INTERNAL_ERROR")
        return real(self, *a, **k)

    monkeypatch.setattr(owner, method, flaky)
    with pytest.raises(RegistryError, match=method):
        _gate(reg, BETTER)
    monkeypatch.setattr(owner, method, real)
    assert _state(reg) == before


def test_registry_down_for_good_never_moves_the_champion(reg, monkeypatch):
    """The registry stops answering alias lookups for good: nothing is promoted, and the error says
    what may be left behind."""
    _gate(reg, GOOD)
    before = _state(reg)

    def down(self, *a, **k):
        raise MlflowException("registry unavailable", error_code="INTERNAL_ERROR")

    monkeypatch.setattr(MlflowClient, "get_registered_model", down)
    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", down)
    with pytest.raises(RegistryError) as e:
        _gate(reg, BETTER)
    monkeypatch.undo()
    after = _state(reg)
    assert {n: a[:2] for n, a in after.items()} == {n: b[:2] for n, b in before.items()}  # aliases untouched
    assert "get_registered_model" in str(e.value)


def test_registration_failure_registers_nothing(reg, monkeypatch):
    _gate(reg, GOOD)
    before = _state(reg)
    real = mlflow.register_model
    calls = {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise MlflowException("disk full", error_code="INTERNAL_ERROR")
        return real(*a, **k)

    monkeypatch.setattr(mlflow, "register_model", flaky)
    with pytest.raises(RegistryError, match="nothing registered"):
        _gate(reg, BETTER)
    assert _state(reg) == before


def test_champion_artefact_missing_stops_the_gate(reg, monkeypatch):
    _gate(reg, GOOD)
    before = _state(reg)
    real = mlflow.pyfunc.load_model

    def gone(uri, *a, **k):
        raise OSError(f"No such file or directory: artefact of {uri}")

    monkeypatch.setattr(mlflow.pyfunc, "load_model", gone)
    with pytest.raises(RegistryError, match=r"-pd' v1 cannot be loaded"):
        _gate(reg, BETTER)
    monkeypatch.setattr(mlflow.pyfunc, "load_model", real)
    assert _state(reg) == before


def test_champion_that_cannot_be_rescored_stops_the_gate(reg):
    _gate(reg, GOOD)
    before = _state(reg)

    def broken(kind, wrapper):
        raise KeyError("feature 'x_new' missing from the champion's builder")

    with pytest.raises(ModelError, match="champion .*-pd v1 could not be re-scored"):
        _gate(reg, BETTER, broken)
    assert _state(reg) == before


def test_rejected_challenger_becomes_challenger_not_champion(reg):
    _gate(reg, GOOD)
    versions, decisions = _gate(reg, GOOD, _champ_metrics(0.85))
    assert [d.decision for d in decisions] == ["rejected", "rejected"]
    assert registry.alias_version(reg["pd"]) == "1"
    assert registry.alias_version(reg["pd"], registry.CHALLENGER) == versions["pd"]


def test_load_wrapper_names_the_missing_version(reg):
    with pytest.raises(RegistryError, match="model 'nope' has no version 'champion'"):
        registry.load_wrapper("nope")
    _gate(reg, GOOD)
    with pytest.raises(RegistryError, match="has no version '9'"):
        registry.load_wrapper(reg["pd"], "9")
    wrapper, version = registry.load_wrapper(reg["pd"])
    assert version == "1" and wrapper.pd_model.predict_pd(pd.DataFrame({"x": [0.3]}))[0] == pytest.approx(0.3)
