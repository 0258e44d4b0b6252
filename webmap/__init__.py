"""The web map (Folium/Leaflet) served at /."""
