"""The file layer of imports and exports: open .xlsx / .csv tables as bureaus have them, read their cells,
write exports, errors files and templates. No database, no messaging: callers pass rows in and out."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.dataio.read import Table, UnsupportedFile, open_table
    from workflows.dataio.values import (
        cell_text,
        normalise_header,
        parse_date,
        parse_datetime,
        parse_decimal,
        parse_int,
    )
    from workflows.dataio.write import (
        Sheet,
        TemplateColumn,
        table_bytes,
        write_csv,
        write_errors_file,
        write_table,
        write_template,
        write_xlsx,
    )

# Loaded on first use (PEP 562): openpyxl pulls in numpy and Pillow (~70 MiB), which a chat process that
# never reads or writes a workbook should not carry. `from workflows.dataio import open_table` still works.
_HOME = {
    "Table": "read",
    "UnsupportedFile": "read",
    "open_table": "read",
    "cell_text": "values",
    "normalise_header": "values",
    "parse_date": "values",
    "parse_datetime": "values",
    "parse_decimal": "values",
    "parse_int": "values",
    "Sheet": "write",
    "TemplateColumn": "write",
    "table_bytes": "write",
    "write_csv": "write",
    "write_errors_file": "write",
    "write_table": "write",
    "write_template": "write",
    "write_xlsx": "write",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "Sheet",
    "Table",
    "TemplateColumn",
    "UnsupportedFile",
    "cell_text",
    "normalise_header",
    "open_table",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_int",
    "table_bytes",
    "write_csv",
    "write_errors_file",
    "write_table",
    "write_template",
    "write_xlsx",
]
