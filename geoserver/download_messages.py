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
}
