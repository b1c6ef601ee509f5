"""interactions domain: interaction records and their steps (offers, answers, wrap-up)."""
