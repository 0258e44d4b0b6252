"""Domain errors of the field app, each with its Arabic and English message (read by
kernel.errors.ErrorMap.texts); statuses from the kinds they subclass (400, 404, 409)."""
from kernel.errors import InvalidInput, NotFound
from layers.feature_rules import Conflict


class _Bilingual:
    """An error that carries its own Arabic (`message_ar`; `message` is the English)."""

    message_ar: str = ""

    def text(self, language: str, catalogue) -> str:
        """The message in `language`: its own Arabic, or the English."""
        if language == "ar" and self.message_ar:
            return self.message_ar
        return super().text(language, catalogue)


def _literal(text: str) -> str:
    """A message as a template with no fields."""
    return text.replace("{", "{{").replace("}", "}}")


class InvalidRequest(_Bilingual, InvalidInput):
    """A parameter or body the field API cannot use (the message names it)."""

    def __init__(self, en: str, ar: str):
        """Keep both messages."""
        super().__init__(_literal(en))
        self.message_ar = ar


class LicenceMissing(_Bilingual, NotFound):
    """No licence with that id (or not one this office may assign)."""

    message_ar = "لا توجد رخصة بهذا الرقم يمكنك إسنادها"
    default_message = "no licence with this id that you may assign"


class AssignmentMissing(_Bilingual, NotFound):
    """No open assignment with that id that this caller may withdraw."""

    message_ar = "لا يوجد إسناد مفتوح بهذا الرقم يمكنك سحبه"
    default_message = "no open assignment with this id that you may withdraw"


class AlreadyAssigned(_Bilingual, Conflict):
    """The inspector already has an open assignment of that licence."""

    message_ar = "هذه الرخصة مسندة إلى هذا المفتش ولم تُغلق بعد"
    default_message = "this licence is already assigned to this inspector and still open"
