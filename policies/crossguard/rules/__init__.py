"""The rules of the pack, one module per invariant, each written against the view."""
