"""Errors the domain raises for bad input; the web and CLI layers turn them into 4xx / exit 2."""


class HotspotError(Exception):
    """Bad input or a request that cannot be met; the message is shown to the caller."""


class NotFoundError(HotspotError):
    pass


class InvalidInputError(HotspotError):
    pass


class ConflictError(HotspotError):
    pass


class ProvisioningError(ConflictError):
    """Money could not become access or credit: the whole settlement is rolled back, so nothing
    is ever marked paid without it (the query reconciliation tries again)."""


class AuthenticationError(HotspotError):
    """Credentials that do not match (the same words whether the account exists or not)."""


class ForbiddenError(HotspotError):
    """Allowed to read, not to do this (an operator's admin asking for the platform's work)."""
