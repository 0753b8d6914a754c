"""The board's reports: grouped queries that let the database count, and their exports.

Every report is for a period: a financial year (April to March) or any range of dates, both
inclusive, in Europe/London. A session belongs to the period its first part starts in. Each
selector runs a fixed handful of grouped queries whatever the amount of data, and returns plain
tables (``Table``) that the pages, the CSV and Excel exports and the ``report`` command share.

Definitions (the annual report's, made precise):

- An *attended place* is a confirmed booking marked attended, on a session not cancelled.
- *number_of_courses* counts the sessions of a title with at least one attended place.
- *Fill rate* is confirmed places (attended, absent or not yet marked) over the capacity of the
  published sessions; a *no-show* is a confirmed place marked absent; a *late cancellation*
  was cancelled after the refund cut-off, so its fee stands.
- *Fees* are the prices of places that were confirmed; what was refunded (card refunds) or
  credited (credit notes on booking invoices) is shown and taken off; non-attendance charges
  that were not waived are added; the in-kind value of subsidised places is shown beside the
  income, not in it.
"""
