"""Domain errors of the data layer, and how the edge answers them (merged by create_app)."""
from kernel.errors import ErrorKind, ErrorTable, InvalidInput
from layers.editing import PreconditionFailed, PreconditionRequired
from layers.feature_rules import Conflict, FeatureMissing, InvalidFeature, NotAllowed


class InvalidQuery(InvalidInput):
    """A client value that cannot be used (the message names it; no database text)."""


ERRORS: ErrorTable = {
    InvalidFeature: ErrorKind(400, "InvalidParameterValue", "لا يمكن حفظ المعلم كما أُرسل",
                              "The feature cannot be written as sent"),
    NotAllowed: ErrorKind(403, "Forbidden", "غير مسموح لك بهذا التعديل",
                          "You may not make this change"),
    FeatureMissing: ErrorKind(404, "NotFound", "المعلم غير موجود", "No such feature"),
    Conflict: ErrorKind(409, "Conflict", "التعديل يتعارض مع المحفوظ",
                        "The change conflicts with what is stored"),
    PreconditionFailed: ErrorKind(412, "PreconditionFailed", "تغيّر المعلم منذ قراءتك له",
                                  "The feature changed since you read it"),
    PreconditionRequired: ErrorKind(428, "PreconditionRequired", "أرسل If-Match مع التعديل",
                                    "Send If-Match with the change"),
}
