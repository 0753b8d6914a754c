"""Transitional: spreadsheets moved to ``bookings.files.spreadsheets``."""

from bookings.files.spreadsheets import *  # noqa: F401,F403
from bookings.files.spreadsheets import safe_cell, spreadsheet_response  # noqa: F401
