"""The error raised for invalid stack configuration or component arguments."""


class ConfigError(ValueError):
    """An invalid configuration key or component argument.

    The message is one line: the key, the rejected value, and what would be accepted, so
    `scripts/preview` and the Pulumi CLI can print it as it is, with no traceback.
    """

    def __init__(self, key: str, value: object, accepted: str, detail: str | None = None) -> None:
        self.key = key
        self.value = value
        self.accepted = accepted
        self.detail = detail
        reason = f" ({detail})" if detail else ""
        super().__init__(f"{key}: invalid value {value!r}{reason}; expected {accepted}")
