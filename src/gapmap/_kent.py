"""Facts about Kent that gapmap needs without any file: its twelve districts.

Kent County Council's area is twelve local authority districts (Medway is a separate unitary
authority and is not included). Codes are the ONS GSS codes; E07000112 was called "Shepway"
before 2018.
"""

KENT_DISTRICTS: dict[str, str] = {
    "E07000105": "Ashford",
    "E07000106": "Canterbury",
    "E07000107": "Dartford",
    "E07000108": "Dover",
    "E07000109": "Gravesham",
    "E07000110": "Maidstone",
    "E07000111": "Sevenoaks",
    "E07000112": "Folkestone and Hythe",
    "E07000113": "Swale",
    "E07000114": "Thanet",
    "E07000115": "Tonbridge and Malling",
    "E07000116": "Tunbridge Wells",
}

#: Postcode areas that hold Kent's postcodes (BR and RH only at the western edge).
KENT_POSTCODE_AREAS = ("BR", "CT", "DA", "ME", "TN")

#: Great Britain in British National Grid metres, a little generous (Scilly to Shetland).
GB_BNG_BOUNDS = (-10_000.0, 0.0, 700_000.0, 1_300_000.0)
#: Great Britain in WGS84 degrees: lon_min, lat_min, lon_max, lat_max.
GB_LONLAT_BOUNDS = (-8.75, 49.8, 1.85, 60.95)
