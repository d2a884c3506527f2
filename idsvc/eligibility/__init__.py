"""Social-assistance eligibility and deduplication: programmes, rules, identity resolution."""
