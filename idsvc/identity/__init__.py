"""Identity: e-ID accounts of citizens and staff, passwords, second factors, login sessions."""
