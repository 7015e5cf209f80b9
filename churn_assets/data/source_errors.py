"""The one error every reader raises: its message names the file and the problem in one line."""


class SourceError(ValueError):
    """The source cannot be read: wrong scheme or format, missing object, unusable content."""


class SourceUnavailable(SourceError):
    """The source's service (e.g. the S3 endpoint) did not answer; retrying later may work."""
