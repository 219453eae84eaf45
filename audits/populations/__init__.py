"""Population profiles: the expected share of each group of a population, with a cited
source, versioned and frozen once published; attached to jurisdictions as their default
and compared with the data in audits (``audits.checks.population``)."""
