"""Service delivery: service records, care episodes, pathways, engagements, flexible fund disbursements."""
