// Storage: implementation lands with its issue.
