"""`iprisk tranches` in-process: JSON fields, plots, stress, and bad inputs (non-zero exit, nothing written)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cli.main import main


def _pool_frame(n: int = 120, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "loan_id": [f"L{i:06d}" for i in range(n)],
        "exposure_at_default": rng.lognormal(14, 0.7, n).round(0),
        "probability_of_default": rng.uniform(0.01, 0.08, n).round(4),
        "loss_given_default": rng.uniform(0.4, 0.8, n).round(3),
        "lgd_volatility": 0.1,
        "sector": rng.choice(["biotech", "software", "hardware"], n),
        "region": "beijing",
    })


@pytest.fixture(scope="module")
def pool_csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("pool") / "pool.csv"
    _pool_frame().to_csv(p, index=False)
    return p


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return (e.value.code or 0), out.out, out.err


def test_json_with_given_tranches(pool_csv, capsys):
    code, out, _ = run(["tranches", "--pool", str(pool_csv), "--method", "lhp", "--correlation", "0.15",
                        "--tranches", "0,0.03,0.07,1", "--coupons", "0.2,0.07,0.03", "--json"], capsys)
    assert code == 0
    d = json.loads(out)
    assert d["method"] == "lhp" and 0 < d["expected_loss"] < 0.08
    assert [(t["attachment"], t["detachment"]) for t in d["tranches"]] == [(0.07, 1.0), (0.03, 0.07), (0.0, 0.03)]
    els = [t["expected_loss"] for t in d["tranches"]]
    assert els == sorted(els)  # seniors lose less
    assert d["settings"]["correlation"]["asset_correlation"] == 0.15


def test_targets_parquet_plot_and_stress(tmp_path, capsys):
    pq = tmp_path / "pool.parquet"
    _pool_frame(seed=9).to_parquet(pq)
    plot = tmp_path / "tranches.png"
    code, out, _ = run(["tranches", "--pool", str(pq), "--json", "--stress", "--compensation-share", "0.4",
                        "--compensation-cap", "0.05", "--plot", str(plot)], capsys)
    assert code == 0
    d = json.loads(out)
    assert [t["name"] for t in d["tranches"]] == ["senior", "mezzanine", "first_loss"]
    assert all(t["meets_target"] for t in d["tranches"][:2])
    assert len(d["scenarios"]) == 5 and all(s["expected_loss"] > d["expected_loss"] for s in d["scenarios"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_monte_carlo_table_and_html(pool_csv, tmp_path, capsys):
    html = tmp_path / "t.html"
    code, out, _ = run(["tranches", "--pool", str(pool_csv), "--method", "mc", "--paths", "4000", "--seed", "3",
                        "--tranches", "0,0.05,1", "--plot", str(html)], capsys)
    assert code == 0 and "senior" in out and "first_loss" in out
    assert "<img" in html.read_text()


@pytest.mark.parametrize("change,args,message", [
    ("empty", [], "empty"),
    ("pd", [], "probability_of_default"),
    ("ead", [], "exposure_at_default"),
    (None, ["--tranches", "0,0.07,0.03,1"], "increasing"),
    (None, ["--tranches", "0,0.5,1.5"], "[0, 1]"),
    (None, ["--correlation", "1.0"], "correlation"),
    (None, ["--method", "mc", "--paths", "1000000000"], "memory"),
    (None, ["--targets", "UNMEETABLE"], "no tranche"),
    (None, ["--plot", "out.pdf"], ".png or .html"),
])
def test_bad_input_exits_nonzero_and_writes_nothing(tmp_path, capsys, change, args, message):
    df = _pool_frame(30)
    if change == "empty":
        df = df.iloc[:0]
    elif change == "pd":
        df.loc[3, "probability_of_default"] = 1.5
    elif change == "ead":
        df.loc[5, "exposure_at_default"] = -10.0
    src = tmp_path / "pool.csv"
    df.to_csv(src, index=False)
    if "UNMEETABLE" in args:
        t = tmp_path / "targets.yaml"
        t.write_text("classes:\n  - {name: senior, basis: probability_of_loss, target: 0.001}\n"
                     "  - {name: equity, basis: expected_loss, target: 0.0001}\n")
        args = ["--targets", str(t)]
    args = [str(tmp_path / a) if a == "out.pdf" else a for a in args]
    plot = tmp_path / "plot.png"
    extra = [] if "--plot" in args else ["--plot", str(plot)]
    code, out, err = run(["tranches", "--pool", str(src), *args, *extra], capsys)
    assert code != 0
    assert message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["pool.csv"] + (["targets.yaml"] if "targets.yaml" in str(args) else []))
    assert out == ""


def test_pool_and_book_are_exclusive(pool_csv, tmp_path, capsys):
    code, _, err = run(["tranches", "--pool", str(pool_csv), "--book", str(tmp_path)], capsys)
    assert code != 0 and "either --pool" in err


@pytest.mark.slow
@pytest.mark.xdist_group("registry")
def test_book_pool_comes_from_champion_models(trained, capsys):
    code, out, err = run(["tranches", "--book", str(trained["book"]), "--method", "lhp", "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert d["pool"]["loans"] > 1000 and 0 < d["expected_loss"] < 1
