"""The indicators' domain errors: kernel's kinds (404, 400), their Arabic in messages.py."""
from __future__ import annotations

from indicators.messages import MESSAGES
from kernel.errors import InvalidInput, NotFound
from kernel.messages import merged, render


class _Catalogued:
    """An error whose Arabic is in this package's catalogue as well as the app's."""

    def text(self, language: str, catalogue) -> str:
        """The message in `language`."""
        return render(self.template, self.params, language, merged(catalogue, MESSAGES))


class UnknownIndicator(_Catalogued, NotFound):
    """No indicator of that name in indicators.yml."""


class BadIndicatorQuery(_Catalogued, InvalidInput):
    """A parameter the indicator cannot take (unknown dimension, malformed or future period)."""


class NotAnOffice(_Catalogued, InvalidInput):
    """The caller has no office, so no office's expiry list."""
