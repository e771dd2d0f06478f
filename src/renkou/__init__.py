"""renkou — the population and family-services information system of a county office."""

__version__ = "0.1.0"
