"""otaproof reference implementation of OTA firmware updates of GB smart-metering HAN devices.

A small, real system written independently of ``model/``: SHA-256 image hashes, ECDSA P-256
signatures, a ZigBee-OTA-like image format, the DSP with its SMI, the CPL, the Communications Hub
as OTA server, PPMID/HCALCS/IHD devices, and a seeded network with faults. Start with
:class:`otaproof.refimpl.scenario.Premises`; ``python -m otaproof.refimpl`` walks one PPMID and one HCALCS update.
"""

from otaproof.refimpl.config import PRESETS, Variants
from otaproof.refimpl.errors import (
                            ActivationFailure,
                            BadSignature,
                            CommandFormatError,
                            HardwareMismatch,
                            HashMismatch,
                            ImageFormatError,
                            LocalUpdateRefused,
                            NoImageHeld,
                            NotAuthorised,
                            NotOnCPL,
                            RejectionError,
                            RollbackRefused,
                            StaleCounter,
                            UnknownDevice,
                            UpdateInProgress,
                            UsageError,
                            WrongImage,
)
from otaproof.refimpl.scenario import Premises, PremisesConfig

__all__ = ["PRESETS", "ActivationFailure", "BadSignature", "CommandFormatError", "HardwareMismatch", "HashMismatch",
           "ImageFormatError", "LocalUpdateRefused", "NoImageHeld", "NotAuthorised", "NotOnCPL", "Premises",
           "PremisesConfig", "RejectionError", "RollbackRefused", "StaleCounter", "UnknownDevice", "UpdateInProgress",
           "UsageError", "Variants", "WrongImage"]
