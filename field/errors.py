"""Domain errors of the field app, each with its Arabic and English message (read by
kernel.errors.ErrorMap.texts); statuses from the kinds they subclass (400, 404, 409)."""
from kernel.errors import Bilingual, InvalidInput, NotFound, literal
from layers.feature_rules import Conflict


class InvalidRequest(Bilingual, InvalidInput):
    """A parameter or body the field API cannot use (the message names it)."""

    def __init__(self, en: str, ar: str):
        """Keep both messages."""
        super().__init__(literal(en))
        self.message_ar = ar


class LicenceMissing(Bilingual, NotFound):
    """No licence with that id (or not one this office may assign)."""

    message_ar = "لا توجد رخصة بهذا الرقم يمكنك إسنادها"
    default_message = "no licence with this id that you may assign"


class AssignmentMissing(Bilingual, NotFound):
    """No open assignment with that id that this caller may withdraw."""

    message_ar = "لا يوجد إسناد مفتوح بهذا الرقم يمكنك سحبه"
    default_message = "no open assignment with this id that you may withdraw"


class AlreadyAssigned(Bilingual, Conflict):
    """The inspector already has an open assignment of that licence."""

    message_ar = "هذه الرخصة مسندة إلى هذا المفتش ولم تُغلق بعد"
    default_message = "this licence is already assigned to this inspector and still open"
