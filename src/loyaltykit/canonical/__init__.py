"""Canonical shop files: the plain CSV input any shop can produce, whatever its platform.

An import is all-or-nothing. :func:`read_shop_files` first reads every file completely and
collects every problem it finds (up to :data:`MAX_PROBLEMS`), each naming file, line, field and
the fix; only a clean set of files gives a :class:`ShopFiles`, whose :meth:`ShopFiles.events`
then streams the normalized events. The format is documented in ``docs/input-files.md``.

Speed matters (a large shop has millions of orders), so rows are plain ``csv.reader`` lists read
by column index, and values are parsed by C-implemented parsers (``datetime.fromisoformat``,
``Decimal``) instead of per-row regexes or models.

The modules follow the data: :mod:`~loyaltykit.canonical.columns` (the files' columns and the
parsers of their values), :mod:`~loyaltykit.canonical.tables` (one file: header, rows,
problems), :mod:`~loyaltykit.canonical.validation` (row and cross-file checks),
:mod:`~loyaltykit.canonical.stream` (reading and the event stream) and
:mod:`~loyaltykit.canonical.writer`. Import from this package; the modules are internal.
"""

from loyaltykit.canonical.stream import MAX_PROBLEMS, ShopFiles, SourcedEvent, read_shop_files
from loyaltykit.canonical.validation import KnownEntities, KnownRefunds
from loyaltykit.canonical.writer import ShopWriter, write_shop_files

__all__ = [
    "MAX_PROBLEMS", "KnownEntities", "KnownRefunds", "ShopFiles", "ShopWriter", "SourcedEvent",
    "read_shop_files", "write_shop_files",
]
