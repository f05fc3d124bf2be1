"""otaproof: formal models, Z3 proofs and generated conformance tests for OTA firmware updates
of GB smart-metering HAN devices (SECMP0007)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("otaproof")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
