"""Arabic of the HTTP edge's client messages (English template → Arabic template), and of
the pygeoapi and Starlette messages our routes can answer with (PASSED_THROUGH)."""
from geoserver.download_messages import DOWNLOADS
from kernel.messages import Catalogue

ITEMS: Catalogue = {
    "{name} must be an integer, got {value!r}":
        "يجب أن يكون {name} عددًا صحيحًا، والمُرسل {value!r}",
    "{name} must be at least {minimum}": "يجب ألا يقل {name} عن {minimum}",
    "bbox must be 4 or 6 comma-separated numbers":
        "يجب أن يكون bbox أربعة أرقام أو ستة تفصل بينها فواصل",
    "bbox: the southern edge is north of the northern edge":
        "bbox: الحد الجنوبي يقع شمال الحد الشمالي",
    "unknown query parameter(s)": "معاملات استعلام غير معروفة",
    "unknown query parameter(s): {names}": "معاملات استعلام غير معروفة: {names}",
    "crs {uri!r} is not supported for this collection; supported: {supported}":
        "نظام الإحداثيات crs {uri!r} غير مدعوم لهذه المجموعة؛ المدعوم: {supported}",
    "skipGeometry must be true or false": "يجب أن تكون قيمة skipGeometry إما true أو false",
    "resulttype must be results or hits": "يجب أن تكون قيمة resulttype إما results أو hits",
    "bbox-crs given without bbox": "أُرسل bbox-crs دون bbox",
    "bbox-crs {uri!r} is not supported for this collection":
        "نظام الإحداثيات bbox-crs {uri!r} غير مدعوم لهذه المجموعة",
    "filter-lang must be cql2-text or cql2-json":
        "يجب أن تكون قيمة filter-lang إما cql2-text أو cql2-json",
    "filter is not valid {lang}": "عامل التصفية filter ليس بصيغة {lang} صحيحة",
    "filter-crs {crs!r} is not supported for this collection":
        "نظام الإحداثيات filter-crs {crs!r} غير مدعوم لهذه المجموعة",
    "no feature with id {id!r}": "لا يوجد معلم بالمعرّف {id!r}",
    "no collection {name!r}": "لا توجد مجموعة باسم {name!r}",
    "the query is too large": "الاستعلام أكبر من المسموح",
    "Bad CQL JSON": "عامل تصفية CQL2 JSON غير صالح",
    "this collection has no tiles": "لا توجد بلاطات لهذه المجموعة",
    "tiles are served as f=mvt only": "تُقدَّم البلاطات بصيغة f=mvt فقط",
    "f must be json": "يجب أن تكون قيمة f هي json",
    "f must be json or tilejson": "يجب أن تكون قيمة f إما json أو tilejson",
    "collections: too long": "collections: القائمة أطول من المسموح",
    "collections: not a tiled collection: {shown}; use {names}":
        "collections: مجموعة بلا بلاطات: {shown}؛ استخدم {names}",
    "unknown tile matrix set; use {names}":
        "مجموعة مصفوفات البلاطات غير معروفة؛ استخدم {names}",
    "{name} must be an RFC 3339 date-time, got {value!r}":
        "يجب أن يكون {name} تاريخًا ووقتًا وفق RFC 3339، والمُرسل {value!r}",
    "{name} needs a time zone (e.g. 2026-11-01T00:00:00Z)":
        "يلزم أن يتضمن {name} المنطقة الزمنية (مثل 2026-11-01T00:00:00Z)",
    "{name} must be an integer from {low} to {high}":
        "يجب أن يكون {name} عددًا صحيحًا من {low} إلى {high}",
    "the request body must be a JSON object (an execute request)":
        "يجب أن يكون متن الطلب كائن JSON (طلب تنفيذ)",
    "the request body is larger than {limit:,} bytes":
        "متن الطلب أكبر من {limit:,} بايت",
}

EDITING: Catalogue = {
    "no such photo": "لا توجد صورة كهذه",
    "only inspections take photos": "لا تُرفق الصور إلا بالزيارات التفتيشية",
    "send the feature as {allowed} (or multipart/form-data with photos), not {media}":
        "أرسل المعلم بنوع {allowed} (أو multipart/form-data مع الصور)؛ النوع المُرسل: {media}",
    "send the feature as {allowed}, not {media}":
        "أرسل المعلم بنوع {allowed}؛ النوع المُرسل: {media}",
    "the multipart body cannot be read: at most {limit} photos per inspection":
        "تعذّرت قراءة المتن متعدد الأجزاء: {limit} صور على الأكثر لكل زيارة تفتيشية",
    "the multipart body cannot be read: {reason}": "تعذّرت قراءة المتن متعدد الأجزاء: {reason}",
    "the photo's file is missing": "ملف الصورة مفقود",
    "the {collection} collection is read-only": "المجموعة {collection} للقراءة فقط",
    "POST to the items of the collection to create a feature":
        "لإنشاء معلم أرسل طلب POST إلى عناصر المجموعة (items)",
    "{action} needs a feature: /items/{{featureId}}":
        "يتطلب {action} معلمًا محددًا: /items/{{featureId}}",
    "the body is larger than {limit:,} bytes": "المتن أكبر من {limit:,} بايت",
    "the client went away before the body was complete": "انقطع العميل قبل اكتمال المتن",
    "{what} is not valid JSON": "{what} ليس JSON صالحًا",
    "unknown form parts: {names} (send `feature` and `photo` parts)":
        "أجزاء نموذج غير معروفة: {names} (أرسل الجزأين `feature` و`photo`)",
    "send exactly one `feature` part (the GeoJSON Feature)":
        "أرسل جزءًا واحدًا فقط باسم `feature` (معلم GeoJSON)",
    "at most {limit} photos per inspection": "{limit} صور على الأكثر لكل زيارة تفتيشية",
    "photo {number} must be a file part": "يجب أن تكون الصورة {number} جزءًا من نوع ملف",
    "Idempotency-Key must be 8 to 100 letters, digits, . _ : - (a UUID is best)":
        "يجب أن يتكون Idempotency-Key من 8 إلى 100 حرف أو رقم أو . _ : - "
        "(والأفضل معرّف UUID)",
    "Idempotency-Key and the {name} property differ":
        "يختلف Idempotency-Key عن قيمة الخاصية {name}",
    "photo {number} is larger than {limit} KiB": "الصورة {number} أكبر من {limit} كيلوبايت",
    "photo {number} is empty": "الصورة {number} فارغة",
    "photo {number} is not a JPEG, PNG or WebP image":
        "الصورة {number} ليست بصيغة JPEG أو PNG أو WebP",
    "photo {number} is declared {declared} but is {kind}":
        "الصورة {number} مُعلنة بنوع {declared} لكنها من نوع {kind}",
    "photo {number} is not a readable {kind} image":
        "تعذّرت قراءة الصورة {number} بوصفها صورة {kind}",
    "photo {number} has more than {limit:,} pixels":
        "الصورة {number} تتجاوز {limit:,} بكسل",
    "photo {number} has too many pixels": "عدد بكسلات الصورة {number} أكبر من المسموح",
}

SIGN_IN: Catalogue = {
    "a sign-in request may not exceed {limit} bytes":
        "لا يجوز أن يتجاوز طلب تسجيل الدخول {limit} بايت",
    "the body is not valid JSON": "المتن ليس JSON صالحًا",
    'the body must be a JSON object {{"username": ..., "password": ...}}':
        'يجب أن يكون المتن كائن JSON بالشكل {{"username": ..., "password": ...}}',
    "the form is not valid UTF-8 form encoding": "النموذج ليس بترميز نماذج UTF-8 صالح",
    "the field {name!r} is given more than once": "الحقل {name!r} مُرسل أكثر من مرة",
    "{name} is required (a non-empty string)": "الحقل {name} مطلوب (نص غير فارغ)",
    "{name} may have at most {longest} characters":
        "لا يجوز أن يتجاوز {name} {longest} حرفًا",
    "{name} is not valid Unicode text": "{name} ليس نص يونيكود صالحًا",
    "send {json} or {form} with username and password":
        "أرسل {json} أو {form} مع username وpassword",
    "wrong user name or password": "اسم المستخدم أو كلمة المرور غير صحيحة",
    "too many failed sign-ins; try again in {seconds} s":
        "محاولات دخول فاشلة كثيرة؛ أعد المحاولة بعد {seconds} ثانية",
    "sign in: no token or API key was sent":
        "سجّل الدخول: لم يُرسل رمز دخول ولا مفتاح واجهة برمجية",
    "sign in: this needs the role {roles}": "سجّل الدخول: يتطلب هذا الطلب الدور {roles}",
    "this needs the role {roles}": "يتطلب هذا الطلب الدور {roles}",
    "the Authorization header must read 'Bearer <token>'":
        "يجب أن تكون ترويسة Authorization بالشكل 'Bearer <token>'",
    "the token is not a JWT": "رمز الدخول ليس من نوع JWT",
    "the token is not a signed JWT": "رمز الدخول ليس JWT موقّعًا",
    "the token's issuer is not trusted here": "الجهة المُصدِرة لرمز الدخول غير موثوقة هنا",
    "the token has expired": "انتهت صلاحية رمز الدخول",
    "the token is malformed": "رمز الدخول مشوّه",
    "the token is too long": "رمز الدخول أطول من المسموح",
    "the token's signature is not valid": "توقيع رمز الدخول غير صالح",
    "the token's signing algorithm is not accepted": "خوارزمية توقيع رمز الدخول غير مقبولة",
    "the token is not meant for this server (issuer or audience)":
        "رمز الدخول غير مخصص لهذا الخادم (الجهة المُصدِرة أو الجمهور)",
    "the token lacks a required claim (iss, aud, sub, exp)":
        "ينقص رمز الدخول ادعاء مطلوب (iss أو aud أو sub أو exp)",
    "the token is not valid yet": "رمز الدخول غير صالح بعد",
    "the token is not valid": "رمز الدخول غير صالح",
    "the API key is unknown or revoked": "مفتاح الواجهة البرمجية غير معروف أو ملغى",
    "the user is unknown or disabled": "المستخدم غير معروف أو معطّل",
    "the sign-on provider's keys cannot be fetched; try again shortly":
        "تعذّر جلب مفاتيح مزوّد الدخول الموحّد؛ أعد المحاولة بعد قليل",
}

IMAGERY: Catalogue = {
    "raster dataset not found": "مجموعة البيانات الشبكية غير موجودة",
    "zoom level outside the dataset's range": "مستوى التكبير خارج نطاق مجموعة البيانات",
    "band index out of range: the dataset has {count} band(s)":
        "رقم النطاق خارج المدى: عدد نطاقات مجموعة البيانات {count}",
    "rescale must be 'min,max' (two numbers)": "يجب أن تكون rescale بالشكل 'min,max' (رقمان)",
    "nodata must be a number or 'nan'": "يجب أن تكون nodata رقمًا أو 'nan'",
    "algorithm_params must be a JSON object of finite numbers (at most {limit:g} in size)":
        "يجب أن تكون algorithm_params كائن JSON من أرقام منتهية (لا تتجاوز قيمتها {limit:g})",
    "the algorithm {name} needs {needed} bands; {bands} would be read":
        "تحتاج الخوارزمية {name} إلى {needed} نطاقات؛ وسيُقرأ {bands}",
    "{name} must be a zoom level from 0 to {highest}":
        "يجب أن يكون {name} مستوى تكبير من 0 إلى {highest}",
    "color_formula applies to 8- or 16-bit data: add rescale=min,max":
        "تنطبق color_formula على بيانات 8 أو 16 بت: أضف rescale=min,max",
    "color_formula is not a colour formula for these bands (e.g. 'gamma r 1.2')":
        "color_formula ليست معادلة ألوان صالحة لهذه النطاقات (مثل 'gamma r 1.2')",
    "p (percentile) must be a whole number from 0 to 100":
        "يجب أن تكون p (المئين) عددًا صحيحًا من 0 إلى 100",
    "histogram_bins must be a count from 1 to {highest} or a list of finite bin edges":
        "يجب أن تكون histogram_bins عددًا من 1 إلى {highest} أو قائمة حدود فئات منتهية",
    "histogram_range must be 'min,max' (two finite numbers)":
        "يجب أن يكون histogram_range بالشكل 'min,max' (رقمان منتهيان)",
    "coordinates must be finite numbers": "يجب أن تكون الإحداثيات أرقامًا منتهية",
    "coordinates must be longitude -180..180 and latitude -90..90":
        "يجب أن تكون الإحداثيات خط طول من ‎-180 إلى 180 ودائرة عرض من ‎-90 إلى 90",
    "coordinates out of range": "الإحداثيات خارج النطاق",
    "the body must be a GeoJSON Feature or FeatureCollection":
        "يجب أن يكون المتن معلم GeoJSON (Feature) أو مجموعة معالم (FeatureCollection)",
    "a FeatureCollection needs a 'features' array": "تحتاج FeatureCollection إلى مصفوفة 'features'",
    "each feature must be a GeoJSON Feature (type 'Feature')":
        "يجب أن يكون كل معلم من نوع GeoJSON Feature (النوع 'Feature')",
    "feature properties must be an object or null": "يجب أن تكون خصائص المعلم كائنًا أو null",
    "each feature needs a Point, LineString or Polygon geometry (or their Multi- forms)":
        "يحتاج كل معلم إلى شكل هندسي من نوع Point أو LineString أو Polygon "
        "(أو صيغها المتعددة Multi)",
    "a GeoJSON bbox must be 4 or 6 finite numbers":
        "يجب أن يكون bbox في GeoJSON أربعة أرقام منتهية أو ستة",
    "geometry coordinates must be non-empty arrays":
        "يجب أن تكون إحداثيات الشكل الهندسي مصفوفات غير فارغة",
    "a position must be 2 or 3 numbers": "يجب أن يكون الموضع رقمين أو ثلاثة",
    "geometry has more than {limit} vertices": "الشكل الهندسي يتجاوز {limit} رأس",
    "imagery parameters cannot name files or URLs; datasets are addressed by id "
    "(see GET /raster)":
        "لا يجوز أن تسمّي معاملات الصور ملفات أو عناوين URL؛ يُشار إلى مجموعات البيانات "
        "بمعرّفها (انظر GET /raster)",
    "the algorithm cannot be applied here: {reason}": "لا يمكن تطبيق الخوارزمية هنا: {reason}",
    "tile outside the dataset": "البلاطة خارج مجموعة البيانات",
    "point outside the dataset": "النقطة خارج مجموعة البيانات",
    "tile not found": "البلاطة غير موجودة",
    "invalid band expression": "تعبير النطاقات غير صالح",
    "no band selected": "لم يُحدَّد أي نطاق",
    "invalid band": "نطاق غير صالح",
    "unknown colour map": "خريطة ألوان غير معروفة",
    "invalid colour map": "خريطة ألوان غير صالحة",
    "invalid image format": "صيغة صورة غير صالحة",
    "invalid tile buffer": "هامش بلاطة غير صالح",
    "invalid point data": "بيانات نقطة غير صالحة",
    "unknown coordinate reference system": "نظام إحداثيات مرجعي غير معروف",
    "invalid value for: {names}": "قيمة غير صالحة لـ: {names}",
}

# Messages of pygeoapi (the pages and processes it still serves) and Starlette's reason
# phrases (a route that does not exist, a method a route does not take): not raised by our code.
PASSED_THROUGH: Catalogue = {
    "Not Found": "غير موجود",
    "Method Not Allowed": "هذا الطلب غير مدعوم لهذا المورد",
    "Collection not found": "المجموعة غير موجودة",
    "Invalid collection tiles": "لا توجد بلاطات صالحة لهذه المجموعة",
    "Tile not found": "البلاطة غير موجودة",
    "identifier not found": "المعرّف غير موجود",
    "Identifier not found": "المعرّف غير موجود",
    "Invalid format requested": "الصيغة المطلوبة غير صالحة",
    "Invalid format": "صيغة غير صالحة",
    "invalid request data": "بيانات الطلب غير صالحة",
    "missing request data": "بيانات الطلب ناقصة",
    "Invalid parameter-name": "اسم معامل غير صالح",
    "offset value should be an integer": "يجب أن تكون قيمة offset عددًا صحيحًا",
    "offset value should be positive or zero": "يجب أن تكون قيمة offset موجبة أو صفرًا",
    "Invalid filter language": "لغة عامل التصفية غير صالحة",
    "Bad CQL text": "عامل تصفية CQL2 النصي غير صالح",
    "bbox-crs specified without bbox parameter": "حُدِّد bbox-crs دون المعامل bbox",
    "bbox-crs specified but is empty": "حُدِّد bbox-crs لكنه فارغ",
    "unknown properties specified": "حُدِّدت خصائص غير معروفة",
    "bad sortby property": "خاصية الترتيب sortby غير صالحة",
    "queryables not available for this collection":
        "الخصائص القابلة للاستعلام غير متاحة لهذه المجموعة",
    "No data found": "لا توجد بيانات",
    "Collection is not editable": "المجموعة غير قابلة للتعديل",
    "job still running": "المهمة ما زالت قيد التنفيذ",
    "job accepted but not yet running": "قُبلت المهمة ولم يبدأ تنفيذها بعد",
    "job failed": "فشلت المهمة",
}

MESSAGES: Catalogue = {**ITEMS, **EDITING, **SIGN_IN, **IMAGERY, **PASSED_THROUGH,
                        **DOWNLOADS}
