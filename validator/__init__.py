"""claims-validator: batch validation of outgoing EDI 837 claim files."""

__version__ = "0.1.0"
