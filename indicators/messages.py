"""Arabic of the indicators' client messages (English template → Arabic template)."""
from kernel.messages import Catalogue

MESSAGES: Catalogue = {
    "no indicator {id!r}": "لا يوجد مؤشر باسم {id!r}",
    "unknown parameter {name!r}; the indicator {id} has the dimensions {dimensions}":
        "المعامل {name!r} غير معروف؛ أبعاد المؤشر {id} هي {dimensions}",
    "the indicator {id} has no month dimension, so no period":
        "ليس للمؤشر {id} بُعد شهري، فلا يقبل period",
    "period must be a month written YYYY-MM, got {value!r}":
        "يجب أن تكون period شهرًا بالصيغة YYYY-MM، والمُرسل {value!r}",
    "period {value} is in the future": "الفترة {value} في المستقبل",
    "{name} is given more than once": "أُرسل {name} أكثر من مرة",
    "{name} is too long or holds a control character":
        "{name} أطول من المسموح أو يحتوي على محرف تحكم",
    "format must be json, csv or geojson, got {value!r}":
        "يجب أن تكون الصيغة json أو csv أو geojson، والمُرسل {value!r}",
    "licences expiring within 30, 60 or 90 days only, got {value!r}":
        "الرخص التي تنتهي خلال 30 أو 60 أو 90 يومًا فقط، والمُرسل {value!r}",
    "this list is for an office: sign in with an office account":
        "هذه القائمة لمكتب هندسي: سجّل الدخول بحساب مكتب",
}
