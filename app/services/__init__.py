"""Business rules: services take explicit arguments, own their transaction, raise domain errors."""
