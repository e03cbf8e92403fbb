"""Tidy tables: rows are small frozen dataclasses; these helpers turn them into dicts and CSV files.

pandas is not required; where it is installed, ``pandas.DataFrame(records(rows))`` gives a data frame.

Examples
--------
>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Row:
...     layer: str
...     value: float
>>> records([Row("pool1", 0.5)])
[{'layer': 'pool1', 'value': 0.5}]
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import AuralisationError
from ..fileio import atomic_path

__all__ = ["records", "write_csv"]


def records(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Rows (dataclass instances or mappings) as a list of plain dicts, in order."""
    out = []
    for row in rows:
        if dataclasses.is_dataclass(row) and not isinstance(row, type):
            out.append(dataclasses.asdict(row))
        elif isinstance(row, Mapping):
            out.append(dict(row))
        else:
            raise AuralisationError(f"a table row must be a dataclass instance or a mapping, got {type(row).__name__}")
    return out


def write_csv(rows: Iterable[Any], path: str | os.PathLike[str]) -> Path:
    """Write rows as a CSV file with a header (atomically); return the path.

    Every row must have the same fields as the first. An empty table raises, since it has no header to write.
    """
    table = records(rows)
    if not table:
        raise AuralisationError(f"nothing to write to {path}: the table is empty")
    fields = list(table[0])
    for index, row in enumerate(table):
        if list(row) != fields:
            raise AuralisationError(f"row {index} of the table for {path} has fields {list(row)}, expected {fields}")
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(table)
    return Path(path)
