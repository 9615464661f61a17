"""Tools that run the engine on rulesets: lint and test cases."""
