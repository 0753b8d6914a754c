"""Personal data across the three apps: retention, a person's copy of their data, erasure.

A *person* is every row that names one human: their login (if any), the email addresses it
has used, and the bookings, waiting-list entries, calls and emails under those addresses
(``people``). Anonymising a person rewrites those rows in place (``anonymise``): the rows that
reports count stay, with their sector, course and dates, so no report changes.
"""
