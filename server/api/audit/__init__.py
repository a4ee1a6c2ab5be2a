"""The audit log, read and exported by officers for their scope."""
