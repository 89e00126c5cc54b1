"""What a file really is (CSV text or an xlsx workbook) and which encoding its text uses.

Seller-center CSVs are GBK (decoded as GB18030, its superset); copies re-saved by editors
or written by scripts are UTF-8, often with a BOM. The decision is made from the bytes,
never from the file name, and can be overridden by the caller.
"""

from __future__ import annotations

import codecs
import enum
from pathlib import Path

from loyaltykit.errors import InputError, InputProblem

SAMPLE_BYTES = 1 << 20
GB18030 = "gb18030"
UTF8 = "utf-8"
UTF8_SIG = "utf-8-sig"
ENCODING_CHOICES = ("auto", GB18030, "gbk", UTF8, UTF8_SIG)

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and other Office 97 files
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class Format(str, enum.Enum):
    CSV = "csv"
    XLSX = "xlsx"


def detect_format(path: Path) -> Format:
    """CSV or xlsx from the first bytes; refuse what cannot be read and say what to do."""
    name = path.name
    with path.open("rb") as handle:
        head = handle.read(8)
    suffix = path.suffix.lower()
    if not head.strip():
        raise InputError([InputProblem(name, 1, None, "the file is empty",
                                       "download the report again from the seller center")])
    if head.startswith(_ZIP):
        if suffix in (".csv", ".txt"):
            raise InputError([InputProblem(
                name, 1, None, f"the file is an Excel workbook (xlsx) but is named {suffix}",
                "rename it to .xlsx so it is read as a workbook")])
        return Format.XLSX
    if head.startswith(_OLE2):
        raise InputError([InputProblem(
            name, 1, None, "the file is an old binary Excel workbook (.xls), which cannot be"
            " read", "open it in Excel or WPS and save it as .xlsx or as CSV")])
    if suffix in (".xlsx", ".xlsm"):
        raise InputError([InputProblem(
            name, 1, None, f"the file is named {suffix} but is not an Excel workbook",
            "if it is a CSV export, rename it to .csv")])
    return Format.CSV


def sniff_encoding(path: Path, requested: str = "auto") -> str:
    """The codec to decode a CSV with.

    A BOM decides; otherwise the header line (Chinese in every report) is tried as strict
    UTF-8, since GBK text is practically never valid UTF-8, and anything else is GB18030.
    An ASCII header (the referral list) lets the first megabyte decide the same way, and
    pure ASCII is read as UTF-8 so that stray GBK bytes later fail loudly at their line
    instead of turning into garbage.
    """
    requested = requested.lower()
    if requested not in ENCODING_CHOICES:
        raise ValueError(f"unknown encoding {requested!r}; choose one of "
                         + ", ".join(ENCODING_CHOICES))
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if sample.startswith(_UTF16_BOMS):
        raise InputError([InputProblem(
            path.name, 1, None, "the file is UTF-16 text (Excel's 'Unicode text')",
            "save it as 'CSV UTF-8' or as .xlsx instead")])
    if requested == "gbk":
        return GB18030
    if requested != "auto":
        return UTF8_SIG if requested == UTF8 and sample.startswith(codecs.BOM_UTF8) else requested
    if sample.startswith(codecs.BOM_UTF8):
        return UTF8_SIG
    header = sample.split(b"\n", 1)[0]
    if not header.isascii():
        # Report headers are Chinese, so the header line alone decides; a later line in
        # another encoding then fails loudly at its own line instead of skewing the guess.
        return UTF8 if _is_utf8(header, final=b"\n" in sample) else GB18030
    return UTF8 if _is_utf8(sample, final=len(sample) < SAMPLE_BYTES) else GB18030


def _is_utf8(data: bytes, *, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(UTF8)().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True
