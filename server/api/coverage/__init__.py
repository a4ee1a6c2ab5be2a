"""Coverage, targets progress, gaps and their export; season plans, extension reports, national targets (``routes``;
rules in catalog.coverage, catalog.targets, catalog.gaps, catalog.seasons)."""
