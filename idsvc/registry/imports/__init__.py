"""Bulk import of population files: read (:mod:`reader`), check each row (:mod:`rows`, by the
registry's rulebook), write in sets (:mod:`bulkwrite`, :mod:`copytext`), and the whole run
(:mod:`importer`). The file format is :mod:`fileformat`."""
