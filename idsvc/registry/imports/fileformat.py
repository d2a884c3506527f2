"""The population file format shared by ``idsvc population generate`` and ``idsvc registry import``.

CSV (UTF-8, or UTF-16 with its byte-order mark; header row; comma-separated, or semicolon-separated
when the header line holds semicolons and no comma) or JSONL (one JSON object per line) with these
keys. Empty string or missing key = unknown. Codes are strings with their leading zeros. Names
(``full_name``, ``other_names``, the relatives' names) are letters of any script, spaces and the
marks ``' ’ - .`` (:func:`names.name_problem`). ``old_id_numbers`` holds every old 9-digit
identity-card (CMND) number the person held, separated by spaces (``,`` and ``;`` delimit columns).
"""

from __future__ import annotations

#: Columns every file must have (values may still be empty where the field is optional).
REQUIRED_COLUMNS = (
    "citizen_id",                   # 12-digit personal ID number
    "full_name",                    # surname, middle and given name, in that order
    "date_of_birth",                # YYYY-MM-DD, YYYY-MM or YYYY
    "sex",                          # M or F
    "birth_registration_province",  # 3-digit code = first 3 digits of citizen_id (or country code)
    "permanent_commune",            # 5-digit 2025 commune code (thường trú)
    "current_commune",              # 5-digit 2025 commune code (nơi ở hiện tại)
    "household_id",                 # household registration number, shared by its members
    "relationship_to_head",         # a key of reference.RELATIONSHIPS ("head", "spouse", "child", ...)
    "ethnicity",                    # one of the 54 groups (reference.ETHNIC_GROUPS), any common spelling
    "religion",                     # free text; "Không" for none
    "nationality",                  # ISO 3166-1 alpha-2, "VN"
    "status",                       # alive, deceased or missing
    "date_of_death",                # YYYY-MM-DD; required unless status is alive, empty if alive
)

#: Columns of the identity card, residence file and contact data (information groups 14, 20, 25).
CARD_AND_CONTACT_COLUMNS = (
    "email",                        # e-mail address (field 25)
    "residence_file_number",        # residence file number (field 20): letters, digits, - / .
    "id_card_issued_on",            # identity card in force (field 14): YYYY-MM-DD, not after today
    "id_card_issued_by",            # its issuing authority, free text; required with the date
    "id_card_expires_on",           # YYYY-MM-DD after the issue date; empty: no expiry
)

#: Columns a file may add.
OPTIONAL_COLUMNS = (
    "other_names", "place_of_birth", "hometown", "blood_type", "marital_status", "phone",
    "father_id", "father_name", "mother_id", "mother_name", "spouse_id", "spouse_name",
    "old_id_numbers",               # old 9-digit identity-card (CMND) numbers, separated by spaces
    *CARD_AND_CONTACT_COLUMNS,
)

COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
