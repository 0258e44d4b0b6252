"""Arabic of the panoramas' client messages (English template → Arabic template)."""
from kernel.messages import Catalogue

MESSAGES: Catalogue = {
    "'after' is later than 'before'": "قيمة 'after' لاحقة لقيمة 'before'",
    "panorama not found": "الصورة البانورامية غير موجودة",
    "no panorama within the radius": "لا توجد صورة بانورامية ضمن نصف القطر",
    "panorama image not found": "ملف الصورة البانورامية غير موجود",
}
