"""Griffe extension: show reStructuredText roles in docstrings as Markdown code.

loyaltykit's docstrings name other objects the Sphinx way (:class:`~loyaltykit.ledger.Ledger`),
which Markdown would print literally. They become inline code of the name a reader would type
(``Ledger`` for a ``~`` reference, the full path otherwise).
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):`(~?)([^`]+)`")


def _plain(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class RstRoles(Extension):
    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_plain, obj.docstring.value)
