"""The audit log's machinery: keys, Merkle tree, signed checkpoints, external sinks and verification.

`merkle` and `statements` depend only on the standard library and `cryptography`, so the stand-alone report
verifier (`offline`) can use them without Django.
"""
