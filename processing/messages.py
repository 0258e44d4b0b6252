"""Arabic of the permit checks' client messages (English template → Arabic template):
inputs, jobs, results and certificates."""
import functools

from kernel import errors as kernel_errors
from kernel.messages import Catalogue, Reader, merged
from layers import messages as layer_messages

INPUTS: Catalogue = {
    "'inputs' must be a JSON object": "يجب أن تكون 'inputs' كائن JSON",
    "give exactly one of: {options}": "أرسل واحدًا فقط من: {options}",
    "give either footprint or footprint_area_m2, not both":
        "أرسل footprint أو footprint_area_m2، لا كليهما",
    "unknown input: {name!r}": "مُدخل غير معروف: {name!r}",
    "input '{name}' is required": "المُدخل '{name}' مطلوب",
    "input '{name}' must be at least {limit}": "يجب ألا يقل المُدخل '{name}' عن {limit}",
    "input '{name}' must be more than {limit}": "يجب أن يزيد المُدخل '{name}' على {limit}",
    "input '{name}' must be at most {limit}": "يجب ألا يزيد المُدخل '{name}' على {limit}",
    "input '{name}' must be less than {limit}": "يجب أن يقل المُدخل '{name}' عن {limit}",
    "input '{name}' must have at least {limit} characters":
        "يجب ألا يقل طول المُدخل '{name}' عن {limit} حرفًا",
    "input '{name}' may have at most {limit} characters":
        "لا يجوز أن يتجاوز طول المُدخل '{name}' {limit} حرفًا",
    "input '{name}' must have at least {limit} items":
        "يجب ألا يقل عدد عناصر المُدخل '{name}' عن {limit}",
    "input '{name}' may have at most {limit} items":
        "لا يجوز أن يتجاوز عدد عناصر المُدخل '{name}' {limit}",
    "input '{name}' must be of type {kind}": "يجب أن يكون المُدخل '{name}' من النوع {kind}",
    "input '{name}' must be one of {choices}": "يجب أن يكون المُدخل '{name}' إحدى القيم {choices}",
    "input '{name}' is not valid": "المُدخل '{name}' غير صالح",
    "'{name}' is not a GeoJSON geometry": "'{name}' ليس شكلًا هندسيًا بصيغة GeoJSON",
    "'{name}' has too many vertices (at most {limit})":
        "'{name}' فيه رؤوس أكثر من المسموح ({limit} على الأكثر)",
    "'{name}' is empty": "'{name}' فارغ",
    "'{name}' is not a valid geometry ({reason})": "'{name}' ليس شكلًا هندسيًا صالحًا ({reason})",
    "'{name}' is too large (more than {limit:g} m²)":
        "'{name}' أكبر من المسموح (أكثر من {limit:g} م²)",
    "'{name}' coordinates are not longitude/latitude (CRS84); projected coordinates need "
    "\"crs\": \"{crs}\"":
        "إحداثيات '{name}' ليست خطوط طول ودوائر عرض (CRS84)؛ الإحداثيات المُسقطة تحتاج إلى "
        "\"crs\": \"{crs}\"",
    "'{name}' coordinates are not UTM zone 39N metres":
        "إحداثيات '{name}' ليست أمتارًا في نطاق UTM 39 شمال",
    "unknown activity code {code!r} (not in the municipality's activity list)":
        "رمز نشاط غير معروف: {code!r} (ليس في قائمة أنشطة البلدية)",
    "input 'floors': at most {limit}": "المُدخل 'floors': {limit} على الأكثر",
    "input 'height_m': at most {limit:g}": "المُدخل 'height_m': {limit:g} على الأكثر",
    "input 'area.bbox': give [min lon, min lat, max lon, max lat]":
        "المُدخل 'area.bbox': أرسل [أدنى خط طول، أدنى دائرة عرض، أقصى خط طول، أقصى دائرة عرض]",
    "unknown rules: {names}": "اشتراطات غير معروفة: {names}",
    "no parcel numbered {number!r}": "لا توجد قطعة بالرقم {number!r}",
    "unknown district code {code!r}": "رمز حي غير معروف: {code!r}",
    "unknown municipality code {code!r}": "رمز بلدية غير معروف: {code!r}",
    "the location is outside the municipality": "الموقع خارج البلدية",
    "the location is not on a registered parcel": "الموقع ليس على قطعة مسجلة",
    "the parcel is outside the municipality": "القطعة خارج البلدية",
    "the footprint is not inside its parcel": "المسقط ليس داخل قطعته",
    "the location is not on the parcel": "الموقع ليس على القطعة",
}

JOBS: Catalogue = {
    "no job with id {id!r}": "لا توجد مهمة بالمعرّف {id!r}",
    "too many asynchronous jobs: {active} of yours are accepted or running, the most allowed "
    "per client; wait for one to finish (or dismiss one) and try again.":
        "مهام غير متزامنة كثيرة: لديك {active} مقبولة أو جارية، وهو الحد الأقصى لكل عميل؛ "
        "انتظر انتهاء إحداها (أو ألغِها) ثم أعد المحاولة.",
    "this job was submitted by someone else; only they or an administrator can dismiss it.":
        "هذه المهمة أرسلها مستخدم آخر؛ لا يلغيها إلا هو أو مدير النظام.",
    "only administrators list other clients' jobs; leave out owner to list yours.":
        "لا يعرض مهام الآخرين إلا مدير النظام؛ احذف owner لعرض مهامك.",
    "limit and offset must be integers": "يجب أن تكون limit وoffset أعدادًا صحيحة",
    "limit must be 1..1000 and offset 0..1000000000":
        "يجب أن تكون limit من 1 إلى 1000 وoffset من 0 إلى 1000000000",
    "{name} must be 1 to 256 characters (no NUL)":
        "يجب أن يكون {name} من 1 إلى 256 حرفًا (دون محرف NUL)",
    "{name} must be a list of 1 to 50 values of 1 to 256 characters":
        "يجب أن يكون {name} قائمة من 1 إلى 50 قيمة، طول كل منها من 1 إلى 256 حرفًا",
    "datetime must be an RFC 3339 instant or interval":
        "يجب أن يكون datetime لحظة أو فترة زمنية بصيغة RFC 3339",
    "{name} must be a whole number of seconds": "يجب أن يكون {name} عددًا صحيحًا من الثواني",
    "type must be one of: {names}": "يجب أن يكون type إحدى القيم: {names}",
    "status must be one of: {names}": "يجب أن يكون status إحدى القيم: {names}",
    "unknown results format {format!r}; use geojson, gpkg or csv":
        "صيغة نتائج غير معروفة: {format!r}؛ استخدم geojson أو gpkg أو csv",
    "job {id} is {status}; results are not ready":
        "حالة المهمة {id} هي {status}؛ النتائج غير جاهزة",
    "job {id} failed: {reason}": "فشلت المهمة {id}: {reason}",
    "the results file cannot be written on the server (disk full or not writable); try again "
    "later or download GeoJSON or CSV":
        "تعذّرت كتابة ملف النتائج على الخادم (القرص ممتلئ أو غير قابل للكتابة)؛ أعد المحاولة "
        "لاحقًا أو نزّل النتائج بصيغة GeoJSON أو CSV",
}

CERTIFICATES: Catalogue = {
    "no certificate with id {id!r}": "لا توجد شهادة بالمعرّف {id!r}",
    "f must be html or json": "يجب أن تكون قيمة f إما html أو json",
    "lang must be ar or en": "يجب أن تكون قيمة lang إما ar أو en",
    'the body must be JSON: {{"jws": ..., "certificate": {{...}}}}':
        'يجب أن يكون المتن JSON بالشكل: {{"jws": ..., "certificate": {{...}}}}',
    'give the certificate\'s "jws" (and optionally "certificate")':
        'أرسل "jws" الخاص بالشهادة (و"certificate" اختياريًا)',
    '"certificate" must be a JSON object': 'يجب أن يكون "certificate" كائن JSON',
    "the signature does not match the content (altered or not ours)":
        "التوقيع لا يطابق المحتوى (عُدّل أو ليس صادرًا منا)",
    "the document differs from the signed one": "الوثيقة تختلف عن الوثيقة الموقّعة",
    "'jws' must be a compact JWS (three dot-separated parts)":
        "يجب أن يكون 'jws' توقيع JWS مضغوطًا (ثلاثة أجزاء تفصل بينها نقاط)",
}

# What a job's status says while it runs, and why it stopped (stored as English text).
PROGRESS: Catalogue = {
    "queued": "في قائمة الانتظار",
    "started": "بدأ التنفيذ",
    "done": "اكتملت المهمة",
    "job dismissed": "أُلغيت المهمة",
    "checking {parcels} parcels and {licences} licences":
        "جارٍ فحص {parcels} قطعة و{licences} رخصة",
    "checked {kind}": "اكتمل فحص {kind}",
    "the worker running this job stopped responding (no heartbeat for {seconds:g} s); the job "
    "did not complete":
        "توقف العامل الذي ينفّذ هذه المهمة عن الاستجابة (لا نبض منذ {seconds:g} ثانية)؛ "
        "لم تكتمل المهمة",
}

MESSAGES: Catalogue = {**INPUTS, **JOBS, **CERTIFICATES, **PROGRESS}


@functools.cache
def job_messages() -> Reader:
    """Reads a job's stored message in both languages (its failure may be any error's)."""
    return Reader(merged(kernel_errors.MESSAGES, layer_messages.MESSAGES, MESSAGES))
