"""GCP implementations of the cell seams."""
