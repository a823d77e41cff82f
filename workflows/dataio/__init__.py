"""The file layer of imports and exports: open .xlsx / .csv tables as bureaus have them, read their cells,
write exports, errors files and templates. No database, no messaging: callers pass rows in and out."""

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
