"""Rulesets: configuration only (no rules, no engine)."""
