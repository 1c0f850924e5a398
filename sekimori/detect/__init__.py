"""Detection: Sigma rules, trust-boundary rules and behavioural analytics, as alerts in one schema."""
