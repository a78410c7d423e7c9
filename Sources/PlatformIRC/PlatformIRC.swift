// PlatformIRC: implementation lands with its issue.
