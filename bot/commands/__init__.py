"""Sub-commands of `credit-bot` that manage the bureau's data: the subject registry, imports and exports."""
