"""Errors of the local region that the command line prints as one line."""


class LocalRegionError(Exception):
    """A bring-up, check or drill step failed; the message says which and what to do."""


class PortInUseError(LocalRegionError):
    """A port that a component needs is already taken by another process."""

    def __init__(self, port: int, component: str) -> None:
        self.port = port
        self.component = component
        super().__init__(
            f"port {port} for {component} is already in use; stop what uses it, "
            "or choose another --base-port (0 picks free ports)"
        )
