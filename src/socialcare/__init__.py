"""socialcare: value-based social care partnerships between health plans, hubs and CBOs."""

__version__ = "0.1.0"
