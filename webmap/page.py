"""The page served at /: a bilingual entry page until the Folium map lands."""
from starlette.requests import Request
from starlette.responses import HTMLResponse

PAGE = """<!doctype html>
<html lang="ar" dir="rtl">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>أمانات — Amanat</title>
<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.6}
section[lang=en]{direction:ltr;text-align:left;border-top:1px solid #ccc;margin-top:2rem}</style>
</head>
<body>
<h1>أمانات — الخدمات المكانية البلدية</h1>
<p>الطبقات الجغرافية للأمانة عبر واجهات OGC:
<a href="ogc/">ogc/</a> — <a href="ogc/collections">المجموعات</a>.
الخريطة التفاعلية قيد الإنشاء.</p>
<section lang="en">
<h1>Amanat — municipal spatial services</h1>
<p>The Amana's geographic layers over OGC API:
<a href="ogc/">ogc/</a> — <a href="ogc/collections">collections</a>.
The interactive map is on its way.</p>
</section>
</body></html>
"""


async def index(request: Request) -> HTMLResponse:
    """The entry page."""
    return HTMLResponse(PAGE)
