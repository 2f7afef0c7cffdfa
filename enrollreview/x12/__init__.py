"""X12 834 reading: tokenizer, map-driven walker, member model and a test-data generator."""
