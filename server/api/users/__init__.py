"""Accounts API: officers list, create and manage the accounts below their scope."""
