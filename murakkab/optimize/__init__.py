"""The joint optimizer: configuration spaces, their Z3 encoding, and brute force to check it."""
