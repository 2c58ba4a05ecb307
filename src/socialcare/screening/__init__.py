"""Health-related social needs screening: AHC HRSN core and Hunger Vital Sign as data, scoring, social needs."""
