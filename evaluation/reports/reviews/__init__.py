"""Learning reviews traced into training: the report per review, its page and its exports."""
