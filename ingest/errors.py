"""The one exception for mistakes a user can fix while loading data."""

from warehouse.errors import CallboardError


class IngestError(CallboardError):
    """A missing file, an unknown format or a bad mapping: the CLI prints the message as one line
    and exits 2, with no traceback. Anything else is a bug and propagates."""
