"""The two error families of the reference implementation (python-tuf style).

* :class:`UsageError` -- the caller misused the API (a bug in the test or tool driving refimpl).
  An invalid ``transitions`` trigger raises ``transitions.MachineError``, which belongs here too.
* :class:`RejectionError` -- a component refused bad input data (an image, a command, a Service
  Request). Each check has its own subclass so that a test can assert exactly which check fired.
  Where the real system reports the refusal as an outcome code or alert, the component records
  that too (see ``refimpl.sim.EventLog``).
"""

from __future__ import annotations


class UsageError(Exception):
    """The refimpl API was called in a way it does not support (a bug of the caller)."""


class RejectionError(Exception):
    """A component refused bad input data; the subclass names the check that failed."""


class ImageFormatError(RejectionError):
    """A firmware image is malformed; ``field`` names the first field that failed its check."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class CommandFormatError(RejectionError):
    """A GBCS-like command or token is malformed; ``field`` names the field that failed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotAuthorised(RejectionError):
    """The sender is not the party registered for this premises or device."""


class UnknownDevice(RejectionError):
    """No valid target device: unknown ID, wrong device type, or not addressed to this device."""


class HashMismatch(RejectionError):
    """A SHA-256 hash does not match (stated vs. computed, or held image vs. command)."""


class NotOnCPL(RejectionError):
    """The firmware hash is not listed on the CPL for the target device model and version."""


class BadSignature(RejectionError):
    """A signature does not verify against the trust anchor that must have made it."""


class StaleCounter(RejectionError):
    """An originator counter is not strictly greater than the last one accepted (replay)."""


class HardwareMismatch(RejectionError):
    """The image's hardware version range does not include the device's hardware version."""


class WrongImage(RejectionError):
    """The image header names another manufacturer, device model or image type."""


class RollbackRefused(RejectionError):
    """The image's file version is lower than the running version (anti-rollback check)."""


class NoImageHeld(RejectionError):
    """An activation arrived but the device holds no distributed image."""


class ActivationFailure(RejectionError):
    """The held image could not be activated (it no longer passes the device's checks)."""


class UpdateInProgress(RejectionError):
    """The DSP refuses a new update while the SMI shows one in progress for the device."""


class LocalUpdateRefused(RejectionError):
    """A local (installer) firmware update is not allowed by this configuration or token."""
