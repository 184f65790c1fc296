"""Notifiers: one small class per delivery channel, and the outbox delivery loop."""
