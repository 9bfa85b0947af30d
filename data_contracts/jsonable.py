"""One conversion of values to plain JSON, used wherever records, violations, decisions or reports
leave the process (CLI JSON, HTTP bodies, audit log, report files)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd


def jsonable(v: Any) -> Any:
    """Plain JSON values, recursively: numpy/pandas scalars → Python, dates → ISO strings (a date
    when the time is midnight), NaN/inf/NA/NaT → None, frames → lists of records, arrays → lists;
    anything else → its `str`."""
    if v is None or isinstance(v, (str, bool, int)) and not isinstance(v, np.generic):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return jsonable(v.tolist())
    if isinstance(v, pd.DataFrame):
        return jsonable(v.to_dict(orient="records"))
    if isinstance(v, pd.Series):
        return jsonable(v.to_dict())
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, datetime):
        return v.date().isoformat() if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0) else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, np.generic):
        return jsonable(v.item())
    return str(v)
