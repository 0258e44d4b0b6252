"""Arabic/English reference lists of the sample city: places, streets, activities, facilities.

Neighbourhood and street names are real names of the Dammam metropolitan area (Dammam,
Khobar, Dhahran); the city built from them is synthetic. Every entry is (Arabic, English).
"""
from typing import NamedTuple

# Municipalities of the Amana, in id order: (code, Arabic, English).
MUNICIPALITIES = (
    ("WDM", "غرب الدمام", "West Dammam"),
    ("CDM", "وسط الدمام", "Central Dammam"),
    ("EDM", "شرق الدمام", "East Dammam"),
    ("DHR", "الظهران", "Dhahran"),
    ("KHB", "الخبر", "Khobar"),
)

NEIGHBOURHOODS = {
    "WDM": (
        ("بدر", "Badr"), ("أحد", "Uhud"), ("طيبة", "Taibah"), ("الصفا", "Al Safa"),
        ("غرناطة", "Ghirnatah"), ("الإسكان", "Al Iskan"), ("الأمانة", "Al Amanah"),
        ("الفيحاء", "Al Fayha"), ("النزهة", "Al Nuzhah"), ("المحمدية", "Al Muhammadiyah"),
        ("ابن خلدون", "Ibn Khaldun"), ("الشعلة", "Al Shulah"), ("المطار", "Al Matar"),
        ("الاتصالات", "Al Itisalat"), ("الضباب", "Al Dabab"), ("العنود", "Al Anud"),
        ("الناصرية", "Al Nasiriyah"), ("الخضرية", "Al Khudariyah"), ("البديع", "Al Badi"),
    ),
    "CDM": (
        ("الدواسر", "Al Dawasir"), ("القزاز", "Al Qazaz"), ("العدامة", "Al Adamah"),
        ("الحمراء", "Al Hamra"), ("الطبيشي", "Al Tubayshi"), ("الجلوية", "Al Jalawiyah"),
        ("المزروعية", "Al Mazruiyah"), ("الربيع", "Al Rabi"), ("النخيل", "Al Nakheel"),
        ("البادية", "Al Badiyah"), ("العمامرة", "Al Amamrah"), ("الخليج", "Al Khaleej"),
        ("الأثير", "Al Athir"), ("السوق", "Al Souq"),
    ),
    "EDM": (
        ("الشاطئ", "Al Shati"), ("الفيصلية", "Al Faisaliyah"), ("المريكبات", "Al Muraikabat"),
        ("الريان", "Al Rayyan"), ("المنار", "Al Manar"), ("الروضة", "Al Rawdah"),
        ("الزهور", "Al Zuhur"), ("الواحة", "Al Wahah"), ("الجوهرة", "Al Jawharah"),
        ("الندى", "Al Nada"), ("النورس", "Al Nawras"), ("الفنار", "Al Fanar"),
        ("الأنوار", "Al Anwar"), ("النهضة", "Al Nahdah"), ("الخالدية", "Al Khalidiyah"),
    ),
    "DHR": (
        ("الدوحة الشمالية", "Al Dawhah Al Shamaliyah"),
        ("الدوحة الجنوبية", "Al Dawhah Al Janubiyah"),
        ("القصور", "Al Qusur"), ("هجر", "Hajar"), ("الدانة", "Al Danah"), ("الجامعة", "Al Jamiah"),
        ("البستان", "Al Bustan"), ("الهضبة", "Al Hadabah"), ("غرب الظهران", "West Dhahran"),
        ("الرحاب", "Al Rehab"), ("الجامعيين", "Al Jamiyin"),
    ),
    "KHB": (
        ("العقربية", "Al Aqrabiyah"), ("الخبر الشمالية", "Al Khobar Al Shamaliyah"),
        ("الخبر الجنوبية", "Al Khobar Al Janubiyah"), ("اليرموك", "Al Yarmouk"),
        ("الجسر", "Al Jisr"), ("الكورنيش", "Al Corniche"), ("العليا", "Al Olaya"),
        ("البندرية", "Al Bandariyah"), ("الراكة", "Al Rakah"), ("الثقبة", "Al Thuqbah"),
        ("قرطبة", "Qurtubah"), ("الروابي", "Al Rawabi"), ("التحلية", "Al Tahliyah"),
        ("مدينة العمال", "Madinat Al Ummal"), ("الخزامى", "Al Khuzama"), ("الهدا", "Al Hada"),
        ("اللؤلؤ", "Al Lulu"), ("الأندلس", "Al Andalus"), ("الأمواج", "Al Amwaj"),
        ("الحزام الذهبي", "Al Hizam Al Dhahabi"), ("الحزام الأخضر", "Al Hizam Al Akhdar"),
        ("العزيزية", "Al Aziziyah"), ("البحيرة", "Al Buhairah"),
    ),
}

# Industrial districts: "الصناعية الأولى" / "1st Industrial Area", then numbered.
INDUSTRIAL_ORDINALS = (
    ("الأولى", "1st"), ("الثانية", "2nd"), ("الثالثة", "3rd"), ("الرابعة", "4th"),
    ("الخامسة", "5th"), ("السادسة", "6th"), ("السابعة", "7th"), ("الثامنة", "8th"),
    ("التاسعة", "9th"), ("العاشرة", "10th"),
)
INDUSTRIAL = ("الصناعية {ar}", "{en} Industrial Area")
INDUSTRIAL_NUMBERED = ("المنطقة الصناعية {n}", "Industrial Area {n}")

ARTERIALS = (
    ("طريق الملك فهد", "King Fahd Road"),
    ("شارع الملك سعود", "King Saud Street"),
    ("طريق الأمير محمد بن فهد", "Prince Mohammed bin Fahd Road"),
    ("طريق الظهران – الجبيل السريع", "Dhahran–Jubail Highway"),
    ("طريق الملك عبدالعزيز", "King Abdulaziz Road"),
    ("شارع الملك خالد", "King Khalid Street"),
    ("طريق الملك فيصل", "King Faisal Road"),
    ("طريق الملك عبدالله", "King Abdullah Road"),
    ("شارع الأمير سلطان", "Prince Sultan Street"),
    ("شارع الأمير تركي", "Prince Turki Street"),
    ("شارع الأمير نايف", "Prince Nayef Street"),
    ("شارع الأمير ماجد", "Prince Majed Street"),
    ("طريق أبو بكر الصديق", "Abu Bakr Al Siddiq Road"),
    ("طريق عمر بن الخطاب", "Omar bin Al Khattab Road"),
    ("طريق عثمان بن عفان", "Othman bin Affan Road"),
    ("طريق علي بن أبي طالب", "Ali bin Abi Talib Road"),
    ("طريق الخليج", "Gulf Road"),
    ("طريق الدمام – الخبر السريع", "Dammam–Khobar Highway"),
    ("طريق المطار", "Airport Road"),
    ("الشارع الحادي عشر", "11th Street"),
    ("طريق الأمير فيصل بن فهد", "Prince Faisal bin Fahd Road"),
    ("شارع الأمير حمود", "Prince Hamoud Street"),
    ("شارع الأمير بندر", "Prince Bandar Street"),
    ("طريق الجامعة", "University Road"),
    ("شارع الظهران", "Dhahran Street"),
    ("طريق الملك سلمان", "King Salman Road"),
)
ARTERIAL_NUMBERED = ("طريق رقم {n}", "Road No. {n}")

COLLECTORS = (
    ("شارع المدينة المنورة", "Al Madinah Al Munawwarah Street"),
    ("شارع مكة المكرمة", "Makkah Al Mukarramah Street"),
    ("شارع الرياض", "Riyadh Street"), ("شارع القدس", "Al Quds Street"),
    ("شارع الأحساء", "Al Ahsa Street"), ("شارع القطيف", "Al Qatif Street"),
    ("شارع الجبيل", "Al Jubail Street"), ("شارع ابن سينا", "Ibn Sina Street"),
    ("شارع الفارابي", "Al Farabi Street"), ("شارع ابن خلدون", "Ibn Khaldun Street"),
    ("شارع الخوارزمي", "Al Khwarizmi Street"), ("شارع حطين", "Hittin Street"),
    ("شارع اليمامة", "Al Yamamah Street"), ("شارع تبوك", "Tabuk Street"),
    ("شارع نجران", "Najran Street"), ("شارع الطائف", "Al Taif Street"),
    ("شارع أبها", "Abha Street"), ("شارع حائل", "Hail Street"), ("شارع ينبع", "Yanbu Street"),
    ("شارع خالد بن الوليد", "Khalid bin Al Walid Street"),
    ("شارع سعد بن أبي وقاص", "Saad bin Abi Waqqas Street"),
    ("شارع الزبير بن العوام", "Al Zubair bin Al Awwam Street"),
    ("شارع أبو عبيدة بن الجراح", "Abu Ubaidah bin Al Jarrah Street"),
    ("شارع الإمام الشافعي", "Imam Al Shafii Street"), ("شارع الإمام مالك", "Imam Malik Street"),
    ("شارع عقبة بن نافع", "Uqbah bin Nafi Street"),
)
LOCAL_STREET = ("شارع {n}", "Street {n}")

ZONES = {
    "R1": ("سكني - فلل", "Residential – villas"),
    "R2": ("سكني - شقق", "Residential – apartments"),
    "C1": ("تجاري - محور تجاري", "Commercial corridor"),
    "M1": ("مختلط - سكني تجاري", "Mixed use – residential/commercial"),
    "I1": ("صناعي خفيف", "Light industrial"),
    "P1": ("مرافق عامة وحكومية", "Public and government facilities"),
}


class Activity(NamedTuple):
    """An ISIC Rev.4 activity with its labels, shop-sign word and typical mix and size."""

    isic: str
    activity_ar: str
    activity_en: str
    shop_ar: str
    shop_en: str
    retail_weight: float      # share among shops on commercial and mixed parcels
    industrial_weight: float  # share among shops on light-industrial parcels
    area_min: float           # typical shop floor area, m²
    area_max: float


ACTIVITIES = (
    Activity("4711", "بيع المواد الغذائية بالتجزئة (بقالة)", "Retail sale of food (grocery)",
             "بقالة", "Grocery", 20, 2, 40, 180),
    Activity("5610", "المطاعم وتقديم الوجبات", "Restaurants and food service",
             "مطعم", "Restaurant", 14, 3, 60, 300),
    Activity("5630", "المقاهي وتقديم المشروبات", "Cafés and beverage serving",
             "مقهى", "Café", 10, 2, 40, 220),
    Activity("4772", "بيع الأدوية والمستحضرات الطبية بالتجزئة (صيدلية)",
             "Retail sale of pharmaceutical goods (pharmacy)", "صيدلية", "Pharmacy", 6, 0, 50, 160),
    Activity("9602", "الحلاقة والتجميل", "Hairdressing and barbers",
             "صالون", "Barber Shop", 7, 0, 20, 60),
    Activity("4520", "صيانة وإصلاح السيارات", "Maintenance and repair of motor vehicles",
             "ورشة", "Auto Workshop", 3, 25, 150, 800),
    Activity("4730", "بيع وقود السيارات بالتجزئة (محطة وقود)", "Retail sale of automotive fuel",
             "محطة", "Fuel Station", 1.5, 8, 800, 2500),
    Activity("4771", "بيع الملابس بالتجزئة", "Retail sale of clothing",
             "أزياء", "Fashion", 7, 0, 40, 250),
    Activity("4741", "بيع الهواتف المحمولة والحواسيب بالتجزئة",
             "Retail sale of mobile phones and computers", "اتصالات", "Mobile", 6, 0, 20, 90),
    Activity("4752", "بيع العدد والأدوات الصحية ومواد الطلاء بالتجزئة",
             "Retail sale of hardware, plumbing and paint", "محلات", "Hardware", 4, 8, 60, 400),
    Activity("9601", "غسيل وكي الملابس (مغسلة)", "Laundry and dry cleaning",
             "مغسلة", "Laundry", 5, 0, 30, 120),
    Activity("1071", "إنتاج المخبوزات (مخبز)", "Manufacture of bakery products",
             "مخبز", "Bakery", 3, 4, 60, 250),
    Activity("4721", "بيع اللحوم بالتجزئة (ملحمة)", "Retail sale of meat (butchery)",
             "ملحمة", "Butchery", 3, 0, 30, 100),
    Activity("8620", "أنشطة العيادات الطبية وطب الأسنان", "Medical and dental practice",
             "عيادات", "Clinics", 3, 0, 120, 600),
    Activity("4530", "بيع قطع غيار السيارات", "Sale of motor vehicle parts",
             "قطع غيار", "Auto Parts", 2, 18, 60, 400),
    Activity("9512", "إصلاح أجهزة الاتصالات (صيانة الجوالات)", "Repair of communication equipment",
             "صيانة", "Mobile Repair", 3, 0, 15, 50),
    Activity("6820", "الوساطة العقارية", "Real estate brokerage",
             "عقارات", "Real Estate", 3, 2, 25, 80),
    Activity("4759", "بيع الأثاث والمفروشات بالتجزئة", "Retail sale of furniture",
             "مفروشات", "Furniture", 2, 5, 150, 900),
    Activity("4663", "بيع مواد البناء بالجملة", "Wholesale of building materials",
             "مستودع", "Building Materials", 0, 15, 400, 3000),
    Activity("9311", "تشغيل المرافق الرياضية (نادي رياضي)", "Operation of sports facilities (gym)",
             "نادي", "Fitness Club", 1.5, 0, 300, 1500),
    Activity("4510", "بيع السيارات", "Sale of motor vehicles",
             "معرض", "Car Showroom", 1, 8, 400, 2500),
)

# Distinctive parts of trade names: "بقالة النخيل" / "Al Nakheel Grocery".
TRADE_WORDS = (
    ("النخيل", "Al Nakheel"), ("الواحة", "Al Waha"), ("الريان", "Al Rayyan"), ("الفجر", "Al Fajr"),
    ("الأمل", "Al Amal"), ("السلام", "Al Salam"), ("النور", "Al Noor"), ("الخليج", "Al Khaleej"),
    ("الشرقية", "Al Sharqiya"), ("الياسمين", "Al Yasmeen"), ("الوفاء", "Al Wafa"),
    ("البركة", "Al Baraka"), ("الهدى", "Al Huda"), ("الريم", "Al Reem"), ("الصفوة", "Al Safwa"),
    ("الأصالة", "Al Asala"), ("المروج", "Al Muruj"), ("الزهور", "Al Zuhoor"),
    ("الجوهرة", "Al Jawhara"), ("اللؤلؤة", "Al Lulua"), ("الدرة", "Al Durra"),
    ("الرواد", "Al Rowad"), ("الإتقان", "Al Itqan"), ("الشروق", "Al Shorouq"),
    ("النجمة", "Al Najma"), ("القمة", "Al Qimma"), ("السعادة", "Al Saada"), ("الديرة", "Al Deira"),
    ("المنارة", "Al Manara"), ("الأفق", "Al Ofuq"), ("الربيع", "Al Rabee"), ("الندى", "Al Nada"),
    ("الغدير", "Al Ghadeer"), ("السنبلة", "Al Sunbula"), ("الساحل", "Al Sahil"),
    ("المرجان", "Al Marjan"), ("الدانة", "Al Dana"), ("الرمال", "Al Rimal"),
)
KUNYAS = (
    ("أبو خالد", "Abu Khalid"), ("أبو فهد", "Abu Fahad"), ("أبو عبدالله", "Abu Abdullah"),
    ("أبو محمد", "Abu Mohammed"), ("أبو سعود", "Abu Saud"), ("أبو ناصر", "Abu Nasser"),
    ("أبو تركي", "Abu Turki"), ("أبو سلطان", "Abu Sultan"), ("أبو فيصل", "Abu Faisal"),
    ("أبو عمر", "Abu Omar"), ("أبو علي", "Abu Ali"), ("أبو يوسف", "Abu Yousef"),
    ("أبو راشد", "Abu Rashid"), ("أبو حمد", "Abu Hamad"),
)

MOSQUES = (
    ("الإمام تركي بن عبدالله", "Imam Turki bin Abdullah"), ("التوحيد", "Al Tawhid"),
    ("الرحمة", "Al Rahmah"), ("الفرقان", "Al Furqan"), ("التقوى", "Al Taqwa"),
    ("الإحسان", "Al Ihsan"), ("الهدى", "Al Huda"), ("النور", "Al Noor"),
    ("أبي بكر الصديق", "Abu Bakr Al Siddiq"), ("عمر بن الخطاب", "Omar bin Al Khattab"),
    ("عثمان بن عفان", "Othman bin Affan"), ("علي بن أبي طالب", "Ali bin Abi Talib"),
    ("بلال بن رباح", "Bilal bin Rabah"), ("سعد بن معاذ", "Saad bin Muadh"),
    ("مصعب بن عمير", "Musab bin Umair"), ("أنس بن مالك", "Anas bin Malik"),
    ("الإمام أحمد بن حنبل", "Imam Ahmad bin Hanbal"),
    ("حمزة بن عبدالمطلب", "Hamza bin Abdulmuttalib"),
    ("خالد بن الوليد", "Khalid bin Al Walid"), ("الملك فهد", "King Fahd"),
    ("الأمير سلطان", "Prince Sultan"), ("السلام", "Al Salam"), ("الفردوس", "Al Firdaws"),
    ("الإيمان", "Al Iman"),
)
SCHOLARS = (
    ("ابن سينا", "Ibn Sina"), ("الفارابي", "Al Farabi"), ("ابن خلدون", "Ibn Khaldun"),
    ("الخوارزمي", "Al Khwarizmi"), ("ابن الهيثم", "Ibn Al Haytham"), ("البيروني", "Al Biruni"),
    ("الإمام مالك", "Imam Malik"), ("الإمام النووي", "Imam Al Nawawi"), ("ابن كثير", "Ibn Kathir"),
    ("الطبري", "Al Tabari"), ("ابن رشد", "Ibn Rushd"), ("الجاحظ", "Al Jahiz"),
    ("الأصمعي", "Al Asmai"), ("ابن القيم", "Ibn Al Qayyim"), ("الملك عبدالعزيز", "King Abdulaziz"),
)
SCHOOL_LEVELS = (("الابتدائية", "Primary"), ("المتوسطة", "Intermediate"), ("الثانوية", "Secondary"))

# Facility names by kind: templates over a place name ({ar}/{en}) or a person ({ar}/{en}).
FACILITY_NAMES = {
    "mosque": ("مسجد {ar}", "{en} Mosque"),
    "jami": ("جامع {ar}", "{en} Jami Mosque"),
    "school": ("مدرسة {ar} {level_ar}", "{en} {level_en} School"),
    "girls_school": ("{level_ar} {n} للبنات", "Girls' {level_en} School No. {n}"),
    "park": ("حديقة {ar}", "{en} Park"),
    "clinic": ("مركز صحي {ar}", "{en} Primary Health Care Centre"),
    "hospital": ("مستشفى {ar} العام", "{en} General Hospital"),
    "municipal_office": ("مبنى بلدية {ar}", "{en} Municipality Building"),
    "police": ("مركز شرطة {ar}", "{en} Police Station"),
    "civil_defence": ("مركز الدفاع المدني ب{ar}", "{en} Civil Defence Station"),
}
OPENING_HOURS = {
    "mosque": "Mo-Su 04:00-22:00", "school": "Su-Th 07:00-13:30", "park": "Mo-Su 16:00-24:00",
    "clinic": "Su-Th 07:30-15:30", "hospital": "24/7", "municipal_office": "Su-Th 07:30-14:30",
    "police": "24/7", "civil_defence": "24/7",
}

# Constraint layers: name and description, Arabic and English.
CONSTRAINTS = {
    "flood_high": (
        "منطقة خطر السيول - مجرى الوادي (خطورة عالية)",
        "Flood risk zone – wadi channel (high risk)",
        "مجرى الوادي الرئيسي الذي تتجمع فيه مياه الأمطار؛ يُمنع البناء فيه.",
        "Main wadi channel where rainwater collects; no building is permitted.",
    ),
    "flood_medium": (
        "منطقة خطر السيول - ضفاف الوادي (خطورة متوسطة)",
        "Flood risk zone – wadi banks (medium risk)",
        "نطاق معرض للغمر عند الأمطار الغزيرة؛ يلزم رفع منسوب التأسيس وتصريف مياه الأمطار.",
        "Area flooded in heavy rain; a raised floor level and stormwater drainage are required.",
    ),
    "utility_easement": (
        "حرم خط أنابيب النفط",
        "Oil pipeline easement",
        "ممر ارتفاق بعرض 30 م لخط أنابيب؛ يُمنع البناء والحفر دون موافقة الجهة المشغلة.",
        "30 m easement corridor of a pipeline; no building or excavation without the "
        "operator's approval.",
    ),
    "heritage_buffer": (
        "النطاق المحيط ببئر الدمام رقم 7 (بئر الخير)",
        "Buffer of Dammam Well No. 7 (Prosperity Well)",
        "نطاق حماية بنصف قطر 300 م حول موقع تراثي؛ تخضع المشاريع لمراجعة هيئة التراث.",
        "300 m protection buffer around a heritage site; projects are reviewed by the "
        "Heritage Commission.",
    ),
    "airport_height": (
        "نطاق قيود الارتفاع - قاعدة الملك عبدالعزيز الجوية",
        "Height restriction zone – King Abdulaziz Air Base approach",
        "سطح الاقتراب للمدرج؛ لا يتجاوز ارتفاع المباني 45 م.",
        "Runway approach surface; buildings may not exceed 45 m.",
    ),
}

INSPECTION_NOTES = {
    "compliant": (
        ("لا توجد مخالفات", "No violations found"),
        ("المنشأة مستوفية للاشتراطات", "Premises meet the requirements"),
        ("تم التحقق من الشهادات الصحية", "Health certificates checked"),
    ),
    "violation": (
        ("شهادات صحية منتهية للعاملين", "Workers' health certificates expired"),
        ("لوحة المحل بدون ترخيص", "Shop sign without a permit"),
        ("عدم توفر طفاية حريق صالحة", "No valid fire extinguisher"),
        ("إشغال الرصيف دون تصريح", "Sidewalk occupied without a permit"),
        ("ملاحظات على النظافة العامة", "Hygiene deficiencies"),
    ),
    "closed": (
        ("المحل مغلق وقت الزيارة", "Shop closed at the time of the visit"),
        ("المحل مغلق نهائياً", "Shop permanently closed"),
    ),
    "not_found": (
        ("لم يُعثر على المنشأة في الموقع المسجل", "Business not found at the registered location"),
        ("الموقع شاغر", "Premises vacant"),
    ),
}
