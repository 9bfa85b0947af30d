"""BentoML's import target: `bentoml serve serving.entry:IpriskService`.

BentoML starts each worker by importing a module attribute, so this is the one place where a
service is built at import: from the frozen `ServingConfig` that `iprisk serve` passes as JSON in
`IPRISK_SERVING_CONFIG`, or, when started by hand, from the settings file (`serving` section).
"""

from __future__ import annotations

import os

from pipelines.serving_config import CONFIG_ENV, ServingConfig, load_config
from serving.service import build_service


def config_from_environment() -> ServingConfig:
    text = os.environ.get(CONFIG_ENV)
    return ServingConfig.from_json(text) if text else load_config().resolved()


IpriskService = build_service(config_from_environment())
