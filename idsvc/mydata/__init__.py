"""The citizen's own pages: who used my data (the person's entries of the audit trail and the
registry's history, with their ledger proofs), and the download of everything held about them."""
