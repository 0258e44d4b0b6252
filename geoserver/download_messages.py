"""Arabic of the download and quota messages (geoserver/downloads.py, geoserver/quotas.py)."""
from kernel.messages import Catalogue

DOWNLOADS: Catalogue = {
    "no download {name!r}; formats: {formats}":
        "لا يوجد تنزيل باسم {name!r}؛ الصيغ المتاحة: {formats}",
    "the range starts beyond the end of the file ({size} bytes)":
        "يبدأ النطاق المطلوب بعد نهاية الملف ({size} بايت)",
    "the selection holds more than {budget} features, the budget of a download for this "
    "client; narrow it (bbox, filter, datetime) or download the whole layer from "
    "/downloads/{name}":
        "يضم التحديد أكثر من {budget} معلمًا، وهو الحد المسموح لتنزيل واحد لهذا العميل؛ "
        "ضيّق التحديد (bbox أو filter أو datetime) أو نزّل الطبقة كاملة من /downloads/{name}",
    "too many downloads are being streamed at once; try again in {seconds} s":
        "يجري الآن بث عدد كبير من التنزيلات في وقت واحد؛ أعد المحاولة بعد {seconds} ثانية",
    "quota exceeded: {amount} {kind} per {period} for this client; try again in {seconds} s":
        "تجاوزت الحصة: {amount} من {kind} لكل {period} لهذا العميل؛ أعد المحاولة بعد {seconds} ثانية",
    "days must be an integer from 1 to 366": "يجب أن تكون days عددًا صحيحًا من 1 إلى 366",
    "the body must be a JSON object with name, and optionally role and office":
        "يجب أن يكون متن الطلب كائن JSON فيه name، ويجوز أن يضم role وoffice",
    "invalid name, role or office": "الاسم أو الدور أو المكتب غير صالح",
    "no live key {id!r}": "لا يوجد مفتاح فعّال بالمعرّف {id!r}",
}
