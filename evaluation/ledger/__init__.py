"""The in-kind and partnership contribution ledger: allowances, places given, venues, trainers."""
