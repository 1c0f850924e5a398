"""sekimori (関守): keeps the checkpoints between the companies of a group and its contractors."""

__version__ = "0.1.0"
