"""Import responses from a CSV or XLSX file: check every row, then store all of them or none.

The file is read twice as a stream (never held whole in memory): a first pass checks every
row and collects every problem; only a clean file is read again and stored, in one write
transaction, as one ImportBatch.
"""

from app.services.imports.batches import batches, void_batch
from app.services.imports.checks import check_file, refuse_draft
from app.services.imports.problems import ImportRejected, ImportResult, Problem, Progress
from app.services.imports.sources import file_kind
from app.services.imports.store import import_file
from app.services.imports.template import (
    template_columns,
    template_csv,
    template_notes,
    template_notes_csv,
)

__all__ = [
    "refuse_draft",
    "ImportRejected",
    "ImportResult",
    "Problem",
    "Progress",
    "batches",
    "check_file",
    "file_kind",
    "import_file",
    "template_columns",
    "template_csv",
    "template_notes",
    "template_notes_csv",
    "void_batch",
]
