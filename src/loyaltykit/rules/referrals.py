"""Referral abuse checks: a referee who looks like the referrer is flagged, never paid.

Values are normalized before comparing so that formatting does not hide a match
(``+86 138-1234-5678`` and ``13812345678`` are the same phone).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_NOT_DIGIT = re.compile(r"\D")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Identity:
    customer_id: str
    email: str | None
    phone: str | None
    address: str | None


def normalize_email(value: str | None) -> str:
    if not value:
        return ""
    local, _, domain = value.strip().lower().partition("@")
    if domain in ("gmail.com", "googlemail.com"):
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}" if domain else local


def normalize_phone(value: str | None) -> str:
    digits = _NOT_DIGIT.sub("", value or "")
    if len(digits) > 11 and digits.startswith("86"):
        digits = digits[2:]
    return digits.lstrip("0") if len(digits) > 11 else digits


def normalize_address(value: str | None) -> str:
    text = unicodedata.normalize("NFKC", value or "").casefold()
    return _NOT_WORD.sub("", text)


_NORMALIZERS = {"email": normalize_email, "phone": normalize_phone, "address": normalize_address}


def self_referral_reason(
    referee: Identity, referrer: Identity, checks: Sequence[str]
) -> str | None:
    """Why this referral is a self-referral, or None when it looks genuine."""
    if referee.customer_id == referrer.customer_id:
        return "self_referral: referee used their own referral code"
    for field in checks:
        normalize = _NORMALIZERS[field]
        mine = normalize(getattr(referee, field))
        theirs = normalize(getattr(referrer, field))
        if mine and mine == theirs:
            return f"self_referral: same {field} as the referrer"
    return None
