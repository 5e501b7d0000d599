"""SAS terminology & directory gateway."""

__version__ = "0.1.0"
