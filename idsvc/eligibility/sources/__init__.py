"""Attribute sources: facts the population registry does not hold (poor and near-poor household
lists, disability certifications, pension recipients), imported as dated lists with their
provenance (:mod:`importer`), and read back per person for the eligibility rules (:mod:`service`)."""
