"""Social-assistance eligibility and deduplication: programmes whose rules are data, evaluated against
registry facts, and identity resolution."""
