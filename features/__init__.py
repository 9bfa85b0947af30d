"""Features: pure functions from the loan book's tables to one feature row per loan.

Public API:
- ``patent_indicators(patents, as_of, cohorts)`` and ``CitationCohorts`` (per-patent indicators);
- ``pledged_patent_indicators(patents, loans, pledges, cohorts)`` (per pledge, at origination);
- ``FeatureBuilder(FeatureConfig())`` with ``fit(tables)`` / ``transform(tables)`` (per loan);
- ``FeatureSpec``, ``feature_specs()``, ``monotone_constraints(names)``, ``features_markdown()``.
"""

from features.loan_frame import FeatureBuilder, FeatureConfig
from features.patent_indicators import CitationCohorts, patent_indicators, pledged_patent_indicators
from features.specs import (
    PATENT_INDICATOR_NAMES,
    FeatureSpec,
    categorical_feature_names,
    feature_specs,
    features_markdown,
    monotone_constraints,
    patent_indicator_specs,
    spec_for,
)

__all__ = [
    "FeatureBuilder", "FeatureConfig", "CitationCohorts", "patent_indicators", "pledged_patent_indicators",
    "PATENT_INDICATOR_NAMES", "FeatureSpec", "categorical_feature_names", "feature_specs", "features_markdown",
    "monotone_constraints", "patent_indicator_specs", "spec_for",
]
