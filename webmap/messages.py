"""Arabic of the web map's API messages (English template → Arabic template); the page's own
labels are in webmap.i18n."""
from kernel.messages import Catalogue

MESSAGES: Catalogue = {
    "q is required: a name or number to look for": "المعامل q مطلوب: اسم أو رقم للبحث عنه",
    "q is too long (at most {limit} characters)":
        "المعامل q أطول من المسموح ({limit} حرفًا على الأكثر)",
    "q must not contain control characters": "يجب ألا يحتوي المعامل q على محارف تحكّم",
    "lang must be ar or en": "يجب أن تكون قيمة lang إما ar أو en",
    "{name} is given more than once": "المعامل {name} مُرسل أكثر من مرة",
    "limit must be an integer from 1 to {highest}":
        "يجب أن تكون limit عددًا صحيحًا من 1 إلى {highest}",
    "district not found": "الحي غير موجود",
    "no such file": "لا يوجد ملف كهذا",
}
