"""Social-assistance eligibility: programmes whose rules are data, evaluated against registry facts."""
