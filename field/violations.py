"""The violations an inspector may record (code, Arabic, English): the form's list; the
server accepts codes by pattern (layers.feature_rules.VIOLATIONS) and this list by name."""

VIOLATIONS: tuple[tuple[str, str, str], ...] = (
    ("expired_licence", "رخصة منتهية", "Expired licence"),
    ("activity_mismatch", "نشاط مخالف للرخصة", "Activity differs from the licence"),
    ("signage", "لوحة مخالفة", "Non-compliant signage"),
    ("hygiene", "نظافة غير كافية", "Poor hygiene"),
    ("fire_safety", "اشتراطات السلامة من الحريق", "Fire safety"),
    ("encroachment", "تعدٍّ على الرصيف أو الطريق", "Encroachment on pavement or road"),
    ("waste", "مخلفات في غير مكانها", "Waste left out"),
    ("working_hours", "مخالفة ساعات العمل", "Working hours"),
    ("health_certificates", "شهادات صحية غير سارية", "Health certificates missing"),
    ("area_exceeded", "تجاوز المساحة المرخصة", "Licensed area exceeded"),
)
CODES = frozenset(code for code, _, _ in VIOLATIONS)
