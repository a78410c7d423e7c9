// ModelClient: implementation lands with its issue.
