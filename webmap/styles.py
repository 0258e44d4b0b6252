"""How the map draws each layer: colours by zone, land use, licence status, facility and
constraint kind. The page hands these to the browser and renders the legend from them."""

ZONING = {"R1": "#f2c94c", "R2": "#e89a3c", "C1": "#e0607e", "M1": "#b07cd8", "I1": "#8a8aa0",
          "P1": "#5fb86a"}
LAND_USE = {"residential": "#f6e3a1", "commercial": "#f3a0ae", "mixed": "#d5b4ee",
            "industrial": "#b9b9c9", "public": "#a3c4ee", "park": "#9fdca0", "vacant": "#ece4d2"}
LICENSE_STATUS = {"active": "#1a9850", "expired": "#d73027", "suspended": "#f08c3a",
                  "cancelled": "#6b6b6b"}
FACILITY_KIND = {"school": "#1f77b4", "mosque": "#2a9d3a", "hospital": "#d62728",
                 "clinic": "#ff7f0e", "park": "#17a589", "municipal_office": "#7d4fb3",
                 "police": "#0b3d91", "civil_defence": "#c0392b"}
CONSTRAINT_KIND = {"flood_risk": "#2f7fc1", "utility_easement": "#e3a33b",
                   "heritage_buffer": "#8c6d31", "airport_height": "#6a5acd"}
OTHER = "#9e9e9e"

# Line colours of the context layers and of what the map draws on top.
LINES = {"district": "#37474f", "street": "#ffffff", "street_casing": "#8d8d8d",
         "selection": "#00bcd4", "fail": "#d50000", "warn": "#ff9800", "pass": "#2e7d32",
         "finding": "#d50000"}

# Legend sections: (layer id, the attribute styled, its value -> colour map, label group).
LEGEND = (
    ("zoning", "code", ZONING, "zone"),
    ("parcels", "land_use", LAND_USE, "land_use"),
    ("licenses", "status", LICENSE_STATUS, "license_status"),
    ("facilities", "kind", FACILITY_KIND, "facility_kind"),
    ("constraints", "kind", CONSTRAINT_KIND, "constraint_kind"),
)


def palette() -> dict:
    """Everything the browser needs to style the layers."""
    return {"zoning": ZONING, "land_use": LAND_USE, "license_status": LICENSE_STATUS,
            "facility_kind": FACILITY_KIND, "constraint_kind": CONSTRAINT_KIND,
            "other": OTHER, "lines": LINES}
