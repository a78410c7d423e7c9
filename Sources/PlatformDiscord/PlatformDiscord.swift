// PlatformDiscord: implementation lands with its issue.
