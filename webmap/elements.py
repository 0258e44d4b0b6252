"""Folium elements of the map page: an offline map, our vector-tile layers, raw page parts.

Folium writes Leaflet calls; these subclasses make it use files we serve (never a CDN) and add
what Folium has no element for. Values reach the generated JavaScript through `tojson` only.
"""
from __future__ import annotations

import folium
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template


class PageFigure(Figure):
    """The HTML document: language and direction on <html>, a fixed title."""

    _template = Template(
        "<!DOCTYPE html>\n"
        "<html lang=\"{{ this.lang }}\" dir=\"{{ this.direction }}\">\n"
        "<head>\n<title>{{ this.title|e }}</title>\n"
        "{{ this.header.render(**kwargs) }}\n"
        "</head>\n<body>\n{{ this.html.render(**kwargs) }}\n</body>\n"
        "<script>\n{{ this.script.render(**kwargs) }}\n</script>\n</html>\n")

    def __init__(self, lang: str, direction: str, title: str):
        """A document in `lang` ("ar" or "en") written in `direction` ("rtl" or "ltr")."""
        super().__init__(title=title)
        self.lang, self.direction = lang, direction


class OfflineMap(folium.Map):
    """folium.Map with Leaflet and plugins from our own server, and a zoomable page."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <meta name="viewport" content="width=device-width, initial-scale=1.0">
        {% endmacro %}
        {% macro html(this, kwargs) %}
            <div class="folium-map" id={{ this.get_name()|tojson }} role="application"
                 aria-label={{ this.aria_label|tojson }} tabindex="0"></div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }},
                {center: {{ this.location|tojson }}, crs: L.CRS.{{ this.crs }},
                 ...{{ this.options|tojavascript }}});
            {%- if this.control_scale %}
            L.control.scale().addTo({{ this.get_name() }});
            {%- endif %}
            {%- if this.zoom_control_position %}
            L.control.zoom({position: {{ this.zoom_control|tojson }}}).addTo(
                {{ this.get_name() }});
            {%- endif %}
        {% endmacro %}
        """)

    def __init__(self, *, js: list[tuple[str, str]], css: list[tuple[str, str]],
                 aria_label: str, **kwargs):
        """A map whose scripts and styles are the given (name, URL) pairs only."""
        super().__init__(tiles=None, **kwargs)
        self.default_js, self.default_css = js, css
        self.aria_label = aria_label


class VectorTiles(Layer):
    """An OGC API Tiles vector layer drawn by Leaflet.VectorGrid (styled by map.js)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = Amanat.vectorLayer({{ this.collection|tojson }});
        {% endmacro %}
        """)

    def __init__(self, collection: str, name: str, show: bool):
        """The tiles of one collection, listed in the layer control as `name`."""
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "VectorTiles"
        self.collection = collection


class EmptyBase(Layer):
    """A base layer that draws nothing (the page's background shows)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.layerGroup();
        {% endmacro %}
        """)

    def __init__(self, name: str):
        """Listed in the layer control as `name`, shown at start."""
        super().__init__(name=name, overlay=False, control=True, show=True)
        self._name = "EmptyBase"


class Start(MacroElement):
    """Hands the map, its layer control and its layers to map.js (rendered last)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            Amanat.start({{ this.map.get_name() }}, {{ this.control.get_name() }}, {
            {%- for key, layer in this.layers.items() %}
                {{ key|tojson }}: {{ layer.get_name() }},
            {%- endfor %}
            });
        {% endmacro %}
        """)

    def __init__(self, map_, control, layers: dict):
        """`layers`: id -> folium layer (vector layers and base layers)."""
        super().__init__()
        self._name = "Start"
        self.map, self.control, self.layers = map_, control, layers


class Raw(Element):
    """A piece of HTML rendered elsewhere (by an autoescaping template), inserted as it is."""

    def __init__(self, html: str):
        """Keep the HTML."""
        super().__init__()
        self._html = html

    def render(self, **kwargs) -> str:
        """The HTML unchanged (never run through a template again)."""
        return self._html
