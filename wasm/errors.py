"""The error that every step raises for a mistake in its input or environment."""


class BundleError(Exception):
    """A one-line, user-facing error: what is wrong, with which value, and what to do.

    The command line prints it as `error: <message>` and exits with status 2, without a
    traceback. Every step raises it before it writes its output, so a rejected input
    leaves nothing behind.
    """
