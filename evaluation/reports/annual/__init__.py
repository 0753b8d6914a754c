"""The annual report's training section (§11.2), generated for a financial year as PDF or Word."""
