"""The audit trail, readable: the administrator's page of who changed what, when."""
