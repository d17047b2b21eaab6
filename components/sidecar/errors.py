"""The error raised for an invalid generator spec."""


class SpecError(ValueError):
    """An invalid field in a sidecar, agent or router spec.

    The message is one line: the spec and field, the rejected value, and what would be
    accepted, so a command line can print it as it is.
    """

    def __init__(self, spec: str, field: str, value: object, accepted: str) -> None:
        self.spec = spec
        self.field = field
        self.value = value
        self.accepted = accepted
        super().__init__(f"{spec}.{field}: invalid value {value!r}; expected {accepted}")
