"""Training jobs, each a short sequence of named steps: `train_book` (a loan book: PD, scorecard,
recovery, out of time) and `train_table` (a user's own firm-level table: the PD path).

Steps live in modules named for what they do: `splits`, `evaluation`, `lgd_targets`,
`report_sections`, `mlflow_run`, `gate`, `provenance`, `configs`.
"""

from pipelines.training.book import train_book
from pipelines.training.splits import TrainConfig
from pipelines.training.table import train_table

__all__ = ["TrainConfig", "train_book", "train_table"]
