"""Geography: the French commune reference and geocoding (BAN/Géoplateforme + offline
commune centroids). Framework-free; ``gateway.web.geo_api`` exposes ``/v1/geocode``."""

from gateway.geo.communes import Commune, CommuneIndex, Departement, UnknownCommune, load_communes
from gateway.geo.geocoder import GeocoderClient, GeocoderHit
from gateway.geo.service import GeocodeResult, GeoService, build_geo_service

__all__ = [
    "Commune",
    "CommuneIndex",
    "Departement",
    "GeoService",
    "GeocodeResult",
    "GeocoderClient",
    "GeocoderHit",
    "UnknownCommune",
    "build_geo_service",
    "load_communes",
]
