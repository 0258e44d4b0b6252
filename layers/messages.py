"""Arabic of the data layer's client messages (English template → Arabic template): queries,
CQL2 filters, tiles and edits."""
from kernel.messages import Catalogue

QUERIES: Catalogue = {
    "property '{name}' expects a {kind}, got {value!r}":
        "تتوقع الخاصية '{name}' قيمة من نوع {kind}، والمُرسل {value!r}",
    "property '{name}' contains a NUL character": "تحتوي الخاصية '{name}' على محرف NUL",
    "bbox lies outside the area its bbox-crs can express":
        "يقع bbox خارج النطاق الذي يعبّر عنه نظام إحداثياته bbox-crs",
    "datetime {value!r} is not an RFC 3339 date or date-time":
        "القيمة datetime {value!r} ليست تاريخًا أو تاريخًا ووقتًا وفق RFC 3339",
    "unknown property {name}": "خاصية غير معروفة: {name}",
    "unknown properties: {names}": "خصائص غير معروفة: {names}",
    "cannot sort by unknown property {name}":
        "لا يمكن الترتيب حسب خاصية غير معروفة: {name}",
    "no feature with id {id}": "لا يوجد معلم بالمعرّف {id}",
    "a query value is out of range or malformed": "قيمة في الاستعلام خارج النطاق أو مشوّهة",
    "unknown tile matrix set {id!r}": "مجموعة مصفوفات البلاطات {id!r} غير معروفة",
    "tile matrix, row and column must be non-negative integers":
        "يجب أن تكون مصفوفة البلاطات والصف والعمود أعدادًا صحيحة غير سالبة",
    "no tile {z}/{y}/{x} in {matrix} (levels up to {maxzoom})":
        "لا توجد بلاطة {z}/{y}/{x} في {matrix} (المستويات حتى {maxzoom})",
    "tile not found": "البلاطة غير موجودة",
    "the tile took too long to build; try again shortly":
        "استغرق بناء البلاطة وقتًا طويلًا؛ أعد المحاولة بعد قليل",
}

FILTERS: Catalogue = {
    "cannot compare {left} ({left_kind}) with {right} ({right_kind})":
        "لا يمكن مقارنة {left} ({left_kind}) مع {right} ({right_kind})",
    "{label} is a geometry: use a spatial operator such as S_INTERSECTS or S_EQUALS":
        "{label} شكل هندسي: استخدم عاملًا مكانيًا مثل S_INTERSECTS أو S_EQUALS",
    "{label} is an array: use A_CONTAINS, A_CONTAINEDBY, A_OVERLAPS or A_EQUALS":
        "{label} مصفوفة: استخدم A_CONTAINS أو A_CONTAINEDBY أو A_OVERLAPS أو A_EQUALS",
    "the LIKE pattern ends with its escape character": "ينتهي نمط LIKE بمحرف الهروب الخاص به",
    "geometry literals must be given in CRS84 (lon/lat), not {crs}":
        "يجب أن تُعطى الأشكال الهندسية الحرفية بنظام CRS84 (خط الطول/دائرة العرض)، لا {crs}",
    "the geometry literal names its CRS in a form not understood":
        "يسمّي الشكل الهندسي الحرفي نظام إحداثياته بصيغة غير مفهومة",
    "geometry literals must be longitude/latitude (CRS84) coordinates":
        "يجب أن تكون إحداثيات الأشكال الهندسية الحرفية خطوط طول ودوائر عرض (CRS84)",
    "the geometry literal is malformed": "الشكل الهندسي الحرفي مشوّه",
    "the geometry literal is empty": "الشكل الهندسي الحرفي فارغ",
    "the geometry literal has more than {limit:,} vertices":
        "الشكل الهندسي الحرفي يتجاوز {limit:,} رأس",
    "the geometry literal is not valid: {reason}": "الشكل الهندسي الحرفي غير صالح: {reason}",
    "unknown distance unit {unit}; use metres": "وحدة مسافة غير معروفة: {unit}؛ استخدم الأمتار",
    "the distance must not be negative": "يجب ألا تكون المسافة سالبة",
    "an interval with a duration needs a date or timestamp at its other end":
        "الفترة المحددة بمدة تحتاج إلى تاريخ أو طابع زمني في طرفها الآخر",
    "unknown property; the queryable properties of {layer} are: {names}":
        "خاصية غير معروفة؛ الخصائص القابلة للاستعلام في {layer} هي: {names}",
    "unknown property {name}; the queryable properties of {layer} are: {names}":
        "خاصية غير معروفة: {name}؛ الخصائص القابلة للاستعلام في {layer} هي: {names}",
    "a condition ({operator}) cannot be used as a value":
        "لا يمكن استخدام شرط ({operator}) قيمةً",
    "BBOX takes 4 numbers (west, south, east, north) or 6":
        "تأخذ BBOX أربعة أرقام (الغرب، الجنوب، الشرق، الشمال) أو ستة",
    "arithmetic needs numbers; {label} is {kind}":
        "العمليات الحسابية تحتاج إلى أرقام؛ و{label} {kind}",
    "division by zero": "قسمة على صفر",
    "spatial operators need geometries; {label} is {kind}":
        "العوامل المكانية تحتاج إلى أشكال هندسية؛ و{label} {kind}",
    "array operators need arrays; {label} is {kind}":
        "عوامل المصفوفات تحتاج إلى مصفوفات؛ و{label} {kind}",
    "temporal operators need dates or timestamps; {label} is {kind}":
        "العوامل الزمنية تحتاج إلى تواريخ أو طوابع زمنية؛ و{label} {kind}",
    "an interval cannot be made of two durations": "لا يمكن أن تتكون الفترة من مدتين",
    "the LIKE pattern must be a string literal, or CASEI or ACCENTI of one":
        "يجب أن يكون نمط LIKE نصًا حرفيًا، أو CASEI أو ACCENTI لنص حرفي",
    "{function} gives a string; a filter needs a condition":
        "تعطي {function} نصًا؛ وعامل التصفية يحتاج إلى شرط",
    "a filter must be a condition, not a value": "يجب أن يكون عامل التصفية شرطًا لا قيمة",
    "{operator} is not supported": "غير مدعوم: {operator}",
    "{value} is not a condition": "{value} ليس شرطًا",
    "LIKE needs a string; {label} is {kind}": "يحتاج LIKE إلى نص؛ و{label} {kind}",
    "IN needs at least one value": "يحتاج IN إلى قيمة واحدة على الأقل",
    "IS NULL needs a property": "يحتاج IS NULL إلى خاصية",
    "the RELATE pattern must be 9 characters of 0, 1, 2, T, F or *":
        "يجب أن يتكون نمط RELATE من 9 محارف من 0 و1 و2 وT وF و*",
    "{label} must be a finite number, not {value}": "{label}: يلزم رقم منتهٍ، لا {value}",
    "{value} is out of range for an integer": "{value} خارج نطاق الأعداد الصحيحة",
    "{value} is not a finite number": "{value} ليس رقمًا منتهيًا",
    "string literals cannot contain NUL characters": "لا يجوز أن تحتوي النصوص الحرفية على محرف NUL",
    "{value} cannot be used as a value here": "لا يمكن استخدام {value} قيمةً هنا",
    "{label} is {kind}; {value} is not": "{label} {kind}؛ و{value} ليس كذلك",
    "unknown function {name!r}; the functions filters may call are: {names} "
    "(see /ogc/functions)":
        "دالة غير معروفة: {name!r}؛ الدوال التي يمكن لعوامل التصفية استدعاؤها: {names} "
        "(انظر /ogc/functions)",
    "{function} takes {wanted} argument, not {count}":
        "تأخذ {function} وسيطًا واحدًا ({wanted})، لا {count}",
    "{function} takes {wanted} arguments, not {count}":
        "تأخذ {function} {wanted} من الوسائط، لا {count}",
    "{function} needs a string; {label} is {kind}": "تحتاج {function} إلى نص؛ و{label} {kind}",
    "a CQL2 JSON operation needs a string 'op' and a list 'args'":
        "تحتاج عملية CQL2 JSON إلى نص 'op' وقائمة 'args'",
    "operator {op} needs two arguments": "يحتاج العامل {op} إلى وسيطين",
    "the filter is nested more than {depth} levels deep":
        "تداخل عامل التصفية يتجاوز {depth} مستوى",
}

EDITS: Catalogue = {
    "property '{name}' must be a string": "يجب أن تكون الخاصية '{name}' نصًا",
    "property '{name}' must be 1 to {longest} characters":
        "يجب أن يكون طول الخاصية '{name}' من 1 إلى {longest} حرفًا",
    "property '{name}' must be one of {choices}":
        "يجب أن تكون الخاصية '{name}' إحدى القيم {choices}",
    "property '{name}' is not in the expected format": "الخاصية '{name}' ليست بالصيغة المتوقعة",
    "property '{name}' must be an integer": "يجب أن تكون الخاصية '{name}' عددًا صحيحًا",
    "property '{name}' must be a number": "يجب أن تكون الخاصية '{name}' رقمًا",
    "property '{name}' is out of range": "الخاصية '{name}' خارج النطاق",
    "property '{name}' must be between {minimum} and {maximum}":
        "يجب أن تكون الخاصية '{name}' بين {minimum} و{maximum}",
    "property '{name}' must be an RFC 3339 {kind}":
        "يجب أن تكون الخاصية '{name}' من نوع {kind} وفق RFC 3339",
    "property '{name}' is not a valid {kind}": "الخاصية '{name}' ليست قيمة {kind} صالحة",
    "property '{name}' needs a time zone (e.g. 2026-05-01T09:30:00+03:00)":
        "يلزم أن تتضمن الخاصية '{name}' المنطقة الزمنية (مثل 2026-05-01T09:30:00+03:00)",
    "property '{name}' is required": "الخاصية '{name}' مطلوبة",
    "geometry must be a GeoJSON Point (longitude, latitude)":
        "يجب أن يكون الشكل الهندسي نقطة GeoJSON Point (خط الطول، دائرة العرض)",
    "a Point has 2 numbers: [longitude, latitude]":
        "للنقطة Point رقمان: [خط الطول، دائرة العرض]",
    "the Point's coordinates are not a longitude and latitude":
        "إحداثيات النقطة ليست خط طول ودائرة عرض",
    "the body must be a GeoJSON Feature": "يجب أن يكون المتن معلم GeoJSON (Feature)",
    "'properties' must be a JSON object": "يجب أن تكون 'properties' كائن JSON",
    "this feature is not yours to change": "لا يحق لك تعديل هذا المعلم",
    "this feature is not yours to delete": "لا يحق لك حذف هذا المعلم",
    "this Idempotency-Key was already used for a different request; use a new one for a new "
    "feature":
        "استُخدم مفتاح Idempotency-Key هذا لطلب مختلف؛ استخدم مفتاحًا جديدًا لمعلم جديد",
    "this licence belongs to another office": "هذه الرخصة تابعة لمكتب آخر",
    "only an administrator deletes a licence; suspend it or let it expire instead":
        "لا يحذف الرخصة إلا مدير النظام؛ أوقفها أو اتركها تنتهي بدلًا من ذلك",
    "this Idempotency-Key was already used for a different licence request; use a new one "
    "for a new licence":
        "استُخدم مفتاح Idempotency-Key هذا لطلب رخصة مختلف؛ استخدم مفتاحًا جديدًا لرخصة جديدة",
    "this inspection was made by another inspector": "أجرى هذه الزيارة التفتيشية مفتش آخر",
    "this client id (Idempotency-Key) was already used for a different upload; use a new "
    "one for a new inspection":
        "استُخدم معرّف العميل هذا (Idempotency-Key) لرفع مختلف؛ استخدم معرّفًا جديدًا "
        "لزيارة تفتيشية جديدة",
    "ISIC code {code} is not in the activity list; give activity_ar and activity_en":
        "رمز النشاط ISIC {code} ليس في قائمة الأنشطة؛ أرسل activity_ar وactivity_en",
    "a licence belongs to the office that issued it; only an administrator can move it to "
    "another office":
        "الرخصة تابعة للمكتب الذي أصدرها؛ ولا ينقلها إلى مكتب آخر إلا مدير النظام",
    "an office may set the status to active, suspended or expired; cancelling a licence is "
    "for administrators":
        "يجوز للمكتب تعيين الحالة إلى active أو suspended أو expired؛ أما إلغاء الرخصة "
        "فلمدير النظام",
    "expiry_date must be after issue_date": "يجب أن يكون expiry_date بعد issue_date",
    "issue_date is more than 90 days ahead": "يتجاوز issue_date تسعين يومًا في المستقبل",
    "a licence runs at most 10 years (expiry_date)":
        "مدة الرخصة عشر سنوات على الأكثر (expiry_date)",
    "an active licence cannot be past its expiry_date; renew it with a later expiry_date or "
    "set the status to expired":
        "لا يجوز أن تكون الرخصة السارية بعد تاريخ انتهائها expiry_date؛ جدّدها بتاريخ "
        "انتهاء لاحق أو عيّن الحالة إلى expired",
    "the location is outside the city (in no district)": "الموقع خارج المدينة (لا يقع في أي حي)",
    "the location is not on a registered parcel": "الموقع ليس على قطعة مسجلة",
    "no parcel with id {id}": "لا توجد قطعة بالمعرّف {id}",
    "the location is not inside parcel {id}": "الموقع ليس داخل القطعة {id}",
    "activity {isic} is not allowed by the zoning of parcel {parcel} (rule {rule}; allowed "
    "activity prefixes: {allowed})":
        "النشاط {isic} غير مسموح به في تنطيق القطعة {parcel} (الاشتراط {rule}؛ بادئات "
        "الأنشطة المسموح بها: {allowed})",
    "the licence has {count} inspection(s) and cannot be deleted; suspend or cancel it "
    "instead":
        "للرخصة {count} من الزيارات التفتيشية ولا يمكن حذفها؛ أوقفها أو ألغها بدلًا من ذلك",
    "visited_at is in the future": "visited_at في المستقبل",
    "client_id cannot be changed": "لا يمكن تغيير client_id",
    "no licence with id {id}": "لا توجد رخصة بالمعرّف {id}",
    "visited_at is before the licence was issued": "visited_at قبل إصدار الرخصة",
    "send If-Match with the feature's ETag (GET it first)":
        "أرسل If-Match مع وسم ETag الخاص بالمعلم (اطلبه بـ GET أولًا)",
    "the feature has changed since you read it; GET it again and re-apply your change":
        "تغيّر المعلم منذ قراءتك له؛ اطلبه بـ GET مجددًا ثم أعد تطبيق تعديلك",
    "other features refer to this one": "معالم أخرى تشير إلى هذا المعلم",
    "a value is outside what the layer accepts": "قيمة خارج ما تقبله الطبقة",
    "a licence with this license_no already exists": "توجد رخصة بهذا الرقم license_no مسبقًا",
    "this client id was already used": "استُخدم معرّف العميل هذا من قبل",
    "a feature with these values already exists": "يوجد معلم بهذه القيم مسبقًا",
    "a merge patch must be a JSON object": "يجب أن يكون تعديل الدمج (merge patch) كائن JSON",
}

MESSAGES: Catalogue = {**QUERIES, **FILTERS, **EDITS}
