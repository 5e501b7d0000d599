"""The Earth as the gateway measures it: one radius, great-circle distance (haversine).

Geography, not search: the spatial grid (``gateway.geo.spatial``) and the ranking both
measure with this one radius, so a distance never differs between filtering and ordering.
Search imports geo, never the reverse.
"""

from __future__ import annotations

import math

#: Mean Earth radius (IUGG), kilometres.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in kilometres between two WGS84 points given in decimal degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    # Clamp: rounding can push ``a`` a hair above 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, a))))
