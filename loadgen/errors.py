"""The one exception type of the load generator."""


class LoadgenError(Exception):
    """An invalid load request, a missing vegeta binary, or a vegeta run that failed."""
