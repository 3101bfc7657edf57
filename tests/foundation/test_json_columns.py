"""JSON columns are written with orjson: what the standard library wrote must still be written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.db import json_dumps


def test_json_columns_write_what_the_standard_library_wrote() -> None:
    value = {"score": np.float64(0.25), "count": True, 3: "三", "nested": [(1, 2), {"词": "补办"}]}
    written = json_dumps(value)
    assert json.loads(written) == json.loads(json.dumps(value))
    assert "补办" in written  # readable Chinese, not escaped code points


def test_unserialisable_values_still_fail() -> None:
    with pytest.raises(TypeError):
        json_dumps({"when": object()})
