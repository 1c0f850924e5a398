"""Built-in detectors; every module here is loaded by ``sekimori.detect.base.detectors()``."""
