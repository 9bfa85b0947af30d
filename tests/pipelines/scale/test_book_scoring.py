"""A book scored partition by partition (here, or on a local Dask cluster) equals the
single-process path row for row; the manifest comes last and only for a complete run; a worker
that dies is replaced, a partition that keeps killing workers fails the job clearly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.errors import ClusterError, InputError
from pipelines.batch_scoring import score_tables
from pipelines.scale.book_scoring import MANIFEST, frame_checksum, input_fingerprint, read_scores, score_book
from pipelines.scale.cluster import ScaleConfig, Scheduler, parse_scheduler

PARTS = ScaleConfig(partition_loans=900)


@pytest.fixture(scope="module")
def reference(bundle, book_tables):
    """Today's single-process scores of the whole book."""
    return score_tables(bundle, book_tables)


def _same_rows(out: Path, reference: pd.DataFrame, manifest: dict) -> None:
    got = read_scores(out)
    assert manifest["output_checksum"] == frame_checksum(reference)
    pd.testing.assert_frame_equal(got, reference, check_dtype=False)


def test_partitions_in_process_equal_the_single_process_path(bundle, book_tables, reference, trained, tmp_path):
    out = tmp_path / "scores"
    man = score_book(book_tables, bundle, out, Scheduler("process"), PARTS, input_info=input_fingerprint(trained["book"]))
    assert len(man["partitions"]) == -(-len(reference) // 900) and man["rows"] == len(reference)
    assert man["model_versions"] == {str(k): str(v) for k, v in bundle.versions.items()} and man["complete"] is True
    assert man["input"]["sha256"] == input_fingerprint(trained["book"])["sha256"] and len(man["input"]["files"]) == 4
    assert json.loads((out / MANIFEST).read_text()) == man
    _same_rows(out, reference, man)


def test_incomplete_or_foreign_output_is_refused(bundle, book_tables, tmp_path):
    out = tmp_path / "scores"
    score_book(book_tables, bundle, out, Scheduler("process"), ScaleConfig(partition_loans=2000), reasons=0)
    (out / MANIFEST).unlink()
    with pytest.raises(InputError, match="did not complete"):
        read_scores(out)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match="notes.txt"):
        score_book(book_tables, bundle, other, Scheduler("process"), PARTS)
    assert (other / "notes.txt").read_text() == "keep"


@pytest.mark.parametrize("text,expected", [("process", "process"), ("local:3", "local:3"), ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786")])
def test_scheduler_strings(text, expected):
    assert str(parse_scheduler(text)) == expected


@pytest.mark.parametrize("text", ["local:0", "local:x", "yarn", "tcp://"])
def test_bad_scheduler_names_the_option(text):
    with pytest.raises(ClusterError, match="--scheduler"):
        parse_scheduler(text)


class DyingBundle:
    """The real bundle, except that scoring kills the worker process: once (a marker file records
    it) or every time."""

    def __init__(self, bundle, marker: str, always: bool):
        self.bundle, self.marker, self.always = bundle, marker, always

    def __getattr__(self, name):
        if name.startswith("__") or "bundle" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.bundle, name)

    def evaluate(self, tables, **kw):
        if self.always or not os.path.exists(self.marker):
            Path(self.marker).touch()
            os._exit(1)
        return self.bundle.evaluate(tables, **kw)


@pytest.mark.slow
def test_on_a_local_cluster_equal_rows_and_a_dead_worker_is_replaced(cluster, bundle, book_tables, reference, tmp_path):
    out = tmp_path / "scores"
    man = score_book(book_tables, bundle, out, Scheduler("local", 2), PARTS, client=cluster)
    assert man["workers"] == 2
    _same_rows(out, reference, man)

    out2 = tmp_path / "after-a-death"
    man2 = score_book(book_tables, DyingBundle(bundle, str(tmp_path / "died"), always=False), out2, Scheduler("local", 2),
                      PARTS, client=cluster)
    assert (tmp_path / "died").exists()
    _same_rows(out2, reference, man2)


@pytest.mark.slow
def test_a_partition_that_keeps_killing_workers_fails_without_a_manifest(doomed_cluster, bundle, book_tables, tmp_path):
    out = tmp_path / "scores"
    with pytest.raises(ClusterError, match=r"partition \d+ \(loans .*no manifest written"):
        score_book(book_tables, DyingBundle(bundle, str(tmp_path / "died"), always=True), out, Scheduler("local", 2),
                   ScaleConfig(partition_loans=900, allowed_failures=1), client=doomed_cluster)
    assert not (out / MANIFEST).exists()
    with pytest.raises(InputError, match="did not complete"):
        read_scores(out)


@pytest.mark.slow
def test_score_command_on_a_running_scheduler(cluster, trained, reference, tmp_path, capsys):
    from cli.main import main

    out = tmp_path / "scores"
    with pytest.raises(SystemExit) as e:
        main(["score", "--input", str(trained["book"]), "--out", str(out), "--scheduler", cluster.scheduler.address])
    assert (e.value.code or 0) == 0, capsys.readouterr().err
    man = json.loads((out / MANIFEST).read_text())
    assert man["rows"] == len(reference) and man["output_checksum"] == frame_checksum(reference)
    with pytest.raises(SystemExit) as e:
        main(["score", "--input", str(trained["book"]), "--out", str(tmp_path / "x.parquet"), "--scheduler", "local:2"])
    assert e.value.code == 2 and "writes a folder" in capsys.readouterr().err
