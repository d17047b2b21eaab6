"""AWS implementations of the cell seams."""
