// PlatformConsole: implementation lands with its issue.
