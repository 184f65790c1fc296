"""Evidence: sources that fetch records, and the store that keeps them with provenance."""
